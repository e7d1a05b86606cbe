"""Pieces that several architectures share: activations, the attention dispatch,
attention masks and the classification losses.

Plugins import these instead of keeping their own copies.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "ACT2FN",
    "get_activation",
    "attend",
    "extended_attention_mask",
    "causal_mask",
    "sequence_classification_loss",
    "last_token_states",
    "check_input_ids",
    "Conv1D",
    "lay_out_for_one_row",
    "SequenceSummary",
    "SquadStartLogits",
    "SquadEndLogits",
    "SquadAnswerClass",
    "squad_beam_outputs",
]


def gelu_tanh(x: torch.Tensor) -> torch.Tensor:
    """GELU with the tanh approximation (GPT-2 and BERT's 'gelu_new'), as PyTorch's one
    kernel: the written-out formula to within float rounding (1e-6), one pass over the
    activations instead of eight elementwise operations (3x faster on 8 x 128 x 3072)."""
    return F.gelu(x, approximate="tanh")


def gelu_fast(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * x * (1.0 + torch.tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x)))


def quick_gelu(x: torch.Tensor) -> torch.Tensor:
    return x * torch.sigmoid(1.702 * x)


ACT2FN: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "gelu": F.gelu,
    "gelu_python": lambda x: x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0))),
    "gelu_new": gelu_tanh,
    "gelu_pytorch_tanh": gelu_tanh,
    "gelu_fast": gelu_fast,
    "quick_gelu": quick_gelu,
    "relu": F.relu,
    "relu6": F.relu6,
    "silu": F.silu,
    "swish": F.silu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "mish": F.mish,
    "linear": lambda x: x,
}


def get_activation(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    try:
        return ACT2FN[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; known: {sorted(ACT2FN)}") from None


def extended_attention_mask(mask: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """Turn a (batch, seq) 1/0 mask, or a (batch, q, k) one, into an additive
    (batch, 1, q or 1, k) mask: 0 where attention is allowed, the dtype's minimum where not."""
    if mask is None:
        return None
    if mask.dim() == 2:
        mask = mask[:, None, None, :]  # (batch, 1, 1, key)
    elif mask.dim() == 3:
        mask = mask[:, None, :, :]  # (batch, 1, query, key)
    mask = mask.to(dtype)
    return (1.0 - mask) * torch.finfo(dtype).min


def causal_mask(q_len: int, k_len: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """Additive (1, 1, q, k) mask letting query i see keys up to k_len - q_len + i."""
    allowed = torch.ones(q_len, k_len, dtype=torch.bool, device=device).tril(k_len - q_len)
    out = torch.zeros(q_len, k_len, dtype=dtype, device=device)
    return out.masked_fill(~allowed, torch.finfo(dtype).min)[None, None]


def attend(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    mask: torch.Tensor | None = None,
    *,
    dropout: float = 0.0,
    scale: float | None = None,
    head_mask: torch.Tensor | None = None,
    need_weights: bool = False,
    is_causal: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Scaled dot-product attention over (batch, heads, seq, head_dim) tensors.

    ``mask`` is additive, or boolean (True where attention is allowed), broadcastable
    to (batch, heads, q, k). ``is_causal`` (without a mask) lets query i see keys 0 .. i,
    as PyTorch's ``is_causal`` does, without building a mask. Uses PyTorch's fused
    kernel unless the probabilities are asked for or a head mask scales them; then the
    explicit path computes the same thing and returns the probabilities too. A query
    that a boolean mask lets see nothing gets a zero context from the fused kernel; the
    explicit path spreads its probabilities evenly instead, as an additive mask does.
    Returns (context (batch, heads, q, head_dim), probabilities or None).
    """
    if not need_weights and head_mask is None:
        out = F.scaled_dot_product_attention(query, key, value, attn_mask=mask, dropout_p=dropout, scale=scale,
                                             is_causal=is_causal)
        return out, None
    scale = 1.0 / math.sqrt(query.size(-1)) if scale is None else scale
    scores = torch.matmul(query, key.transpose(-1, -2)) * scale  # (batch, heads, q, k)
    if is_causal:
        q_len, k_len = scores.shape[-2:]
        allowed = torch.ones(q_len, k_len, dtype=torch.bool, device=scores.device).tril()
        scores = scores.masked_fill(~allowed, torch.finfo(scores.dtype).min)
    if mask is not None:
        if mask.dtype == torch.bool:
            scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
        else:
            scores = scores + mask
    probs = scores.softmax(dim=-1)
    dropped = F.dropout(probs, p=dropout, training=dropout > 0)
    if head_mask is not None:
        dropped = dropped * head_mask
        probs = probs * head_mask
    return torch.matmul(dropped, value), probs


def sequence_classification_loss(logits: torch.Tensor, labels: torch.Tensor, config) -> torch.Tensor:
    """The loss transformers' classification heads use, chosen by ``config.problem_type``
    (inferred from num_labels and the labels' dtype when unset, and stored on the config)."""
    num_labels = config.num_labels
    if config.problem_type is None:
        if num_labels == 1:
            config.problem_type = "regression"
        elif labels.dtype in (torch.long, torch.int):
            config.problem_type = "single_label_classification"
        else:
            config.problem_type = "multi_label_classification"
    if config.problem_type == "regression":
        if num_labels == 1:
            return F.mse_loss(logits.squeeze(), labels.squeeze().to(logits.dtype))
        return F.mse_loss(logits, labels.to(logits.dtype))
    if config.problem_type == "single_label_classification":
        return F.cross_entropy(logits.view(-1, num_labels), labels.view(-1))
    return F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))


def last_token_states(hidden_states: torch.Tensor, input_ids: torch.Tensor | None, pad_token_id: int | None,
                      model_name: str) -> torch.Tensor:
    """The hidden state (batch, hidden) of each sequence's last token, what the sequence
    classifiers of causal models (GPT-2, OpenAI GPT) score: the rightmost token that is not
    ``pad_token_id`` (left and right padding both work). Without a pad token only a single
    sequence can be read (its last position); with ``inputs_embeds`` only (``input_ids``
    None) the last position of each, with a warning."""
    batch = hidden_states.shape[0]
    if pad_token_id is None and batch != 1:
        raise ValueError(
            f"{model_name} classifies the last non-padding token of each sequence, and without a padding token "
            f"it cannot find it in a batch of {batch} sequences. Set config.pad_token_id (e.g. "
            "model.config.pad_token_id = tokenizer.pad_token_id, or the eos id when padding with it), or pass one "
            "sequence at a time."
        )
    if pad_token_id is None or input_ids is None:
        if pad_token_id is not None:
            warnings.warn(f"{model_name} cannot find padding in inputs_embeds; it classifies the last position of "
                          "each sequence.", UserWarning, stacklevel=3)
        return hidden_states[:, -1]  # (batch, hidden)
    positions = torch.arange(input_ids.shape[-1], device=input_ids.device)
    last = (positions * (input_ids != pad_token_id)).argmax(-1)  # (batch,): rightmost non-pad position
    return hidden_states[torch.arange(batch, device=hidden_states.device), last]  # (batch, hidden)


def causal_lm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of position i predicting label i + 1 (the shift every causal LM
    head applies to ``labels=input_ids``); labels of -100 are ignored."""
    shifted = F.pad(labels, (0, 1), value=-100)[..., 1:]  # (..., seq): the last position predicts nothing
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), shifted.reshape(-1), ignore_index=-100)


def span_logits_and_loss(
    logits: torch.Tensor, start_positions: torch.Tensor | None, end_positions: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Split a (batch, seq, 2) span head's logits into start and end logits (batch, seq)
    and, given both positions, the mean of the two cross-entropies; positions past the
    sequence are clamped to its length and ignored, as extractive QA heads do."""
    start_logits, end_logits = (x.squeeze(-1).contiguous() for x in logits.split(1, dim=-1))
    if start_positions is None or end_positions is None:
        return start_logits, end_logits, None
    ignored = start_logits.shape[1]
    start = start_positions.reshape(-1).clamp(0, ignored)
    end = end_positions.reshape(-1).clamp(0, ignored)
    loss = (F.cross_entropy(start_logits, start, ignore_index=ignored)
            + F.cross_entropy(end_logits, end, ignore_index=ignored)) / 2
    return start_logits, end_logits, loss


def all_set(mask: torch.Tensor) -> bool:
    """Whether every entry of ``mask`` is set, for fast paths that drop an all-ones mask.

    Reading a tensor's values is a data-dependent branch that breaks a torch.compile
    graph, so under compilation this says False and the masked path runs: the same
    result, without the shortcut."""
    return not torch.compiler.is_compiling() and bool(mask.all())


def check_input_ids(input_ids: torch.Tensor | None, vocab_size: int, max_positions: int | None,
                    past_length: int = 0, what: str = "input_ids") -> None:
    """Raise a clear error for ids outside the vocabulary or sequences longer than the
    model's positions, instead of an index error deep inside an embedding."""
    if input_ids is None or input_ids.numel() == 0:
        return
    # Reading the ids is a data-dependent branch that would break a torch.compile graph:
    # compiled models skip it (the embedding's own bounds check still fails loudly).
    if input_ids.device.type != "meta" and not torch.compiler.is_compiling():
        low, high = map(int, torch.aminmax(input_ids))  # one pass over the ids
        if low < 0 or high >= vocab_size:
            bad = high if high >= vocab_size else low
            raise ValueError(
                f"{what} holds id {bad}, outside the vocabulary (0 .. {vocab_size - 1}, "
                f"config.vocab_size={vocab_size}). Use the checkpoint's own tokenizer, or "
                "resize_token_embeddings() after adding tokens."
            )
    length = input_ids.shape[-1] + past_length
    if max_positions is not None and length > max_positions:
        raise ValueError(
            f"{what} has sequence length {length}, longer than the model's {max_positions} "
            "positions (config.max_position_embeddings). Truncate the input, e.g. "
            f"tokenizer(..., truncation=True, max_length={max_positions})."
        )


def init_normal_(module: nn.Module, std: float) -> None:
    """The usual init: normal(0, std) weights, zero biases, unit LayerNorm, zero padding row."""
    if isinstance(module, nn.Linear):
        module.weight.data.normal_(mean=0.0, std=std)
        if module.bias is not None:
            module.bias.data.zero_()
    elif isinstance(module, nn.Embedding):
        module.weight.data.normal_(mean=0.0, std=std)
        if module.padding_idx is not None:
            module.weight.data[module.padding_idx].zero_()
    elif isinstance(module, nn.LayerNorm):
        if module.weight is not None:
            module.weight.data.fill_(1.0)
        if module.bias is not None:
            module.bias.data.zero_()


class Conv1D(nn.Module):
    """A linear layer with its weight stored (in_features, out_features), the layout of
    GPT-2 and OpenAI GPT checkpoints (OpenAI's code used 1x1 convolutions), so their keys
    and tensors load unchanged. ``residual`` marks the output projections whose init an
    architecture may scale down with depth (GPT-2 does); the model's ``_init_weights``
    initialises the weights."""

    def __init__(self, in_features: int, out_features: int, residual: bool = False) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.residual = residual
        self.weight = nn.Parameter(torch.empty(in_features, out_features))
        self.bias = nn.Parameter(torch.zeros(out_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.addmm(self.bias, x.reshape(-1, self.in_features), self.weight)  # (tokens, out)
        return out.view(*x.shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"


def linear_maps(model: nn.Module):
    """(name, weight Parameter, its (out, in) view) of each stock nn.Linear and Conv1D
    (their own forward) in ``model`` whose float32 CPU weight no other module shares: the
    maps lay_out_for_one_row may re-lay."""
    held = Counter(id(p) for _, p in model.named_parameters(remove_duplicate=False))
    for name, module in model.named_modules():
        forward = getattr(type(module), "forward", None)
        if forward is not nn.Linear.forward and forward is not Conv1D.forward:
            continue
        weight = module.weight
        if (weight.dim() != 2 or weight.dtype != torch.float32 or weight.device.type != "cpu"
                or held[id(weight)] > 1):
            continue
        yield name, weight, weight if forward is nn.Linear.forward else weight.t()  # Conv1D stores (in, out)


def lay_out_for_one_row(model: nn.Module) -> None:
    """Store the weights of ``model``'s linear maps (``linear_maps``) in the memory layout
    that a product of ONE input row reads fastest, what generate() runs at batch 1: a
    widening map (more outputs than inputs) input-major, (in, out) in memory, a narrowing
    one output-major, (out, in); square maps stay. Out of the CPU caches, MKL's 1-row
    products run 1.2-2x faster so (docs/performance.md); a Conv1D keeps every weight
    (in, out), nn.Linear (out, in). Values, shapes, parameters and state-dict keys stay,
    and the tensors are ordinary ones (training may follow). Float32 weights on the CPU
    only (what was measured); tied weights keep their layout. A weight already laid out is
    not copied again."""
    with torch.inference_mode(False), torch.no_grad():  # ordinary tensors, not inference ones
        for _, weight, matrix in linear_maps(model):
            out_features, in_features = matrix.shape
            if out_features > in_features and matrix.stride() != (1, out_features):
                laid = matrix.t().contiguous().t()  # input-major
            elif out_features < in_features and matrix.stride() != (in_features, 1):
                laid = matrix.contiguous()  # output-major
            else:
                continue
            weight.data = laid if matrix is weight else laid.t()


class SequenceSummary(nn.Module):
    """One vector per sequence from its hidden states: the multiple-choice and
    classification head of GPT-2, XLNet and XLM.

    Reads the ``summary_*`` fields of the config (missing ones take the defaults below):

    - ``summary_type``: which hidden state sums the sequence up: ``"last"`` (default),
      ``"first"``, ``"mean"``, or ``"cls_index"`` (the position given per sequence in
      ``cls_index``; the last one when None). ``"last"``, ``"first"`` and ``"mean"``
      work on dimension 1, as transformers does: the positions of a (batch, seq,
      hidden) input, but the *choices* of a (batch, choices, seq, hidden) one, which
      then gives one summary per position, (batch, seq, outputs). Checkpoints
      fine-tuned that way need exactly that to give their numbers. ``"cls_index"``
      reads one position of every sequence, whatever the leading dimensions.
    - ``summary_use_proj``: a linear projection (``summary.weight`` / ``summary.bias``)
      to ``config.num_labels`` outputs when ``summary_proj_to_labels``, else to
      ``hidden_size``.
    - ``summary_activation``: an activation name (``"tanh"``) applied after the
      projection; None for none.
    - ``summary_first_dropout`` / ``summary_last_dropout``: dropout before the projection
      and after the activation.
    """

    SUMMARY_TYPES = ("last", "first", "mean", "cls_index")

    def __init__(self, config) -> None:
        super().__init__()
        self.summary_type = getattr(config, "summary_type", "last")
        if self.summary_type not in self.SUMMARY_TYPES:
            raise ValueError(
                f"summary_type={self.summary_type!r} is not supported; use one of {', '.join(self.SUMMARY_TYPES)} "
                "('attn' was never implemented by any checkpoint's code)."
            )
        hidden = config.hidden_size
        self.summary: nn.Module = nn.Identity()
        if getattr(config, "summary_use_proj", False):
            num_labels = config.num_labels
            to_labels = getattr(config, "summary_proj_to_labels", False) and num_labels > 0
            self.summary = nn.Linear(hidden, num_labels if to_labels else hidden)
        activation = getattr(config, "summary_activation", None)
        self.activation = get_activation(activation) if activation else _identity
        first = getattr(config, "summary_first_dropout", 0.0) or 0.0
        last = getattr(config, "summary_last_dropout", 0.0) or 0.0
        self.first_dropout = nn.Dropout(first) if first > 0 else nn.Identity()
        self.last_dropout = nn.Dropout(last) if last > 0 else nn.Identity()

    def forward(self, hidden_states: torch.Tensor, cls_index: torch.Tensor | None = None) -> torch.Tensor:
        """``hidden_states`` (..., seq, hidden); ``cls_index`` (...) holds one position per
        sequence (summary_type ``"cls_index"``). Returns (..., outputs)."""
        # "last", "first", "mean": dimension 1, not the sequence axis. For 4-D
        # multiple-choice input that is the choices axis, which is what transformers
        # computes (see the class docstring).
        if self.summary_type == "last":
            output = hidden_states[:, -1]
        elif self.summary_type == "first":
            output = hidden_states[:, 0]
        elif self.summary_type == "mean":
            output = hidden_states.mean(dim=1)
        elif cls_index is None:
            output = hidden_states[..., -1, :]
        else:
            if cls_index.shape != hidden_states.shape[:-2]:
                raise ValueError(
                    f"cls_index has shape {tuple(cls_index.shape)}; it must hold one position per sequence, "
                    f"shape {tuple(hidden_states.shape[:-2])} for hidden states of shape {tuple(hidden_states.shape)}."
                )
            index = cls_index[..., None, None].expand(*cls_index.shape, 1, hidden_states.shape[-1])  # (..., 1, hidden)
            output = hidden_states.gather(-2, index).squeeze(-2)  # (..., hidden)
        output = self.first_dropout(output)
        output = self.summary(output)
        output = self.activation(output)
        return self.last_dropout(output)


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


# --------------------------------------------------------------------------- the beam SQuAD head


def _mask_positions(logits: torch.Tensor, p_mask: torch.Tensor | None) -> torch.Tensor:
    """Push the logits of positions where ``p_mask`` is 1 (question, special tokens) to a
    huge negative value: ``x * (1 - p_mask) - big * p_mask``, big = 65500 in float16, else 1e30."""
    if p_mask is None:
        return logits
    big = 65500.0 if p_mask.dtype == torch.float16 else 1e30
    return logits * (1 - p_mask) - big * p_mask


class SquadStartLogits(nn.Module):
    """Start scores of the beam SQuAD head (XLNet, XLM): one linear map (``dense``) per position."""

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.dense = nn.Linear(hidden_size, 1)

    def forward(self, hidden_states: torch.Tensor, p_mask: torch.Tensor | None = None) -> torch.Tensor:
        """``hidden_states`` (batch, seq, hidden) -> (batch, seq)."""
        return _mask_positions(self.dense(hidden_states).squeeze(-1), p_mask)


class SquadEndLogits(nn.Module):
    """End scores given a start: ``dense_1(LayerNorm(tanh(dense_0([hidden; start_state]))))``."""

    def __init__(self, hidden_size: int, layer_norm_eps: float) -> None:
        super().__init__()
        self.dense_0 = nn.Linear(hidden_size * 2, hidden_size)
        self.LayerNorm = nn.LayerNorm(hidden_size, eps=layer_norm_eps)
        self.dense_1 = nn.Linear(hidden_size, 1)

    def forward(self, hidden_states: torch.Tensor, start_states: torch.Tensor | None = None,
                start_positions: torch.Tensor | None = None, p_mask: torch.Tensor | None = None) -> torch.Tensor:
        """``hidden_states`` (..., seq, hidden); the start as ``start_positions`` (batch,)
        or as ``start_states`` shaped like ``hidden_states``. Returns (..., seq)."""
        if start_positions is not None:
            seq, hidden = hidden_states.shape[-2:]
            index = start_positions[:, None, None].expand(-1, 1, hidden)  # (batch, 1, hidden)
            start_states = hidden_states.gather(-2, index).expand(-1, seq, -1)  # (batch, seq, hidden)
        elif start_states is None:
            raise ValueError("SquadEndLogits needs start_positions or start_states")
        x = self.dense_1(self.LayerNorm(torch.tanh(self.dense_0(torch.cat((hidden_states, start_states), dim=-1)))))
        return _mask_positions(x.squeeze(-1), p_mask)


class SquadAnswerClass(nn.Module):
    """SQuAD 2.0's answerable score from the start state and the <cls> state:
    ``dense_1(tanh(dense_0([start_state; cls_state])))`` (dense_1 without bias)."""

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.dense_0 = nn.Linear(hidden_size * 2, hidden_size)
        self.dense_1 = nn.Linear(hidden_size, 1, bias=False)

    def forward(self, hidden_states: torch.Tensor, start_states: torch.Tensor | None = None,
                start_positions: torch.Tensor | None = None, cls_index: torch.Tensor | None = None) -> torch.Tensor:
        """``hidden_states`` (batch, seq, hidden); the start as ``start_positions`` (batch,)
        or ``start_states`` (batch, hidden); ``cls_index`` (batch,), the last position when
        None. Returns (batch,)."""
        hidden = hidden_states.shape[-1]
        if start_positions is not None:
            index = start_positions[:, None, None].expand(-1, 1, hidden)  # (batch, 1, hidden)
            start_states = hidden_states.gather(-2, index).squeeze(-2)  # (batch, hidden)
        elif start_states is None:
            raise ValueError("SquadAnswerClass needs start_positions or start_states")
        if cls_index is not None:
            index = cls_index[:, None, None].expand(-1, 1, hidden)  # (batch, 1, hidden)
            cls_state = hidden_states.gather(-2, index).squeeze(-2)  # (batch, hidden)
        else:
            cls_state = hidden_states[:, -1, :]
        return self.dense_1(torch.tanh(self.dense_0(torch.cat((start_states, cls_state), dim=-1)))).squeeze(-1)


def squad_beam_outputs(
    start: SquadStartLogits, end: SquadEndLogits, answer: SquadAnswerClass, hidden_states: torch.Tensor, *,
    start_n_top: int, end_n_top: int, start_positions: torch.Tensor | None = None,
    end_positions: torch.Tensor | None = None, cls_index: torch.Tensor | None = None,
    is_impossible: torch.Tensor | None = None, p_mask: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """The beam SQuAD head of XLNet and XLM on ``hidden_states`` (batch, seq, hidden).

    Training (``start_positions`` and ``end_positions`` (batch,) given): ``{"loss"}``, the
    mean of the start and end cross-entropies, plus half the binary cross-entropy of the
    answerable score when ``cls_index`` and ``is_impossible`` are given too.

    Inference: ``start_top_log_probs`` / ``start_top_index`` (batch, start_n_top), the
    best starts; ``end_top_log_probs`` / ``end_top_index`` (batch, start_n_top *
    end_n_top), the best ends of each (end-major, as the checkpoints' post-processing
    reads them); ``cls_logits`` (batch,), the answerable score from the expected start
    state. (The "log_probs" are probabilities, as in every implementation of this head.)
    """
    start_logits = start(hidden_states, p_mask=p_mask)  # (batch, seq)
    if start_positions is not None and end_positions is not None:
        start_positions, end_positions = start_positions.reshape(-1), end_positions.reshape(-1)
        end_logits = end(hidden_states, start_positions=start_positions, p_mask=p_mask)
        loss = (F.cross_entropy(start_logits, start_positions) + F.cross_entropy(end_logits, end_positions)) / 2
        if cls_index is not None and is_impossible is not None:
            cls_logits = answer(hidden_states, start_positions=start_positions, cls_index=cls_index.reshape(-1))
            loss = loss + 0.5 * F.binary_cross_entropy_with_logits(cls_logits, is_impossible.reshape(-1).to(cls_logits.dtype))
        return {"loss": loss}
    batch, seq, hidden = hidden_states.shape
    start_probs = start_logits.softmax(dim=-1)  # (batch, seq)
    start_top_probs, start_top_index = start_probs.topk(start_n_top, dim=-1)  # (batch, start_n_top)
    index = start_top_index[:, :, None].expand(-1, -1, hidden)  # (batch, start_n_top, hidden)
    start_states = hidden_states.gather(-2, index)[:, None].expand(-1, seq, -1, -1)  # (batch, seq, start_n_top, hidden)
    expanded = hidden_states[:, :, None].expand_as(start_states)  # (batch, seq, start_n_top, hidden)
    end_logits = end(expanded, start_states=start_states, p_mask=p_mask[..., None] if p_mask is not None else None)
    end_probs = end_logits.softmax(dim=1)  # (batch, seq, start_n_top): over the end positions
    end_top_probs, end_top_index = end_probs.topk(end_n_top, dim=1)  # (batch, end_n_top, start_n_top)
    expected_start = torch.einsum("blh,bl->bh", hidden_states, start_probs)  # (batch, hidden)
    cls_logits = answer(hidden_states, start_states=expected_start, cls_index=cls_index)
    return {
        "start_top_log_probs": start_top_probs,
        "start_top_index": start_top_index,
        "end_top_log_probs": end_top_probs.reshape(batch, start_n_top * end_n_top),
        "end_top_index": end_top_index.reshape(batch, start_n_top * end_n_top),
        "cls_logits": cls_logits,
    }
