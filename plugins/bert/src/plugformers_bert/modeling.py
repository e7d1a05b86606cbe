"""BERT (Devlin et al., 2018): the encoder and every task head, top to bottom.

Module names are the checkpoint's key names (``bert.encoder.layer.0.attention.self.query.weight``,
``cls.predictions.decoder.weight``, ...), so a transformers state dict loads with a plain
``load_state_dict``. Order: embeddings, attention, feed-forward, layer, encoder, pooler,
prediction heads, the base model, then the heads.

Decoder use (``config.is_decoder``, BertLMHeadModel) keeps the self-attention keys and
values in a ``plugformers.cache.KVCache`` (``past_key_values``; the legacy tuple of
(key, value) per layer is accepted too). Cross-attention keys and values are computed
from ``encoder_hidden_states`` on every call, not cached.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from plugformers.cache import KVCache
from plugformers.layers import (
    all_set,
    attend,
    causal_lm_loss,
    causal_mask,
    check_input_ids,
    extended_attention_mask,
    get_activation,
    init_normal_,
    sequence_classification_loss,
    span_logits_and_loss,
)
from plugformers.modeling_outputs import (
    BaseModelOutputWithPastAndCrossAttentions,
    BaseModelOutputWithPoolingAndCrossAttentions,
    CausalLMOutputWithCrossAttentions,
    MaskedLMOutput,
    ModelOutput,
    MultipleChoiceModelOutput,
    NextSentencePredictorOutput,
    QuestionAnsweringModelOutput,
    SequenceClassifierOutput,
    TokenClassifierOutput,
)
from plugformers.modeling_utils import PreTrainedModel
from torch import nn
from torch.utils.checkpoint import checkpoint

from .configuration import BertConfig

__all__ = [
    "BertPreTrainedModel",
    "BertModel",
    "BertForPreTraining",
    "BertForPreTrainingOutput",
    "BertForMaskedLM",
    "BertLMHeadModel",
    "BertForNextSentencePrediction",
    "BertForSequenceClassification",
    "BertForMultipleChoice",
    "BertForTokenClassification",
    "BertForQuestionAnswering",
]

logger = logging.getLogger("plugformers")

PastKeyValues = KVCache | tuple[tuple[torch.Tensor, torch.Tensor], ...]


# --------------------------------------------------------------------------- embeddings


class BertEmbeddings(nn.Module):
    """Word + token type + position embeddings, then LayerNorm and dropout."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        past_length: int = 0,
    ) -> torch.Tensor:
        max_positions = self.position_embeddings.num_embeddings
        if inputs_embeds is None:
            # Positions come from position_ids when given; only their absence ties length to max_positions.
            check_input_ids(input_ids, self.word_embeddings.num_embeddings,
                            max_positions if position_ids is None else None, past_length)
            inputs_embeds = self.word_embeddings(input_ids)
        seq_len = inputs_embeds.shape[1]
        if position_ids is None:
            if past_length + seq_len > max_positions:
                raise ValueError(
                    f"inputs_embeds has sequence length {past_length + seq_len}, longer than the model's "
                    f"{max_positions} positions (config.max_position_embeddings). Truncate the input."
                )
            # The default positions are past_length, past_length + 1, ...: a slice, not a lookup.
            positions = self.position_embeddings.weight[past_length : past_length + seq_len]  # (seq, hidden)
        else:
            _check_range(position_ids, max_positions, "position_ids", "max_position_embeddings")
            positions = self.position_embeddings(position_ids)
        if token_type_ids is None:
            types = self.token_type_embeddings.weight[0]  # (hidden,): every token is segment 0
        else:
            _check_range(token_type_ids, self.token_type_embeddings.num_embeddings, "token_type_ids", "type_vocab_size")
            types = self.token_type_embeddings(token_type_ids)
        embeddings = inputs_embeds + types + positions
        return self.dropout(self.LayerNorm(embeddings))


def _check_range(ids: torch.Tensor, size: int, what: str, field: str) -> None:
    """A clear error instead of an index error inside an embedding lookup."""
    if ids.numel() == 0 or ids.device.type == "meta" or torch.compiler.is_compiling():
        return  # compiled: reading the ids would break the graph
    low, high = (int(x) for x in torch.aminmax(ids))
    if low < 0 or high >= size:
        raise ValueError(
            f"{what} holds {high if high >= size else low}, outside this model's 0 .. {size - 1} "
            f"(config.{field}={size}). Pass {what}=None for the default, or values in that range."
        )


# --------------------------------------------------------------------------- attention


class BertSelfAttention(nn.Module):
    """Multi-head attention. As self-attention the keys come from the layer's input (and
    the cache, slot ``layer_idx``); as cross-attention from ``encoder_hidden_states``."""

    def __init__(self, config: BertConfig, layer_idx: int = 0, is_cross_attention: bool = False) -> None:
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.head_dim = config.hidden_size // config.num_attention_heads
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)
        self.layer_idx = layer_idx
        self.is_cross_attention = is_cross_attention

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        batch, seq, _ = x.shape
        return x.view(batch, seq, self.num_heads, self.head_dim).transpose(1, 2)  # (batch, heads, seq, head_dim)

    def forward(
        self,
        hidden_states: torch.Tensor,
        mask: torch.Tensor | None = None,
        encoder_hidden_states: torch.Tensor | None = None,
        cache: KVCache | None = None,
        output_attentions: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        query = self._heads(self.query(hidden_states))  # (batch, heads, q, head_dim)
        source = encoder_hidden_states if self.is_cross_attention else hidden_states
        key = self._heads(self.key(source))  # (batch, heads, k, head_dim)
        value = self._heads(self.value(source))
        if cache is not None and not self.is_cross_attention:
            key, value = cache.update(self.layer_idx, key, value)  # (batch, heads, past + q, head_dim)
        context, probs = attend(
            query, key, value, mask,
            dropout=self.dropout.p if self.training else 0.0,
            need_weights=output_attentions,
        )
        batch, _, q_len, _ = context.shape
        context = context.transpose(1, 2).reshape(batch, q_len, self.num_heads * self.head_dim)  # (batch, q, hidden)
        return context, probs


class BertSelfOutput(nn.Module):
    """Projection of the attention context, dropout, residual and LayerNorm."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(hidden_states)) + residual)


class BertAttention(nn.Module):
    """Attention (``self``) followed by its output block (``output``)."""

    def __init__(self, config: BertConfig, layer_idx: int = 0, is_cross_attention: bool = False) -> None:
        super().__init__()
        self.self = BertSelfAttention(config, layer_idx, is_cross_attention)
        self.output = BertSelfOutput(config)

    def forward(
        self,
        hidden_states: torch.Tensor,
        mask: torch.Tensor | None = None,
        encoder_hidden_states: torch.Tensor | None = None,
        cache: KVCache | None = None,
        output_attentions: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        context, probs = self.self(hidden_states, mask, encoder_hidden_states, cache, output_attentions)
        return self.output(context, hidden_states), probs


# --------------------------------------------------------------------------- feed-forward and layer


class BertIntermediate(nn.Module):
    """First feed-forward projection (hidden -> intermediate) and its activation."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.intermediate_act_fn = get_activation(config.hidden_act)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.intermediate_act_fn(self.dense(hidden_states))


class BertOutput(nn.Module):
    """Second feed-forward projection (intermediate -> hidden), dropout, residual, LayerNorm."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(hidden_states)) + residual)


class BertLayer(nn.Module):
    """Self-attention, optional cross-attention (decoders), feed-forward."""

    def __init__(self, config: BertConfig, layer_idx: int = 0) -> None:
        super().__init__()
        self.is_decoder = config.is_decoder
        self.chunk_size_feed_forward = config.chunk_size_feed_forward
        self.attention = BertAttention(config, layer_idx)
        if config.add_cross_attention:
            if not config.is_decoder:
                raise ValueError(
                    "BertConfig(add_cross_attention=True) needs is_decoder=True: cross-attention "
                    "layers only run in a decoder. Set is_decoder=True, or add_cross_attention=False."
                )
            self.crossattention = BertAttention(config, layer_idx, is_cross_attention=True)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)

    def forward(
        self,
        hidden_states: torch.Tensor,
        mask: torch.Tensor | None = None,
        encoder_hidden_states: torch.Tensor | None = None,
        encoder_mask: torch.Tensor | None = None,
        cache: KVCache | None = None,
        output_attentions: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """Returns (hidden_states, self-attention probabilities or None, cross-attention
        probabilities or None)."""
        hidden_states, self_probs = self.attention(hidden_states, mask, None, cache, output_attentions)
        cross_probs = None
        if self.is_decoder and encoder_hidden_states is not None:
            if not hasattr(self, "crossattention"):
                raise ValueError(
                    "encoder_hidden_states were passed, but this model has no cross-attention layers; "
                    "build it with BertConfig(is_decoder=True, add_cross_attention=True)."
                )
            hidden_states, cross_probs = self.crossattention(
                hidden_states, encoder_mask, encoder_hidden_states, None, output_attentions
            )
        if self.chunk_size_feed_forward:  # same numbers, less peak memory: the feed-forward is per token
            chunks = hidden_states.split(self.chunk_size_feed_forward, dim=1)
            hidden_states = torch.cat([self._feed_forward(c) for c in chunks], dim=1)
        else:
            hidden_states = self._feed_forward(hidden_states)
        return hidden_states, self_probs, cross_probs

    def _feed_forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.output(self.intermediate(hidden_states), hidden_states)


class BertEncoder(nn.Module):
    """The stack of BertLayers."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(config, i) for i in range(config.num_hidden_layers)])
        self.gradient_checkpointing = False

    def forward(
        self,
        hidden_states: torch.Tensor,
        mask: torch.Tensor | None = None,
        encoder_hidden_states: torch.Tensor | None = None,
        encoder_mask: torch.Tensor | None = None,
        cache: KVCache | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> BaseModelOutputWithPastAndCrossAttentions:
        # Recomputing a layer in the backward pass would write its cache entry twice.
        checkpointing = self.gradient_checkpointing and self.training and cache is None
        all_hidden = (hidden_states,) if output_hidden_states else None
        all_attentions = () if output_attentions else None
        all_cross = () if output_attentions else None  # empty without cross-attention, as in transformers 5
        for layer in self.layer:
            args = (hidden_states, mask, encoder_hidden_states, encoder_mask, cache, output_attentions)
            if checkpointing:
                hidden_states, self_probs, cross_probs = checkpoint(layer, *args, use_reentrant=False)
            else:
                hidden_states, self_probs, cross_probs = layer(*args)
            if output_hidden_states:
                all_hidden += (hidden_states,)
            if output_attentions:
                all_attentions += (self_probs,)
                if cross_probs is not None:
                    all_cross += (cross_probs,)
        return BaseModelOutputWithPastAndCrossAttentions(
            last_hidden_state=hidden_states,
            past_key_values=cache,
            hidden_states=all_hidden,
            attentions=all_attentions,
            cross_attentions=all_cross,
        )


class BertPooler(nn.Module):
    """The first token's hidden state through a dense layer and tanh: a sequence summary."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = nn.Tanh()

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.activation(self.dense(hidden_states[:, 0]))


# --------------------------------------------------------------------------- prediction heads


class BertPredictionHeadTransform(nn.Module):
    """Dense, activation and LayerNorm applied before the vocabulary projection."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.transform_act_fn = get_activation(config.hidden_act)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.transform_act_fn(self.dense(hidden_states)))


class BertLMPredictionHead(nn.Module):
    """Scores over the vocabulary. With config.tie_word_embeddings (the default) the
    model ties ``decoder.weight`` to the word embeddings and ``decoder.bias`` to the
    head's ``bias``; untied, the decoder keeps a weight and a bias of its own (and
    ``bias`` is unused), as in transformers."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.transform = BertPredictionHeadTransform(config)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.transform(hidden_states))


class BertOnlyMLMHead(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.predictions = BertLMPredictionHead(config)

    def forward(self, sequence_output: torch.Tensor) -> torch.Tensor:
        return self.predictions(sequence_output)


class BertOnlyNSPHead(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.seq_relationship = nn.Linear(config.hidden_size, 2)

    def forward(self, pooled_output: torch.Tensor) -> torch.Tensor:
        return self.seq_relationship(pooled_output)


class BertPreTrainingHeads(nn.Module):
    """Masked-LM scores from the sequence output, next-sentence scores from the pooled output."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.predictions = BertLMPredictionHead(config)
        self.seq_relationship = nn.Linear(config.hidden_size, 2)

    def forward(self, sequence_output: torch.Tensor, pooled_output: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.predictions(sequence_output), self.seq_relationship(pooled_output)


# --------------------------------------------------------------------------- base model


class BertPreTrainedModel(PreTrainedModel):
    """Shared by every BERT class: config class, init, checkpoint-key rules."""

    config_class = BertConfig
    base_model_prefix = "bert"
    supports_gradient_checkpointing = True
    # Checkpoints written by transformers 4.x before ~4.31 stored these buffers.
    _keys_to_ignore_on_load_unexpected = [r"embeddings\.position_ids$", r"embeddings\.token_type_ids$"]
    _keys_to_ignore_on_load_missing = []

    def _init_weights(self, module: nn.Module) -> None:
        init_normal_(module, self.config.initializer_range)
        if isinstance(module, BertLMPredictionHead):
            module.bias.data.zero_()


class BertModel(BertPreTrainedModel):
    """The bare BERT encoder: last hidden states and the pooled first token.

    With ``config.is_decoder`` the self-attention is causal and past key/values are
    returned for incremental decoding; with ``add_cross_attention`` each layer also
    attends to ``encoder_hidden_states``.
    """

    def __init__(self, config: BertConfig, add_pooling_layer: bool = True) -> None:
        super().__init__(config)
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings.word_embeddings

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.embeddings.word_embeddings = value

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        encoder_hidden_states: torch.Tensor | None = None,
        encoder_attention_mask: torch.Tensor | None = None,
        past_key_values: PastKeyValues | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> BaseModelOutputWithPoolingAndCrossAttentions | tuple:
        """``input_ids`` (batch, seq); with ``past_key_values`` only the new tokens, and
        ``attention_mask`` (batch, past + seq) covering the cached ones too. Returns the
        last hidden states, the pooled first token, the cache (a KVCache) when
        ``use_cache`` (decoders only) and every layer's hidden states / attention
        probabilities when asked."""
        output_attentions, output_hidden_states, return_dict = self._flags(
            output_attentions, output_hidden_states, return_dict
        )
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("BertModel: pass exactly one of input_ids and inputs_embeds.")
        is_decoder = self.config.is_decoder
        use_cache = (self.config.use_cache if use_cache is None else use_cache) if is_decoder else False
        if use_cache and self.encoder.gradient_checkpointing and self.training:
            warnings.warn("use_cache=True is incompatible with gradient checkpointing; using use_cache=False.",
                          stacklevel=2)
            use_cache = False
        cache = KVCache.from_legacy(past_key_values) if (use_cache or past_key_values is not None) else None
        past_length = cache.get_seq_length() if cache is not None else 0

        embeddings = self.embeddings(input_ids, token_type_ids, position_ids, inputs_embeds, past_length)
        dtype, seq_len = embeddings.dtype, embeddings.shape[1]

        if is_decoder:
            mask = causal_mask(seq_len, past_length + seq_len, embeddings.device, dtype)  # (1, 1, q, k)
            if attention_mask is not None:
                # Padding and causality both masked add up to -inf; clamp so a row that
                # masks everything stays finite (uniform), as a single masked value would.
                mask = (mask + extended_attention_mask(attention_mask, dtype)).clamp_(min=torch.finfo(dtype).min)
        elif attention_mask is None or (attention_mask.dim() == 2 and all_set(attention_mask)):
            mask = None  # nothing to mask: the fused attention kernel runs without a mask
        else:
            mask = extended_attention_mask(attention_mask, dtype)  # (batch, 1, 1 or q, k)
        encoder_mask = None
        if is_decoder and encoder_hidden_states is not None:
            encoder_mask = extended_attention_mask(encoder_attention_mask, dtype)  # (batch, 1, 1, k_enc)

        encoded = self.encoder(
            embeddings, mask, encoder_hidden_states, encoder_mask, cache, output_attentions, output_hidden_states
        )
        sequence_output = encoded.last_hidden_state
        out = BaseModelOutputWithPoolingAndCrossAttentions(
            last_hidden_state=sequence_output,
            pooler_output=self.pooler(sequence_output) if self.pooler is not None else None,
            hidden_states=encoded.hidden_states,
            past_key_values=cache if use_cache else None,
            attentions=encoded.attentions,
            cross_attentions=encoded.cross_attentions,
        )
        return out if return_dict else out.to_tuple()


# --------------------------------------------------------------------------- heads


@dataclass
class BertForPreTrainingOutput(ModelOutput):
    """Output of BertForPreTraining: loss (masked-LM + next-sentence) when both labels are
    given, masked-LM scores (batch, seq, vocab), next-sentence scores (batch, 2)."""

    loss: torch.Tensor | None = None
    prediction_logits: torch.Tensor | None = None
    seq_relationship_logits: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None
    attentions: tuple[torch.Tensor, ...] | None = None


class _BertWithLMHead(BertPreTrainedModel):
    """What the three heads with a vocabulary projection (``cls.predictions``) share."""

    # Tied: stored once in checkpoints, as the word embeddings and cls.predictions.bias.
    _tied_weights_keys = {
        "cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight",
        "cls.predictions.decoder.bias": "cls.predictions.bias",
    }

    def get_output_embeddings(self) -> nn.Linear:
        return self.cls.predictions.decoder

    def set_output_embeddings(self, new_embeddings: nn.Linear) -> None:
        self.cls.predictions.decoder = new_embeddings
        self.cls.predictions.bias = new_embeddings.bias


class BertForPreTraining(_BertWithLMHead):
    """BERT with its two pre-training heads: masked-LM and next-sentence prediction."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.bert = BertModel(config)
        self.cls = BertPreTrainingHeads(config)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        next_sentence_label: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> BertForPreTrainingOutput | tuple:
        """``labels`` (batch, seq): token ids to predict, -100 where not masked;
        ``next_sentence_label`` (batch,): 0 if sentence B follows A, 1 if random.
        The loss is their sum, computed when both are given."""
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        outputs = self.bert(
            input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds,
            output_attentions=output_attentions, output_hidden_states=output_hidden_states, return_dict=True,
        )
        prediction_scores, seq_relationship = self.cls(outputs.last_hidden_state, outputs.pooler_output)
        loss = None
        if labels is not None and next_sentence_label is not None:
            loss = (F.cross_entropy(prediction_scores.view(-1, self.config.vocab_size), labels.view(-1))
                    + F.cross_entropy(seq_relationship.view(-1, 2), next_sentence_label.view(-1)))
        out = BertForPreTrainingOutput(
            loss=loss,
            prediction_logits=prediction_scores,
            seq_relationship_logits=seq_relationship,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
        )
        return out if return_dict else out.to_tuple()


class BertLMHeadModel(_BertWithLMHead):
    """BERT as a left-to-right language model (build it with ``is_decoder=True``)."""

    supports_kv_cache = True  # past_key_values may be a KVCache, which forward fills (generation reads this)

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        if not config.is_decoder:
            logger.warning("BertLMHeadModel is a causal LM: build it with BertConfig(is_decoder=True) "
                           "to use it standalone.")
        self.bert = BertModel(config, add_pooling_layer=False)
        self.cls = BertOnlyMLMHead(config)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        encoder_hidden_states: torch.Tensor | None = None,
        encoder_attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        past_key_values: PastKeyValues | None = None,
        use_cache: bool | None = None,
        logits_to_keep: int | torch.Tensor = 0,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> CausalLMOutputWithCrossAttentions | tuple:
        """``labels`` (batch, seq): the input ids themselves, -100 where ignored; the
        model shifts them (position i predicts token i + 1). ``logits_to_keep``: score
        only the last n positions (0: all), or the positions a tensor lists."""
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        if labels is not None:
            use_cache = False
        outputs = self.bert(
            input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds,
            encoder_hidden_states, encoder_attention_mask, past_key_values, use_cache,
            output_attentions=output_attentions, output_hidden_states=output_hidden_states, return_dict=True,
        )
        hidden_states = outputs.last_hidden_state
        if isinstance(logits_to_keep, int):
            if logits_to_keep:
                hidden_states = hidden_states[:, -logits_to_keep:]  # (batch, kept, hidden)
        else:
            hidden_states = hidden_states[:, logits_to_keep]
        logits = self.cls(hidden_states)
        loss = causal_lm_loss(logits, labels) if labels is not None else None
        out = CausalLMOutputWithCrossAttentions(
            loss=loss,
            logits=logits,
            past_key_values=outputs.past_key_values,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
            cross_attentions=outputs.cross_attentions,
        )
        return out if return_dict else out.to_tuple()


class BertForMaskedLM(_BertWithLMHead):
    """BERT with the masked-LM head: scores over the vocabulary at every position."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        if config.is_decoder:
            logger.warning("BertForMaskedLM attends in both directions: build it with is_decoder=False.")
        self.bert = BertModel(config, add_pooling_layer=False)
        self.cls = BertOnlyMLMHead(config)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        encoder_hidden_states: torch.Tensor | None = None,
        encoder_attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> MaskedLMOutput | tuple:
        """``labels`` (batch, seq): the original ids at masked positions, -100 elsewhere."""
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        outputs = self.bert(
            input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds,
            encoder_hidden_states, encoder_attention_mask,
            output_attentions=output_attentions, output_hidden_states=output_hidden_states, return_dict=True,
        )
        logits = self.cls(outputs.last_hidden_state)
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits.view(-1, self.config.vocab_size), labels.view(-1))
        out = MaskedLMOutput(loss=loss, logits=logits, hidden_states=outputs.hidden_states,
                             attentions=outputs.attentions)
        return out if return_dict else out.to_tuple()


class BertForNextSentencePrediction(BertPreTrainedModel):
    """BERT with the next-sentence head: does sentence B follow sentence A?"""

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.bert = BertModel(config)
        self.cls = BertOnlyNSPHead(config)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> NextSentencePredictorOutput | tuple:
        """``labels`` (batch,): 0 if sentence B follows A, 1 if it is random."""
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        outputs = self.bert(
            input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds,
            output_attentions=output_attentions, output_hidden_states=output_hidden_states, return_dict=True,
        )
        logits = self.cls(outputs.pooler_output)
        loss = F.cross_entropy(logits.view(-1, 2), labels.view(-1)) if labels is not None else None
        out = NextSentencePredictorOutput(loss=loss, logits=logits, hidden_states=outputs.hidden_states,
                                          attentions=outputs.attentions)
        return out if return_dict else out.to_tuple()


def _classifier_dropout(config: BertConfig) -> nn.Dropout:
    p = config.classifier_dropout
    return nn.Dropout(config.hidden_dropout_prob if p is None else p)


class BertForSequenceClassification(BertPreTrainedModel):
    """BERT with a linear classifier (or regressor) on the pooled output."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config)
        self.dropout = _classifier_dropout(config)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> SequenceClassifierOutput | tuple:
        """``labels``: class ids (batch,), floats (batch,) for regression (num_labels=1),
        or 0/1 floats (batch, num_labels) for multi-label; see config.problem_type."""
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        outputs = self.bert(
            input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds,
            output_attentions=output_attentions, output_hidden_states=output_hidden_states, return_dict=True,
        )
        logits = self.classifier(self.dropout(outputs.pooler_output))
        loss = sequence_classification_loss(logits, labels, self.config) if labels is not None else None
        out = SequenceClassifierOutput(loss=loss, logits=logits, hidden_states=outputs.hidden_states,
                                       attentions=outputs.attentions)
        return out if return_dict else out.to_tuple()


class BertForMultipleChoice(BertPreTrainedModel):
    """BERT scoring each of several choices; inputs are (batch, choices, seq)."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.bert = BertModel(config)
        self.dropout = _classifier_dropout(config)
        self.classifier = nn.Linear(config.hidden_size, 1)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
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
            inputs_embeds = inputs_embeds.reshape(-1, *inputs_embeds.shape[-2:])  # (batch * choices, seq, hidden)
        outputs = self.bert(
            flat(input_ids), flat(attention_mask), flat(token_type_ids), flat(position_ids), inputs_embeds,
            output_attentions=output_attentions, output_hidden_states=output_hidden_states, return_dict=True,
        )
        logits = self.classifier(self.dropout(outputs.pooler_output)).view(-1, num_choices)  # (batch, choices)
        loss = F.cross_entropy(logits, labels) if labels is not None else None
        out = MultipleChoiceModelOutput(loss=loss, logits=logits, hidden_states=outputs.hidden_states,
                                        attentions=outputs.attentions)
        return out if return_dict else out.to_tuple()


class BertForTokenClassification(BertPreTrainedModel):
    """BERT with a linear classifier on every token (NER, tagging)."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config, add_pooling_layer=False)
        self.dropout = _classifier_dropout(config)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> TokenClassifierOutput | tuple:
        """``labels`` (batch, seq): a class id per token, -100 where ignored."""
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        outputs = self.bert(
            input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds,
            output_attentions=output_attentions, output_hidden_states=output_hidden_states, return_dict=True,
        )
        logits = self.classifier(self.dropout(outputs.last_hidden_state))
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits.view(-1, self.num_labels), labels.view(-1))
        out = TokenClassifierOutput(loss=loss, logits=logits, hidden_states=outputs.hidden_states,
                                    attentions=outputs.attentions)
        return out if return_dict else out.to_tuple()


class BertForQuestionAnswering(BertPreTrainedModel):
    """BERT predicting the start and end of an answer span (SQuAD)."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config, add_pooling_layer=False)
        self.qa_outputs = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        start_positions: torch.Tensor | None = None,
        end_positions: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> QuestionAnsweringModelOutput | tuple:
        """``start_positions`` / ``end_positions`` (batch,): token indices of the answer;
        positions outside the sequence are ignored in the loss."""
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        outputs = self.bert(
            input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds,
            output_attentions=output_attentions, output_hidden_states=output_hidden_states, return_dict=True,
        )
        logits = self.qa_outputs(outputs.last_hidden_state)  # (batch, seq, 2)
        start_logits, end_logits, loss = span_logits_and_loss(logits, start_positions, end_positions)
        out = QuestionAnsweringModelOutput(loss=loss, start_logits=start_logits, end_logits=end_logits,
                                           hidden_states=outputs.hidden_states, attentions=outputs.attentions)
        return out if return_dict else out.to_tuple()
