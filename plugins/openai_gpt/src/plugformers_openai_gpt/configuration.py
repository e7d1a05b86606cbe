"""OpenAIGPTConfig: the fields of an OpenAI GPT checkpoint's config.json, typed and validated.

Field names and defaults are those of transformers' OpenAIGPTConfig (the original
"openai-gpt" sizes: 40478 tokens, 512 positions, 12 layers of 768), so a config.json
moves between the two libraries unchanged. pytorch-transformers 1.x wrote the same field
names; its extra keys (``n_ctx``, ``predict_special_tokens``, ...) are kept as they are.
This module imports no torch.
"""

from __future__ import annotations

from typing import ClassVar

from plugformers.configuration_utils import PretrainedConfig
from pydantic import Field, model_validator

__all__ = ["OpenAIGPTConfig", "ACTIVATIONS"]

# afn -> the plugformers.layers activation it means. OpenAI GPT's "gelu" is the tanh
# approximation (what the original code and every implementation since compute).
ACTIVATIONS = {"gelu": "gelu_new", "relu": "relu", "silu": "silu", "swish": "swish"}
_SUMMARY_TYPES = ("last", "first", "mean", "cls_index")


class OpenAIGPTConfig(PretrainedConfig):
    """Configuration of an OpenAI GPT model (OpenAIGPTModel and every OpenAI GPT head)."""

    model_type: ClassVar[str] = "openai-gpt"
    attribute_map: ClassVar[dict[str, str]] = {
        "hidden_size": "n_embd",
        "max_position_embeddings": "n_positions",
        "num_attention_heads": "n_head",
        "num_hidden_layers": "n_layer",
    }

    vocab_size: int = Field(40478, description="Number of token ids the token embeddings (tokens_embed) hold.")
    n_positions: int = Field(512, description="Longest sequence the position embeddings (positions_embed) cover.")
    n_embd: int = Field(768, description="Width of the embeddings and of every layer.")
    n_layer: int = Field(12, description="Number of Transformer blocks.")
    n_head: int = Field(12, description="Attention heads per block; must divide n_embd.")
    afn: str = Field("gelu", description="Feed-forward activation: gelu (tanh approximation), relu, silu or swish.")
    resid_pdrop: float = Field(0.1, description="Dropout on the attention and feed-forward outputs.")
    embd_pdrop: float = Field(0.1, description="Dropout on the summed token and position embeddings.")
    attn_pdrop: float = Field(0.1, description="Dropout on the attention probabilities.")
    layer_norm_epsilon: float = Field(1e-5, description="Epsilon of every LayerNorm.")
    initializer_range: float = Field(0.02, description="Standard deviation of the normal weight init.")
    summary_type: str = Field("cls_index", description="How the double-heads model pools a choice: last, first, mean or cls_index.")
    summary_use_proj: bool = Field(True, description="Whether the multiple-choice head projects the pooled state.")
    summary_activation: str | None = Field(None, description="Activation after that projection ('tanh'), or None.")
    summary_proj_to_labels: bool = Field(True, description="Project to num_labels outputs (else to n_embd).")
    summary_first_dropout: float = Field(0.1, description="Dropout before the multiple-choice projection.")
    pad_token_id: int | None = Field(None, description="Id of the padding token; sequence classification pools the last non-pad token.")
    bos_token_id: int | None = Field(None, description="Id of a beginning-of-text token; OpenAI GPT has none.")
    eos_token_id: int | list[int] | None = Field(None, description="Id(s) of an end-of-text token; OpenAI GPT has none.")
    tie_word_embeddings: bool = Field(True, description="Share the LM head's weight with the token embeddings.")

    @model_validator(mode="after")
    def _check_openai_gpt_fields(self) -> OpenAIGPTConfig:
        problems = []
        for name in ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head"):
            if getattr(self, name) < 1:
                problems.append(f"{name}={getattr(self, name)} must be a positive integer.")
        if self.n_embd >= 1 and self.n_head >= 1 and self.n_embd % self.n_head:
            problems.append(
                f"n_embd={self.n_embd} is not a multiple of n_head={self.n_head}: each head gets n_embd / n_head "
                f"dimensions. Pick an n_head that divides n_embd, e.g. n_embd={self.n_embd - self.n_embd % self.n_head or self.n_head}."
            )
        if self.afn not in ACTIVATIONS:
            problems.append(f"afn={self.afn!r} is not an OpenAI GPT activation; use one of {', '.join(ACTIVATIONS)}.")
        for name in ("resid_pdrop", "embd_pdrop", "attn_pdrop", "summary_first_dropout"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                problems.append(f"{name}={getattr(self, name)} is a probability and must lie in [0, 1].")
        if self.layer_norm_epsilon <= 0:
            problems.append(f"layer_norm_epsilon={self.layer_norm_epsilon} must be positive.")
        if self.summary_type not in _SUMMARY_TYPES:
            problems.append(f"summary_type={self.summary_type!r} must be one of {', '.join(_SUMMARY_TYPES)}.")
        if self.pad_token_id is not None and self.vocab_size >= 1 and not 0 <= self.pad_token_id < self.vocab_size:
            problems.append(f"pad_token_id={self.pad_token_id} is outside the vocabulary (0 .. {self.vocab_size - 1}).")
        if problems:
            raise ValueError("\n  ".join(problems))
        return self
