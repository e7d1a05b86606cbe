"""GPT2Config: the fields of a GPT-2 checkpoint's config.json, typed and validated.

Field names and defaults are those of transformers' GPT2Config (the 124M "gpt2"
sizes), so a config.json moves between the two libraries unchanged. Configs written by
pytorch-transformers 1.x load too: their extra keys (``n_ctx``, ``output_past``, ...)
are kept as they are. This module imports no torch.
"""

from __future__ import annotations

from typing import Any, ClassVar

from plugformers.configuration_utils import PretrainedConfig
from pydantic import Field, model_validator

__all__ = ["GPT2Config"]

_SUMMARY_TYPES = ("last", "first", "mean", "cls_index", "attn")


class GPT2Config(PretrainedConfig):
    """Configuration of a GPT-2 model (GPT2Model and every GPT-2 head)."""

    model_type: ClassVar[str] = "gpt2"
    attribute_map: ClassVar[dict[str, str]] = {
        "hidden_size": "n_embd",
        "max_position_embeddings": "n_positions",
        "num_attention_heads": "n_head",
        "num_hidden_layers": "n_layer",
    }

    vocab_size: int = Field(50257, description="Number of token ids the token embeddings (wte) hold.")
    n_positions: int = Field(1024, description="Longest sequence the position embeddings (wpe) cover.")
    n_embd: int = Field(768, description="Width of the embeddings and of every layer.")
    n_layer: int = Field(12, description="Number of Transformer blocks.")
    n_head: int = Field(12, description="Attention heads per block; must divide n_embd.")
    n_inner: int | None = Field(None, description="Width of the feed-forward layer; None means 4 * n_embd.")
    activation_function: str = Field("gelu_new", description="Feed-forward activation (a plugformers.layers.ACT2FN name).")
    resid_pdrop: float = Field(0.1, description="Dropout on the attention and feed-forward outputs.")
    embd_pdrop: float = Field(0.1, description="Dropout on the summed token and position embeddings.")
    attn_pdrop: float = Field(0.1, description="Dropout on the attention probabilities.")
    layer_norm_epsilon: float = Field(1e-5, description="Epsilon of every LayerNorm.")
    initializer_range: float = Field(0.02, description="Standard deviation of the normal weight init.")
    summary_type: str = Field("cls_index", description="How the multiple-choice head pools a sequence: last, first, mean or cls_index.")
    summary_use_proj: bool = Field(True, description="Whether the multiple-choice head projects the pooled state.")
    summary_activation: str | None = Field(None, description="Activation after that projection ('tanh'), or None.")
    summary_proj_to_labels: bool = Field(True, description="Project to num_labels outputs (else to n_embd).")
    summary_first_dropout: float = Field(0.1, description="Dropout before the multiple-choice projection.")
    scale_attn_weights: bool = Field(True, description="Scale attention scores by 1 / sqrt(head_dim).")
    use_cache: bool = Field(True, description="Whether forward returns the key/value cache for incremental decoding.")
    bos_token_id: int | None = Field(50256, description="Id of the beginning-of-text token (<|endoftext|>).")
    eos_token_id: int | list[int] | None = Field(50256, description="Id(s) of the end-of-text token (<|endoftext|>).")
    pad_token_id: int | None = Field(None, description="Id of the padding token; sequence classification pools the last non-pad token.")
    scale_attn_by_inverse_layer_idx: bool = Field(False, description="Also divide attention scores by layer index + 1 (Mistral's stability trick).")
    reorder_and_upcast_attn: bool = Field(False, description="Compute attention scores and softmax in float32 under half precision.")
    add_cross_attention: bool = Field(False, description="Cross-attention to an encoder in each block; not supported by plugformers-gpt2.")
    tie_word_embeddings: bool = Field(True, description="Share the LM head's weight with the token embeddings.")

    @model_validator(mode="before")
    @classmethod
    def _legacy_keys(cls, data: Any) -> Any:
        # pytorch-transformers 1.x took the vocabulary size as `vocab_size_or_config_json_file`;
        # the key is kept, and gives vocab_size when that is absent.
        if isinstance(data, dict) and "vocab_size" not in data:
            legacy = data.get("vocab_size_or_config_json_file")
            if isinstance(legacy, int) and not isinstance(legacy, bool):
                data = {**data, "vocab_size": legacy}
        return data

    @model_validator(mode="after")
    def _check_gpt2_fields(self) -> GPT2Config:
        problems = []
        for name in ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head"):
            value = getattr(self, name)
            if value < 1:
                problems.append(f"{name}={value} must be a positive integer.")
        if self.n_inner is not None and self.n_inner < 1:
            problems.append(f"n_inner={self.n_inner} must be a positive integer, or None for 4 * n_embd.")
        if self.n_embd >= 1 and self.n_head >= 1 and self.n_embd % self.n_head:
            lower = self.n_embd - self.n_embd % self.n_head
            problems.append(
                f"n_embd={self.n_embd} is not a multiple of n_head={self.n_head}; each head gets "
                f"n_embd / n_head dimensions. Pick sizes that divide, e.g. n_embd={lower or self.n_head} "
                "or an n_head that divides n_embd."
            )
        for name in ("resid_pdrop", "embd_pdrop", "attn_pdrop", "summary_first_dropout"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                problems.append(f"{name}={value} is a probability and must lie in [0, 1].")
        if self.layer_norm_epsilon <= 0:
            problems.append(f"layer_norm_epsilon={self.layer_norm_epsilon} must be positive.")
        if self.summary_type not in _SUMMARY_TYPES:
            problems.append(f"summary_type={self.summary_type!r} must be one of {', '.join(_SUMMARY_TYPES)}.")
        if self.pad_token_id is not None and self.vocab_size >= 1 and not 0 <= self.pad_token_id < self.vocab_size:
            problems.append(
                f"pad_token_id={self.pad_token_id} is outside the vocabulary (0 .. {self.vocab_size - 1}); "
                "GPT-2 has no padding token of its own: use the eos token (50256) or None."
            )
        if problems:
            raise ValueError("\n  ".join(problems))
        return self
