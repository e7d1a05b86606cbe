"""XLNetConfig: the fields of an XLNet checkpoint's config.json, typed and validated.

Field names and defaults are those of transformers' XLNetConfig (the xlnet-large
sizes), so a config.json moves between the two libraries unchanged. Configs written by
pytorch-transformers 1.x load too: they have no ``model_type`` and call the vocabulary
size ``n_token`` (read as ``vocab_size``, as transformers does); their ``untie_r`` and
``finetuning_task`` are fields here. This module imports no torch.
"""

from __future__ import annotations

from typing import Any, ClassVar

from plugformers.configuration_utils import PretrainedConfig
from pydantic import Field, computed_field, model_validator

__all__ = ["XLNetConfig"]

_SUMMARY_TYPES = ("last", "first", "mean", "cls_index", "attn")
_ATTN_TYPES = ("bi", "uni")


class XLNetConfig(PretrainedConfig):
    """Configuration of an XLNet model (XLNetModel and every XLNet head)."""

    model_type: ClassVar[str] = "xlnet"
    attribute_map: ClassVar[dict[str, str]] = {
        "n_token": "vocab_size",  # the pytorch-transformers 1.x name
        "hidden_size": "d_model",
        "num_attention_heads": "n_head",
        "num_hidden_layers": "n_layer",
    }

    vocab_size: int = Field(32000, description="Number of token ids the word embedding holds.")
    d_model: int = Field(1024, description="Width of the embeddings and of every layer.")
    n_layer: int = Field(24, description="Number of Transformer layers.")
    n_head: int = Field(16, description="Attention heads per layer; must divide d_model.")
    d_inner: int = Field(4096, description="Width of the feed-forward layer.")
    ff_activation: str = Field("gelu", description="Feed-forward activation (a plugformers.layers.ACT2FN name).")
    untie_r: bool = Field(True, description="Original XLNet's per-layer relative biases; PyTorch checkpoints always "
                                            "store one set per layer, so this only records the pretraining choice.")
    attn_type: str = Field("bi", description="'bi': bidirectional attention (XLNet); 'uni': causal (Transformer-XL).")
    initializer_range: float = Field(0.02, description="Standard deviation of the normal weight init.")
    layer_norm_eps: float = Field(1e-12, description="Epsilon of every LayerNorm.")
    dropout: float = Field(0.1, description="Dropout on embeddings, attention probabilities and layer outputs.")
    mem_len: int | None = Field(512, description="Hidden states kept as memory for the next segment (None/0: all).")
    reuse_len: int | None = Field(None, description="Only the first reuse_len positions of a segment go into memory.")
    use_mems_eval: bool = Field(True, description="Return mems in eval mode when use_mems is not given.")
    use_mems_train: bool = Field(False, description="Return mems in train mode when use_mems is not given.")
    bi_data: bool = Field(False, description="Forward and backward positions for the two halves of a batch (pretraining).")
    clamp_len: int = Field(-1, description="Clamp relative distances beyond this (-1: no clamping).")
    same_length: bool = Field(False, description="With attn_type='uni', every position attends the same number of keys.")
    summary_type: str = Field("last", description="How the classification heads pool a sequence: last, first, mean or cls_index.")
    summary_use_proj: bool = Field(True, description="Whether the pooled state goes through a projection (summary.weight).")
    summary_activation: str | None = Field("tanh", description="Activation after that projection, or None.")
    summary_last_dropout: float = Field(0.1, description="Dropout after the pooled state's activation.")
    start_n_top: int = Field(5, description="Start positions the beam SQuAD head keeps at inference.")
    end_n_top: int = Field(5, description="End positions it keeps for each start.")
    pad_token_id: int | None = Field(5, description="Id of <pad>.")
    bos_token_id: int | None = Field(1, description="Id of <s>.")
    eos_token_id: int | list[int] | None = Field(2, description="Id(s) of </s>.")
    tie_word_embeddings: bool = Field(True, description="Share the LM head's weight (lm_loss.weight) with the word embedding.")

    @computed_field(description="Width of each attention head: d_model // n_head.")  # type: ignore[prop-decorator]
    @property
    def d_head(self) -> int:
        return self.d_model // max(self.n_head, 1)

    @property
    def max_position_embeddings(self) -> int:
        """-1: relative positions give XLNet no length limit (what transformers says too)."""
        return -1

    @model_validator(mode="before")
    @classmethod
    def _check_d_head(cls, data: Any) -> Any:
        # d_head is derived; a config.json stores it (transformers and 1.x do), and it must agree.
        if isinstance(data, dict) and "d_head" in data:
            data = dict(data)
            d_head = data.pop("d_head")
            d_model, n_head = data.get("d_model", 1024), data.get("n_head", 16)
            if (d_head is not None and isinstance(d_model, int) and isinstance(n_head, int) and n_head > 0
                    and d_head != d_model // n_head):
                raise ValueError(f"d_head={d_head} must equal d_model // n_head = {d_model} // {n_head} = "
                                 f"{d_model // n_head}; drop d_head from the config (it is derived).")
        return data

    @model_validator(mode="after")
    def _check_xlnet_fields(self) -> XLNetConfig:
        problems = []
        for name in ("vocab_size", "d_model", "n_layer", "n_head", "d_inner"):
            value = getattr(self, name)
            if value < 1:
                problems.append(f"{name}={value} must be a positive integer.")
        if self.d_model >= 1 and self.n_head >= 1 and self.d_model % self.n_head:
            lower = self.d_model - self.d_model % self.n_head
            problems.append(
                f"d_model={self.d_model} is not a multiple of n_head={self.n_head}; each head gets d_model / n_head "
                f"dimensions. Pick sizes that divide, e.g. d_model={lower or self.n_head} or an n_head that divides d_model."
            )
        if self.attn_type not in _ATTN_TYPES:
            problems.append(f"attn_type={self.attn_type!r} must be 'bi' (XLNet) or 'uni' (causal, Transformer-XL).")
        for name in ("dropout", "summary_last_dropout"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                problems.append(f"{name}={value} is a probability and must lie in [0, 1].")
        for name in ("mem_len", "reuse_len"):
            value = getattr(self, name)
            if value is not None and value < 0:
                problems.append(f"{name}={value} must be 0 or more, or None.")
        if self.layer_norm_eps <= 0:
            problems.append(f"layer_norm_eps={self.layer_norm_eps} must be positive.")
        if self.summary_type not in _SUMMARY_TYPES:
            problems.append(f"summary_type={self.summary_type!r} must be one of {', '.join(_SUMMARY_TYPES)}.")
        for name in ("start_n_top", "end_n_top"):
            if getattr(self, name) < 1:
                problems.append(f"{name}={getattr(self, name)} must be at least 1.")
        if problems:
            raise ValueError("\n  ".join(problems))
        return self
