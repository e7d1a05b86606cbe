"""TransfoXLConfig: the fields of a Transformer-XL checkpoint's config.json, typed and validated.

Every field of pytorch-transformers 1.2.0's TransfoXLConfig, with its defaults (the
wikitext-103 sizes). Configs written by 1.x load unchanged: they have no
``model_type``, call the vocabulary size ``n_token`` (or ``vocab_size_or_config_json_file``)
and the output tying ``tie_weight``, read here as ``vocab_size`` and
``tie_word_embeddings``. Configs are written with ``model_type: "transfo-xl"`` and the
names transformers 4.x reads (``vocab_size``, ``tie_word_embeddings``, ``tie_projs``),
plus ``n_token`` and ``tie_weight`` so that pytorch-transformers 1.x reads them too.
This module imports no torch.
"""

from __future__ import annotations

from typing import Any, ClassVar

from plugformers.configuration_utils import PretrainedConfig
from pydantic import Field, model_validator

__all__ = ["TransfoXLConfig"]

_INITS = ("normal", "uniform")


class TransfoXLConfig(PretrainedConfig):
    """Configuration of a Transformer-XL model (TransfoXLModel and its heads)."""

    model_type: ClassVar[str] = "transfo-xl"
    attribute_map: ClassVar[dict[str, str]] = {
        "n_token": "vocab_size",  # the pytorch-transformers 1.x names
        "vocab_size_or_config_json_file": "vocab_size",
        "tie_weight": "tie_word_embeddings",
        "hidden_size": "d_model",
        "num_attention_heads": "n_head",
        "num_hidden_layers": "n_layer",
    }

    vocab_size: int = Field(267735, description="Number of token ids (n_token in 1.x).")
    cutoffs: list[int] = Field([20000, 40000, 200000], description="Increasing ids where the adaptive "
                                                                  "input / softmax clusters start.")
    d_model: int = Field(1024, description="Width of the hidden states.")
    d_embed: int = Field(1024, description="Width of the first cluster's embeddings (projected to d_model).")
    n_head: int = Field(16, description="Attention heads per layer.")
    d_head: int = Field(64, description="Width of each attention head (need not be d_model / n_head).")
    d_inner: int = Field(4096, description="Width of the feed-forward layer.")
    div_val: int = Field(4, description="Cluster i embeds in d_embed // div_val**i dimensions (1: one table).")
    pre_lnorm: bool = Field(False, description="LayerNorm before attention / feed-forward instead of after.")
    n_layer: int = Field(18, description="Number of layers.")
    tgt_len: int = Field(128, description="Tokens predicted per segment (the evaluation segment length).")
    ext_len: int = Field(0, description="Extended context length (kept out of the memory).")
    mem_len: int = Field(1600, description="Hidden states kept as memory for the next segment.")
    clamp_len: int = Field(1000, description="Relative distances beyond this use the same encoding (<= 0: none).")
    same_length: bool = Field(True, description="Every position attends the same number of keys.")
    proj_share_all_but_first: bool = Field(True, description="Share the softmax projections of the tail "
                                                             "clusters with the input ones (tie_projs).")
    tie_projs: list[bool] | None = Field(None, description="Per cluster, whether the softmax projection is "
                                                           "the input one (default from proj_share_all_but_first).")
    attn_type: int = Field(0, description="0: relative positional attention (the only one checkpoints use).")
    sample_softmax: int = Field(-1, description="Sampled-softmax size in training (-1: off; > 0 unsupported).")
    adaptive: bool = Field(True, description="Adaptive softmax (recorded; 1.x always builds it).")
    dropout: float = Field(0.1, description="Dropout on embeddings, layer outputs and the last hidden state.")
    dropatt: float = Field(0.0, description="Dropout on the attention probabilities.")
    untie_r: bool = Field(True, description="Relative biases r_w_bias / r_r_bias per layer (False: one shared set).")
    init: str = Field("normal", description="Weight init: 'normal' (init_std) or 'uniform' (init_range).")
    init_range: float = Field(0.01, description="Uniform init range U(-init_range, init_range).")
    proj_init_std: float = Field(0.01, description="Standard deviation of the projections' normal init.")
    init_std: float = Field(0.02, description="Standard deviation of the normal weight init.")
    layer_norm_epsilon: float = Field(1e-5, description="Epsilon of every LayerNorm.")
    eos_token_id: int | list[int] | None = Field(0, description="Id of <eos> (0 in the wikitext-103 vocabulary).")

    @property
    def max_position_embeddings(self) -> int:
        """-1: relative positions and memory give Transformer-XL no length limit."""
        return -1

    def projection_ties(self) -> list[bool]:
        """Per softmax cluster, whether its projection is shared with the input side."""
        if self.tie_projs is not None:
            return list(self.tie_projs)
        return [False] + [self.proj_share_all_but_first] * len(self.cutoffs)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["tie_projs"] = self.projection_ties()
        # pytorch-transformers 1.x reads these names only (its n_token is -1 without it)
        out["n_token"] = self.vocab_size
        out["tie_weight"] = self.tie_word_embeddings
        return out

    @model_validator(mode="after")
    def _check_transfo_xl_fields(self) -> TransfoXLConfig:
        problems = []
        for name in ("vocab_size", "d_model", "d_embed", "n_head", "d_head", "d_inner", "n_layer", "div_val"):
            value = getattr(self, name)
            if value < 1:
                problems.append(f"{name}={value} must be a positive integer.")
        if self.attn_type != 0:
            problems.append(
                f"attn_type={self.attn_type} is not supported: only attn_type=0 (relative positional attention, "
                "what every released Transformer-XL checkpoint uses) is implemented. Set attn_type=0."
            )
        if self.sample_softmax > 0:
            problems.append(
                f"sample_softmax={self.sample_softmax} is not supported (pytorch-transformers 1.x cannot evaluate "
                "such a model either); set sample_softmax=-1 to use the adaptive softmax."
            )
        cutoffs = self.cutoffs
        if any(b <= a for a, b in zip(cutoffs, cutoffs[1:])) or (cutoffs and cutoffs[0] < 1):
            problems.append(f"cutoffs={cutoffs} must be positive and strictly increasing, e.g. [20000, 40000, 200000].")
        elif cutoffs and cutoffs[-1] >= self.vocab_size:
            problems.append(
                f"cutoffs={cutoffs} must all be below vocab_size={self.vocab_size} (the last cluster ends at "
                f"vocab_size); drop the cutoffs >= {self.vocab_size} or raise vocab_size."
            )
        if self.div_val > 1 and self.d_embed >= 1 and self.d_embed // self.div_val ** len(cutoffs) < 1:
            problems.append(
                f"d_embed={self.d_embed} // div_val={self.div_val} ** {len(cutoffs)} (the last cluster's width) is 0; "
                "lower div_val or use fewer cutoffs."
            )
        if self.tie_projs is not None and len(self.tie_projs) > len(cutoffs) + 1:
            problems.append(f"tie_projs={self.tie_projs} has more entries than the {len(cutoffs) + 1} clusters "
                            f"of cutoffs={cutoffs}.")
        for name in ("tgt_len", "ext_len", "mem_len"):
            if getattr(self, name) < 0:
                problems.append(f"{name}={getattr(self, name)} must be 0 or more.")
        for name in ("dropout", "dropatt"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                problems.append(f"{name}={value} is a probability and must lie in [0, 1].")
        if self.init not in _INITS:
            problems.append(f"init={self.init!r} must be 'normal' or 'uniform'.")
        if self.layer_norm_epsilon <= 0:
            problems.append(f"layer_norm_epsilon={self.layer_norm_epsilon} must be positive.")
        if problems:
            raise ValueError("\n  ".join(problems))
        return self
