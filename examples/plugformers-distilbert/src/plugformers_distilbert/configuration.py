"""DistilBertConfig: the fields of a DistilBERT checkpoint's config.json, typed and validated.

Field names and defaults are those of the config.json files DistilBERT checkpoints carry
(distilbert-base-uncased's sizes), so a config moves between libraries unchanged. The
common names (``hidden_size``, ``num_attention_heads``, ``num_hidden_layers``) read and
write DistilBERT's own (``dim``, ``n_heads``, ``n_layers``). No torch here: AutoConfig
reads a config without loading any modeling code.
"""

from __future__ import annotations

from typing import ClassVar

from plugformers.configuration_utils import PretrainedConfig
from pydantic import Field, model_validator

__all__ = ["DistilBertConfig"]


class DistilBertConfig(PretrainedConfig):
    """Configuration of a DistilBERT model (DistilBertModel and every DistilBERT head)."""

    model_type: ClassVar[str] = "distilbert"
    attribute_map: ClassVar[dict[str, str]] = {
        "hidden_size": "dim",
        "num_attention_heads": "n_heads",
        "num_hidden_layers": "n_layers",
    }

    vocab_size: int = Field(30522, description="Number of token ids the word embeddings hold.")
    max_position_embeddings: int = Field(512, description="Longest sequence the position embeddings cover.")
    sinusoidal_pos_embds: bool = Field(False, description="Initialise the position embeddings with fixed sinusoids (and freeze them).")
    n_layers: int = Field(6, description="Number of Transformer blocks.")
    n_heads: int = Field(12, description="Attention heads per block; must divide dim.")
    dim: int = Field(768, description="Width of the embeddings and of every block.")
    hidden_dim: int = Field(3072, description="Width of the feed-forward layer inside each block.")
    dropout: float = Field(0.1, description="Dropout on embeddings, block outputs and the token-classification head.")
    attention_dropout: float = Field(0.1, description="Dropout on the attention probabilities.")
    activation: str = Field("gelu", description="Feed-forward and MLM-transform activation (a plugformers.layers.ACT2FN name).")
    initializer_range: float = Field(0.02, description="Standard deviation of the normal weight init.")
    qa_dropout: float = Field(0.1, description="Dropout before the question-answering head.")
    seq_classif_dropout: float = Field(0.2, description="Dropout before the sequence-classification and multiple-choice classifiers.")
    pad_token_id: int | None = Field(0, description="Id of the padding token; its word embedding row gets no gradient.")
    tie_word_embeddings: bool = Field(True, description="Share the MLM head's projector weight with the word embeddings.")

    @model_validator(mode="after")
    def _check_distilbert_fields(self) -> DistilBertConfig:
        problems = []
        for name in ("vocab_size", "max_position_embeddings", "n_layers", "n_heads", "dim", "hidden_dim"):
            value = getattr(self, name)
            if value < 1:
                problems.append(f"{name}={value} must be a positive integer.")
        if self.dim >= 1 and self.n_heads >= 1 and self.dim % self.n_heads:
            problems.append(
                f"dim={self.dim} is not a multiple of n_heads={self.n_heads}; each head gets dim / n_heads "
                "dimensions. Pick sizes that divide."
            )
        for name in ("dropout", "attention_dropout", "qa_dropout", "seq_classif_dropout"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                problems.append(f"{name}={value} is a probability and must lie in [0, 1].")
        if self.pad_token_id is not None and self.vocab_size >= 1 and not 0 <= self.pad_token_id < self.vocab_size:
            problems.append(
                f"pad_token_id={self.pad_token_id} is outside the vocabulary (0 .. {self.vocab_size - 1}); "
                "set pad_token_id=None for no padding row."
            )
        if problems:
            raise ValueError("\n  ".join(problems))
        return self
