"""XLNet (Yang et al., 2019): the two-stream relative-attention encoder and every head.

Module names are the checkpoint's key names (``transformer.word_embedding.weight``,
``transformer.mask_emb``, ``transformer.layer.0.rel_attn.q``, ``...rel_attn.r_w_bias``,
``...ff.layer_1.weight``, ``lm_loss.weight``, ``sequence_summary.summary.weight``,
``logits_proj.weight``, ``start_logits.dense.weight``, ...), so a transformers or
pytorch-transformers state dict loads with a plain ``load_state_dict``. The attention
projections are stored as (d_model, heads, head_dim) tensors, as the checkpoints hold them.

Order: the output classes, relative attention, feed-forward, layer, the shared base
class, the positional encoding and the masks, the base model, then the heads.

Tensors run batch-first inside; ``mems`` stay in the checkpoints' layout: one tensor per
layer, (mem_len, batch, d_model), the hidden states that entered that layer, as
transformers keeps them. XLNet has no position embeddings: positions enter through the
sinusoidal relative encoding, so sequences have no length limit.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from plugformers.layers import (
    SequenceSummary,
    SquadAnswerClass,
    SquadEndLogits,
    SquadStartLogits,
    check_input_ids,
    get_activation,
    init_normal_,
    sequence_classification_loss,
    span_logits_and_loss,
    squad_beam_outputs,
)
from plugformers.modeling_outputs import ModelOutput
from plugformers.modeling_utils import PreTrainedModel
from torch import nn
from torch.utils.checkpoint import checkpoint

from .configuration import XLNetConfig

__all__ = [
    "XLNetPreTrainedModel",
    "XLNetModel",
    "XLNetLMHeadModel",
    "XLNetForSequenceClassification",
    "XLNetForTokenClassification",
    "XLNetForMultipleChoice",
    "XLNetForQuestionAnsweringSimple",
    "XLNetForQuestionAnswering",
    "XLNetModelOutput",
    "XLNetLMHeadModelOutput",
    "XLNetForSequenceClassificationOutput",
    "XLNetForTokenClassificationOutput",
    "XLNetForMultipleChoiceOutput",
    "XLNetForQuestionAnsweringSimpleOutput",
    "XLNetForQuestionAnsweringOutput",
]

Tensor = torch.Tensor
Tensors = tuple[torch.Tensor, ...]
Mems = tuple[torch.Tensor, ...] | list[torch.Tensor]


# --------------------------------------------------------------------------- outputs
# transformers' field names and order; ``mems`` is one (mem_len, batch, d_model) tensor per layer.


@dataclass
class XLNetModelOutput(ModelOutput):
    """last_hidden_state (batch, seq or num_predict, d_model): the query stream's when
    ``target_mapping`` is given, else the content stream's."""

    last_hidden_state: Tensor | None = None
    mems: Tensors | None = None
    hidden_states: Tensors | None = None
    attentions: tuple | None = None


@dataclass
class XLNetLMHeadModelOutput(ModelOutput):
    loss: Tensor | None = None
    logits: Tensor | None = None
    mems: Tensors | None = None
    hidden_states: Tensors | None = None
    attentions: tuple | None = None


@dataclass
class XLNetForSequenceClassificationOutput(ModelOutput):
    loss: Tensor | None = None
    logits: Tensor | None = None
    mems: Tensors | None = None
    hidden_states: Tensors | None = None
    attentions: tuple | None = None


@dataclass
class XLNetForTokenClassificationOutput(ModelOutput):
    loss: Tensor | None = None
    logits: Tensor | None = None
    mems: Tensors | None = None
    hidden_states: Tensors | None = None
    attentions: tuple | None = None


@dataclass
class XLNetForMultipleChoiceOutput(ModelOutput):
    loss: Tensor | None = None
    logits: Tensor | None = None
    mems: Tensors | None = None
    hidden_states: Tensors | None = None
    attentions: tuple | None = None


@dataclass
class XLNetForQuestionAnsweringSimpleOutput(ModelOutput):
    loss: Tensor | None = None
    start_logits: Tensor | None = None
    end_logits: Tensor | None = None
    mems: Tensors | None = None
    hidden_states: Tensors | None = None
    attentions: tuple | None = None


@dataclass
class XLNetForQuestionAnsweringOutput(ModelOutput):
    """The beam SQuAD head: the loss in training, the top starts / ends and the
    answerable score at inference (see ``plugformers.layers.squad_beam_outputs``)."""

    loss: Tensor | None = None
    start_top_log_probs: Tensor | None = None
    start_top_index: Tensor | None = None
    end_top_log_probs: Tensor | None = None
    end_top_index: Tensor | None = None
    cls_logits: Tensor | None = None
    mems: Tensors | None = None
    hidden_states: Tensors | None = None
    attentions: tuple | None = None


# --------------------------------------------------------------------------- attention


def _rel_shift(scores: Tensor, klen: int) -> Tensor:
    """Turn position scores indexed by relative-encoding row into scores indexed by key.

    ``scores`` (batch, heads, q, p) scores query i against encoding row t (row t encodes
    the distance klen - t). Key j of query i sits at distance mlen + i - j, row
    q - i + j: reading the rows diagonally, by the reshape trick of Transformer-XL.
    Entries for keys a causal mask hides hold other rows' values. Returns (batch, heads, q, klen).
    """
    b, n, q, p = scores.shape
    shifted = scores.reshape(b, n, p, q)[:, :, 1:].reshape(b, n, q, p - 1)  # row i now starts at row q - i
    return shifted[..., :klen]


class XLNetRelativeAttention(nn.Module):
    """Multi-head attention with relative positions and segments, for the content
    stream ``h`` and, when predicting, the query stream ``g`` (which reads the content
    stream's keys and values but not its own token), followed by the output projection,
    the residual and a LayerNorm.

    Scores: (content + position + segment) / sqrt(head_dim), each with its own bias on
    the query (``r_w_bias``, ``r_r_bias``, ``r_s_bias``).
    """

    def __init__(self, config: XLNetConfig) -> None:
        super().__init__()
        d, n, dh = config.d_model, config.n_head, config.d_head
        self.n_head, self.d_head = n, dh
        self.scale = 1 / (dh ** 0.5)
        # (d_model, heads, head_dim) each, as checkpoints store them; initialised by _init_weights
        self.q = nn.Parameter(torch.empty(d, n, dh))
        self.k = nn.Parameter(torch.empty(d, n, dh))
        self.v = nn.Parameter(torch.empty(d, n, dh))
        self.o = nn.Parameter(torch.empty(d, n, dh))
        self.r = nn.Parameter(torch.empty(d, n, dh))
        self.r_r_bias = nn.Parameter(torch.empty(n, dh))
        self.r_s_bias = nn.Parameter(torch.empty(n, dh))
        self.r_w_bias = nn.Parameter(torch.empty(n, dh))
        self.seg_embed = nn.Parameter(torch.empty(2, n, dh))
        self.layer_norm = nn.LayerNorm(d, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.dropout)

    def _heads(self, x: Tensor, weight: Tensor) -> Tensor:
        """(batch, len, d_model) through a (d_model, heads, head_dim) projection -> (batch, heads, len, head_dim)."""
        b, length, _ = x.shape
        return (x @ weight.flatten(1)).view(b, length, self.n_head, self.d_head).transpose(1, 2)

    def _attend(self, q: Tensor, k: Tensor, v: Tensor, k_r: Tensor, seg: Tensor | None,
                mask: Tensor | None) -> tuple[Tensor, Tensor]:
        """``q`` (batch, heads, q, head_dim); ``k``, ``v`` (batch, heads, klen, head_dim);
        ``k_r`` (groups, heads, p, head_dim), the batch split into ``groups`` equal parts
        (bi_data: forward then backward positions); ``seg`` (batch, q, klen), True across
        segments; ``mask`` (batch or 1, q, klen), True where hidden.
        Returns (context (batch, heads, q, head_dim), probabilities (batch, heads, q, klen))."""
        b, n, lq, dh = q.shape
        klen, groups = k.shape[2], k_r.shape[0]
        content = (q + self.r_w_bias[:, None]) @ k.transpose(-1, -2)  # (batch, heads, q, klen)
        q_r = (q + self.r_r_bias[:, None]).reshape(groups, b // groups, n, lq, dh)  # (groups, batch/groups, heads, q, dh)
        position = (q_r @ k_r[:, None].transpose(-1, -2)).reshape(b, n, lq, -1)  # (batch, heads, q, p)
        scores = content + _rel_shift(position, klen)
        if seg is not None:
            per_segment = (q + self.r_s_bias[:, None]) @ self.seg_embed.permute(1, 2, 0)  # (batch, heads, q, 2)
            scores = scores + torch.where(seg[:, None], per_segment[..., 1:], per_segment[..., :1])
        scores = scores * self.scale
        if mask is not None:
            # a hidden key scores -1e30 (the checkpoints' value; 65500 in float16): a query that
            # may see nothing attends uniformly, as the reference implementations do
            big = 65500.0 if scores.dtype == torch.float16 else 1e30
            scores = scores.masked_fill(mask[:, None], -big)
        probs = self.dropout(scores.softmax(dim=-1))
        return probs @ v, probs

    def _output(self, residual: Tensor, context: Tensor) -> Tensor:
        """(batch, heads, len, head_dim) -> projection, dropout, residual, LayerNorm -> (batch, len, d_model)."""
        b, _, length, _ = context.shape
        flat = context.transpose(1, 2).reshape(b, length, self.n_head * self.d_head)  # (batch, len, heads * head_dim)
        out = self.dropout(flat @ self.o.flatten(1).t())
        return self.layer_norm(out + residual)

    def forward(self, h: Tensor, g: Tensor | None, mask_h: Tensor | None, mask_g: Tensor | None, pos: Tensor,
                seg: Tensor | None, mem: Tensor | None, target_mapping: Tensor | None,
                output_attentions: bool = False,
                need_h: bool = True) -> tuple[Tensor, Tensor | None, tuple | Tensor | None]:
        """``h`` (batch, q, d_model); ``g`` (batch, num_predict, d_model) or None; ``pos``
        (groups, p, d_model), the relative encoding; ``mem`` (batch, mlen, d_model) or None;
        ``target_mapping`` (batch, num_predict, q). Returns (h, g, attention probabilities:
        (probs_h, probs_g) with two streams). With ``need_h`` False (the last layer, when only
        the query stream is returned) the content stream is not updated: ``h`` comes back as given."""
        context = h if mem is None else torch.cat((mem, h), dim=1)  # (batch, klen, d_model)
        k = self._heads(context, self.k)
        v = self._heads(context, self.v)
        groups, p, d = pos.shape
        k_r = (pos.to(self.r.dtype) @ self.r.flatten(1)).view(groups, p, self.n_head, self.d_head).transpose(1, 2)
        q_g = None
        if g is not None and need_h:  # one projection for both streams' queries
            q_both = self._heads(torch.cat((h, g), dim=1), self.q)  # (batch, heads, q + num_predict, head_dim)
            q_h, q_g = q_both[:, :, :h.shape[1]], q_both[:, :, h.shape[1]:]
        elif need_h or g is None:
            q_h = self._heads(h, self.q)  # (batch, heads, q, head_dim)
        if need_h or g is None:
            ctx_h, probs_h = self._attend(q_h, k, v, k_r, seg, mask_h)
            out_h = self._output(h, ctx_h)
        else:
            out_h, probs_h = h, None
        if g is None:
            return out_h, None, probs_h if output_attentions else None
        if q_g is None:
            q_g = self._heads(g, self.q)  # (batch, heads, num_predict, head_dim)
        mapping = target_mapping.to(q_g.dtype)[:, None]  # (batch, 1, num_predict, q)
        q_g = mapping.transpose(-1, -2) @ q_g  # (batch, heads, q, head_dim): each query at its target position
        ctx_g, probs_g = self._attend(q_g, k, v, k_r, seg, mask_g)
        ctx_g = mapping @ ctx_g  # (batch, heads, num_predict, head_dim)
        out_g = self._output(g, ctx_g)
        return out_h, out_g, (probs_h, probs_g) if output_attentions else None


# --------------------------------------------------------------------------- feed-forward and layer


class XLNetFeedForward(nn.Module):
    """layer_1, activation, dropout, layer_2, dropout, then residual and LayerNorm."""

    def __init__(self, config: XLNetConfig) -> None:
        super().__init__()
        self.layer_norm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.layer_1 = nn.Linear(config.d_model, config.d_inner)
        self.layer_2 = nn.Linear(config.d_inner, config.d_model)
        self.dropout = nn.Dropout(config.dropout)
        self.activation_function = get_activation(config.ff_activation)

    def forward(self, x: Tensor) -> Tensor:
        out = self.dropout(self.activation_function(self.layer_1(x)))
        out = self.dropout(self.layer_2(out))
        return self.layer_norm(out + x)


class XLNetLayer(nn.Module):
    """Relative attention then the feed-forward, applied to both streams."""

    def __init__(self, config: XLNetConfig) -> None:
        super().__init__()
        self.rel_attn = XLNetRelativeAttention(config)
        self.ff = XLNetFeedForward(config)

    def forward(self, h: Tensor, g: Tensor | None, mask_h: Tensor | None, mask_g: Tensor | None, pos: Tensor,
                seg: Tensor | None, mem: Tensor | None, target_mapping: Tensor | None,
                output_attentions: bool = False,
                need_h: bool = True) -> tuple[Tensor, Tensor | None, tuple | Tensor | None]:
        h, g, probs = self.rel_attn(h, g, mask_h, mask_g, pos, seg, mem, target_mapping, output_attentions, need_h)
        if g is None:
            return self.ff(h), None, probs
        if not need_h:
            return h, self.ff(g), probs  # the content stream is not needed after this layer
        if self.training:
            return self.ff(h), self.ff(g), probs
        # the feed-forward is position-wise: one call over both streams reads its weights once
        both = self.ff(torch.cat((h, g), dim=1))  # (batch, q + num_predict, d_model)
        return both[:, :h.shape[1]], both[:, h.shape[1]:], probs


# --------------------------------------------------------------------------- base class


class XLNetPreTrainedModel(PreTrainedModel):
    """Shared by every XLNet class: config class, init, gradient checkpointing."""

    config_class = XLNetConfig
    base_model_prefix = "transformer"
    supports_gradient_checkpointing = True

    def _init_weights(self, module: nn.Module) -> None:
        std = self.config.initializer_range
        if isinstance(module, XLNetRelativeAttention):
            for param in (module.q, module.k, module.v, module.o, module.r, module.r_r_bias, module.r_s_bias,
                          module.r_w_bias, module.seg_embed):
                param.data.normal_(mean=0.0, std=std)
        elif isinstance(module, XLNetModel):
            module.mask_emb.data.normal_(mean=0.0, std=std)
        else:
            init_normal_(module, std)


# --------------------------------------------------------------------------- positions, masks, checks


def _sinusoid(positions: Tensor, inv_freq: Tensor) -> Tensor:
    """(p,) distances -> (p, d_model): sin then cos of distance x frequency."""
    angles = positions[:, None] * inv_freq[None, :]  # (p, d_model / 2)
    return torch.cat((angles.sin(), angles.cos()), dim=-1)


def _shape_error(name: str, got: tuple, needs: str, fix: str = "") -> ValueError:
    return ValueError(f"{name} has shape {tuple(got)}, but it needs {needs}." + (f" {fix}" if fix else ""))


class XLNetModel(XLNetPreTrainedModel):
    """The bare XLNet encoder: word embedding, n_layer relative-attention layers.

    With ``target_mapping`` it runs both streams and returns the query stream at the
    predicted positions; ``perm_mask`` (batch, seq, seq), 1 where token i may not see
    token j, sets the factorisation order. ``mems`` from an earlier segment extend every
    layer's keys; with ``use_mems`` the output holds the new ones (the last ``mem_len``
    states, of the first ``reuse_len`` positions of this segment when set).
    """

    def __init__(self, config: XLNetConfig) -> None:
        super().__init__(config)
        self.word_embedding = nn.Embedding(config.vocab_size, config.d_model)
        self.mask_emb = nn.Parameter(torch.empty(1, 1, config.d_model))
        self.layer = nn.ModuleList(XLNetLayer(config) for _ in range(config.n_layer))
        self.dropout = nn.Dropout(config.dropout)
        self.gradient_checkpointing = False
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.word_embedding

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.word_embedding = value

    # ------------------------------------------------------------------ pieces

    def _relative_encoding(self, qlen: int, klen: int, batch: int, device: torch.device) -> Tensor:
        """The sinusoidal encoding of every distance a query can have to a key:
        (groups, p, d_model), groups 1, or 2 with bi_data (forward distances for the first
        half of the batch, backward for the second); in training with dropout, one per row."""
        config = self.config
        freq = torch.arange(0, config.d_model, 2, dtype=torch.int64, device=device).float()
        inv_freq = 1 / torch.pow(10000, freq / config.d_model)  # (d_model / 2,)
        end = -qlen if config.attn_type == "bi" else -1  # 'uni' never looks ahead
        forward = torch.arange(klen, end, -1, dtype=torch.int64, device=device).float()  # klen, klen - 1, ..., end + 1
        directions = [forward]
        if config.bi_data:
            if batch % 2:
                raise ValueError(f"bi_data=True splits the batch into forward and backward halves, but the batch has "
                                 f"{batch} sequences; pass an even batch, or set config.bi_data=False (fine-tuning).")
            directions.append(-forward)
        if config.clamp_len > 0:
            directions = [d.clamp(-config.clamp_len, config.clamp_len) for d in directions]
        pos = torch.stack([_sinusoid(d, inv_freq) for d in directions])  # (groups, p, d_model)
        if self.training and self.dropout.p > 0:
            pos = pos.repeat_interleave(batch // pos.shape[0], dim=0)  # (batch, p, d_model): dropped per row
        return self.dropout(pos)

    def _masks(self, pad: Tensor | None, perm_mask: Tensor | None, qlen: int, mlen: int,
               device: torch.device) -> tuple[Tensor | None, Tensor | None]:
        """(content-stream mask, query-stream mask), each (batch or 1, q, klen), True where
        a query may not see a key, or None. The query stream hides what ``perm_mask``,
        padding and (attn_type 'uni') the future hide; the content stream also sees its own token."""
        config = self.config
        klen = mlen + qlen
        hidden = None
        if config.attn_type == "uni":
            i = torch.arange(qlen, device=device)[:, None]
            j = torch.arange(klen, device=device)[None, :]
            hidden = j > mlen + i  # (q, klen): the future
            if config.same_length:
                hidden = hidden | (j < i)  # every query sees the same number of keys
            hidden = hidden[None]
        data = None
        if pad is not None:
            data = pad[:, None, :].expand(-1, qlen, -1)  # (batch, q, q): padding keys
        if perm_mask is not None:
            data = perm_mask if data is None else data | perm_mask
        if data is not None:
            if mlen:
                data = F.pad(data, (mlen, 0), value=False)  # (batch, q, klen): memory is always visible
            hidden = data if hidden is None else hidden | data
        if hidden is None:
            return None, None
        self_pos = torch.arange(qlen, device=device)[:, None] + mlen == torch.arange(klen, device=device)[None, :]  # (q, klen)
        return hidden & ~self_pos, hidden

    def _check_inputs(self, batch: int, qlen: int, attention_mask, input_mask, token_type_ids, perm_mask,
                      target_mapping, mems) -> int:
        """Raise for arguments whose shape does not fit the input; returns the memory length."""
        for name, value in (("attention_mask", attention_mask), ("input_mask", input_mask),
                            ("token_type_ids", token_type_ids)):
            if value is not None and tuple(value.shape) != (batch, qlen):
                raise _shape_error(name, value.shape, f"(batch, seq) = ({batch}, {qlen}), one entry per input token")
        if attention_mask is not None and input_mask is not None:
            raise ValueError("pass attention_mask (1 for tokens, 0 for padding) or its inverse input_mask "
                             "(1 for padding), not both")
        if perm_mask is not None and tuple(perm_mask.shape) != (batch, qlen, qlen):
            raise _shape_error("perm_mask", perm_mask.shape, f"(batch, seq, seq) = ({batch}, {qlen}, {qlen})",
                               "perm_mask[b, i, j] = 1 hides token j from token i.")
        if target_mapping is not None and (target_mapping.dim() != 3 or target_mapping.shape[0] != batch
                                           or target_mapping.shape[2] != qlen or target_mapping.shape[1] < 1):
            raise _shape_error("target_mapping", target_mapping.shape,
                               f"(batch, num_predict, seq) = ({batch}, num_predict, {qlen})",
                               "target_mapping[b, k, j] = 1 makes prediction k of sequence b the token at j.")
        if mems is None:
            return 0
        n_layer, d_model = self.config.n_layer, self.config.d_model
        if len(mems) != n_layer:
            raise ValueError(f"mems holds {len(mems)} tensors, but the model has {n_layer} layers: pass the mems "
                             "a previous call returned, one (mem_len, batch, d_model) tensor per layer.")
        mlen = mems[0].shape[0] if mems[0].dim() == 3 else -1
        for i, mem in enumerate(mems):
            if mem.dim() != 3 or tuple(mem.shape[1:]) != (batch, d_model) or mem.shape[0] != mlen:
                raise _shape_error(
                    f"mems[{i}]", mem.shape, f"(mem_len, batch, d_model) = ({max(mlen, 0)}, {batch}, {d_model})",
                    "mems are kept per sequence: feed them back with a batch of the same size, in the same order.")
        return mlen

    # ------------------------------------------------------------------ forward

    def _cache(self, h: Tensor, previous: Tensor | None) -> Tensor:
        """The memory for the next segment: (mem_len, batch, d_model), detached."""
        current = h.transpose(0, 1)  # (seq, batch, d_model)
        reuse_len = self.config.reuse_len
        if reuse_len:
            current = current[:reuse_len]
        if previous is not None:
            current = torch.cat((previous, current), dim=0)
        mem_len = self.config.mem_len
        if mem_len:
            current = current[-mem_len:]
        return current.detach().contiguous()

    def forward(
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        mems: Mems | None = None,
        perm_mask: Tensor | None = None,
        target_mapping: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        input_mask: Tensor | None = None,
        inputs_embeds: Tensor | None = None,
        use_mems: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        use_cache: bool | None = None,
    ) -> XLNetModelOutput | tuple:
        """``input_ids`` (batch, seq); ``attention_mask`` (batch, seq), 1 for tokens and 0
        for padding, or ``input_mask``, its inverse; ``token_type_ids`` (batch, seq),
        compared pairwise (same segment or not); ``perm_mask`` (batch, seq, seq);
        ``target_mapping`` (batch, num_predict, seq); ``mems``: what an earlier call
        returned. ``use_mems`` defaults to ``use_cache`` (the name other models use), else
        to config.use_mems_eval / use_mems_train."""
        output_attentions, output_hidden_states, return_dict = self._flags(
            output_attentions, output_hidden_states, return_dict)
        config = self.config
        if use_mems is None:
            use_mems = use_cache
        if use_mems is None:
            use_mems = config.use_mems_train if self.training else config.use_mems_eval
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("pass exactly one of input_ids (batch, seq) and inputs_embeds (batch, seq, d_model)")
        if input_ids is not None:
            check_input_ids(input_ids, config.vocab_size, None)
            batch, qlen = input_ids.shape
            h = self.word_embedding(input_ids)  # (batch, seq, d_model)
        else:
            batch, qlen = inputs_embeds.shape[:2]
            h = inputs_embeds
        device = h.device
        mlen = self._check_inputs(batch, qlen, attention_mask, input_mask, token_type_ids, perm_mask,
                                  target_mapping, mems)
        klen = mlen + qlen

        pad = None
        if attention_mask is not None:
            pad = (1.0 - attention_mask.float()) > 0  # (batch, seq): True for padding
        elif input_mask is not None:
            pad = input_mask > 0
        mask_h, mask_g = self._masks(pad, perm_mask > 0 if perm_mask is not None else None, qlen, mlen, device)
        seg = None
        if token_type_ids is not None:
            keys = F.pad(token_type_ids, (mlen, 0), value=0) if mlen else token_type_ids  # (batch, klen): memory is segment 0
            seg = token_type_ids[:, :, None] != keys[:, None, :]  # (batch, q, klen): True across segments

        h = self.dropout(h)
        g = None
        if target_mapping is not None:
            g = self.dropout(self.mask_emb.expand(batch, target_mapping.shape[1], -1))  # (batch, num_predict, d_model)
        pos = self._relative_encoding(qlen, klen, batch, device)

        new_mems: tuple[Tensor, ...] = ()
        hidden_states: list[Tensor] = []
        attentions: list = []
        for i, layer in enumerate(self.layer):
            mem = mems[i] if mems is not None else None
            if use_mems:
                new_mems += (self._cache(h, mem),)
            if output_hidden_states:
                hidden_states.extend((h, g) if g is not None else (h,))
            mem = mem.transpose(0, 1) if mem is not None else None  # (batch, mlen, d_model)
            if self.gradient_checkpointing and self.training:
                h, g, probs = checkpoint(layer, h, g, mask_h, mask_g, pos, seg, mem, target_mapping,
                                         output_attentions, use_reentrant=False)
            else:
                # the last layer's content stream is only returned through hidden_states / attentions
                need_h = i < len(self.layer) - 1 or g is None or output_hidden_states or output_attentions
                h, g, probs = layer(h, g, mask_h, mask_g, pos, seg, mem, target_mapping, output_attentions, need_h)
            if output_attentions:
                attentions.append(probs)
        if output_hidden_states:
            hidden_states.extend((h, g) if g is not None else (h,))
        output = self.dropout(g if g is not None else h)
        out = XLNetModelOutput(
            last_hidden_state=output,
            mems=new_mems if use_mems else None,
            hidden_states=tuple(hidden_states) if output_hidden_states else None,
            attentions=tuple(attentions) if output_attentions else None,
        )
        return out if return_dict else out.to_tuple()


# --------------------------------------------------------------------------- heads


class XLNetLMHeadModel(XLNetPreTrainedModel):
    """XLNet with its language-modelling head (``lm_loss``, tied to the word embedding
    unless config.tie_word_embeddings is False): scores at every position, or at the
    ``target_mapping`` positions (permutation LM)."""

    _tied_weights_keys = ["lm_loss.weight"]

    def __init__(self, config: XLNetConfig) -> None:
        super().__init__(config)
        self.transformer = XLNetModel(config)
        self.lm_loss = nn.Linear(config.d_model, config.vocab_size, bias=True)
        self.post_init()

    def get_output_embeddings(self) -> nn.Linear:
        return self.lm_loss

    def set_output_embeddings(self, value: nn.Linear) -> None:
        self.lm_loss = value

    def forward(
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        mems: Mems | None = None,
        perm_mask: Tensor | None = None,
        target_mapping: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        input_mask: Tensor | None = None,
        inputs_embeds: Tensor | None = None,
        labels: Tensor | None = None,
        use_mems: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        logits_to_keep: int | Tensor = 0,
        use_cache: bool | None = None,
    ) -> XLNetLMHeadModelOutput | tuple:
        """``labels`` (batch, seq or num_predict): the token to predict at each scored
        position, -100 where ignored. They are NOT shifted: XLNet predicts the tokens
        ``perm_mask`` hides (with target_mapping, the targets themselves).
        ``logits_to_keep``: score only the last n positions (0: all), or those a tensor lists.
        ``use_cache``: the name other models use for ``use_mems`` (used when it is None)."""
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        outputs = self.transformer(
            input_ids, attention_mask, mems, perm_mask, target_mapping, token_type_ids, input_mask, inputs_embeds,
            use_mems, output_attentions, output_hidden_states, return_dict=True, use_cache=use_cache,
        )
        hidden = outputs.last_hidden_state
        if isinstance(logits_to_keep, int):
            if logits_to_keep:
                hidden = hidden[:, -logits_to_keep:]  # (batch, kept, d_model)
        else:
            hidden = hidden[:, logits_to_keep]
        logits = self.lm_loss(hidden)
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1))
        out = XLNetLMHeadModelOutput(loss=loss, logits=logits, mems=outputs.mems,
                                     hidden_states=outputs.hidden_states, attentions=outputs.attentions)
        return out if return_dict else out.to_tuple()

    # ------------------------------------------------------------------ generation (plugformers.generation hooks)

    # Each step feeds the last two tokens again, as transformers' XLNet generation does:
    # their cached states were computed while the token after them was unknown.
    generation_offset = 2

    def generation_inputs(self, input_ids: Tensor, past: Mems | None, attention_mask: Tensor | None) -> dict:
        """The forward arguments that score the token after ``input_ids`` (rows, length):
        a dummy token appended, hidden from every position by ``perm_mask`` and predicted
        through ``target_mapping``; with ``past`` (the mems of the previous step) only the
        last tokens are fed. The attention mask is not passed, as in transformers' XLNet
        generation (padding stays visible), so that the tokens are the same."""
        if past is not None:
            input_ids = input_ids[:, -self.generation_offset:]
            past = tuple(mem[:-self.generation_offset] for mem in past)
        rows, length = input_ids.shape[0], input_ids.shape[1] + 1
        input_ids = F.pad(input_ids, (0, 1), value=0)  # (rows, length): the dummy target at the end
        perm_mask = torch.zeros(rows, length, length, device=input_ids.device)
        perm_mask[:, :, -1] = 1.0  # nobody sees the target
        target_mapping = torch.zeros(rows, 1, length, device=input_ids.device)
        target_mapping[:, 0, -1] = 1.0
        return {"input_ids": input_ids, "perm_mask": perm_mask, "target_mapping": target_mapping, "mems": past,
                "return_dict": True}

    @staticmethod
    def generation_cache(output: XLNetLMHeadModelOutput) -> Mems | None:
        """The cache generation keeps between steps: the mems."""
        return output.mems

    @staticmethod
    def reorder_generation_cache(past: Mems, index: Tensor) -> tuple[Tensor, ...]:
        """Keep the rows ``index`` of every layer's mems (beam search): dim 1 is the batch."""
        return tuple(mem.index_select(1, index) for mem in past)


class XLNetForSequenceClassification(XLNetPreTrainedModel):
    """XLNet with a classifier on the pooled sequence (``sequence_summary``, by default
    the last token through a tanh projection, then ``logits_proj``)."""

    def __init__(self, config: XLNetConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.transformer = XLNetModel(config)
        self.sequence_summary = SequenceSummary(config)
        self.logits_proj = nn.Linear(config.d_model, config.num_labels)
        self.post_init()

    def forward(
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        mems: Mems | None = None,
        perm_mask: Tensor | None = None,
        target_mapping: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        input_mask: Tensor | None = None,
        inputs_embeds: Tensor | None = None,
        labels: Tensor | None = None,
        use_mems: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> XLNetForSequenceClassificationOutput | tuple:
        """``labels``: class ids (batch,), floats (batch,) for regression (num_labels=1),
        or 0/1 floats (batch, num_labels) for multi-label; see config.problem_type."""
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        outputs = self.transformer(
            input_ids, attention_mask, mems, perm_mask, target_mapping, token_type_ids, input_mask, inputs_embeds,
            use_mems, output_attentions, output_hidden_states, return_dict=True,
        )
        logits = self.logits_proj(self.sequence_summary(outputs.last_hidden_state))  # (batch, num_labels)
        loss = sequence_classification_loss(logits, labels, self.config) if labels is not None else None
        out = XLNetForSequenceClassificationOutput(loss=loss, logits=logits, mems=outputs.mems,
                                                   hidden_states=outputs.hidden_states, attentions=outputs.attentions)
        return out if return_dict else out.to_tuple()


class XLNetForTokenClassification(XLNetPreTrainedModel):
    """XLNet with a linear classifier on every token (NER, tagging)."""

    def __init__(self, config: XLNetConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.transformer = XLNetModel(config)
        self.classifier = nn.Linear(config.d_model, config.num_labels)
        self.post_init()

    def forward(
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        mems: Mems | None = None,
        perm_mask: Tensor | None = None,
        target_mapping: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        input_mask: Tensor | None = None,
        inputs_embeds: Tensor | None = None,
        labels: Tensor | None = None,
        use_mems: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> XLNetForTokenClassificationOutput | tuple:
        """``labels`` (batch, seq): a class id per token, -100 where ignored."""
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        outputs = self.transformer(
            input_ids, attention_mask, mems, perm_mask, target_mapping, token_type_ids, input_mask, inputs_embeds,
            use_mems, output_attentions, output_hidden_states, return_dict=True,
        )
        logits = self.classifier(outputs.last_hidden_state)  # (batch, seq, num_labels)
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits.reshape(-1, self.num_labels), labels.reshape(-1))
        out = XLNetForTokenClassificationOutput(loss=loss, logits=logits, mems=outputs.mems,
                                                hidden_states=outputs.hidden_states, attentions=outputs.attentions)
        return out if return_dict else out.to_tuple()


class XLNetForMultipleChoice(XLNetPreTrainedModel):
    """XLNet scoring each choice: the pooled choice (``sequence_summary``) through
    ``logits_proj`` to one number."""

    def __init__(self, config: XLNetConfig) -> None:
        super().__init__(config)
        self.transformer = XLNetModel(config)
        self.sequence_summary = SequenceSummary(config)
        self.logits_proj = nn.Linear(config.d_model, 1)
        self.post_init()

    def forward(
        self,
        input_ids: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        input_mask: Tensor | None = None,
        attention_mask: Tensor | None = None,
        mems: Mems | None = None,
        perm_mask: Tensor | None = None,
        target_mapping: Tensor | None = None,
        inputs_embeds: Tensor | None = None,
        labels: Tensor | None = None,
        use_mems: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> XLNetForMultipleChoiceOutput | tuple:
        """``input_ids`` (batch, choices, seq), and the masks and type ids likewise;
        ``labels`` (batch,): the index of the right choice. ``mems``, ``perm_mask`` and
        ``target_mapping`` apply to the flattened (batch * choices) sequences."""
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        source = input_ids if input_ids is not None else inputs_embeds
        if source is None:
            raise ValueError("pass input_ids (batch, choices, seq) or inputs_embeds (batch, choices, seq, d_model)")
        choices = source.shape[1]

        def flat(x: Tensor | None, keep: int = 1) -> Tensor | None:
            return None if x is None else x.reshape(-1, *x.shape[x.dim() - keep:])  # (batch * choices, ...)

        outputs = self.transformer(
            flat(input_ids), flat(attention_mask), mems, perm_mask, target_mapping, flat(token_type_ids),
            flat(input_mask), flat(inputs_embeds, 2), use_mems, output_attentions, output_hidden_states,
            return_dict=True,
        )
        logits = self.logits_proj(self.sequence_summary(outputs.last_hidden_state))  # (batch * choices, 1)
        logits = logits.view(-1, choices)  # (batch, choices)
        loss = F.cross_entropy(logits, labels.reshape(-1)) if labels is not None else None
        out = XLNetForMultipleChoiceOutput(loss=loss, logits=logits, mems=outputs.mems,
                                           hidden_states=outputs.hidden_states, attentions=outputs.attentions)
        return out if return_dict else out.to_tuple()


class XLNetForQuestionAnsweringSimple(XLNetPreTrainedModel):
    """XLNet predicting the start and end of an answer span with one linear layer (``qa_outputs``)."""

    def __init__(self, config: XLNetConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.transformer = XLNetModel(config)
        self.qa_outputs = nn.Linear(config.d_model, config.num_labels)
        self.post_init()

    def forward(
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        mems: Mems | None = None,
        perm_mask: Tensor | None = None,
        target_mapping: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        input_mask: Tensor | None = None,
        inputs_embeds: Tensor | None = None,
        start_positions: Tensor | None = None,
        end_positions: Tensor | None = None,
        use_mems: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> XLNetForQuestionAnsweringSimpleOutput | tuple:
        """``start_positions`` / ``end_positions`` (batch,): token indices of the answer;
        positions outside the sequence are ignored in the loss."""
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        if self.num_labels != 2:
            raise ValueError(f"XLNetForQuestionAnsweringSimple scores a start and an end per token, so it needs "
                             f"config.num_labels=2, not {self.num_labels}; load it with num_labels=2.")
        outputs = self.transformer(
            input_ids, attention_mask, mems, perm_mask, target_mapping, token_type_ids, input_mask, inputs_embeds,
            use_mems, output_attentions, output_hidden_states, return_dict=True,
        )
        logits = self.qa_outputs(outputs.last_hidden_state)  # (batch, seq, 2)
        start_logits, end_logits, loss = span_logits_and_loss(logits, start_positions, end_positions)
        out = XLNetForQuestionAnsweringSimpleOutput(loss=loss, start_logits=start_logits, end_logits=end_logits,
                                                    mems=outputs.mems, hidden_states=outputs.hidden_states,
                                                    attentions=outputs.attentions)
        return out if return_dict else out.to_tuple()


class XLNetForQuestionAnswering(XLNetPreTrainedModel):
    """XLNet with the beam SQuAD head (``start_logits``, ``end_logits``, ``answer_class``):
    the top start / end candidates and an answerable score at inference, the combined
    span (+ answerability) loss in training."""

    def __init__(self, config: XLNetConfig) -> None:
        super().__init__(config)
        self.start_n_top = config.start_n_top
        self.end_n_top = config.end_n_top
        self.transformer = XLNetModel(config)
        self.start_logits = SquadStartLogits(config.d_model)
        self.end_logits = SquadEndLogits(config.d_model, config.layer_norm_eps)
        self.answer_class = SquadAnswerClass(config.d_model)
        self.post_init()

    def forward(
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        mems: Mems | None = None,
        perm_mask: Tensor | None = None,
        target_mapping: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        input_mask: Tensor | None = None,
        inputs_embeds: Tensor | None = None,
        start_positions: Tensor | None = None,
        end_positions: Tensor | None = None,
        is_impossible: Tensor | None = None,
        cls_index: Tensor | None = None,
        p_mask: Tensor | None = None,
        use_mems: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> XLNetForQuestionAnsweringOutput | tuple:
        """Training: ``start_positions``, ``end_positions`` (batch,), and for SQuAD 2.0
        ``cls_index`` (batch,) and ``is_impossible`` (batch,) 1.0 for unanswerable.
        ``p_mask`` (batch, seq): 1.0 for tokens that cannot be part of an answer."""
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        outputs = self.transformer(
            input_ids, attention_mask, mems, perm_mask, target_mapping, token_type_ids, input_mask, inputs_embeds,
            use_mems, output_attentions, output_hidden_states, return_dict=True,
        )
        head = squad_beam_outputs(
            self.start_logits, self.end_logits, self.answer_class, outputs.last_hidden_state,
            start_n_top=self.start_n_top, end_n_top=self.end_n_top, start_positions=start_positions,
            end_positions=end_positions, cls_index=cls_index, is_impossible=is_impossible, p_mask=p_mask,
        )
        out = XLNetForQuestionAnsweringOutput(**head, mems=outputs.mems, hidden_states=outputs.hidden_states,
                                              attentions=outputs.attentions)
        return out if return_dict else out.to_tuple()
