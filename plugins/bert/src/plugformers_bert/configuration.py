"""BertConfig: the fields of a BERT checkpoint's config.json, typed and validated.

Field names and defaults are those of transformers' BertConfig (bert-base-uncased's
sizes), so a config.json moves between the two libraries unchanged. This module
imports no torch: AutoConfig can read a config without loading any modeling code.
"""

from __future__ import annotations

from typing import ClassVar

from plugformers.configuration_utils import PretrainedConfig
from pydantic import Field, model_validator

__all__ = ["BertConfig"]


class BertConfig(PretrainedConfig):
    """Configuration of a BERT model (BertModel and every BERT head)."""

    model_type: ClassVar[str] = "bert"

    vocab_size: int = Field(30522, description="Number of token ids the word embeddings hold.")
    hidden_size: int = Field(768, description="Width of the embeddings, of every layer and of the pooler.")
    num_hidden_layers: int = Field(12, description="Number of Transformer layers in the encoder.")
    num_attention_heads: int = Field(12, description="Attention heads per layer; must divide hidden_size.")
    intermediate_size: int = Field(3072, description="Width of the feed-forward layer inside each Transformer layer.")
    hidden_act: str = Field("gelu", description="Activation of the feed-forward and LM-head transform (a plugformers.layers.ACT2FN name).")
    hidden_dropout_prob: float = Field(0.1, description="Dropout on embeddings, layer outputs and (by default) classifiers.")
    attention_probs_dropout_prob: float = Field(0.1, description="Dropout on the attention probabilities.")
    max_position_embeddings: int = Field(512, description="Longest sequence the position embeddings cover.")
    type_vocab_size: int = Field(2, description="Number of token type (segment) ids.")
    initializer_range: float = Field(0.02, description="Standard deviation of the normal weight init.")
    layer_norm_eps: float = Field(1e-12, description="Epsilon of every LayerNorm.")
    pad_token_id: int | None = Field(0, description="Id of the padding token; its word embedding row gets no gradient.")
    use_cache: bool = Field(True, description="Whether a decoder returns past key/values for incremental decoding.")
    classifier_dropout: float | None = Field(None, description="Dropout before classification heads; None uses hidden_dropout_prob.")
    is_decoder: bool = Field(False, description="Use causal self-attention (BertLMHeadModel, encoder-decoder setups).")
    add_cross_attention: bool = Field(False, description="Add cross-attention to encoder_hidden_states in each layer (needs is_decoder).")
    bos_token_id: int | None = Field(None, description="Id of the beginning-of-sequence token, if any.")
    eos_token_id: int | list[int] | None = Field(None, description="Id(s) of the end-of-sequence token, if any.")
    tie_word_embeddings: bool = Field(True, description="Share the LM head's decoder weight with the word embeddings.")
    position_embedding_type: str = Field(
        "absolute", description="Kind of position embeddings; only 'absolute' (learned, one row per position)."
    )

    @model_validator(mode="after")
    def _check_bert_fields(self) -> BertConfig:
        problems = []
        for name in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                     "intermediate_size", "max_position_embeddings", "type_vocab_size"):
            value = getattr(self, name)
            if value < 1:
                problems.append(f"{name}={value} must be a positive integer.")
        if self.hidden_size >= 1 and self.num_attention_heads >= 1 and self.hidden_size % self.num_attention_heads:
            lower = self.hidden_size - self.hidden_size % self.num_attention_heads
            problems.append(
                f"hidden_size={self.hidden_size} is not a multiple of num_attention_heads="
                f"{self.num_attention_heads}; each head gets hidden_size / num_attention_heads dimensions. "
                f"Pick sizes that divide, e.g. hidden_size={lower or self.num_attention_heads} or a "
                "num_attention_heads that divides hidden_size."
            )
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                problems.append(f"{name}={value} is a probability and must lie in [0, 1].")
        if self.layer_norm_eps <= 0:
            problems.append(f"layer_norm_eps={self.layer_norm_eps} must be positive.")
        if self.pad_token_id is not None and self.vocab_size >= 1 and not 0 <= self.pad_token_id < self.vocab_size:
            problems.append(
                f"pad_token_id={self.pad_token_id} is outside the vocabulary (0 .. {self.vocab_size - 1}); "
                "set pad_token_id=None for no padding row."
            )
        if self.position_embedding_type != "absolute":
            problems.append(
                f"position_embedding_type={self.position_embedding_type!r} is not supported: plugformers-bert "
                "implements 'absolute' position embeddings only (transformers 5 dropped the relative ones "
                "from BERT as well). Use a checkpoint trained with absolute positions."
            )
        if problems:
            raise ValueError("\n  ".join(problems))
        return self
