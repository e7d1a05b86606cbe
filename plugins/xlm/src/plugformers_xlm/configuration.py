"""XLMConfig: the fields of an XLM checkpoint's config.json, typed and validated.

Field names and defaults are those of transformers' XLMConfig (the xlm-mlm-en-2048
sizes), so a config.json moves between the two libraries unchanged. Configs written by
pytorch-transformers 1.x load too: they have no ``model_type`` and use the 1.x names
``n_words``, ``bos_index``, ``eos_index`` and ``pad_index`` (read as ``vocab_size`` and
the special-token ids, as transformers does). ``asm_cutoffs`` / ``asm_div_value`` (the
adaptive softmax's, which transformers reads but does not declare) and the language maps
``lang2id`` / ``id2lang`` that multilingual checkpoints carry are fields too. This module
imports no torch.
"""

from __future__ import annotations

from typing import Any, ClassVar

from plugformers.configuration_utils import PretrainedConfig
from pydantic import Field, field_validator, model_validator

__all__ = ["XLMConfig"]

_SUMMARY_TYPES = ("last", "first", "mean", "cls_index")


class XLMConfig(PretrainedConfig):
    """Configuration of an XLM model (XLMModel and every XLM head)."""

    model_type: ClassVar[str] = "xlm"
    attribute_map: ClassVar[dict[str, str]] = {
        "hidden_size": "emb_dim",
        "num_attention_heads": "n_heads",
        "num_hidden_layers": "n_layers",
        "n_words": "vocab_size",  # the pytorch-transformers 1.x names
        "bos_index": "bos_token_id",
        "eos_index": "eos_token_id",
        "pad_index": "pad_token_id",
    }

    vocab_size: int = Field(30145, description="Number of token ids the word embedding holds (1.x: n_words).")
    emb_dim: int = Field(2048, description="Width of the embeddings and of every layer; the feed-forward is 4x wider.")
    n_layers: int = Field(12, description="Number of Transformer layers.")
    n_heads: int = Field(16, description="Attention heads per layer; must divide emb_dim.")
    dropout: float = Field(0.1, description="Dropout on embeddings, attention outputs and feed-forward outputs.")
    attention_dropout: float = Field(0.1, description="Dropout on the attention probabilities.")
    gelu_activation: bool = Field(True, description="GELU in the feed-forward (False: ReLU).")
    sinusoidal_embeddings: bool = Field(False, description="Fixed sinusoidal position embeddings instead of learned ones.")
    causal: bool = Field(False, description="Causal attention (CLM checkpoints); False: bidirectional (MLM / TLM).")
    asm: bool = Field(False, description="Adaptive log-softmax output layer instead of a linear one.")
    asm_cutoffs: list[int] = Field([8000, 20000], description="Cluster boundaries of the adaptive softmax (asm=True).")
    asm_div_value: float = Field(4.0, description="Width divisor between adaptive-softmax clusters (asm=True).")
    n_langs: int = Field(1, description="Number of languages (1: monolingual).")
    use_lang_emb: bool = Field(True, description="Add a language embedding of ``langs`` (when n_langs > 1).")
    max_position_embeddings: int = Field(512, description="Longest sequence the position embedding covers.")
    embed_init_std: float = Field(2048 ** -0.5, description="Standard deviation of the embeddings' normal init.")
    layer_norm_eps: float = Field(1e-12, description="Epsilon of every LayerNorm.")
    init_std: float = Field(0.02, description="Standard deviation of the other weights' normal init.")
    unk_index: int = Field(3, description="Id of <unk>.")
    mask_index: int = Field(5, description="Id of <special1>, the MLM mask token.")
    is_encoder: bool = Field(True, description="Must be True: XLM is an encoder (the decoder was never ported).")
    summary_type: str = Field("first", description="How the classification heads pool a sequence: last, first, mean or cls_index.")
    summary_use_proj: bool = Field(True, description="Whether the pooled state goes through a projection (summary.weight).")
    summary_activation: str | None = Field(None, description="Activation after that projection, or None.")
    summary_proj_to_labels: bool = Field(True, description="The projection outputs num_labels values (else emb_dim).")
    summary_first_dropout: float = Field(0.1, description="Dropout before the projection.")
    start_n_top: int = Field(5, description="Start positions the beam SQuAD head keeps at inference.")
    end_n_top: int = Field(5, description="End positions it keeps for each start.")
    mask_token_id: int | None = Field(0, description="Token generation appends as the slot to predict.")
    lang_id: int | None = Field(0, description="Language id generation gives every position (langs).")
    lang2id: dict[str, int] | None = Field(None, description="Language code -> language id (multilingual checkpoints).")
    id2lang: dict[int, str] | None = Field(None, description="Language id -> language code.")
    pad_token_id: int | None = Field(2, description="Id of <pad> (1.x: pad_index); positions holding it are masked.")
    bos_token_id: int | None = Field(0, description="Id of <s> (1.x: bos_index).")
    eos_token_id: int | list[int] | None = Field(1, description="Id(s) of </s> (1.x: eos_index).")
    tie_word_embeddings: bool = Field(True, description="Share the LM head's weight (pred_layer.proj.weight) with the word embedding.")

    @field_validator("id2lang", mode="before")
    @classmethod
    def _int_lang_keys(cls, value: Any) -> Any:
        if isinstance(value, dict):
            try:
                return {int(k): v for k, v in value.items()}
            except (TypeError, ValueError):
                raise ValueError(f"id2lang keys must be integers, got {list(value)[:5]}") from None
        return value

    @field_validator("dropout", "attention_dropout", "summary_first_dropout", "asm_div_value", "embed_init_std",
                     "init_std", "layer_norm_eps", mode="before")
    @classmethod
    def _int_as_float(cls, value: Any) -> Any:
        # config.json files write 0 for 0.0; transformers declares these float | int
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _check_xlm_fields(self) -> XLMConfig:
        problems = []
        for name in ("vocab_size", "emb_dim", "n_layers", "n_heads", "n_langs", "max_position_embeddings"):
            value = getattr(self, name)
            if value < 1:
                problems.append(f"{name}={value} must be a positive integer.")
        if self.emb_dim >= 1 and self.n_heads >= 1 and self.emb_dim % self.n_heads:
            lower = self.emb_dim - self.emb_dim % self.n_heads
            problems.append(
                f"emb_dim={self.emb_dim} is not a multiple of n_heads={self.n_heads}; each head gets emb_dim / n_heads "
                f"dimensions. Pick sizes that divide, e.g. emb_dim={lower or self.n_heads} or an n_heads that divides "
                "emb_dim."
            )
        for name in ("dropout", "attention_dropout", "summary_first_dropout"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                problems.append(f"{name}={value} is a probability and must lie in [0, 1].")
        if self.layer_norm_eps <= 0:
            problems.append(f"layer_norm_eps={self.layer_norm_eps} must be positive.")
        if self.summary_type not in _SUMMARY_TYPES:
            problems.append(f"summary_type={self.summary_type!r} must be one of {', '.join(_SUMMARY_TYPES)}.")
        for name in ("start_n_top", "end_n_top"):
            if getattr(self, name) < 1:
                problems.append(f"{name}={getattr(self, name)} must be at least 1.")
        if not self.is_encoder:
            problems.append("is_encoder=False: XLM's decoder (for translation) is not implemented; use is_encoder=True.")
        if self.asm:
            cuts = self.asm_cutoffs
            if not cuts or list(cuts) != sorted(set(cuts)) or cuts[0] < 1 or cuts[-1] >= self.vocab_size:
                problems.append(
                    f"asm_cutoffs={cuts} must be increasing ids between 1 and vocab_size - 1 = {self.vocab_size - 1} "
                    "(the adaptive softmax's cluster boundaries)."
                )
        if self.pad_token_id is not None and not 0 <= self.pad_token_id < self.vocab_size:
            problems.append(f"pad_token_id={self.pad_token_id} must be a token id, 0 .. vocab_size - 1 = "
                            f"{self.vocab_size - 1}.")
        if problems:
            raise ValueError("\n  ".join(problems))
        return self
