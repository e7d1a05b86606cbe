"""XLM (Lample & Conneau, 2019): the cross-lingual Transformer encoder and every head.

Module names are the checkpoint's key names (``transformer.embeddings.weight``,
``transformer.position_embeddings.weight``, ``transformer.lang_embeddings.weight``,
``transformer.attentions.0.q_lin.weight``, ``transformer.ffns.0.lin1.weight``,
``transformer.layer_norm1.0.weight``, ``pred_layer.proj.weight``,
``sequence_summary.summary.weight``, ``qa_outputs.start_logits.dense.weight``, ...), so a
transformers or pytorch-transformers state dict loads with a plain ``load_state_dict``.

Order: the positional helpers and checks, attention, feed-forward, the shared base
class, the base model, the LM prediction layer, then the heads.

XLM is post-LayerNorm. Padding is told by ``attention_mask``, or else by ``lengths`` (one
length per row, right padding), or else by the positions holding ``pad_token_id``; padded
positions are zeroed after the embeddings and after every layer. A causal model's
attention mask is the triangle only (padding is then left visible), as in every XLM
implementation. ``cache`` is XLM's incremental-decoding cache: a dict ``{"slen": n}``
that the model fills with each layer's keys and values; pass the whole sequence each
time, the model feeds only its last ``len - cache["slen"]`` tokens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from plugformers.layers import (
    SequenceSummary,
    SquadAnswerClass,
    SquadEndLogits,
    SquadStartLogits,
    attend,
    check_input_ids,
    get_activation,
    sequence_classification_loss,
    span_logits_and_loss,
    squad_beam_outputs,
)
from plugformers.modeling_outputs import (
    BaseModelOutput,
    MaskedLMOutput,
    ModelOutput,
    MultipleChoiceModelOutput,
    QuestionAnsweringModelOutput,
    SequenceClassifierOutput,
    TokenClassifierOutput,
)
from plugformers.modeling_utils import PreTrainedModel
from torch import nn
from torch.utils.checkpoint import checkpoint

from .configuration import XLMConfig

__all__ = [
    "XLMPreTrainedModel",
    "XLMModel",
    "XLMWithLMHeadModel",
    "XLMForSequenceClassification",
    "XLMForTokenClassification",
    "XLMForMultipleChoice",
    "XLMForQuestionAnsweringSimple",
    "XLMForQuestionAnswering",
    "XLMForQuestionAnsweringOutput",
]

Tensor = torch.Tensor
Tensors = tuple[torch.Tensor, ...]


@dataclass
class XLMForQuestionAnsweringOutput(ModelOutput):
    """The beam SQuAD head: the loss in training, the top starts / ends and the
    answerable score at inference (see ``plugformers.layers.squad_beam_outputs``)."""

    loss: Tensor | None = None
    start_top_log_probs: Tensor | None = None
    start_top_index: Tensor | None = None
    end_top_log_probs: Tensor | None = None
    end_top_index: Tensor | None = None
    cls_logits: Tensor | None = None
    hidden_states: Tensors | None = None
    attentions: Tensors | None = None


# --------------------------------------------------------------------------- positions and checks


def sinusoidal_positions(n_pos: int, dim: int) -> Tensor:
    """(n_pos, dim) fixed position embeddings: column 2i holds sin(pos / 10000^(2i/dim)),
    column 2i + 1 the cosine of the same angle (computed in float64, returned as float32)."""
    pos = torch.arange(n_pos, dtype=torch.float64)[:, None]  # (n_pos, 1)
    pair = torch.arange(dim, dtype=torch.float64) // 2  # (dim,): i for columns 2i and 2i + 1
    angles = pos / torch.pow(10000.0, 2 * pair / dim)  # (n_pos, dim)
    out = torch.empty(n_pos, dim, dtype=torch.float64)
    out[:, 0::2] = angles[:, 0::2].sin()
    out[:, 1::2] = angles[:, 1::2].cos()
    return out.float()


def _checking(x: Tensor) -> bool:
    """Whether value checks may read ``x`` (never on meta tensors or under torch.compile)."""
    return x.device.type != "meta" and not torch.compiler.is_compiling()


def _check_range(name: str, x: Tensor, limit: int, what: str, fix: str) -> None:
    if x.numel() and _checking(x):
        low, high = map(int, torch.aminmax(x))
        if low < 0 or high >= limit:
            bad = high if high >= limit else low
            raise ValueError(f"{name} holds {bad}, outside 0 .. {limit - 1} ({what}). {fix}")


# --------------------------------------------------------------------------- attention and feed-forward


class XLMMultiHeadAttention(nn.Module):
    """Multi-head self-attention with q_lin / k_lin / v_lin / out_lin, scores scaled by
    1 / sqrt(head_dim). With a cache, this layer's keys and values are appended to it."""

    def __init__(self, config: XLMConfig, layer_id: int) -> None:
        super().__init__()
        dim = config.emb_dim
        self.layer_id = layer_id
        self.n_heads = config.n_heads
        self.head_dim = dim // config.n_heads
        self.dropout = config.attention_dropout
        self.q_lin = nn.Linear(dim, dim)
        self.k_lin = nn.Linear(dim, dim)
        self.v_lin = nn.Linear(dim, dim)
        self.out_lin = nn.Linear(dim, dim)

    def _heads(self, x: Tensor) -> Tensor:
        b, length, _ = x.shape
        return x.view(b, length, self.n_heads, self.head_dim).transpose(1, 2)  # (batch, heads, len, head_dim)

    def forward(self, x: Tensor, mask: Tensor, cache: dict | None = None,
                output_attentions: bool = False) -> tuple[Tensor, Tensor | None]:
        """``x`` (batch, q, dim); ``mask`` additive, (batch, 1, 1, klen) or (batch, 1, q, klen).
        Returns (output (batch, q, dim), probabilities (batch, heads, q, klen) or None)."""
        b, q_len, dim = x.shape
        q = self._heads(self.q_lin(x))
        k = self._heads(self.k_lin(x))
        v = self._heads(self.v_lin(x))
        if cache is not None:
            if self.layer_id in cache:
                k_past, v_past = cache[self.layer_id]
                k = torch.cat((k_past, k), dim=2)  # (batch, heads, klen, head_dim)
                v = torch.cat((v_past, v), dim=2)
            cache[self.layer_id] = (k, v)
        context, probs = attend(q, k, v, mask, dropout=self.dropout if self.training else 0.0,
                                scale=1.0 / math.sqrt(self.head_dim), need_weights=output_attentions)
        context = context.transpose(1, 2).reshape(b, q_len, dim)  # (batch, q, heads * head_dim)
        return self.out_lin(context), probs


class XLMFeedForward(nn.Module):
    """lin1 (dim -> 4 dim), GELU or ReLU, lin2, dropout."""

    def __init__(self, config: XLMConfig) -> None:
        super().__init__()
        self.lin1 = nn.Linear(config.emb_dim, 4 * config.emb_dim)
        self.lin2 = nn.Linear(4 * config.emb_dim, config.emb_dim)
        self.act = get_activation("gelu" if config.gelu_activation else "relu")
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.lin2(self.act(self.lin1(x))))


# --------------------------------------------------------------------------- base class


class XLMPreTrainedModel(PreTrainedModel):
    """Shared by every XLM class: config class, init, gradient checkpointing."""

    config_class = XLMConfig
    base_model_prefix = "transformer"
    supports_gradient_checkpointing = True

    def _init_weights(self, module: nn.Module) -> None:
        config = self.config
        if isinstance(module, nn.Embedding):
            module.weight.data.normal_(mean=0.0, std=config.embed_init_std)
            if module.padding_idx is not None:
                module.weight.data[module.padding_idx].zero_()
        elif isinstance(module, nn.Linear):
            module.weight.data.normal_(mean=0.0, std=config.init_std)
            if module.bias is not None:
                module.bias.data.zero_()
        elif isinstance(module, nn.LayerNorm):
            module.weight.data.fill_(1.0)
            module.bias.data.zero_()
        if isinstance(module, XLMModel) and config.sinusoidal_embeddings:
            weight = module.position_embeddings.weight
            weight.data.copy_(sinusoidal_positions(*weight.shape))


# --------------------------------------------------------------------------- the base model


class XLMModel(XLMPreTrainedModel):
    """The bare XLM encoder: word + position (+ language) embeddings, LayerNorm, then
    n_layers post-LayerNorm layers (attention, residual, layer_norm1, feed-forward,
    residual, layer_norm2). Causal when ``config.causal``."""

    def __init__(self, config: XLMConfig) -> None:
        super().__init__(config)
        dim = config.emb_dim
        self.gradient_checkpointing = False
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, dim)
        if config.sinusoidal_embeddings:
            self.position_embeddings.weight.requires_grad_(False)  # fixed, as the paper's
        self.use_langs = config.n_langs > 1 and config.use_lang_emb
        if self.use_langs:
            self.lang_embeddings = nn.Embedding(config.n_langs, dim)
        self.embeddings = nn.Embedding(config.vocab_size, dim, padding_idx=config.pad_token_id)
        self.layer_norm_emb = nn.LayerNorm(dim, eps=config.layer_norm_eps)
        self.attentions = nn.ModuleList(XLMMultiHeadAttention(config, i) for i in range(config.n_layers))
        self.layer_norm1 = nn.ModuleList(nn.LayerNorm(dim, eps=config.layer_norm_eps) for _ in range(config.n_layers))
        self.ffns = nn.ModuleList(XLMFeedForward(config) for _ in range(config.n_layers))
        self.layer_norm2 = nn.ModuleList(nn.LayerNorm(dim, eps=config.layer_norm_eps) for _ in range(config.n_layers))
        self.dropout = nn.Dropout(config.dropout)
        self.register_buffer("position_ids", torch.arange(config.max_position_embeddings)[None], persistent=False)
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.embeddings = value

    def _layer(self, i: int, x: Tensor, mask: Tensor, keep: Tensor, cache: dict | None,
               output_attentions: bool) -> tuple[Tensor, Tensor | None]:
        attn, probs = self.attentions[i](x, mask, cache, output_attentions)
        x = self.layer_norm1[i](x + self.dropout(attn))
        x = self.layer_norm2[i](x + self.ffns[i](x))
        return x * keep, probs

    def _check_inputs(self, bs: int, slen: int, langs: Tensor | None, lengths: Tensor | None,
                      position_ids: Tensor | None, token_type_ids: Tensor | None, cache: dict | None) -> None:
        config = self.config
        for name, x in (("langs", langs), ("position_ids", position_ids), ("token_type_ids", token_type_ids)):
            if x is not None and tuple(x.shape) != (bs, slen):
                raise ValueError(f"{name} has shape {tuple(x.shape)}, but it needs (batch, seq) = {(bs, slen)}, "
                                 "one value per token.")
        if langs is not None:
            _check_range("langs", langs, config.n_langs, f"config.n_langs={config.n_langs}",
                         "Language ids come from config.lang2id.")
        if position_ids is not None:
            _check_range("position_ids", position_ids, config.max_position_embeddings,
                         f"config.max_position_embeddings={config.max_position_embeddings}", "Truncate the input.")
        if token_type_ids is not None:
            _check_range("token_type_ids", token_type_ids, config.vocab_size,
                         f"XLM embeds token types with the word embedding, config.vocab_size={config.vocab_size}",
                         "Pass language ids as langs, not token_type_ids.")
        if lengths is not None:
            if tuple(lengths.shape) != (bs,):
                raise ValueError(f"lengths has shape {tuple(lengths.shape)}, but it needs (batch,) = ({bs},): "
                                 "one length per sequence.")
            if lengths.numel() and _checking(lengths):
                low, high = map(int, torch.aminmax(lengths))
                if high > slen or low < 0:
                    raise ValueError(f"lengths holds {high if high > slen else low}, but the sequences have {slen} "
                                     f"positions; each length must lie in 0 .. {slen}.")
        if cache is not None:
            if not isinstance(cache, dict):
                raise TypeError(f"cache must be XLM's dict cache ({{'slen': 0}} to start), got {type(cache).__name__}")
            done = cache.get("slen", 0)
            past = cache.get(0)
            if past is not None and past[0].shape[0] != bs:
                raise ValueError(f"cache holds keys for batch size {past[0].shape[0]}, but the input has batch size "
                                 f"{bs}; start a new cache ({{'slen': 0}}) for a new batch.")
            if done >= slen and done:
                raise ValueError(f"cache['slen']={done} positions are already cached, but the input has only {slen}; "
                                 "pass the whole sequence, with at least one new token.")

    def forward(
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        langs: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        position_ids: Tensor | None = None,
        lengths: Tensor | None = None,
        cache: dict | None = None,
        inputs_embeds: Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> BaseModelOutput | tuple:
        """``input_ids`` (batch, seq) or ``inputs_embeds`` (batch, seq, emb_dim);
        ``attention_mask`` (batch, seq), 1 for tokens; ``langs`` (batch, seq) language ids;
        ``token_type_ids`` (batch, seq), embedded with the word embedding; ``lengths``
        (batch,), an older way to say the padding; ``cache``, see the module docstring."""
        output_attentions, output_hidden_states, return_dict = self._flags(
            output_attentions, output_hidden_states, return_dict)
        config = self.config
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("pass exactly one of input_ids (batch, seq) and inputs_embeds (batch, seq, emb_dim)")
        source = input_ids if input_ids is not None else inputs_embeds
        bs, slen = source.shape[:2]
        device = source.device
        check_input_ids(input_ids, config.vocab_size, config.max_position_embeddings)
        if inputs_embeds is not None and slen > config.max_position_embeddings:
            raise ValueError(f"inputs_embeds has sequence length {slen}, longer than the model's "
                             f"{config.max_position_embeddings} positions (config.max_position_embeddings).")
        self._check_inputs(bs, slen, langs, lengths, position_ids, token_type_ids, cache)

        # keep (batch, seq): positions whose hidden states count; mask: what attention sees
        if attention_mask is not None:
            keep = attention_mask
        else:
            if lengths is None:
                if input_ids is not None and config.pad_token_id is not None:
                    lengths = (input_ids != config.pad_token_id).sum(dim=1)
                else:
                    lengths = torch.full((bs,), slen, dtype=torch.long, device=device)
            keep = torch.arange(slen, device=device)[None] < lengths[:, None]
        if config.causal:
            pos = torch.arange(slen, device=device)
            allowed = (pos[None, :] <= pos[:, None])[None].expand(bs, slen, slen)  # (batch, q, k)
        else:
            allowed = keep
        if position_ids is None:
            position_ids = self.position_ids[:, :slen]

        done = cache.get("slen", 0) if cache is not None else 0
        if done:  # feed only the positions the cache does not hold yet
            new = slen - done
            if input_ids is not None:
                input_ids = input_ids[:, -new:]
            else:
                inputs_embeds = inputs_embeds[:, -new:]
            position_ids = position_ids[:, -new:]
            langs = langs[:, -new:] if langs is not None else None
            token_type_ids = token_type_ids[:, -new:] if token_type_ids is not None else None
            keep = keep[:, -new:]
            if config.causal:
                allowed = allowed[:, -new:]

        x = self.embeddings(input_ids) if inputs_embeds is None else inputs_embeds
        x = x + self.position_embeddings(position_ids).expand_as(x)
        if langs is not None and self.use_langs:
            x = x + self.lang_embeddings(langs)
        if token_type_ids is not None:
            x = x + self.embeddings(token_type_ids)
        keep = keep[..., None].to(x.dtype)  # (batch, q, 1)
        x = self.dropout(self.layer_norm_emb(x)) * keep
        # additive mask: (batch, 1, q, klen) causal, (batch, 1, 1, klen) bidirectional
        allowed = allowed[:, None] if allowed.dim() == 3 else allowed[:, None, None]
        mask = (1.0 - allowed.to(x.dtype)) * torch.finfo(x.dtype).min

        hidden_states = [] if output_hidden_states else None
        attentions = [] if output_attentions else None
        for i in range(config.n_layers):
            if hidden_states is not None:
                hidden_states.append(x)
            if self.gradient_checkpointing and self.training and cache is None:
                x, probs = checkpoint(self._layer, i, x, mask, keep, None, output_attentions, use_reentrant=False)
            else:
                x, probs = self._layer(i, x, mask, keep, cache, output_attentions)
            if attentions is not None:
                attentions.append(probs)
        if hidden_states is not None:
            hidden_states.append(x)
        if cache is not None:
            cache["slen"] = done + x.shape[1]
        out = BaseModelOutput(last_hidden_state=x,
                              hidden_states=tuple(hidden_states) if hidden_states is not None else None,
                              attentions=tuple(attentions) if attentions is not None else None)
        return out if return_dict else out.to_tuple()


# --------------------------------------------------------------------------- the LM head


class XLMPredLayer(nn.Module):
    """The output layer: a linear map to the vocabulary (``proj``), or with ``asm`` an
    adaptive log-softmax (``proj.head``, ``proj.tail``) that gives log-probabilities."""

    def __init__(self, config: XLMConfig) -> None:
        super().__init__()
        self.asm = config.asm
        self.vocab_size = config.vocab_size
        if config.asm:
            self.proj = nn.AdaptiveLogSoftmaxWithLoss(config.emb_dim, config.vocab_size,
                                                      cutoffs=list(config.asm_cutoffs),
                                                      div_value=config.asm_div_value, head_bias=True)
        else:
            self.proj = nn.Linear(config.emb_dim, config.vocab_size)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """``x`` (batch, seq, emb_dim); ``labels`` (batch, seq), -100 where ignored.
        Returns (scores (batch, seq, vocab): logits, or log-probabilities with asm; loss)."""
        if not self.asm:
            scores = self.proj(x)
            loss = None
            if labels is not None:
                loss = F.cross_entropy(scores.reshape(-1, self.vocab_size), labels.reshape(-1))
            return scores, loss
        flat = x.reshape(-1, x.shape[-1])  # (batch * seq, emb_dim): the adaptive softmax reads rows
        scores = self.proj.log_prob(flat).view(*x.shape[:-1], self.vocab_size)
        loss = None
        if labels is not None:
            target = labels.reshape(-1)
            counted = target != -100  # the adaptive softmax has no ignore index: leave those rows out
            loss = self.proj(flat[counted], target[counted]).loss
        return scores, loss


class XLMWithLMHeadModel(XLMPreTrainedModel):
    """XLM with its LM output layer (``pred_layer``), tied to the word embedding: masked
    LM for MLM / TLM checkpoints, next-token LM for causal (CLM) ones. ``labels`` are not
    shifted: ``labels[i]`` is the target of position i, as in transformers."""

    _tied_weights_keys = {"pred_layer.proj.weight": "transformer.embeddings.weight"}
    # an adaptive softmax has no proj.weight; transformers' tying gives it one, saved with its checkpoints
    _keys_to_ignore_on_load_unexpected = [r"^pred_layer\.proj\.weight$"]

    def __init__(self, config: XLMConfig) -> None:
        super().__init__(config)
        self.transformer = XLMModel(config)
        self.pred_layer = XLMPredLayer(config)
        self.post_init()

    def tied_weights(self) -> dict[str, str]:
        return {} if self.config.asm else super().tied_weights()

    def get_output_embeddings(self) -> nn.Module:
        return self.pred_layer.proj

    def set_output_embeddings(self, value: nn.Module) -> None:
        self.pred_layer.proj = value

    def forward(
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        langs: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        position_ids: Tensor | None = None,
        lengths: Tensor | None = None,
        cache: dict | None = None,
        inputs_embeds: Tensor | None = None,
        labels: Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        logits_to_keep: int | Tensor = 0,
        use_cache: bool | None = None,
    ) -> MaskedLMOutput | tuple:
        """``labels`` (batch, seq): the token each position should predict, -100 where ignored.
        ``logits_to_keep``: an int n > 0 keeps the logits of the last n positions only.
        ``use_cache`` is accepted for the generic callers and changes nothing: XLM's cache
        is the ``cache`` dict, used when one is passed."""
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        outputs = self.transformer(input_ids, attention_mask, langs, token_type_ids, position_ids, lengths, cache,
                                   inputs_embeds, output_attentions, output_hidden_states, return_dict=True)
        hidden = outputs.last_hidden_state
        if isinstance(logits_to_keep, int):
            if logits_to_keep:
                hidden = hidden[:, -logits_to_keep:]  # (batch, kept, emb_dim)
        else:
            hidden = hidden[:, logits_to_keep]
        logits, loss = self.pred_layer(hidden, labels)
        out = MaskedLMOutput(loss=loss, logits=logits, hidden_states=outputs.hidden_states,
                             attentions=outputs.attentions)
        return out if return_dict else out.to_tuple()

    # ------------------------------------------------------------------ generation (plugformers.generation hooks)

    def generation_inputs(self, input_ids: Tensor, past: dict | None, attention_mask: Tensor | None) -> dict:
        """The forward arguments that score the token after ``input_ids`` (rows, length):
        ``config.mask_token_id`` appended as the slot to predict, and ``langs`` holding
        ``config.lang_id`` everywhere, as transformers' XLM generation does, with no
        attention mask (padding is told by pad_token_id alone, positions count from 0):
        what transformers computes is what gives the same tokens.

        A bidirectional model runs the whole sequence each step: the appended slot changes
        what every position computes. A causal one passes its ``cache`` dict, so only the
        newest token and the mask slot are fed; ``generation_cache`` then drops the slot.
        That gives the whole-sequence logits: with no pad token in a row, every position is
        kept and sees only earlier ones; with k >= 1 pad tokens, the last k positions (the
        mask slot among them) are zeroed by the pad-count lengths, so the row's logits are
        the prediction layer's on zeros, whatever the cache holds."""
        config = self.config
        mask_id = config.mask_token_id if config.mask_token_id is not None else config.mask_index
        input_ids = F.pad(input_ids, (0, 1), value=mask_id)  # (rows, length + 1)
        langs = torch.full_like(input_ids, config.lang_id) if config.lang_id is not None else None
        if not config.causal:
            return {"input_ids": input_ids, "langs": langs, "return_dict": True}
        cache = past if past is not None else {"slen": 0}
        return {"input_ids": input_ids, "langs": langs, "cache": cache, "logits_to_keep": 1, "return_dict": True}

    @staticmethod
    def generation_cache(output: MaskedLMOutput, inputs: dict) -> dict | None:
        """The cache kept between steps: the ``cache`` dict the pass filled (causal models
        only), without the mask slot's keys and values, so the next step's slot and the
        newest token go where it was."""
        cache = inputs.get("cache")
        if cache is None:
            return None
        kept = {layer: (kv[0][:, :, :-1], kv[1][:, :, :-1])  # (rows, heads, slen - 1, head_dim)
                for layer, kv in cache.items() if layer != "slen"}
        kept["slen"] = cache["slen"] - 1
        return kept

    @staticmethod
    def reorder_generation_cache(past: dict | None, index: Tensor) -> dict | None:
        """Keep the rows ``index`` of every layer's keys and values (beam search)."""
        if past is None:
            return None
        kept = {layer: (kv[0].index_select(0, index), kv[1].index_select(0, index))
                for layer, kv in past.items() if layer != "slen"}
        kept["slen"] = past["slen"]
        return kept


class XLMForSequenceClassification(XLMPreTrainedModel):
    """XLM with the pooled sequence (``sequence_summary``: by default the first token,
    projected to num_labels) as the logits."""

    def __init__(self, config: XLMConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.transformer = XLMModel(config)
        self.sequence_summary = SequenceSummary(config)
        self.post_init()

    def forward(
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        langs: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        position_ids: Tensor | None = None,
        lengths: Tensor | None = None,
        cache: dict | None = None,
        inputs_embeds: Tensor | None = None,
        labels: Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> SequenceClassifierOutput | tuple:
        """``labels``: class ids (batch,), floats (batch,) for regression (num_labels=1),
        or 0/1 floats (batch, num_labels) for multi-label; see config.problem_type."""
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        outputs = self.transformer(input_ids, attention_mask, langs, token_type_ids, position_ids, lengths, cache,
                                   inputs_embeds, output_attentions, output_hidden_states, return_dict=True)
        logits = self.sequence_summary(outputs.last_hidden_state)  # (batch, num_labels)
        loss = sequence_classification_loss(logits, labels, self.config) if labels is not None else None
        out = SequenceClassifierOutput(loss=loss, logits=logits, hidden_states=outputs.hidden_states,
                                       attentions=outputs.attentions)
        return out if return_dict else out.to_tuple()


class XLMForTokenClassification(XLMPreTrainedModel):
    """XLM with dropout and a linear classifier on every token (NER, tagging)."""

    def __init__(self, config: XLMConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.transformer = XLMModel(config)
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(config.emb_dim, config.num_labels)
        self.post_init()

    def forward(
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        langs: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        position_ids: Tensor | None = None,
        lengths: Tensor | None = None,
        cache: dict | None = None,
        inputs_embeds: Tensor | None = None,
        labels: Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> TokenClassifierOutput | tuple:
        """``labels`` (batch, seq): a class id per token, -100 where ignored."""
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        outputs = self.transformer(input_ids, attention_mask, langs, token_type_ids, position_ids, lengths, cache,
                                   inputs_embeds, output_attentions, output_hidden_states, return_dict=True)
        logits = self.classifier(self.dropout(outputs.last_hidden_state))  # (batch, seq, num_labels)
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits.reshape(-1, self.num_labels), labels.reshape(-1))
        out = TokenClassifierOutput(loss=loss, logits=logits, hidden_states=outputs.hidden_states,
                                    attentions=outputs.attentions)
        return out if return_dict else out.to_tuple()


class XLMForMultipleChoice(XLMPreTrainedModel):
    """XLM scoring each choice: the pooled choice (``sequence_summary``, num_labels
    values) through ``logits_proj`` to one number."""

    def __init__(self, config: XLMConfig) -> None:
        super().__init__(config)
        self.transformer = XLMModel(config)
        self.sequence_summary = SequenceSummary(config)
        self.logits_proj = nn.Linear(config.num_labels, 1)
        self.post_init()

    def forward(
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        langs: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        position_ids: Tensor | None = None,
        lengths: Tensor | None = None,
        cache: dict | None = None,
        inputs_embeds: Tensor | None = None,
        labels: Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> MultipleChoiceModelOutput | tuple:
        """``input_ids`` (batch, choices, seq), and the masks, langs, type and position ids
        likewise; ``labels`` (batch,): the index of the right choice. ``lengths`` and
        ``cache`` do not apply to choices: use attention_mask."""
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        source = input_ids if input_ids is not None else inputs_embeds
        if source is None:
            raise ValueError("pass input_ids (batch, choices, seq) or inputs_embeds (batch, choices, seq, emb_dim)")
        if lengths is not None or cache is not None:
            raise ValueError("XLMForMultipleChoice takes no lengths or cache (they are per sequence, not per "
                             "choice); give the padding as attention_mask (batch, choices, seq).")
        choices = source.shape[1]

        def flat(x: Tensor | None, keep: int = 1) -> Tensor | None:
            return None if x is None else x.reshape(-1, *x.shape[x.dim() - keep:])  # (batch * choices, ...)

        outputs = self.transformer(flat(input_ids), flat(attention_mask), flat(langs), flat(token_type_ids),
                                   flat(position_ids), None, None, flat(inputs_embeds, 2), output_attentions,
                                   output_hidden_states, return_dict=True)
        logits = self.logits_proj(self.sequence_summary(outputs.last_hidden_state))  # (batch * choices, 1)
        logits = logits.view(-1, choices)  # (batch, choices)
        loss = F.cross_entropy(logits, labels.reshape(-1)) if labels is not None else None
        out = MultipleChoiceModelOutput(loss=loss, logits=logits, hidden_states=outputs.hidden_states,
                                        attentions=outputs.attentions)
        return out if return_dict else out.to_tuple()


class XLMForQuestionAnsweringSimple(XLMPreTrainedModel):
    """XLM predicting the start and end of an answer span with one linear layer (``qa_outputs``)."""

    def __init__(self, config: XLMConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.transformer = XLMModel(config)
        self.qa_outputs = nn.Linear(config.emb_dim, config.num_labels)
        self.post_init()

    def forward(
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        langs: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        position_ids: Tensor | None = None,
        lengths: Tensor | None = None,
        cache: dict | None = None,
        inputs_embeds: Tensor | None = None,
        start_positions: Tensor | None = None,
        end_positions: Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> QuestionAnsweringModelOutput | tuple:
        """``start_positions`` / ``end_positions`` (batch,): token indices of the answer;
        positions outside the sequence are ignored in the loss."""
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        if self.num_labels != 2:
            raise ValueError(f"XLMForQuestionAnsweringSimple scores a start and an end per token, so it needs "
                             f"config.num_labels=2, not {self.num_labels}; load it with num_labels=2.")
        outputs = self.transformer(input_ids, attention_mask, langs, token_type_ids, position_ids, lengths, cache,
                                   inputs_embeds, output_attentions, output_hidden_states, return_dict=True)
        logits = self.qa_outputs(outputs.last_hidden_state)  # (batch, seq, 2)
        start_logits, end_logits, loss = span_logits_and_loss(logits, start_positions, end_positions)
        out = QuestionAnsweringModelOutput(loss=loss, start_logits=start_logits, end_logits=end_logits,
                                           hidden_states=outputs.hidden_states, attentions=outputs.attentions)
        return out if return_dict else out.to_tuple()


class XLMSquadHead(nn.Module):
    """The beam SQuAD head's three poolers, under the checkpoints' ``qa_outputs`` prefix."""

    def __init__(self, config: XLMConfig) -> None:
        super().__init__()
        self.start_logits = SquadStartLogits(config.emb_dim)
        self.end_logits = SquadEndLogits(config.emb_dim, config.layer_norm_eps)
        self.answer_class = SquadAnswerClass(config.emb_dim)


class XLMForQuestionAnswering(XLMPreTrainedModel):
    """XLM with the beam SQuAD head (``qa_outputs.start_logits``, ``.end_logits``,
    ``.answer_class``): the top start / end candidates and an answerable score at
    inference, the combined span (+ answerability) loss in training."""

    def __init__(self, config: XLMConfig) -> None:
        super().__init__(config)
        self.transformer = XLMModel(config)
        self.qa_outputs = XLMSquadHead(config)
        self.post_init()

    def forward(
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        langs: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        position_ids: Tensor | None = None,
        lengths: Tensor | None = None,
        cache: dict | None = None,
        inputs_embeds: Tensor | None = None,
        start_positions: Tensor | None = None,
        end_positions: Tensor | None = None,
        is_impossible: Tensor | None = None,
        cls_index: Tensor | None = None,
        p_mask: Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> XLMForQuestionAnsweringOutput | tuple:
        """Training: ``start_positions``, ``end_positions`` (batch,), and for SQuAD 2.0
        ``cls_index`` (batch,) and ``is_impossible`` (batch,) 1.0 for unanswerable.
        ``p_mask`` (batch, seq): 1.0 for tokens that cannot be part of an answer."""
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        outputs = self.transformer(input_ids, attention_mask, langs, token_type_ids, position_ids, lengths, cache,
                                   inputs_embeds, output_attentions, output_hidden_states, return_dict=True)
        heads = self.qa_outputs
        result = squad_beam_outputs(
            heads.start_logits, heads.end_logits, heads.answer_class, outputs.last_hidden_state,
            start_n_top=self.config.start_n_top, end_n_top=self.config.end_n_top, start_positions=start_positions,
            end_positions=end_positions, cls_index=cls_index, is_impossible=is_impossible, p_mask=p_mask,
        )
        out = XLMForQuestionAnsweringOutput(**result, hidden_states=outputs.hidden_states,
                                            attentions=outputs.attentions)
        return out if return_dict else out.to_tuple()
