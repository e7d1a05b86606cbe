"""Transformer-XL (Dai et al., 2019): adaptive input, relative positional attention with
segment memory, and the projected adaptive softmax.

Module names are the checkpoint's key names (``transformer.word_emb.emb_layers.0.weight``,
``transformer.word_emb.emb_projs.0``, ``transformer.layers.0.dec_attn.qkv_net.weight``,
``...dec_attn.r_w_bias``, ``...pos_ff.CoreNet.0.weight``, ``transformer.pos_emb.inv_freq``,
``crit.cluster_weight``, ``crit.out_layers.0.weight``, ``crit.out_projs.1``), those of
pytorch-transformers 1.2.0 and transformers 4.x, so their state dicts load with a plain
``load_state_dict``.

Order: the output classes, the positional encoding, the adaptive embedding, attention,
feed-forward, layer, the shared base class, the base model, the adaptive softmax, the heads.

Tensors run batch-first inside; ``mems`` keep the checkpoints' layout: one tensor per
layer, (mem_len, batch, d_model), the hidden states that entered that layer. With
``mems=None`` a forward starts, as 1.x does, from ``mem_len`` zero states; pass
``mems`` of length 0 (``model.empty_mems(batch)``) to start from no memory at all
(what generate() does). With ``use_cache=True`` in inference the returned mems are a
``TransfoXLMems``: the same list, also carrying what each layer computed from it (see there).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from plugformers.layers import check_input_ids, sequence_classification_loss
from plugformers.modeling_outputs import ModelOutput
from plugformers.modeling_utils import PreTrainedModel
from torch import nn

from .configuration import TransfoXLConfig

__all__ = [
    "TransfoXLPreTrainedModel",
    "TransfoXLModel",
    "TransfoXLLMHeadModel",
    "TransfoXLForSequenceClassification",
    "TransfoXLModelOutput",
    "TransfoXLLMHeadModelOutput",
    "TransfoXLSequenceClassifierOutput",
    "TransfoXLMems",
    "AdaptiveEmbedding",
    "ProjectedAdaptiveLogSoftmax",
]

Tensor = torch.Tensor
Tensors = tuple[torch.Tensor, ...]
Mems = list[torch.Tensor] | tuple[torch.Tensor, ...]


# --------------------------------------------------------------------------- outputs
# transformers 4.x's field names and order; ``mems``: one (mem_len, batch, d_model) tensor per layer.


@dataclass
class TransfoXLModelOutput(ModelOutput):
    """last_hidden_state (batch, seq, d_model); mems for the next segment; hidden_states:
    the input of every layer and the last output (n_layer + 1); attentions (batch, heads, seq, mem + seq)."""

    last_hidden_state: Tensor | None = None
    mems: list[Tensor] | None = None
    hidden_states: Tensors | None = None
    attentions: Tensors | None = None


@dataclass
class TransfoXLLMHeadModelOutput(ModelOutput):
    """Without labels, ``logits`` (batch, seq, vocab) are log-probabilities (also readable
    as ``prediction_scores``, the 1.x name). With labels, ``losses`` (batch, seq) are the
    per-token negative log-likelihoods (0 where a label is -100), ``loss`` their mean over
    the labelled tokens, and no scores are computed (the adaptive softmax's shortcut)."""

    losses: Tensor | None = None
    logits: Tensor | None = None
    mems: list[Tensor] | None = None
    hidden_states: Tensors | None = None
    attentions: Tensors | None = None
    loss: Tensor | None = None

    @property
    def prediction_scores(self) -> Tensor | None:
        return self.logits


@dataclass
class TransfoXLSequenceClassifierOutput(ModelOutput):
    loss: Tensor | None = None
    logits: Tensor | None = None
    mems: list[Tensor] | None = None
    hidden_states: Tensors | None = None
    attentions: Tensors | None = None


class _Rows:
    """Rows ``[start, stop)`` along ``dim`` of a buffer with room to spare, which later rows
    are written into in place: a step of one token then copies one row, not the whole
    memory (what ``torch.cat`` would). ``store`` is ``[buffer, filled]``, shared by every
    view of the buffer: only a view that ends where the buffer is filled grows in place; an
    older one fed again (or one with no room left) is first copied to a new buffer."""

    __slots__ = ("store", "start", "stop", "dim")

    def __init__(self, store: list, start: int, stop: int, dim: int) -> None:
        self.store, self.start, self.stop, self.dim = store, start, stop, dim

    @classmethod
    def copy_of(cls, rows: Tensor, dim: int, spare: int) -> _Rows:
        """A new buffer holding ``rows``, with ``spare`` free rows after them."""
        shape = list(rows.shape)
        shape[dim] += spare
        buffer = rows.new_empty(shape)
        buffer.narrow(dim, 0, rows.shape[dim]).copy_(rows)
        return cls([buffer, rows.shape[dim]], 0, rows.shape[dim], dim)

    @property
    def tensor(self) -> Tensor:
        return self.store[0].narrow(self.dim, self.start, self.stop - self.start)

    def extended(self, new: Tensor, spare: int) -> _Rows:
        """These rows followed by ``new``."""
        buffer, filled = self.store
        q = new.shape[self.dim]
        if filled != self.stop or self.stop + q > buffer.shape[self.dim]:
            self = _Rows.copy_of(self.tensor, self.dim, q + spare)
            buffer = self.store[0]
        buffer.narrow(self.dim, self.stop, q).copy_(new)
        self.store[1] = self.stop + q
        return _Rows(self.store, self.start, self.stop + q, self.dim)

    def window(self, window: slice) -> _Rows:
        """The rows ``window`` of these (counted from the first of them)."""
        return _Rows(self.store, self.start + window.start, self.start + window.stop, self.dim)


class TransfoXLMems(list):
    """The mems (a list of (mem_len, batch, d_model) tensors, one per layer, as 1.x returns
    them) with what each layer computed from them in inference, so that a step of one token
    does not compute it again: ``keys_values[i]``, layer i's keys and values of its memory,
    (batch, mem_len, 2 * n_head * d_head) rows of a growing buffer (_Rows, as the mems
    are); ``positions[i]``, its projected relative encodings ``r_net(pos_emb)`` of the
    distances ``len - 1 .. 0``, (len, n_head * d_head), ``len`` at least mem_len + 1 (a
    segment of k keys takes the last k rows).

    Returned by a forward with ``use_cache=True`` in eval mode without gradients (what
    generate() runs); fed back under the same conditions, the forward reuses them. Anywhere
    else it is a plain list of the mems: training recomputes the keys from the memory, so
    that the gradient reaches the projections as in 1.x."""

    def __init__(self, hidden: list[_Rows], keys_values: list[_Rows], positions: list[Tensor]) -> None:
        super().__init__(rows.tensor for rows in hidden)
        self.hidden, self.keys_values, self.positions = hidden, keys_values, positions

    def select(self, index: Tensor) -> TransfoXLMems:
        """The rows ``index`` of the batch (beam search), in new buffers."""
        spare = self[0].shape[0] + 1
        return TransfoXLMems([_Rows.copy_of(mem.index_select(1, index), 0, spare) for mem in self],
                             [_Rows.copy_of(kv.tensor.index_select(0, index), 1, spare) for kv in self.keys_values],
                             self.positions)


# --------------------------------------------------------------------------- building blocks


class PositionalEmbedding(nn.Module):
    """Sinusoidal encodings of relative distances: (len, d_model), sines then cosines."""

    def __init__(self, d_model: int) -> None:
        super().__init__()
        inv_freq = 1 / (10000 ** (torch.arange(0.0, d_model, 2.0) / d_model))
        self.register_buffer("inv_freq", inv_freq)  # in the checkpoints' state dicts

    def forward(self, distances: Tensor) -> Tensor:
        angles = torch.outer(distances, self.inv_freq)  # (len, d_model / 2)
        return torch.cat([angles.sin(), angles.cos()], dim=-1)


def _cluster_bounds(vocab_size: int, cutoffs: list[int]) -> list[tuple[int, int]]:
    ends = [0, *cutoffs, vocab_size]
    return list(zip(ends[:-1], ends[1:]))


class AdaptiveEmbedding(nn.Module):
    """Adaptive input (Baevski & Auli): the ids of cluster i (between two cutoffs) are
    embedded in d_embed // div_val**i dimensions and projected to d_proj; with div_val 1,
    one table for all ids. Scaled by sqrt(d_proj)."""

    def __init__(self, vocab_size: int, d_embed: int, d_proj: int, cutoffs: list[int], div_val: int = 1) -> None:
        super().__init__()
        self.d_embed, self.d_proj, self.div_val = d_embed, d_proj, div_val
        self.bounds = _cluster_bounds(vocab_size, cutoffs)
        self.emb_scale = d_proj ** 0.5
        self.emb_layers = nn.ModuleList()
        self.emb_projs = nn.ParameterList()
        if div_val == 1:
            self.emb_layers.append(nn.Embedding(vocab_size, d_embed))
            if d_proj != d_embed:
                self.emb_projs.append(nn.Parameter(torch.empty(d_proj, d_embed)))
        else:
            for i, (lo, hi) in enumerate(self.bounds):
                width = d_embed // div_val ** i
                self.emb_layers.append(nn.Embedding(hi - lo, width))
                self.emb_projs.append(nn.Parameter(torch.empty(d_proj, width)))

    def forward(self, input_ids: Tensor) -> Tensor:
        if self.div_val == 1:
            embed = self.emb_layers[0](input_ids)  # (batch, seq, d_embed)
            if self.d_proj != self.d_embed:
                embed = F.linear(embed, self.emb_projs[0])  # (batch, seq, d_proj)
        elif input_ids.numel() == 1 and not torch.compiler.is_compiling():
            # one token (a step of generation at batch 1): its cluster alone
            token = int(input_ids)
            i = sum(token >= lo for lo, _ in self.bounds[1:])  # the cluster the id is in
            embed = F.linear(self.emb_layers[i](input_ids - self.bounds[i][0]), self.emb_projs[i])
        else:
            # Every cluster embeds every id (clamped into its range) and keeps its own:
            # no data-dependent indexing, so the model compiles as one graph.
            embed = None
            for (lo, hi), table, proj in zip(self.bounds, self.emb_layers, self.emb_projs):
                inside = (input_ids >= lo) & (input_ids < hi)  # (batch, seq)
                part = F.linear(table((input_ids - lo).clamp(0, hi - lo - 1)), proj)  # (batch, seq, d_proj)
                part = part * inside[..., None].to(part.dtype)
                embed = part if embed is None else embed + part
        return embed * self.emb_scale


def _rel_shift(scores: Tensor) -> Tensor:
    """(batch, heads, q, k) scores against distances k-1 .. 0 -> against each key: row i
    shifted left by q-1-i (the standard pad-and-reshape trick; a single row stays)."""
    b, n, q, k = scores.shape
    if q == 1:
        return scores
    padded = F.pad(scores, (1, 0))  # (batch, heads, q, k + 1)
    return padded.view(b, n, k + 1, q)[:, :, 1:].reshape(b, n, q, k)


class TransfoXLAttention(nn.Module):
    """Relative multi-head attention ("partially learnable": content bias r_w_bias,
    position bias r_r_bias) over the memory and the segment, with its residual and
    LayerNorm (before: pre_lnorm; else after)."""

    def __init__(self, config: TransfoXLConfig, r_w_bias: nn.Parameter | None = None,
                 r_r_bias: nn.Parameter | None = None) -> None:
        super().__init__()
        n, dh, d = config.n_head, config.d_head, config.d_model
        self.n_head, self.d_head, self.pre_lnorm = n, dh, config.pre_lnorm
        self.scale = 1 / dh ** 0.5
        if r_w_bias is None or r_r_bias is None:  # untie_r: a set per layer
            r_r_bias, r_w_bias = nn.Parameter(torch.empty(n, dh)), nn.Parameter(torch.empty(n, dh))
        self.r_r_bias = r_r_bias
        self.r_w_bias = r_w_bias
        self.qkv_net = nn.Linear(d, 3 * n * dh, bias=False)
        self.drop = nn.Dropout(config.dropout)
        self.dropatt = nn.Dropout(config.dropatt)
        self.o_net = nn.Linear(n * dh, d, bias=False)
        self.layer_norm = nn.LayerNorm(d, eps=config.layer_norm_epsilon)
        self.r_net = nn.Linear(d, n * dh, bias=False)

    def forward(self, hidden: Tensor, pos_emb: Tensor, mask: Tensor, mem: Tensor | None,
                head_mask: Tensor | None, output_attentions: bool,
                cache: tuple[_Rows, Tensor] | None = None, spare: int = 0) -> tuple[Tensor, Tensor | None, tuple]:
        """hidden (batch, q, d_model); mem (batch, m, d_model) or None; pos_emb: the
        encodings of the distances k-1 .. 0 (k = m + q) or more. With ``cache`` (the keys
        and values of ``mem``, and projected encodings: see TransfoXLMems), ``mem`` is not
        read and pos_emb holds only the distances the cached encodings lack. Returns the
        output, the attention probabilities when asked, and the keys and values of memory +
        segment (batch, k, 2 * n * dh) (with ``cache``: as its _Rows, extended) with the
        projected encodings."""
        b, q, _ = hidden.shape
        nd = self.n_head * self.d_head
        if cache is None:
            context = hidden if mem is None else torch.cat([mem, hidden], dim=1)  # (batch, k, d_model)
            heads = self.qkv_net(self.layer_norm(context) if self.pre_lnorm else context)  # (batch, k, 3 * n * dh)
            w_q, kv = heads[:, -q:, :nd], heads[..., nd:]  # (batch, q, n * dh), (batch, k, 2 * n * dh)
            positions = self.r_net(pos_emb)  # (k or more, n * dh)
            computed = kv
        else:  # only the segment's own queries, keys and values, and the missing encodings
            memory, positions = cache
            heads = self.qkv_net(self.layer_norm(hidden) if self.pre_lnorm else hidden)  # (batch, q, 3 * n * dh)
            w_q = heads.narrow(-1, 0, nd)
            computed = memory.extended(heads.narrow(-1, nd, 2 * nd), spare)
            kv = computed.tensor  # (batch, k, 2 * n * dh)
            if pos_emb.shape[0]:
                positions = torch.cat([self.r_net(pos_emb), positions], dim=0)
        k = kv.shape[1]
        w_q = w_q.reshape(b, q, self.n_head, self.d_head)  # (batch, q, heads, head_dim)
        w_k, w_v = kv.view(b, k, 2, self.n_head, self.d_head).unbind(2)  # (batch, k, heads, head_dim) each
        r_k = positions.narrow(0, positions.shape[0] - k, k).view(k, self.n_head, self.d_head)  # (k, heads, head_dim)
        # (batch, heads, q, head_dim) @ (batch, heads, head_dim, k): matmul, not einsum (a
        # third less time in a step of one token)
        content = torch.matmul((w_q + self.r_w_bias).transpose(1, 2), w_k.permute(0, 2, 3, 1))  # (batch, heads, q, k)
        position = _rel_shift(torch.matmul((w_q + self.r_r_bias).transpose(1, 2), r_k.permute(1, 2, 0)))
        scores = (content + position) * self.scale
        if mask is not None:
            scores = scores.float().masked_fill(mask, -1e30).type_as(scores)
        probs = F.softmax(scores, dim=-1)  # (batch, heads, q, k)
        if self.training:  # (the dropout calls cost a step of one token a tenth of its time)
            probs = self.dropatt(probs)
        if head_mask is not None:
            probs = probs * head_mask
        out = torch.matmul(probs, w_v.transpose(1, 2)).transpose(1, 2)  # (batch, q, heads, head_dim)
        out = self.o_net(out.reshape(b, q, nd))  # (batch, q, d_model)
        if self.training:
            out = self.drop(out)
        out = hidden + out if self.pre_lnorm else self.layer_norm(hidden + out)
        return out, (probs if output_attentions else None), (computed, positions)


class TransfoXLFeedForward(nn.Module):
    def __init__(self, config: TransfoXLConfig) -> None:
        super().__init__()
        self.pre_lnorm = config.pre_lnorm
        self.CoreNet = nn.Sequential(
            nn.Linear(config.d_model, config.d_inner), nn.ReLU(), nn.Dropout(config.dropout),
            nn.Linear(config.d_inner, config.d_model), nn.Dropout(config.dropout),
        )
        self.layer_norm = nn.LayerNorm(config.d_model, eps=config.layer_norm_epsilon)

    def _core(self, hidden: Tensor) -> Tensor:
        if self.training:
            return self.CoreNet(hidden)
        first, _, _, second, _ = self.CoreNet  # the dropouts do nothing in eval
        return second(torch.relu(first(hidden)))

    def forward(self, hidden: Tensor) -> Tensor:
        if self.pre_lnorm:
            return hidden + self._core(self.layer_norm(hidden))
        return self.layer_norm(hidden + self._core(hidden))


class TransfoXLLayer(nn.Module):
    def __init__(self, config: TransfoXLConfig, r_w_bias: nn.Parameter | None, r_r_bias: nn.Parameter | None) -> None:
        super().__init__()
        self.dec_attn = TransfoXLAttention(config, r_w_bias, r_r_bias)
        self.pos_ff = TransfoXLFeedForward(config)

    def forward(self, hidden, pos_emb, mask, mem, head_mask, output_attentions, cache=None, spare=0):
        hidden, attn, computed = self.dec_attn(hidden, pos_emb, mask, mem, head_mask, output_attentions, cache, spare)
        return self.pos_ff(hidden), attn, computed


# --------------------------------------------------------------------------- base class


class TransfoXLPreTrainedModel(PreTrainedModel):
    """Shared init and the structural sharing of Transformer-XL: the relative biases
    (untie_r=False: one set, held by the model and by every layer, as the checkpoints
    list them) and the softmax projections (``tie_projs``, tied whatever
    tie_word_embeddings says, as 1.x does). The word tables' tying goes through the
    core's ``tied_weights()``."""

    config_class = TransfoXLConfig
    base_model_prefix = "transformer"

    def _init_weight(self, weight: Tensor) -> None:
        if self.config.init == "uniform":
            nn.init.uniform_(weight, -self.config.init_range, self.config.init_range)
        else:
            nn.init.normal_(weight, 0.0, self.config.init_std)

    def _init_weights(self, module: nn.Module) -> None:
        """pytorch-transformers' scheme: weights normal(init_std) or uniform(init_range),
        projections normal(proj_init_std), LayerNorm weights normal(1, init_std), biases 0."""
        std = self.config.proj_init_std
        if isinstance(module, nn.Linear):
            self._init_weight(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, AdaptiveEmbedding):
            for proj in module.emb_projs:
                nn.init.normal_(proj, 0.0, std)
        elif isinstance(module, nn.Embedding):
            self._init_weight(module.weight)
        elif isinstance(module, ProjectedAdaptiveLogSoftmax):
            if module.cluster_weight is not None:
                self._init_weight(module.cluster_weight)
                nn.init.zeros_(module.cluster_bias)
            for proj in module.out_projs:
                nn.init.normal_(proj, 0.0, std)
        elif isinstance(module, nn.LayerNorm):
            nn.init.normal_(module.weight, 1.0, self.config.init_std)
            nn.init.zeros_(module.bias)
        elif isinstance(module, (TransfoXLAttention, TransfoXLModel)):
            for name in ("r_w_bias", "r_r_bias"):
                if isinstance(module._parameters.get(name), nn.Parameter):
                    self._init_weight(module._parameters[name])

    def shared_weights(self) -> dict[str, str]:
        """{key: source key} of the parameters that always share a tensor (relative biases
        with untie_r=False, projections with tie_projs); stored once, under the source."""
        shared: dict[str, str] = {}
        for prefix, module in self.named_modules():
            if isinstance(module, TransfoXLModel) and not module.config.untie_r:
                dot = f"{prefix}." if prefix else ""
                for i in range(len(module.layers)):
                    for name in ("r_w_bias", "r_r_bias"):
                        shared[f"{dot}layers.{i}.dec_attn.{name}"] = f"{dot}{name}"
        crit = getattr(self, "crit", None)
        if isinstance(crit, ProjectedAdaptiveLogSoftmax) and len(crit.out_projs):
            config = self.config
            for i, tie in enumerate(config.projection_ties()[:len(crit.out_projs)]):
                if tie and config.div_val == 1 and config.d_model != config.d_embed:
                    shared[f"crit.out_projs.{i}"] = "transformer.word_emb.emb_projs.0"
                elif tie and config.div_val != 1:
                    shared[f"crit.out_projs.{i}"] = f"transformer.word_emb.emb_projs.{i}"
        return shared

    def tie_weights(self) -> None:
        super().tie_weights()
        for key, source in self.shared_weights().items():
            self._set_parameter(key, self.get_parameter(source))

    def resize_token_embeddings(self, new_num_tokens=None, pad_to_multiple_of=None):
        raise NotImplementedError(
            f"{type(self).__name__}: the adaptive embedding splits the vocabulary into clusters at config.cutoffs, "
            "so it cannot be resized by adding rows; build a model with the new vocab_size and cutoffs instead."
        )


def _check_mems(mems: Mems, n_layer: int, batch: int, d_model: int) -> None:
    if not isinstance(mems, (list, tuple)) or len(mems) != n_layer:
        got = f"{len(mems)} tensors" if isinstance(mems, (list, tuple)) else type(mems).__name__
        raise ValueError(f"mems must hold one tensor per layer ({n_layer}), got {got}; pass the mems the "
                         "previous segment's output returned, or None.")
    shape = tuple(mems[0].shape)
    for i, mem in enumerate(mems):
        if mem.dim() != 3 or mem.shape[1] != batch or mem.shape[2] != d_model or tuple(mem.shape) != shape:
            raise ValueError(
                f"mems[{i}] has shape {tuple(mem.shape)}, but mems must be (mem_len, batch={batch}, "
                f"d_model={d_model}) tensors of one length (mems[0] is {shape}); pass the mems the previous "
                "segment's output returned, for the same batch."
            )


class TransfoXLModel(TransfoXLPreTrainedModel):
    """The Transformer-XL decoder stack: hidden states of every position, and the mems
    that carry them into the next segment."""

    def __init__(self, config: TransfoXLConfig) -> None:
        super().__init__(config)
        self.word_emb = AdaptiveEmbedding(config.vocab_size, config.d_embed, config.d_model, config.cutoffs,
                                          div_val=config.div_val)
        self.drop = nn.Dropout(config.dropout)
        shared = (None, None)
        if not config.untie_r:
            self.r_w_bias = nn.Parameter(torch.empty(config.n_head, config.d_head))
            self.r_r_bias = nn.Parameter(torch.empty(config.n_head, config.d_head))
            shared = (self.r_w_bias, self.r_r_bias)
        self.layers = nn.ModuleList(TransfoXLLayer(config, *shared) for _ in range(config.n_layer))
        self.pos_emb = PositionalEmbedding(config.d_model)
        self.post_init()

    def get_input_embeddings(self) -> AdaptiveEmbedding:
        return self.word_emb

    def set_input_embeddings(self, value: AdaptiveEmbedding) -> None:
        self.word_emb = value

    def empty_mems(self, batch_size: int) -> list[Tensor]:
        """Mems of length 0: the first segment then attends to nothing before it."""
        p = self.word_emb.emb_layers[0].weight
        return [p.new_zeros(0, batch_size, self.config.d_model) for _ in range(self.config.n_layer)]

    def init_mems(self, batch_size: int) -> list[Tensor] | None:
        """What mems=None means, as in 1.x: mem_len zero states per layer (None when mem_len is 0)."""
        if self.config.mem_len <= 0:
            return None
        p = self.word_emb.emb_layers[0].weight
        return [p.new_zeros(self.config.mem_len, batch_size, self.config.d_model) for _ in range(self.config.n_layer)]

    def _attention_mask(self, q: int, m: int, device: torch.device) -> Tensor | None:
        """(q, m + q) True where a position may NOT attend: the future, and with
        same_length the keys beyond the last mem_len + 1. None when nothing is masked (one
        position, and without same_length or with no more than mem_len keys)."""
        k = m + q
        if q == 1 and (not self.config.same_length or k <= self.config.mem_len):
            return None
        ones = torch.ones(q, k, device=device)
        mask = torch.triu(ones, diagonal=1 + m)
        if self.config.same_length:
            over = k - self.config.mem_len
            shift = q - over if over > 0 else q
            mask = mask + torch.tril(ones, diagonal=-shift)
        return mask.bool()

    def _mem_window(self, q: int, m: int) -> slice:
        """Which of the m + q states of memory + segment the next mems keep: the last
        mem_len, ending where pytorch-transformers 1.x ends them, at q + max(0, m - ext_len)."""
        end = q + max(0, m - self.config.ext_len)
        return slice(max(0, end - self.config.mem_len), end)

    def _update_mems(self, hids: list[Tensor], mems: Mems | None, q: int, m: int) -> list[Tensor] | None:
        """The window's states per layer, kept out of the graph."""
        if mems is None:
            return None
        window = self._mem_window(q, m)
        with torch.no_grad():
            return [torch.cat([mem, hid.transpose(0, 1)], dim=0)[window].detach()
                    for mem, hid in zip(mems, hids)]

    def _head_mask(self, head_mask: Tensor | None) -> list[Tensor | None]:
        if head_mask is None:
            return [None] * self.config.n_layer
        n = self.config.n_head
        if head_mask.dim() == 1:
            head_mask = head_mask[None].expand(self.config.n_layer, -1)
        if tuple(head_mask.shape) != (self.config.n_layer, n):
            raise ValueError(f"head_mask has shape {tuple(head_mask.shape)}; it must be (n_head={n},) or "
                             f"(n_layer={self.config.n_layer}, n_head={n})")
        head_mask = head_mask.to(self.word_emb.emb_layers[0].weight.dtype)
        return [h.view(1, n, 1, 1) for h in head_mask]  # broadcast over (batch, heads, q, k)

    def forward(
        self,
        input_ids: Tensor | None = None,
        mems: Mems | None = None,
        head_mask: Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        use_cache: bool | None = None,
    ) -> TransfoXLModelOutput | tuple:
        """input_ids (batch, seq); mems: the previous segment's ``mems`` (one
        (mem_len, batch, d_model) tensor per layer), None for mem_len zero states.
        ``use_cache``: in eval mode without gradients, return the mems as a TransfoXLMems,
        whose keys and values the next forward reuses."""
        output_attentions, output_hidden_states, return_dict = self._flags(
            output_attentions, output_hidden_states, return_dict)
        if input_ids is None or input_ids.dim() != 2:
            raise ValueError(f"input_ids must be a (batch, seq) tensor of token ids, got "
                             f"{None if input_ids is None else tuple(input_ids.shape)}")
        config = self.config
        check_input_ids(input_ids, config.vocab_size, None)
        b, q = input_ids.shape
        if mems is None:
            mems = self.init_mems(b)
        else:
            _check_mems(mems, config.n_layer, b, config.d_model)
        m = mems[0].shape[0] if mems is not None else 0
        k = m + q
        mask = self._attention_mask(q, m, input_ids.device)
        mask = None if mask is None else mask[None, None]  # (1, 1, q, k)
        heads = self._head_mask(head_mask)
        caching = bool(use_cache) and not self.training and not torch.is_grad_enabled() and mems is not None
        reuse = caching and isinstance(mems, TransfoXLMems)
        spare = max(config.mem_len, 16)  # free rows of a new buffer of the cache

        word_emb = self.word_emb(input_ids)  # (batch, q, d_model)
        # The distances k-1 .. 0. Caching, from mem_len at least (what the steps after this
        # one need); reusing, only those farther than the cached encodings reach.
        farthest = max(k, config.mem_len + 1) if caching else k
        known = mems.positions[0].shape[0] if reuse else 0
        if farthest > known:
            distances = torch.arange(farthest - 1, known - 1, -1.0, device=word_emb.device, dtype=word_emb.dtype)
            if config.clamp_len > 0:
                distances = distances.clamp(max=config.clamp_len)
            pos_emb = self.drop(self.pos_emb(distances))  # (farthest - known, d_model)
        else:  # the cached encodings reach every distance
            pos_emb = word_emb.new_empty(0, config.d_model)
        hidden = self.drop(word_emb) if self.training else word_emb  # (no dropout calls in eval)
        hids: list[Tensor] = []
        attentions: list[Tensor] = []
        computed: list[tuple] = []
        for i, layer in enumerate(self.layers):
            hids.append(hidden)
            mem = None if mems is None or reuse else mems[i].transpose(0, 1)  # (batch, m, d_model)
            cache = (mems.keys_values[i], mems.positions[i]) if reuse else None
            hidden, attn, layer_computed = layer(hidden, pos_emb, mask, mem, heads[i], output_attentions, cache, spare)
            computed.append(layer_computed)
            if output_attentions:
                attentions.append(attn)
        if self.training:
            hidden = self.drop(hidden)
        if not caching:
            new_mems = self._update_mems(hids, mems, q, m)
        else:
            window = self._mem_window(q, m)
            if reuse:  # each layer's rows grow in their buffers
                states = [rows.extended(hid.transpose(0, 1), spare).window(window)
                          for rows, hid in zip(mems.hidden, hids)]
                keys_values = [kv.window(window) for kv, _ in computed]
            else:
                states = [_Rows.copy_of(rows, 0, spare) for rows in self._update_mems(hids, mems, q, m)]
                keys_values = [_Rows.copy_of(kv[:, window], 1, spare) for kv, _ in computed]
            new_mems = TransfoXLMems(states, keys_values, [positions for _, positions in computed])
        out = TransfoXLModelOutput(
            last_hidden_state=hidden, mems=new_mems,
            hidden_states=tuple(hids + [hidden]) if output_hidden_states else None,
            attentions=tuple(attentions) if output_attentions else None,
        )
        return out if return_dict else out.to_tuple()


# --------------------------------------------------------------------------- adaptive softmax


class ProjectedAdaptiveLogSoftmax(nn.Module):
    """The adaptive softmax with projections: the head cluster scores the shortlist
    (ids below cutoffs[0]) and one logit per tail cluster; a tail id's log-probability is
    its cluster's head log-probability plus its log-probability within the cluster."""

    def __init__(self, vocab_size: int, d_embed: int, d_proj: int, cutoffs: list[int], div_val: int = 1) -> None:
        super().__init__()
        self.vocab_size, self.div_val = vocab_size, div_val
        self.bounds = _cluster_bounds(vocab_size, cutoffs)
        self.shortlist = self.bounds[0][1]
        self.n_clusters = len(cutoffs)
        if self.n_clusters:
            self.cluster_weight = nn.Parameter(torch.zeros(self.n_clusters, d_embed))
            self.cluster_bias = nn.Parameter(torch.zeros(self.n_clusters))
        else:
            self.cluster_weight = self.cluster_bias = None
        self.out_layers = nn.ModuleList()
        self.out_projs = nn.ParameterList()
        if div_val == 1:
            if d_proj != d_embed:
                for _ in self.bounds:
                    self.out_projs.append(nn.Parameter(torch.empty(d_proj, d_embed)))
            self.out_layers.append(nn.Linear(d_embed, vocab_size))
        else:
            for i, (lo, hi) in enumerate(self.bounds):
                width = d_embed // div_val ** i
                self.out_projs.append(nn.Parameter(torch.empty(d_proj, width)))
                self.out_layers.append(nn.Linear(width, hi - lo))

    def _cluster(self, i: int) -> tuple[Tensor, Tensor, Tensor | None]:
        """Weight, bias and projection of cluster i."""
        if self.div_val == 1:
            lo, hi = self.bounds[i]
            weight, bias = self.out_layers[0].weight[lo:hi], self.out_layers[0].bias[lo:hi]
        else:
            weight, bias = self.out_layers[i].weight, self.out_layers[i].bias
        proj = self.out_projs[i] if len(self.out_projs) else None
        return weight, bias, proj

    def _logits(self, hidden: Tensor, i: int) -> Tensor:
        """(rows, d_proj) -> the logits of cluster i; the head's (i = 0) end with one logit
        per tail cluster, scored from cluster_weight (not from a concatenated copy of the
        tables, which a step of one token would build each time)."""
        weight, bias, proj = self._cluster(i)
        if proj is not None:
            hidden = F.linear(hidden, proj.t())  # (rows, d_embed_i)
        logits = F.linear(hidden, weight, bias)
        if i == 0 and self.n_clusters:
            logits = torch.cat([logits, F.linear(hidden, self.cluster_weight, self.cluster_bias)], dim=-1)
        return logits

    def log_probs(self, hidden: Tensor) -> Tensor:
        """(rows, d_proj) -> (rows, vocab) log-probabilities."""
        head = F.log_softmax(self._logits(hidden, 0), dim=-1)  # (rows, shortlist + clusters)
        if not self.n_clusters:
            return head
        parts = [head[:, :self.shortlist]]
        for i in range(1, len(self.bounds)):
            tail = F.log_softmax(self._logits(hidden, i), dim=-1)  # (rows, cluster size)
            parts.append(head[:, self.shortlist + i - 1, None] + tail)
        return torch.cat(parts, dim=-1)

    def nll(self, hidden: Tensor, labels: Tensor) -> Tensor:
        """(rows, d_proj), (rows,) -> (rows,) negative log-likelihood of each label, in the
        rows' order (0 for labels outside the vocabulary, e.g. -100). Each tail cluster
        is scored only for the rows whose label is in it."""
        head = F.log_softmax(self._logits(hidden, 0), dim=-1)
        out = torch.zeros(labels.shape[0], dtype=hidden.dtype, device=hidden.device)
        for i, (lo, hi) in enumerate(self.bounds):
            rows = ((labels >= lo) & (labels < hi)).nonzero().squeeze(1)
            if rows.numel() == 0:
                continue
            target = labels.index_select(0, rows) - lo
            if i == 0:
                logp = head.index_select(0, rows).gather(1, target[:, None]).squeeze(1)
            else:
                tail = F.log_softmax(self._logits(hidden.index_select(0, rows), i), dim=-1)
                logp = head[rows, self.shortlist + i - 1] + tail.gather(1, target[:, None]).squeeze(1)
            out = out.index_copy(0, rows, -logp)
        return out


# --------------------------------------------------------------------------- heads


class TransfoXLLMHeadModel(TransfoXLPreTrainedModel):
    """Transformer-XL with the projected adaptive softmax: log-probabilities of the next
    token at every position, or with ``labels`` their negative log-likelihoods. The
    softmax's tables share the word embedding's when config.tie_word_embeddings (1.x's
    tie_weight); its projections follow config.tie_projs."""

    def __init__(self, config: TransfoXLConfig) -> None:
        super().__init__(config)
        self.transformer = TransfoXLModel(config)
        self.crit = ProjectedAdaptiveLogSoftmax(config.vocab_size, config.d_embed, config.d_model, config.cutoffs,
                                                div_val=config.div_val)
        self.post_init()

    def tied_weights(self) -> dict[str, str]:
        return {f"crit.out_layers.{i}.weight": f"transformer.word_emb.emb_layers.{i}.weight"
                for i in range(len(self.crit.out_layers))}

    def get_output_embeddings(self) -> ProjectedAdaptiveLogSoftmax:
        return self.crit

    def forward(
        self,
        input_ids: Tensor | None = None,
        labels: Tensor | None = None,
        mems: Mems | None = None,
        head_mask: Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        logits_to_keep: int = 0,
        use_cache: bool | None = None,
    ) -> TransfoXLLMHeadModelOutput | tuple:
        """``labels`` (batch, seq): the token to predict at each position, NOT shifted (as
        in 1.x: feed a segment and the segment one token later); -100 is ignored.
        ``logits_to_keep``: score only the last n positions (0: all). Mems are always
        returned; ``use_cache`` makes them a TransfoXLMems in inference (see TransfoXLModel)."""
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        outputs = self.transformer(input_ids, mems, head_mask, output_attentions, output_hidden_states,
                                   return_dict=True, use_cache=use_cache)
        hidden = outputs.last_hidden_state  # (batch, seq, d_model)
        b, q = input_ids.shape
        losses = loss = logits = None
        if labels is not None:
            if tuple(labels.shape) != (b, q):
                raise ValueError(f"labels has shape {tuple(labels.shape)}; it must match input_ids {(b, q)}")
            flat = labels.reshape(-1)
            losses = self.crit.nll(hidden.reshape(b * q, -1), flat).view(b, q)
            counted = ((flat >= 0) & (flat < self.config.vocab_size)).sum()
            loss = losses.sum() / counted.clamp(min=1)
        else:
            if logits_to_keep:
                hidden = hidden[:, -logits_to_keep:]  # (batch, kept, d_model)
            logits = self.crit.log_probs(hidden.reshape(-1, hidden.shape[-1])).view(b, hidden.shape[1], -1)
        out = TransfoXLLMHeadModelOutput(losses=losses, logits=logits, mems=outputs.mems,
                                         hidden_states=outputs.hidden_states, attentions=outputs.attentions,
                                         loss=loss)
        return out if return_dict else out.to_tuple()

    # ------------------------------------------------------------------ generation (plugformers.generation hooks)

    def generation_inputs(self, input_ids: Tensor, past: Mems | None, attention_mask: Tensor | None) -> dict:
        """The prompt starts from empty mems (no zero states: then scoring the whole
        sequence and stepping with mems agree); each later step feeds only the newest
        token with the mems, whose keys and values are kept (TransfoXLMems). Transformer-XL has
        no attention mask: left padding stays visible."""
        if past is None:
            past = self.transformer.empty_mems(input_ids.shape[0])
        else:
            input_ids = input_ids[:, -1:]
        return {"input_ids": input_ids, "mems": past, "logits_to_keep": 1, "use_cache": True, "return_dict": True}

    @staticmethod
    def generation_cache(output: TransfoXLLMHeadModelOutput) -> list[Tensor] | None:
        """The cache generation keeps between steps: the mems."""
        return output.mems

    @staticmethod
    def reorder_generation_cache(past: Mems, index: Tensor) -> list[Tensor]:
        """Keep the rows ``index`` of every layer's mems (beam search): dim 1 is the batch."""
        if isinstance(past, TransfoXLMems):
            return past.select(index)
        return [mem.index_select(1, index) for mem in past]


class TransfoXLForSequenceClassification(TransfoXLPreTrainedModel):
    """Transformer-XL with a linear classifier (``score``) on the last token of each
    sequence: the last one the attention_mask keeps, else the last that is not
    config.pad_token_id, else the last position."""

    def __init__(self, config: TransfoXLConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.transformer = TransfoXLModel(config)
        self.score = nn.Linear(config.d_model, config.num_labels, bias=False)
        self.post_init()

    def forward(
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        mems: Mems | None = None,
        head_mask: Tensor | None = None,
        labels: Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> TransfoXLSequenceClassifierOutput | tuple:
        """``attention_mask`` (batch, seq) only picks the last real token of right-padded
        rows (causal attention: padding after it never reaches it)."""
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        outputs = self.transformer(input_ids, mems, head_mask, output_attentions, output_hidden_states,
                                   return_dict=True)
        scores = self.score(outputs.last_hidden_state)  # (batch, seq, labels)
        b, q = input_ids.shape
        keep = None
        if attention_mask is not None:
            keep = attention_mask != 0
        elif self.config.pad_token_id is not None:
            keep = input_ids != self.config.pad_token_id
        if keep is None:
            last = torch.full((b,), q - 1, device=scores.device)
        else:
            positions = torch.arange(q, device=scores.device)
            last = (keep.long() * (positions + 1)).argmax(-1)  # the last kept position (0 if none)
        logits = scores[torch.arange(b, device=scores.device), last]  # (batch, labels)
        loss = sequence_classification_loss(logits, labels, self.config) if labels is not None else None
        out = TransfoXLSequenceClassifierOutput(loss=loss, logits=logits, mems=outputs.mems,
                                                hidden_states=outputs.hidden_states, attentions=outputs.attentions)
        return out if return_dict else out.to_tuple()
