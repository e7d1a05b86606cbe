"""OpenAI GPT (Radford et al., 2018): the decoder and its heads, top to bottom.

Module names are the checkpoint's key names (``transformer.tokens_embed.weight``,
``transformer.h.0.attn.c_attn.weight``, ``lm_head.weight``,
``multiple_choice_head.summary.weight``, ...), so a transformers state dict loads with a
plain ``load_state_dict``. The projections are ``plugformers.layers.Conv1D``, which stores
its weight (in_features, out_features) as these checkpoints do: no key or tensor is
remapped.

Unlike GPT-2, a block normalises after each residual sum (post-LayerNorm), there is no
final LayerNorm, and no key/value cache: each pass scores the whole sequence.

Attention follows the original code's masking to the number: a score a query may not
see (a later position) is *replaced* by -10000, then padding adds the dtype's minimum.
A left-padding query therefore spreads its attention over the later real tokens, as
transformers' OpenAI GPT does; without padding the fused causal kernel runs.

Order: attention, feed-forward, block, the shared base class, the base model, the heads.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from plugformers.layers import (
    Conv1D,
    SequenceSummary,
    all_set,
    causal_lm_loss,
    check_input_ids,
    get_activation,
    init_normal_,
    last_token_states,
    sequence_classification_loss,
)
from plugformers.modeling_outputs import BaseModelOutput, CausalLMOutput, ModelOutput, SequenceClassifierOutput
from plugformers.modeling_utils import PreTrainedModel
from torch import nn

from .configuration import ACTIVATIONS, OpenAIGPTConfig

__all__ = [
    "OpenAIGPTPreTrainedModel",
    "OpenAIGPTModel",
    "OpenAIGPTLMHeadModel",
    "OpenAIGPTDoubleHeadsModel",
    "OpenAIGPTDoubleHeadsModelOutput",
    "OpenAIGPTForSequenceClassification",
]

CAUSAL_FILL = -1e4  # the score of a masked (later) key, as the original code wrote it


# --------------------------------------------------------------------------- attention


class OpenAIGPTAttention(nn.Module):
    """Causal multi-head self-attention: ``c_attn`` gives queries, keys and values,
    ``c_proj`` mixes the heads' outputs."""

    def __init__(self, config: OpenAIGPTConfig) -> None:
        super().__init__()
        self.embed_dim = config.n_embd
        self.num_heads = config.n_head
        self.head_dim = config.n_embd // config.n_head
        self.c_attn = Conv1D(self.embed_dim, 3 * self.embed_dim)
        self.c_proj = Conv1D(self.embed_dim, self.embed_dim)
        self.attn_dropout = nn.Dropout(config.attn_pdrop)
        self.resid_dropout = nn.Dropout(config.resid_pdrop)

    def forward(
        self, hidden_states: torch.Tensor, padding: torch.Tensor | None, output_attentions: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``padding``: additive (batch, 1, 1, seq), 0 for tokens and the dtype's minimum
        for padding, or None. Returns (output (batch, seq, hidden), probabilities
        (batch, heads, seq, seq) or None)."""
        batch, seq, _ = hidden_states.shape
        qkv = self.c_attn(hidden_states).view(batch, seq, 3, self.num_heads, self.head_dim)
        query, key, value = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (batch, heads, seq, head_dim)
        dropout = self.attn_dropout.p if self.training else 0.0
        probs = None
        if padding is None and not output_attentions:
            # every query sees at least itself: the fused kernel's causal softmax is the same
            context = F.scaled_dot_product_attention(query, key, value, dropout_p=dropout, is_causal=True)
        else:
            scores = torch.matmul(query, key.transpose(-1, -2)) * self.head_dim ** -0.5  # (batch, heads, seq, seq)
            later = torch.ones(seq, seq, dtype=torch.bool, device=scores.device).triu(1)  # (seq, seq)
            scores = scores.masked_fill(later, CAUSAL_FILL)
            if padding is not None:
                scores = scores + padding
            probs = scores.softmax(dim=-1)
            context = torch.matmul(F.dropout(probs, p=dropout, training=dropout > 0), value)  # (batch, heads, seq, head_dim)
        context = context.transpose(1, 2).reshape(batch, seq, self.embed_dim)  # (batch, seq, hidden)
        output = self.c_proj(context)
        if self.training:
            output = self.resid_dropout(output)
        return output, probs if output_attentions else None


# --------------------------------------------------------------------------- feed-forward and block


class OpenAIGPTMLP(nn.Module):
    """The feed-forward layer: widen to 4 * n_embd (``c_fc``), activation, narrow (``c_proj``)."""

    def __init__(self, config: OpenAIGPTConfig) -> None:
        super().__init__()
        self.c_fc = Conv1D(config.n_embd, 4 * config.n_embd)
        self.c_proj = Conv1D(4 * config.n_embd, config.n_embd)
        self.act = get_activation(ACTIVATIONS[config.afn])
        self.dropout = nn.Dropout(config.resid_pdrop)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        hidden_states = self.c_proj(self.act(self.c_fc(hidden_states)))
        return self.dropout(hidden_states) if self.training else hidden_states


class OpenAIGPTBlock(nn.Module):
    """A post-LayerNorm block: n = ln_1(x + attn(x)), then ln_2(n + mlp(n))."""

    def __init__(self, config: OpenAIGPTConfig) -> None:
        super().__init__()
        self.attn = OpenAIGPTAttention(config)
        self.ln_1 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.mlp = OpenAIGPTMLP(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)

    def forward(
        self, hidden_states: torch.Tensor, padding: torch.Tensor | None, output_attentions: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        attn_output, probs = self.attn(hidden_states, padding, output_attentions)
        hidden_states = self.ln_1(hidden_states + attn_output)
        hidden_states = self.ln_2(hidden_states + self.mlp(hidden_states))
        return hidden_states, probs


# --------------------------------------------------------------------------- base class


class OpenAIGPTPreTrainedModel(PreTrainedModel):
    """Shared by every OpenAI GPT class: config class, init, checkpoint-key rules."""

    config_class = OpenAIGPTConfig
    base_model_prefix = "transformer"
    supports_kv_cache = False  # no past_key_values: generation scores the whole sequence each step
    # pytorch-transformers 1.x stored each layer's causal mask as the buffer `h.N.attn.bias`,
    # and some transformers 4 checkpoints the position ids; both are rebuilt here.
    _keys_to_ignore_on_load_unexpected = [r"(^|\.)attn\.bias$", r"(^|\.)position_ids$"]

    def _init_weights(self, module: nn.Module) -> None:
        std = self.config.initializer_range
        if isinstance(module, Conv1D):
            module.weight.data.normal_(mean=0.0, std=std)
            module.bias.data.zero_()
        else:
            init_normal_(module, std)


def _padding_bias(attention_mask: torch.Tensor | None, batch: int, seq: int, dtype: torch.dtype) -> torch.Tensor | None:
    """The additive padding mask (batch, 1, 1, seq) of a 1/0 ``attention_mask`` ((batch,
    seq), or (batch, choices, seq) folded like the ids); None without padding."""
    if attention_mask is None:
        return None
    if attention_mask.numel() != batch * seq:
        raise ValueError(
            f"attention_mask has shape {tuple(attention_mask.shape)}, expected one 1/0 entry per token of "
            f"input_ids ({batch} sequences of {seq})."
        )
    keep = attention_mask.reshape(batch, seq)
    if keep.device.type == "cpu" and all_set(keep != 0):
        return None
    keep = keep.to(dtype)[:, None, None, :]  # (batch, 1, 1, seq)
    return (1.0 - keep) * torch.finfo(dtype).min


# --------------------------------------------------------------------------- base model


class OpenAIGPTModel(OpenAIGPTPreTrainedModel):
    """The bare OpenAI GPT decoder: token and position embeddings, then the blocks.
    Inputs may carry extra leading dimensions (batch, choices, seq): they are folded into
    the batch and restored in the outputs."""

    def __init__(self, config: OpenAIGPTConfig) -> None:
        super().__init__(config)
        self.tokens_embed = nn.Embedding(config.vocab_size, config.n_embd)
        self.positions_embed = nn.Embedding(config.n_positions, config.n_embd)
        self.drop = nn.Dropout(config.embd_pdrop)
        self.h = nn.ModuleList([OpenAIGPTBlock(config) for _ in range(config.n_layer)])
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.tokens_embed

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.tokens_embed = value

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> BaseModelOutput | tuple:
        """``input_ids`` (batch, seq) or (batch, choices, seq); ``attention_mask`` the same
        shape, 1 for tokens and 0 for padding; ``token_type_ids`` are embedded with the
        token embeddings and added; ``position_ids`` default to 0, 1, ... Returns the
        last hidden states and, when asked, every layer's hidden states / attention
        probabilities."""
        output_attentions, output_hidden_states, return_dict = self._flags(
            output_attentions, output_hidden_states, return_dict
        )
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("OpenAIGPTModel: pass exactly one of input_ids and inputs_embeds.")
        n_positions = self.config.n_positions
        if input_ids is not None:
            input_shape = input_ids.shape
            input_ids = input_ids.reshape(-1, input_shape[-1])  # (batch, seq): choices folded into the batch
            check_input_ids(input_ids, self.config.vocab_size, n_positions if position_ids is None else None)
            inputs_embeds = self.tokens_embed(input_ids)  # (batch, seq, hidden)
        else:
            input_shape = inputs_embeds.shape[:-1]
            inputs_embeds = inputs_embeds.reshape(-1, *inputs_embeds.shape[-2:])  # (batch, seq, hidden)
            if position_ids is None and input_shape[-1] > n_positions:
                raise ValueError(
                    f"inputs_embeds has sequence length {input_shape[-1]}, longer than the model's {n_positions} "
                    "positions (config.n_positions). Truncate the input."
                )
        seq = input_shape[-1]
        if position_ids is None:
            positions = self.positions_embed.weight[:seq]  # (seq, hidden): positions 0 .. seq - 1
        else:
            position_ids = position_ids.reshape(-1, seq)  # (batch or 1, seq)
            if position_ids.numel() and not torch.compiler.is_compiling():
                low, high = (int(x) for x in torch.aminmax(position_ids))
                if low < 0 or high >= n_positions:
                    raise ValueError(f"position_ids holds {low if low < 0 else high}, outside the model's positions "
                                     f"(0 .. {n_positions - 1}, config.n_positions).")
            positions = self.positions_embed(position_ids)  # (batch or 1, seq, hidden)
        hidden_states = inputs_embeds + positions
        if token_type_ids is not None:
            token_type_ids = token_type_ids.reshape(-1, seq)
            check_input_ids(token_type_ids, self.config.vocab_size, None, what="token_type_ids")
            hidden_states = hidden_states + self.tokens_embed(token_type_ids)
        if self.training:
            hidden_states = self.drop(hidden_states)
        padding = _padding_bias(attention_mask, hidden_states.shape[0], seq, hidden_states.dtype)

        output_shape = (*input_shape, hidden_states.shape[-1])
        all_hidden: tuple[torch.Tensor, ...] | None = () if output_hidden_states else None
        all_attentions: tuple[torch.Tensor, ...] | None = () if output_attentions else None
        for block in self.h:
            if output_hidden_states:
                all_hidden += (hidden_states.view(output_shape),)
            hidden_states, probs = block(hidden_states, padding, output_attentions)
            if output_attentions:
                all_attentions += (probs.view(*input_shape[:-1], *probs.shape[1:]),)  # (..., heads, seq, seq)
        hidden_states = hidden_states.view(output_shape)
        if output_hidden_states:
            all_hidden += (hidden_states,)
        out = BaseModelOutput(last_hidden_state=hidden_states, hidden_states=all_hidden, attentions=all_attentions)
        return out if return_dict else out.to_tuple()


# --------------------------------------------------------------------------- heads


class OpenAIGPTLMHeadModel(OpenAIGPTPreTrainedModel):
    """OpenAI GPT with its language-modelling head: next-token scores at every position."""

    # Checkpoints store the tied LM head once, as transformer.tokens_embed.weight.
    _tied_weights_keys = {"lm_head.weight": "transformer.tokens_embed.weight"}

    def __init__(self, config: OpenAIGPTConfig) -> None:
        super().__init__(config)
        self.transformer = OpenAIGPTModel(config)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.post_init()

    def get_output_embeddings(self) -> nn.Linear:
        return self.lm_head

    def set_output_embeddings(self, new_embeddings: nn.Linear) -> None:
        self.lm_head = new_embeddings

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        logits_to_keep: int | torch.Tensor = 0,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> CausalLMOutput | tuple:
        """``labels`` (batch, seq): the input ids themselves, -100 where ignored; the model
        shifts them (position i predicts token i + 1). ``logits_to_keep``: score only the
        last n positions (0: all), or the positions a tensor lists. ``use_cache`` is
        accepted for the callers of every causal LM and changes nothing: there is no cache,
        so generate() scores the whole sequence each step, with positions counted over the
        real tokens (left padding does not shift them), as transformers' generate does."""
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        outputs = self.transformer(
            input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds,
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
        out = CausalLMOutput(loss=loss, logits=logits, hidden_states=outputs.hidden_states,
                             attentions=outputs.attentions)
        return out if return_dict else out.to_tuple()


@dataclass
class OpenAIGPTDoubleHeadsModelOutput(ModelOutput):
    """Output of OpenAIGPTDoubleHeadsModel: the language-modelling loss (with ``labels``)
    and the multiple-choice loss (with ``mc_labels``), LM scores (batch, choices, seq,
    vocab), one score per choice (batch, choices), and the optional extras."""

    loss: torch.Tensor | None = None
    mc_loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    mc_logits: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None
    attentions: tuple[torch.Tensor, ...] | None = None


class OpenAIGPTDoubleHeadsModel(OpenAIGPTPreTrainedModel):
    """OpenAI GPT with two heads: language modelling, and a multiple-choice score read at
    one token of each choice (``mc_token_ids``, e.g. an appended classification token).

    The multiple-choice head scores one number per choice, so ``config.num_labels`` is
    set to 1, as in transformers. Its summary is the core's SequenceSummary: with
    ``summary_type`` "mean", "first" or "last" it pools dimension 1 of (batch, choices,
    seq, hidden), the choices, exactly as transformers does (``mc_logits`` (batch, seq));
    "cls_index", the default, gives (batch, choices).

    transformers ties this head the other way round from the LM head: the embeddings take
    ``lm_head.weight``, which is what a checkpoint stores; an LM or base checkpoint (which
    stores the embeddings) loads too.
    """

    _tied_weights_keys = {"transformer.tokens_embed.weight": "lm_head.weight"}

    def __init__(self, config: OpenAIGPTConfig) -> None:
        super().__init__(config)
        config.num_labels = 1
        self.transformer = OpenAIGPTModel(config)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.multiple_choice_head = SequenceSummary(config)
        self.post_init()

    def get_output_embeddings(self) -> nn.Linear:
        return self.lm_head

    def set_output_embeddings(self, new_embeddings: nn.Linear) -> None:
        self.lm_head = new_embeddings

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        mc_token_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        mc_labels: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> OpenAIGPTDoubleHeadsModelOutput | tuple:
        """``input_ids`` (batch, choices, seq); ``mc_token_ids`` (batch, choices): the
        position whose hidden state scores each choice (the last one when None);
        ``labels`` (batch, choices, seq): LM targets, shifted inside, -100 ignored;
        ``mc_labels`` (batch,): the index of the right choice."""
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        outputs = self.transformer(
            input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds,
            output_attentions=output_attentions, output_hidden_states=output_hidden_states, return_dict=True,
        )
        hidden_states = outputs.last_hidden_state  # (batch, choices, seq, hidden)
        lm_logits = self.lm_head(hidden_states)
        mc_logits = self.multiple_choice_head(hidden_states, mc_token_ids).squeeze(-1)  # (batch, choices)
        mc_loss = None
        if mc_labels is not None:
            mc_loss = F.cross_entropy(mc_logits.view(-1, mc_logits.shape[-1]), mc_labels.view(-1))
        loss = causal_lm_loss(lm_logits, labels) if labels is not None else None
        out = OpenAIGPTDoubleHeadsModelOutput(
            loss=loss, mc_loss=mc_loss, logits=lm_logits, mc_logits=mc_logits,
            hidden_states=outputs.hidden_states, attentions=outputs.attentions,
        )
        return out if return_dict else out.to_tuple()


class OpenAIGPTForSequenceClassification(OpenAIGPTPreTrainedModel):
    """OpenAI GPT with a linear classifier (``score``) on the last token of each sequence:
    the rightmost token that is not ``config.pad_token_id`` (left and right padding both
    work). Without a pad token, one sequence at a time."""

    def __init__(self, config: OpenAIGPTConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.transformer = OpenAIGPTModel(config)
        self.score = nn.Linear(config.n_embd, config.num_labels, bias=False)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> SequenceClassifierOutput | tuple:
        """``labels``: class ids (batch,), floats (batch,) for regression (num_labels=1),
        or 0/1 floats (batch, num_labels) for multi-label; see config.problem_type."""
        return_dict = self.config.use_return_dict if return_dict is None else return_dict
        outputs = self.transformer(
            input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds,
            output_attentions=output_attentions, output_hidden_states=output_hidden_states, return_dict=True,
        )
        pooled = last_token_states(outputs.last_hidden_state, input_ids, self.config.pad_token_id, type(self).__name__)
        logits = self.score(pooled)
        loss = sequence_classification_loss(logits, labels, self.config) if labels is not None else None
        out = SequenceClassifierOutput(loss=loss, logits=logits, hidden_states=outputs.hidden_states,
                                       attentions=outputs.attentions)
        return out if return_dict else out.to_tuple()
