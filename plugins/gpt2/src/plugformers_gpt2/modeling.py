"""GPT-2 (Radford et al., 2019): the decoder and every task head, top to bottom.

Module names are the checkpoint's key names (``transformer.h.0.attn.c_attn.weight``,
``transformer.wte.weight``, ``lm_head.weight``, ``multiple_choice_head.summary.weight``,
...), so a transformers state dict loads with a plain ``load_state_dict``. GPT-2's
projections store their weight as (in_features, out_features), the transpose of
nn.Linear's; ``Conv1D`` keeps that layout, so no key or tensor is remapped.

Order: the vocabulary projection (Conv1D is plugformers.layers'), attention, feed-forward,
block, the shared base class, the attention mask, the base model, then the heads.

Incremental decoding keeps keys and values in a ``plugformers.cache.KVCache``;
``past_key_values`` may also be given as the legacy tuple of (key, value) per layer,
each (batch, heads, seq, head_dim). Positions default to past length + 0, 1, ... as in
transformers' GPT2Model, also under left padding: pass ``position_ids`` to shift them
(generation does).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from plugformers.cache import KVCache
from plugformers.layers import (
    Conv1D,
    SequenceSummary,
    all_set,
    attend,
    causal_lm_loss,
    check_input_ids,
    get_activation,
    init_normal_,
    last_token_states,
    sequence_classification_loss,
    span_logits_and_loss,
)
from plugformers.modeling_outputs import (
    BaseModelOutputWithPastAndCrossAttentions,
    CausalLMOutputWithCrossAttentions,
    ModelOutput,
    QuestionAnsweringModelOutput,
    SequenceClassifierOutputWithPast,
    TokenClassifierOutput,
)
from plugformers.modeling_utils import PreTrainedModel
from torch import nn
from torch.utils.checkpoint import checkpoint

from .configuration import GPT2Config

__all__ = [
    "Conv1D",
    "GPT2VocabProjection",
    "GPT2PreTrainedModel",
    "GPT2Model",
    "GPT2LMHeadModel",
    "GPT2DoubleHeadsModel",
    "GPT2DoubleHeadsModelOutput",
    "GPT2ForSequenceClassification",
    "GPT2ForTokenClassification",
    "GPT2ForQuestionAnswering",
]

PastKeyValues = KVCache | tuple[tuple[torch.Tensor, torch.Tensor], ...]


# --------------------------------------------------------------------------- projection


# Conv1D (plugformers.layers, shared with OpenAI GPT) keeps the checkpoints' (in, out) layout;
# GPT2PreTrainedModel._init_weights initialises it, scaling the residual projections.


class GPT2VocabProjection(nn.Linear):
    """The LM head: an nn.Linear (weight (vocab, hidden), as checkpoints store it) whose
    product, for a large weight, is taken weight-major: ``weight @ hidden.T``, transposed
    back into contiguous logits.

    On CPU (MKL, 2 threads), ``F.linear``'s ``hidden @ weight.T`` with a few rows and a
    weight that does not fit in cache goes through a kernel much slower than the
    weight-major matrix product: 50257 x 768 and 8 rows (a batch-8 decoding step), 24 ms
    against 16 ms; many rows, no faster. A single row (batch-1 decoding) would be a
    matrix-vector product, whose kernel reads this weight at about a third of the speed
    the matrix product does (12 ms against 5-8 ms): it gets a row of zeros appended, so
    that it too is a matrix product. Small weights (fewer than
    ``weight_major_min_elements``), where every call costs the same, and other devices
    than the CPU (not measured) keep ``F.linear``. A head swapped in with
    ``set_output_embeddings`` keeps its own forward."""

    weight_major_min_elements = 1 << 20

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        if self.weight.device.type != "cpu" or self.weight.numel() < self.weight_major_min_elements:
            return F.linear(hidden, self.weight, self.bias)
        rows = hidden.numel() // self.in_features
        flat = hidden.reshape(rows, self.in_features)  # (tokens, hidden)
        if rows == 1:
            flat = torch.cat((flat, flat.new_zeros(1, self.in_features)))  # (2, hidden): the second row is discarded
        logits = torch.mm(self.weight, flat.t()).t()[:rows]  # (tokens, vocab), a transposed view
        if self.bias is not None:
            logits = logits + self.bias
        return logits.contiguous().view(*hidden.shape[:-1], self.out_features)  # (..., vocab)


# --------------------------------------------------------------------------- attention


class GPT2Attention(nn.Module):
    """Causal multi-head self-attention: one projection gives queries, keys and values
    (``c_attn``), another mixes the heads' outputs (``c_proj``)."""

    def __init__(self, config: GPT2Config, layer_idx: int) -> None:
        super().__init__()
        self.embed_dim = config.n_embd
        self.num_heads = config.n_head
        self.head_dim = config.n_embd // config.n_head
        self.layer_idx = layer_idx
        self.scaling = self.head_dim ** -0.5 if config.scale_attn_weights else 1.0
        if config.scale_attn_by_inverse_layer_idx:
            self.scaling /= float(layer_idx + 1)
        self.reorder_and_upcast_attn = config.reorder_and_upcast_attn
        self.c_attn = Conv1D(self.embed_dim, 3 * self.embed_dim)
        self.c_proj = Conv1D(self.embed_dim, self.embed_dim, residual=True)
        self.attn_dropout = nn.Dropout(config.attn_pdrop)
        self.resid_dropout = nn.Dropout(config.resid_pdrop)

    def forward(
        self,
        hidden_states: torch.Tensor,
        mask: torch.Tensor | None,
        is_causal: bool,
        cache: KVCache | None = None,
        output_attentions: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``mask``: boolean, True where a query may see a key, broadcastable to
        (batch, heads, q, k); None with ``is_causal`` for a plain causal pass. Returns
        (output (batch, q, hidden), probabilities (batch, heads, q, k) or None)."""
        batch, q_len, _ = hidden_states.shape
        qkv = self.c_attn(hidden_states).view(batch, q_len, 3, self.num_heads, self.head_dim)
        query, key, value = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (batch, heads, q, head_dim)
        if cache is not None:
            key, value = cache.update(self.layer_idx, key, value)  # (batch, heads, past + q, head_dim)
        dropout = self.attn_dropout.p if self.training else 0.0
        if self.reorder_and_upcast_attn and (output_attentions or query.dtype != torch.float32):
            context, probs = self._upcast_attention(query, key, value, mask, is_causal, dropout)
        else:
            context, probs = attend(query, key, value, mask, dropout=dropout, scale=self.scaling,
                                    need_weights=output_attentions, is_causal=is_causal)
        context = context.transpose(1, 2).reshape(batch, q_len, self.embed_dim)  # (batch, q, hidden)
        output = self.c_proj(context)
        if self.training:  # dropout is the identity in eval mode: no call per decoding step
            output = self.resid_dropout(output)
        return output, probs

    def _upcast_attention(
        self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, mask: torch.Tensor | None,
        is_causal: bool, dropout: float,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``reorder_and_upcast_attn``: scores and softmax in float32 whatever the model's
        dtype (and outside autocast), probabilities back in the values' dtype."""
        with torch.autocast(query.device.type, enabled=False):
            scores = torch.matmul(query.float(), key.float().transpose(-1, -2)) * self.scaling  # (batch, heads, q, k)
        lowest = torch.finfo(scores.dtype).min
        if is_causal:
            q_len, k_len = scores.shape[-2:]
            scores = scores.masked_fill(~torch.ones(q_len, k_len, dtype=torch.bool, device=scores.device).tril(), lowest)
        if mask is not None:
            scores = scores.masked_fill(~mask, lowest)
        probs = scores.softmax(dim=-1).to(value.dtype)
        context = torch.matmul(F.dropout(probs, p=dropout, training=dropout > 0), value)  # (batch, heads, q, head_dim)
        return context, probs


# --------------------------------------------------------------------------- feed-forward and block


class GPT2MLP(nn.Module):
    """The feed-forward layer: widen (``c_fc``), activation, narrow (``c_proj``), dropout."""

    def __init__(self, inner_dim: int, config: GPT2Config) -> None:
        super().__init__()
        self.c_fc = Conv1D(config.n_embd, inner_dim)
        self.c_proj = Conv1D(inner_dim, config.n_embd, residual=True)
        self.act = get_activation(config.activation_function)
        self.dropout = nn.Dropout(config.resid_pdrop)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        hidden_states = self.c_proj(self.act(self.c_fc(hidden_states)))
        return self.dropout(hidden_states) if self.training else hidden_states


class GPT2Block(nn.Module):
    """A pre-LayerNorm Transformer block: x + attn(ln_1(x)), then x + mlp(ln_2(x))."""

    def __init__(self, config: GPT2Config, layer_idx: int) -> None:
        super().__init__()
        inner_dim = config.n_inner if config.n_inner is not None else 4 * config.n_embd
        self.ln_1 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.attn = GPT2Attention(config, layer_idx)
        self.ln_2 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.mlp = GPT2MLP(inner_dim, config)

    def forward(
        self,
        hidden_states: torch.Tensor,
        mask: torch.Tensor | None,
        is_causal: bool,
        cache: KVCache | None = None,
        output_attentions: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        attn_output, probs = self.attn(self.ln_1(hidden_states), mask, is_causal, cache, output_attentions)
        hidden_states = hidden_states + attn_output
        hidden_states = hidden_states + self.mlp(self.ln_2(hidden_states))
        return hidden_states, probs


# --------------------------------------------------------------------------- base class


class GPT2PreTrainedModel(PreTrainedModel):
    """Shared by every GPT-2 class: config class, init, checkpoint-key rules."""

    config_class = GPT2Config
    base_model_prefix = "transformer"
    supports_gradient_checkpointing = True
    supports_kv_cache = True  # past_key_values may be a KVCache, which forward fills (generation reads this)
    # Original checkpoints (gpt2, distilgpt2, pytorch-transformers) store each layer's causal
    # mask as buffers `h.N.attn.bias` and `h.N.attn.masked_bias`; the mask is built per call here.
    _keys_to_ignore_on_load_unexpected = [r"(^|\.)attn\.(masked_)?bias$", r"(^|\.)crossattention\.(masked_)?bias$"]

    def _init_weights(self, module: nn.Module) -> None:
        std = self.config.initializer_range
        if isinstance(module, Conv1D):
            if module.residual:
                # GPT-2 scales the init of the layers that add into the residual stream
                # (two per block) by 1 / sqrt(number of such layers).
                std = std / math.sqrt(2 * self.config.n_layer)
            module.weight.data.normal_(mean=0.0, std=std)
            module.bias.data.zero_()
        else:
            init_normal_(module, std)


# --------------------------------------------------------------------------- attention mask


def _self_attention_mask(
    attention_mask: torch.Tensor | None, batch: int, q_len: int, past_length: int, device: torch.device
) -> tuple[torch.Tensor | None, bool]:
    """(mask, is_causal) for the blocks: ``mask`` is boolean, True where a query may see a
    key, (batch, 1, q, past + q) or (q, past + q); None when nothing needs masking or when
    ``is_causal`` says the plain causal pattern applies (no past, no padding).

    ``attention_mask`` is (batch, past + q), 1 for tokens and 0 for padding. A query
    that sees no key at all (a left-padding position) gets a zero attention output, as
    PyTorch's fused attention gives for a fully masked row.
    """
    k_len = past_length + q_len
    if attention_mask is not None:
        if attention_mask.shape != (batch, k_len):
            raise ValueError(
                f"attention_mask has shape {tuple(attention_mask.shape)}, expected ({batch}, {k_len}): one 1/0 "
                f"entry per cached ({past_length}) and new ({q_len}) token of each sequence. When decoding with "
                "past_key_values, pass the mask of the whole sequence so far, not of the new tokens only."
            )
        keep = attention_mask if attention_mask.dtype == torch.bool else attention_mask != 0  # (batch, k)
        if q_len == 1:
            # A decoding step: the new token may see every kept key, so only padding is masked.
            # On the CPU, reading whether there is any costs less than the masked kernel; on an
            # accelerator that read would wait for the device, so the mask goes in as it is.
            if keep.device.type == "cpu" and all_set(keep):
                return None, False
            return keep[:, None, None, :], False  # (batch, 1, 1, k)
        if not all_set(keep):  # one check per multi-token pass (a prompt), never per decoding step
            causal = torch.ones(q_len, k_len, dtype=torch.bool, device=device).tril(past_length)  # (q, k)
            return causal & keep[:, None, None, :], False  # (batch, 1, q, k)
    if q_len == 1:
        return None, False
    if past_length == 0:
        return None, True
    return torch.ones(q_len, k_len, dtype=torch.bool, device=device).tril(past_length), False  # (q, k)


def _check_positions(position_ids: torch.Tensor, n_positions: int) -> None:
    if position_ids.numel() == 0 or position_ids.device.type == "meta" or torch.compiler.is_compiling():
        return  # compiled: reading the positions would break the graph
    low, high = (int(x) for x in torch.aminmax(position_ids))
    if low < 0 or high >= n_positions:
        raise ValueError(
            f"position_ids holds {high if high >= n_positions else low}, outside the model's positions "
            f"(0 .. {n_positions - 1}, config.n_positions). Truncate the input, or leave position_ids=None."
        )


# --------------------------------------------------------------------------- base model


class GPT2Model(GPT2PreTrainedModel):
    """The bare GPT-2 decoder: token and position embeddings, the blocks, a final
    LayerNorm. Inputs may carry extra leading dimensions (batch, choices, seq): they
    are folded into the batch and restored in the outputs."""

    def __init__(self, config: GPT2Config) -> None:
        super().__init__(config)
        if config.add_cross_attention:
            raise ValueError(
                "GPT2Config(add_cross_attention=True) asks for cross-attention layers (GPT-2 as the decoder "
                "of an encoder-decoder model), which plugformers-gpt2 does not implement. Use "
                "add_cross_attention=False."
            )
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.n_positions, config.n_embd)
        self.drop = nn.Dropout(config.embd_pdrop)
        self.h = nn.ModuleList([GPT2Block(config, layer_idx=i) for i in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.gradient_checkpointing = False
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.wte

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.wte = value

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        past_key_values: PastKeyValues | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> BaseModelOutputWithPastAndCrossAttentions | tuple:
        """``input_ids`` (batch, seq) or (batch, choices, seq): only the new tokens when
        ``past_key_values`` holds the earlier ones; ``attention_mask`` covers the cached
        and the new tokens. ``token_type_ids`` are embedded with the token embeddings and
        added. Returns the final hidden states, the cache (a KVCache) when ``use_cache``,
        and every layer's hidden states / attention probabilities when asked."""
        output_attentions, output_hidden_states, return_dict = self._flags(
            output_attentions, output_hidden_states, return_dict
        )
        use_cache = self.config.use_cache if use_cache is None else use_cache
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("GPT2Model: pass exactly one of input_ids and inputs_embeds.")
        if input_ids is not None:
            input_shape = input_ids.shape
            input_ids = input_ids.reshape(-1, input_shape[-1])  # (batch, seq): choices folded into the batch
        else:
            input_shape = inputs_embeds.shape[:-1]
            inputs_embeds = inputs_embeds.reshape(-1, *inputs_embeds.shape[-2:])  # (batch, seq, hidden)
        seq_len = input_shape[-1]
        checkpointing = self.gradient_checkpointing and self.training
        if checkpointing and use_cache:
            warnings.warn("use_cache=True is incompatible with gradient checkpointing; using use_cache=False.",
                          stacklevel=2)
            use_cache = False
        cache = KVCache.from_legacy(past_key_values) if (use_cache or past_key_values is not None) else None
        past_length = cache.get_seq_length() if cache is not None else 0
        n_positions = self.config.n_positions

        if inputs_embeds is None:
            check_input_ids(input_ids, self.config.vocab_size, n_positions if position_ids is None else None,
                            past_length)
            inputs_embeds = self.wte(input_ids)  # (batch, seq, hidden)
        elif position_ids is None and past_length + seq_len > n_positions:
            raise ValueError(
                f"inputs_embeds has sequence length {past_length + seq_len}, longer than the model's "
                f"{n_positions} positions (config.n_positions). Truncate the input."
            )
        if position_ids is None:
            # Positions past_length, past_length + 1, ...: a slice of the table, not a lookup.
            positions = self.wpe.weight[past_length : past_length + seq_len]  # (seq, hidden)
        else:
            position_ids = position_ids.reshape(-1, seq_len)  # (batch or 1, seq)
            _check_positions(position_ids, n_positions)
            positions = self.wpe(position_ids)  # (batch or 1, seq, hidden)
        hidden_states = inputs_embeds + positions
        if token_type_ids is not None:
            token_type_ids = token_type_ids.reshape(-1, seq_len)
            check_input_ids(token_type_ids, self.config.vocab_size, None, what="token_type_ids")
            hidden_states = hidden_states + self.wte(token_type_ids)
        if self.training:
            hidden_states = self.drop(hidden_states)

        batch = hidden_states.shape[0]
        if attention_mask is not None:
            attention_mask = attention_mask.reshape(batch, -1)  # (batch, past + seq)
        mask, is_causal = _self_attention_mask(attention_mask, batch, seq_len, past_length, hidden_states.device)

        output_shape = (*input_shape, hidden_states.shape[-1])
        all_hidden: tuple[torch.Tensor, ...] | None = () if output_hidden_states else None
        all_attentions: tuple[torch.Tensor, ...] | None = () if output_attentions else None
        for block in self.h:
            if output_hidden_states:
                all_hidden += (hidden_states.view(output_shape),)
            if checkpointing:
                hidden_states, probs = checkpoint(block, hidden_states, mask, is_causal, None, output_attentions,
                                                  use_reentrant=False)
            else:
                hidden_states, probs = block(hidden_states, mask, is_causal, cache, output_attentions)
            if output_attentions:
                all_attentions += (probs.view(*input_shape[:-1], *probs.shape[1:]),)  # (..., heads, q, k)
        hidden_states = self.ln_f(hidden_states).view(output_shape)
        if output_hidden_states:
            all_hidden += (hidden_states,)
        out = BaseModelOutputWithPastAndCrossAttentions(
            last_hidden_state=hidden_states,
            past_key_values=cache if use_cache else None,
            hidden_states=all_hidden,
            attentions=all_attentions,
        )
        return out if return_dict else out.to_tuple()


# --------------------------------------------------------------------------- heads


class _GPT2WithLMHead(GPT2PreTrainedModel):
    """What the heads with a vocabulary projection (``lm_head``) share."""

    # Checkpoints store the tied LM head once, as transformer.wte.weight.
    _tied_weights_keys = {"lm_head.weight": "transformer.wte.weight"}

    def get_output_embeddings(self) -> nn.Linear:
        return self.lm_head

    def set_output_embeddings(self, new_embeddings: nn.Linear) -> None:
        self.lm_head = new_embeddings


class GPT2LMHeadModel(_GPT2WithLMHead):
    """GPT-2 with its language-modelling head: next-token scores at every position."""

    def __init__(self, config: GPT2Config) -> None:
        super().__init__(config)
        self.transformer = GPT2Model(config)
        self.lm_head = GPT2VocabProjection(config.n_embd, config.vocab_size, bias=False)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        past_key_values: PastKeyValues | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        use_cache: bool | None = None,
        logits_to_keep: int | torch.Tensor = 0,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> CausalLMOutputWithCrossAttentions | tuple:
        """``labels`` (batch, seq): the input ids themselves, -100 where ignored; the model
        shifts them (position i predicts token i + 1). No cache is built for a pass with
        labels unless ``use_cache=True``. ``logits_to_keep``: score only the last n
        positions (0: all), or the positions a tensor lists."""
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        if labels is not None and use_cache is None:
            use_cache = False
        outputs = self.transformer(
            input_ids, past_key_values, attention_mask, token_type_ids, position_ids, inputs_embeds, use_cache,
            output_attentions=output_attentions, output_hidden_states=output_hidden_states, return_dict=True,
        )
        hidden_states = outputs.last_hidden_state
        if isinstance(logits_to_keep, int):
            if logits_to_keep:
                hidden_states = hidden_states[:, -logits_to_keep:]  # (batch, kept, hidden)
        else:
            hidden_states = hidden_states[:, logits_to_keep]
        logits = self.lm_head(hidden_states)
        loss = causal_lm_loss(logits, labels) if labels is not None else None
        out = CausalLMOutputWithCrossAttentions(
            loss=loss,
            logits=logits,
            past_key_values=outputs.past_key_values,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
        )
        return out if return_dict else out.to_tuple()


@dataclass
class GPT2DoubleHeadsModelOutput(ModelOutput):
    """Output of GPT2DoubleHeadsModel: the language-modelling loss (with ``labels``) and
    the multiple-choice loss (with ``mc_labels``), LM scores (batch, choices, seq,
    vocab), one score per choice (batch, choices), the cache and the optional extras."""

    loss: torch.Tensor | None = None
    mc_loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    mc_logits: torch.Tensor | None = None
    past_key_values: KVCache | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None
    attentions: tuple[torch.Tensor, ...] | None = None


class GPT2DoubleHeadsModel(_GPT2WithLMHead):
    """GPT-2 with two heads: language modelling, and a multiple-choice score read at one
    token of each choice (``mc_token_ids``, e.g. an appended classification token).

    The multiple-choice head scores one number per choice, so ``config.num_labels`` is
    set to 1, as in transformers.

    With ``summary_type`` ``"mean"`` (or ``"first"`` / ``"last"``) the summary works on
    dimension 1 of (batch, choices, seq, hidden), the choices, exactly as transformers
    does: ``mc_logits`` are then (batch, seq), one score per position, and ``mc_labels``
    index positions. A checkpoint fine-tuned in transformers gives the same numbers
    here. ``"cls_index"``, GPT-2's default, reads ``mc_token_ids`` and gives (batch, choices).
    """

    def __init__(self, config: GPT2Config) -> None:
        super().__init__(config)
        config.num_labels = 1
        self.transformer = GPT2Model(config)
        self.lm_head = GPT2VocabProjection(config.n_embd, config.vocab_size, bias=False)
        self.multiple_choice_head = SequenceSummary(config)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        past_key_values: PastKeyValues | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        mc_token_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        mc_labels: torch.Tensor | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> GPT2DoubleHeadsModelOutput | tuple:
        """``input_ids`` (batch, choices, seq); ``mc_token_ids`` (batch, choices): the
        position whose hidden state scores each choice (the last one when None);
        ``labels`` (batch, choices, seq): LM targets, shifted inside, -100 ignored;
        ``mc_labels`` (batch,): the index of the right choice. No cache is built for a
        pass with labels unless ``use_cache=True``."""
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        if (labels is not None or mc_labels is not None) and use_cache is None:
            use_cache = False
        outputs = self.transformer(
            input_ids, past_key_values, attention_mask, token_type_ids, position_ids, inputs_embeds, use_cache,
            output_attentions=output_attentions, output_hidden_states=output_hidden_states, return_dict=True,
        )
        hidden_states = outputs.last_hidden_state  # (batch, choices, seq, hidden)
        lm_logits = self.lm_head(hidden_states)
        # (batch, choices); (batch, seq) for summary types "mean" / "first" / "last", which
        # work on the choices axis as in transformers (see the class docstring)
        mc_logits = self.multiple_choice_head(hidden_states, mc_token_ids).squeeze(-1)
        mc_loss = None
        if mc_labels is not None:
            mc_loss = F.cross_entropy(mc_logits.view(-1, mc_logits.shape[-1]), mc_labels.view(-1))
        loss = causal_lm_loss(lm_logits, labels) if labels is not None else None
        out = GPT2DoubleHeadsModelOutput(
            loss=loss,
            mc_loss=mc_loss,
            logits=lm_logits,
            mc_logits=mc_logits,
            past_key_values=outputs.past_key_values,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
        )
        return out if return_dict else out.to_tuple()


class GPT2ForSequenceClassification(GPT2PreTrainedModel):
    """GPT-2 with a linear classifier (``score``) on the last token of each sequence.

    "Last" means the rightmost token that is not ``config.pad_token_id`` (left and right
    padding both work). Without a pad token only one sequence at a time can be
    classified, since padding cannot be told from text.
    """

    def __init__(self, config: GPT2Config) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.transformer = GPT2Model(config)
        self.score = nn.Linear(config.n_embd, config.num_labels, bias=False)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        past_key_values: PastKeyValues | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> SequenceClassifierOutputWithPast | tuple:
        """``labels``: class ids (batch,), floats (batch,) for regression (num_labels=1),
        or 0/1 floats (batch, num_labels) for multi-label; see config.problem_type. No
        cache is built for a pass with labels unless ``use_cache=True``."""
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        if labels is not None and use_cache is None:
            use_cache = False
        outputs = self.transformer(
            input_ids, past_key_values, attention_mask, token_type_ids, position_ids, inputs_embeds, use_cache,
            output_attentions=output_attentions, output_hidden_states=output_hidden_states, return_dict=True,
        )
        pooled = last_token_states(outputs.last_hidden_state, input_ids, self.config.pad_token_id, type(self).__name__)
        logits = self.score(pooled)
        loss = sequence_classification_loss(logits, labels, self.config) if labels is not None else None
        out = SequenceClassifierOutputWithPast(
            loss=loss,
            logits=logits,
            past_key_values=outputs.past_key_values,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
        )
        return out if return_dict else out.to_tuple()


class GPT2ForTokenClassification(GPT2PreTrainedModel):
    """GPT-2 with a linear classifier on every token (NER, tagging)."""

    def __init__(self, config: GPT2Config) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.transformer = GPT2Model(config)
        # GPT2Config has no classifier dropout of its own; a checkpoint may carry one as an extra key.
        p = getattr(config, "classifier_dropout", None)
        if p is None:
            p = getattr(config, "hidden_dropout", None)
        self.dropout = nn.Dropout(0.1 if p is None else p)
        self.classifier = nn.Linear(config.n_embd, config.num_labels)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        past_key_values: PastKeyValues | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> TokenClassifierOutput | tuple:
        """``labels`` (batch, seq): a class id per token, -100 where ignored. The output
        holds no cache: pass ``past_key_values`` to classify tokens that follow cached ones."""
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        outputs = self.transformer(
            input_ids, past_key_values, attention_mask, token_type_ids, position_ids, inputs_embeds,
            bool(use_cache), output_attentions=output_attentions, output_hidden_states=output_hidden_states,
            return_dict=True,
        )
        logits = self.classifier(self.dropout(outputs.last_hidden_state))
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits.view(-1, self.num_labels), labels.view(-1))
        out = TokenClassifierOutput(loss=loss, logits=logits, hidden_states=outputs.hidden_states,
                                    attentions=outputs.attentions)
        return out if return_dict else out.to_tuple()


class GPT2ForQuestionAnswering(GPT2PreTrainedModel):
    """GPT-2 predicting the start and end of an answer span (SQuAD)."""

    def __init__(self, config: GPT2Config) -> None:
        super().__init__(config)
        self.transformer = GPT2Model(config)
        self.qa_outputs = nn.Linear(config.n_embd, 2)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        start_positions: torch.Tensor | None = None,
        end_positions: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> QuestionAnsweringModelOutput | tuple:
        """``start_positions`` / ``end_positions`` (batch,): token indices of the answer;
        positions outside the sequence are ignored in the loss."""
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        outputs = self.transformer(
            input_ids, None, attention_mask, token_type_ids, position_ids, inputs_embeds, False,
            output_attentions=output_attentions, output_hidden_states=output_hidden_states, return_dict=True,
        )
        logits = self.qa_outputs(outputs.last_hidden_state)  # (batch, seq, 2)
        start_logits, end_logits, loss = span_logits_and_loss(logits, start_positions, end_positions)
        out = QuestionAnsweringModelOutput(loss=loss, start_logits=start_logits, end_logits=end_logits,
                                           hidden_states=outputs.hidden_states, attentions=outputs.attentions)
        return out if return_dict else out.to_tuple()
