"""DistilBERT (Sanh et al., 2019): BERT with half the layers, no token types and no
pooler, distilled from BERT. The encoder and its heads, top to bottom.

Module names are the checkpoint's key names (``distilbert.transformer.layer.0.attention.q_lin.weight``,
``vocab_projector.bias``, ...), so a DistilBERT state dict loads with a plain
``load_state_dict``. Order: embeddings, attention, feed-forward, block, encoder, the base
model, then the heads. What DistilBERT shares with other architectures (attention
dispatch, masks, losses, init) is imported from ``plugformers.layers``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from plugformers.layers import (
    all_set,
    attend,
    check_input_ids,
    extended_attention_mask,
    get_activation,
    init_normal_,
    sequence_classification_loss,
    span_logits_and_loss,
)
from plugformers.modeling_outputs import (
    BaseModelOutput,
    MaskedLMOutput,
    MultipleChoiceModelOutput,
    QuestionAnsweringModelOutput,
    SequenceClassifierOutput,
    TokenClassifierOutput,
)
from plugformers.modeling_utils import PreTrainedModel
from torch import nn

from .configuration import DistilBertConfig

__all__ = [
    "DistilBertPreTrainedModel",
    "DistilBertModel",
    "DistilBertForMaskedLM",
    "DistilBertForSequenceClassification",
    "DistilBertForTokenClassification",
    "DistilBertForQuestionAnswering",
    "DistilBertForMultipleChoice",
]

LAYER_NORM_EPS = 1e-12  # every LayerNorm of DistilBERT; not a config field


# --------------------------------------------------------------------------- embeddings


def sinusoidal_positions_(weight: torch.Tensor) -> None:
    """Fill a (positions, dim) table with the fixed sinusoids of Vaswani et al.: sin on even
    columns, cos on odd ones, wavelengths from 2 pi to 10000 * 2 pi."""
    positions, dim = weight.shape
    pos = torch.arange(positions, dtype=torch.float64)[:, None]  # (positions, 1)
    freq = torch.pow(10000.0, -2 * (torch.arange(dim, dtype=torch.float64) // 2) / dim)  # (dim,)
    angles = pos * freq  # (positions, dim)
    with torch.no_grad():
        weight[:, 0::2] = torch.sin(angles[:, 0::2]).to(weight.dtype)
        weight[:, 1::2] = torch.cos(angles[:, 1::2]).to(weight.dtype)


class DistilBertEmbeddings(nn.Module):
    """Word + position embeddings, then LayerNorm and dropout (no token types)."""

    def __init__(self, config: DistilBertConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.dim, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.dim)
        if config.sinusoidal_pos_embds:
            self.position_embeddings.weight.requires_grad = False
        self.LayerNorm = nn.LayerNorm(config.dim, eps=LAYER_NORM_EPS)
        self.dropout = nn.Dropout(config.dropout)

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        max_positions = self.position_embeddings.num_embeddings
        if inputs_embeds is None:
            check_input_ids(input_ids, self.word_embeddings.num_embeddings,
                            max_positions if position_ids is None else None)
            inputs_embeds = self.word_embeddings(input_ids)  # (batch, seq, dim)
        seq_len = inputs_embeds.shape[1]
        if position_ids is None:
            if seq_len > max_positions:
                raise ValueError(
                    f"inputs_embeds has sequence length {seq_len}, longer than the model's {max_positions} "
                    "positions (config.max_position_embeddings). Truncate the input."
                )
            positions = self.position_embeddings.weight[:seq_len]  # (seq, dim): positions 0 .. seq - 1
        else:
            positions = self.position_embeddings(position_ids)  # (batch, seq, dim)
        return self.dropout(self.LayerNorm(inputs_embeds + positions))


# --------------------------------------------------------------------------- attention and feed-forward


class DistilBertSelfAttention(nn.Module):
    """Multi-head self-attention: q/k/v projections, scaled dot product, output projection."""

    def __init__(self, config: DistilBertConfig) -> None:
        super().__init__()
        self.n_heads = config.n_heads
        self.head_dim = config.dim // config.n_heads
        self.q_lin = nn.Linear(config.dim, config.dim)
        self.k_lin = nn.Linear(config.dim, config.dim)
        self.v_lin = nn.Linear(config.dim, config.dim)
        self.out_lin = nn.Linear(config.dim, config.dim)
        self.dropout = nn.Dropout(config.attention_dropout)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        batch, seq, _ = x.shape
        return x.view(batch, seq, self.n_heads, self.head_dim).transpose(1, 2)  # (batch, heads, seq, head_dim)

    def forward(
        self, hidden_states: torch.Tensor, mask: torch.Tensor | None = None, output_attentions: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        query = self._heads(self.q_lin(hidden_states))
        key = self._heads(self.k_lin(hidden_states))
        value = self._heads(self.v_lin(hidden_states))
        context, probs = attend(query, key, value, mask, dropout=self.dropout.p if self.training else 0.0,
                                need_weights=output_attentions)  # (batch, heads, seq, head_dim)
        batch, _, seq, _ = context.shape
        context = context.transpose(1, 2).reshape(batch, seq, self.n_heads * self.head_dim)  # (batch, seq, dim)
        return self.out_lin(context), probs


class DistilBertFeedForward(nn.Module):
    """lin1, activation, lin2, dropout."""

    def __init__(self, config: DistilBertConfig) -> None:
        super().__init__()
        self.lin1 = nn.Linear(config.dim, config.hidden_dim)
        self.lin2 = nn.Linear(config.hidden_dim, config.dim)
        self.activation = get_activation(config.activation)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.lin2(self.activation(self.lin1(hidden_states))))


class DistilBertBlock(nn.Module):
    """Post-norm Transformer block: attention + residual + LayerNorm, feed-forward + residual + LayerNorm."""

    def __init__(self, config: DistilBertConfig) -> None:
        super().__init__()
        self.attention = DistilBertSelfAttention(config)
        self.sa_layer_norm = nn.LayerNorm(config.dim, eps=LAYER_NORM_EPS)
        self.ffn = DistilBertFeedForward(config)
        self.output_layer_norm = nn.LayerNorm(config.dim, eps=LAYER_NORM_EPS)

    def forward(
        self, hidden_states: torch.Tensor, mask: torch.Tensor | None = None, output_attentions: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        attended, probs = self.attention(hidden_states, mask, output_attentions)
        hidden_states = self.sa_layer_norm(attended + hidden_states)
        return self.output_layer_norm(self.ffn(hidden_states) + hidden_states), probs


class DistilBertTransformer(nn.Module):
    """The stack of blocks (``transformer.layer.N`` in checkpoints)."""

    def __init__(self, config: DistilBertConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList([DistilBertBlock(config) for _ in range(config.n_layers)])

    def forward(
        self,
        hidden_states: torch.Tensor,
        mask: torch.Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> BaseModelOutput:
        all_hidden = (hidden_states,) if output_hidden_states else None
        all_attentions = () if output_attentions else None
        for block in self.layer:
            hidden_states, probs = block(hidden_states, mask, output_attentions)
            if output_hidden_states:
                all_hidden += (hidden_states,)
            if output_attentions:
                all_attentions += (probs,)
        return BaseModelOutput(last_hidden_state=hidden_states, hidden_states=all_hidden, attentions=all_attentions)


# --------------------------------------------------------------------------- base model


class DistilBertPreTrainedModel(PreTrainedModel):
    """Shared by every DistilBERT class: config class, init, checkpoint-key rules."""

    config_class = DistilBertConfig
    base_model_prefix = "distilbert"
    # Older checkpoints stored the position ids buffer.
    _keys_to_ignore_on_load_unexpected = [r"embeddings\.position_ids$"]

    def _init_weights(self, module: nn.Module) -> None:
        init_normal_(module, self.config.initializer_range)
        if isinstance(module, DistilBertEmbeddings) and self.config.sinusoidal_pos_embds:
            sinusoidal_positions_(module.position_embeddings.weight)


class DistilBertModel(DistilBertPreTrainedModel):
    """The bare DistilBERT encoder: the last hidden states (no pooled output)."""

    def __init__(self, config: DistilBertConfig) -> None:
        super().__init__(config)
        self.embeddings = DistilBertEmbeddings(config)
        self.transformer = DistilBertTransformer(config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings.word_embeddings

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.embeddings.word_embeddings = value

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> BaseModelOutput | tuple:
        """``input_ids`` (batch, seq) or ``inputs_embeds`` (batch, seq, dim);
        ``attention_mask`` (batch, seq), 1 for tokens to attend to, 0 for padding."""
        output_attentions, output_hidden_states, return_dict = self._flags(
            output_attentions, output_hidden_states, return_dict
        )
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("DistilBertModel: pass exactly one of input_ids and inputs_embeds.")
        embeddings = self.embeddings(input_ids, inputs_embeds, position_ids)
        if attention_mask is None or all_set(attention_mask):
            mask = None  # nothing to mask: the fused attention kernel runs without a mask
        else:
            mask = extended_attention_mask(attention_mask, embeddings.dtype)  # (batch, 1, 1, seq)
        out = self.transformer(embeddings, mask, output_attentions, output_hidden_states)
        return out if return_dict else out.to_tuple()


# --------------------------------------------------------------------------- heads


class DistilBertForMaskedLM(DistilBertPreTrainedModel):
    """DistilBERT with its masked-LM head: transform, activation, LayerNorm, vocabulary projection."""

    # stored once, as the word embeddings, unless config.tie_word_embeddings is false
    _tied_weights_keys = {"vocab_projector.weight": "distilbert.embeddings.word_embeddings.weight"}

    def __init__(self, config: DistilBertConfig) -> None:
        super().__init__(config)
        self.distilbert = DistilBertModel(config)
        self.activation = get_activation(config.activation)
        self.vocab_transform = nn.Linear(config.dim, config.dim)
        self.vocab_layer_norm = nn.LayerNorm(config.dim, eps=LAYER_NORM_EPS)
        self.vocab_projector = nn.Linear(config.dim, config.vocab_size)
        self.post_init()

    def get_output_embeddings(self) -> nn.Linear:
        return self.vocab_projector

    def set_output_embeddings(self, new_embeddings: nn.Linear) -> None:
        self.vocab_projector = new_embeddings

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> MaskedLMOutput | tuple:
        """``labels`` (batch, seq): the token ids to predict, -100 where not scored."""
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        outputs = self.distilbert(input_ids, attention_mask, inputs_embeds, position_ids,
                                  output_attentions, output_hidden_states, return_dict=True)
        hidden = self.vocab_layer_norm(self.activation(self.vocab_transform(outputs.last_hidden_state)))
        logits = self.vocab_projector(hidden)  # (batch, seq, vocab)
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1))
        out = MaskedLMOutput(loss=loss, logits=logits, hidden_states=outputs.hidden_states,
                             attentions=outputs.attentions)
        return out if return_dict else out.to_tuple()


class DistilBertForSequenceClassification(DistilBertPreTrainedModel):
    """DistilBERT classifying the first token's state: pre_classifier, ReLU, dropout, classifier."""

    def __init__(self, config: DistilBertConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.distilbert = DistilBertModel(config)
        self.pre_classifier = nn.Linear(config.dim, config.dim)
        self.classifier = nn.Linear(config.dim, config.num_labels)
        self.dropout = nn.Dropout(config.seq_classif_dropout)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> SequenceClassifierOutput | tuple:
        """``labels``: class ids (batch,), floats (batch,) for regression (num_labels=1),
        or 0/1 floats (batch, num_labels) for multi-label; see config.problem_type."""
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        outputs = self.distilbert(input_ids, attention_mask, inputs_embeds, position_ids,
                                  output_attentions, output_hidden_states, return_dict=True)
        pooled = F.relu(self.pre_classifier(outputs.last_hidden_state[:, 0]))  # (batch, dim)
        logits = self.classifier(self.dropout(pooled))  # (batch, num_labels)
        loss = sequence_classification_loss(logits, labels, self.config) if labels is not None else None
        out = SequenceClassifierOutput(loss=loss, logits=logits, hidden_states=outputs.hidden_states,
                                       attentions=outputs.attentions)
        return out if return_dict else out.to_tuple()


class DistilBertForTokenClassification(DistilBertPreTrainedModel):
    """DistilBERT with a linear classifier on every token (NER, tagging)."""

    def __init__(self, config: DistilBertConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.distilbert = DistilBertModel(config)
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(config.dim, config.num_labels)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> TokenClassifierOutput | tuple:
        """``labels`` (batch, seq): a class id per token, -100 where ignored."""
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        outputs = self.distilbert(input_ids, attention_mask, inputs_embeds, position_ids,
                                  output_attentions, output_hidden_states, return_dict=True)
        logits = self.classifier(self.dropout(outputs.last_hidden_state))  # (batch, seq, num_labels)
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits.reshape(-1, self.num_labels), labels.reshape(-1))
        out = TokenClassifierOutput(loss=loss, logits=logits, hidden_states=outputs.hidden_states,
                                    attentions=outputs.attentions)
        return out if return_dict else out.to_tuple()


class DistilBertForQuestionAnswering(DistilBertPreTrainedModel):
    """DistilBERT predicting the start and end of an answer span (SQuAD)."""

    def __init__(self, config: DistilBertConfig) -> None:
        super().__init__(config)
        if config.num_labels != 2:
            raise ValueError(
                f"DistilBertForQuestionAnswering scores a span's start and end: it needs num_labels=2, "
                f"got num_labels={config.num_labels}."
            )
        self.distilbert = DistilBertModel(config)
        self.dropout = nn.Dropout(config.qa_dropout)
        self.qa_outputs = nn.Linear(config.dim, 2)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        start_positions: torch.Tensor | None = None,
        end_positions: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> QuestionAnsweringModelOutput | tuple:
        """``start_positions`` / ``end_positions`` (batch,): token indices of the answer;
        positions outside the sequence are ignored in the loss."""
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        outputs = self.distilbert(input_ids, attention_mask, inputs_embeds, position_ids,
                                  output_attentions, output_hidden_states, return_dict=True)
        logits = self.qa_outputs(self.dropout(outputs.last_hidden_state))  # (batch, seq, 2)
        start_logits, end_logits, loss = span_logits_and_loss(logits, start_positions, end_positions)
        out = QuestionAnsweringModelOutput(loss=loss, start_logits=start_logits, end_logits=end_logits,
                                           hidden_states=outputs.hidden_states, attentions=outputs.attentions)
        return out if return_dict else out.to_tuple()


class DistilBertForMultipleChoice(DistilBertPreTrainedModel):
    """DistilBERT scoring each of several choices; inputs are (batch, choices, seq)."""

    def __init__(self, config: DistilBertConfig) -> None:
        super().__init__(config)
        self.distilbert = DistilBertModel(config)
        self.pre_classifier = nn.Linear(config.dim, config.dim)
        self.classifier = nn.Linear(config.dim, 1)
        self.dropout = nn.Dropout(config.seq_classif_dropout)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> MultipleChoiceModelOutput | tuple:
        """``labels`` (batch,): the index of the right choice."""
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        num_choices = (input_ids if input_ids is not None else inputs_embeds).shape[1]

        def flat(x: torch.Tensor | None) -> torch.Tensor | None:
            return None if x is None else x.reshape(-1, x.shape[-1])  # (batch * choices, seq)

        if inputs_embeds is not None:
            inputs_embeds = inputs_embeds.reshape(-1, *inputs_embeds.shape[-2:])  # (batch * choices, seq, dim)
        outputs = self.distilbert(flat(input_ids), flat(attention_mask), inputs_embeds, flat(position_ids),
                                  output_attentions, output_hidden_states, return_dict=True)
        pooled = F.relu(self.pre_classifier(outputs.last_hidden_state[:, 0]))  # (batch * choices, dim)
        logits = self.classifier(self.dropout(pooled)).view(-1, num_choices)  # (batch, choices)
        loss = F.cross_entropy(logits, labels) if labels is not None else None
        out = MultipleChoiceModelOutput(loss=loss, logits=logits, hidden_states=outputs.hidden_states,
                                        attentions=outputs.attentions)
        return out if return_dict else out.to_tuple()

