"""RoBERTa (Liu et al., 2019): BERT's encoder, trained longer on more text without the
next-sentence task, with its own embeddings and heads, top to bottom.

What is RoBERTa's own lives here: the embeddings (positions numbered from
``pad_token_id + 1`` and derived from the input ids, so padding keeps the position
``pad_token_id``), the LM head (``lm_head``: dense, GELU, layer_norm, decoder) and the
classification head (``classifier``: dense, tanh, out_proj on ``<s>``). The attention, the
layers, the encoder stack, the pooler and the base model's forward (masks, the KVCache of
a decoder, cross-attention) are plugformers-bert's classes, imported: RoBERTa's layers are
BERT's, key for key (``roberta.encoder.layer.0.attention.self.query.weight``), so a
transformers state dict loads with a plain ``load_state_dict``.
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from plugformers.layers import init_normal_, sequence_classification_loss
from plugformers.modeling_outputs import MultipleChoiceModelOutput, SequenceClassifierOutput
from plugformers.modeling_utils import PreTrainedModel
from plugformers_bert.modeling import (
    BertEmbeddings,
    BertEncoder,
    BertForMaskedLM,
    BertForMultipleChoice,
    BertForQuestionAnswering,
    BertForTokenClassification,
    BertLMHeadModel,
    BertModel,
    BertPooler,
    BertPreTrainedModel,
    PastKeyValues,
)
from torch import nn

from .configuration import RobertaConfig

__all__ = [
    "RobertaPreTrainedModel",
    "RobertaModel",
    "RobertaForMaskedLM",
    "RobertaForCausalLM",
    "RobertaForSequenceClassification",
    "RobertaForMultipleChoice",
    "RobertaForTokenClassification",
    "RobertaForQuestionAnswering",
]

logger = logging.getLogger("plugformers")


# --------------------------------------------------------------------------- embeddings


def position_ids_from_input_ids(input_ids: torch.Tensor, padding_idx: int, past_length: int = 0) -> torch.Tensor:
    """RoBERTa's (fairseq's) positions: the n-th non-padding token of a row (counting the
    ``past_length`` cached ones) gets ``padding_idx + n``; padding gets ``padding_idx``.
    (batch, seq) -> (batch, seq)."""
    real = input_ids.ne(padding_idx).long()  # (batch, seq): 1 for tokens, 0 for padding
    return (real.cumsum(dim=1) + past_length) * real + padding_idx


class RobertaEmbeddings(BertEmbeddings):
    """BERT's embeddings with RoBERTa's positions: when no ``position_ids`` are given they
    come from ``input_ids`` (``position_ids_from_input_ids``), or run from
    ``pad_token_id + 1`` for ``inputs_embeds``. The position table has a padding row too."""

    def __init__(self, config: RobertaConfig) -> None:
        super().__init__(config)
        self.padding_idx = config.pad_token_id
        del self.position_embeddings  # re-registered last: the order of transformers' state dict
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size,
                                                padding_idx=config.pad_token_id)

    def forward(self, input_ids: torch.Tensor | None = None, token_type_ids: torch.Tensor | None = None,
                position_ids: torch.Tensor | None = None, inputs_embeds: torch.Tensor | None = None,
                past_length: int = 0) -> torch.Tensor:
        if position_ids is None:
            if input_ids is not None:
                position_ids = position_ids_from_input_ids(input_ids, self.padding_idx, past_length)
            else:
                start = self.padding_idx + 1 + past_length
                seq_len = inputs_embeds.shape[1]
                position_ids = torch.arange(start, start + seq_len, device=inputs_embeds.device)[None]  # (1, seq)
            self._check_length(position_ids)
        return super().forward(input_ids, token_type_ids, position_ids, inputs_embeds, past_length)

    def _check_length(self, position_ids: torch.Tensor) -> None:
        """Derived positions past the table: say how many tokens fit, not which id overflowed."""
        size = self.position_embeddings.num_embeddings
        if position_ids.numel() == 0 or position_ids.device.type == "meta" or torch.compiler.is_compiling():
            return
        if int(position_ids.max()) >= size:
            raise ValueError(
                f"the input holds {int(position_ids.max()) - self.padding_idx} tokens (with the cached ones), more "
                f"than this model's {size - self.padding_idx - 1}: RoBERTa numbers positions from pad_token_id + 1 = "
                f"{self.padding_idx + 1} (config.max_position_embeddings={size}). Truncate the input, e.g. "
                f"tokenizer(..., truncation=True, max_length={size - self.padding_idx - 1})."
            )


# --------------------------------------------------------------------------- heads' modules


class RobertaLMHead(nn.Module):
    """Scores over the vocabulary: dense, GELU, layer_norm, then the decoder. With
    config.tie_word_embeddings (the default) the model ties ``decoder.weight`` to the word
    embeddings and ``decoder.bias`` to ``bias``; untied, the decoder keeps a weight and a
    bias of its own (and ``bias`` is unused), as in transformers."""

    def __init__(self, config: RobertaConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.layer_norm(F.gelu(self.dense(features))))  # (..., vocab)


def _classifier_dropout(config: RobertaConfig) -> nn.Dropout:
    p = config.classifier_dropout
    return nn.Dropout(config.hidden_dropout_prob if p is None else p)


class RobertaClassificationHead(nn.Module):
    """Sentence-level scores from the ``<s>`` token: dropout, dense, tanh, dropout, out_proj
    (RoBERTa has no pooler in its classifier: this head is its own)."""

    def __init__(self, config: RobertaConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = _classifier_dropout(config)
        self.out_proj = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = self.dropout(features[:, 0])  # (batch, hidden): the <s> token
        x = self.dropout(torch.tanh(self.dense(x)))
        return self.out_proj(x)  # (batch, num_labels)


# --------------------------------------------------------------------------- base model


class RobertaPreTrainedModel(BertPreTrainedModel):
    """Shared by every RoBERTa class: config class, init, checkpoint-key rules (BERT's).

    The heads reuse the forwards of plugformers-bert's heads, which call the encoder
    ``self.bert`` and the LM head ``self.cls``: here those names are read-only views of
    ``self.roberta`` and ``self.lm_head``, the modules (and checkpoint keys) RoBERTa has."""

    config_class = RobertaConfig
    base_model_prefix = "roberta"

    def _init_weights(self, module: nn.Module) -> None:
        init_normal_(module, self.config.initializer_range)
        if isinstance(module, RobertaLMHead):
            module.bias.data.zero_()

    @property
    def bert(self) -> RobertaModel:
        return self.roberta

    def _build(self, config: RobertaConfig, *, pooler: bool = False, **modules: nn.Module) -> None:
        """A head's __init__: the encoder ``roberta``, then ``modules`` in checkpoint order.
        (Not the BERT head's __init__, which would build BERT's encoder and heads.)"""
        PreTrainedModel.__init__(self, config)
        self.num_labels = config.num_labels
        self.roberta = RobertaModel(config, add_pooling_layer=pooler)
        for name, module in modules.items():
            setattr(self, name, module)
        self.post_init()


class RobertaModel(RobertaPreTrainedModel, BertModel):
    """The bare RoBERTa encoder: BertModel (its forward, encoder and pooler) on
    RobertaEmbeddings. With ``config.is_decoder`` the self-attention is causal and past
    key/values are returned for incremental decoding; with ``add_cross_attention`` each
    layer also attends to ``encoder_hidden_states``."""

    def __init__(self, config: RobertaConfig, add_pooling_layer: bool = True) -> None:
        PreTrainedModel.__init__(self, config)  # BertModel.__init__ would build BERT's embeddings
        self.embeddings = RobertaEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None
        self.post_init()


# --------------------------------------------------------------------------- heads


class _RobertaWithLMHead(RobertaPreTrainedModel):
    """What the two heads with a vocabulary projection (``lm_head``) share."""

    # Tied: stored once in checkpoints, as the word embeddings and lm_head.bias.
    _tied_weights_keys = {
        "lm_head.decoder.weight": "roberta.embeddings.word_embeddings.weight",
        "lm_head.decoder.bias": "lm_head.bias",
    }

    def __init__(self, config: RobertaConfig) -> None:
        self._build(config, lm_head=RobertaLMHead(config))

    @property
    def cls(self) -> RobertaLMHead:
        return self.lm_head

    def get_output_embeddings(self) -> nn.Linear:
        return self.lm_head.decoder

    def set_output_embeddings(self, new_embeddings: nn.Linear) -> None:
        self.lm_head.decoder = new_embeddings
        self.lm_head.bias = new_embeddings.bias


class RobertaForMaskedLM(_RobertaWithLMHead, BertForMaskedLM):
    """RoBERTa with the masked-LM head: scores over the vocabulary at every position
    (``labels``: the original ids at masked positions, -100 elsewhere)."""

    def __init__(self, config: RobertaConfig) -> None:
        if config.is_decoder:
            logger.warning("RobertaForMaskedLM attends in both directions: build it with is_decoder=False.")
        super().__init__(config)


class RobertaForCausalLM(_RobertaWithLMHead, BertLMHeadModel):
    """RoBERTa as a left-to-right language model (build it with ``is_decoder=True``);
    ``labels`` are the input ids, shifted inside. Keeps a KVCache like BertLMHeadModel.

    generate() gives it the positions transformers' generate() does: counted from 0 over
    the attended tokens, not RoBERTa's ``pad_token_id + 1`` onwards (see
    ``generation_inputs``), so that the tokens are the same."""

    def __init__(self, config: RobertaConfig) -> None:
        if not config.is_decoder:
            logger.warning("RobertaForCausalLM is a causal LM: build it with RobertaConfig(is_decoder=True) "
                           "to use it standalone.")
        super().__init__(config)

    def generation_inputs(self, input_ids: torch.Tensor, past: PastKeyValues | None,
                          attention_mask: torch.Tensor | None) -> dict:
        """The forward arguments that score the token after ``input_ids`` (rows, length),
        for plugformers.generation: the tokens the cache ``past`` lacks, and explicit
        positions 0, 1, ... over the attended tokens (padding at 0), which is what
        transformers' generate() passes to this model."""
        if attention_mask is None:
            positions = torch.arange(input_ids.shape[1], device=input_ids.device)[None]  # (1, length)
        else:
            positions = (attention_mask.long().cumsum(-1) - 1).masked_fill(attention_mask == 0, 0)  # (rows, length)
        done = past.get_seq_length() if past is not None else 0
        return {"input_ids": input_ids[:, done:], "attention_mask": attention_mask,
                "position_ids": positions[:, done:], "past_key_values": past, "use_cache": True,
                "logits_to_keep": 1, "return_dict": True}


class RobertaForSequenceClassification(RobertaPreTrainedModel):
    """RoBERTa with its own classification head (dense, tanh, out_proj) on the ``<s>``
    token, where BERT classifies its pooler's output."""

    def __init__(self, config: RobertaConfig) -> None:
        self._build(config, classifier=RobertaClassificationHead(config))

    def forward(self, input_ids: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, position_ids: torch.Tensor | None = None,
                inputs_embeds: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                output_attentions: bool | None = None, output_hidden_states: bool | None = None,
                return_dict: bool | None = None) -> SequenceClassifierOutput | tuple:
        """``labels``: class ids (batch,), floats (batch,) for regression (num_labels=1),
        or 0/1 floats (batch, num_labels) for multi-label; see config.problem_type."""
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        encoded = self.roberta(input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds,
                               output_attentions=output_attentions, output_hidden_states=output_hidden_states,
                               return_dict=True)
        logits = self.classifier(encoded.last_hidden_state)  # (batch, num_labels)
        out = SequenceClassifierOutput(
            loss=None if labels is None else sequence_classification_loss(logits, labels, self.config),
            logits=logits, hidden_states=encoded.hidden_states, attentions=encoded.attentions,
        )
        return out if return_dict else out.to_tuple()


class RobertaForMultipleChoice(RobertaPreTrainedModel, BertForMultipleChoice):
    """RoBERTa scoring each of several choices from its pooled ``<s>``; inputs are
    (batch, choices, seq), ``labels`` (batch,) the index of the right choice. The
    arguments' positional order is transformers' RobertaForMultipleChoice's."""

    def __init__(self, config: RobertaConfig) -> None:
        self._build(config, pooler=True, dropout=nn.Dropout(config.hidden_dropout_prob),
                    classifier=nn.Linear(config.hidden_size, 1))

    def forward(self, input_ids: torch.Tensor | None = None, token_type_ids: torch.Tensor | None = None,
                attention_mask: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                position_ids: torch.Tensor | None = None, inputs_embeds: torch.Tensor | None = None,
                **kwargs) -> MultipleChoiceModelOutput | tuple:
        return super().forward(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                               position_ids=position_ids, inputs_embeds=inputs_embeds, labels=labels, **kwargs)


class RobertaForTokenClassification(RobertaPreTrainedModel, BertForTokenClassification):
    """RoBERTa with a linear classifier on every token (NER, tagging); ``labels`` (batch,
    seq): a class id per token, -100 where ignored."""

    def __init__(self, config: RobertaConfig) -> None:
        self._build(config, dropout=_classifier_dropout(config),
                    classifier=nn.Linear(config.hidden_size, config.num_labels))


class RobertaForQuestionAnswering(RobertaPreTrainedModel, BertForQuestionAnswering):
    """RoBERTa predicting the start and end of an answer span (SQuAD) from
    ``qa_outputs``; positions outside the sequence are ignored in the loss."""

    def __init__(self, config: RobertaConfig) -> None:
        self._build(config, qa_outputs=nn.Linear(config.hidden_size, config.num_labels))
