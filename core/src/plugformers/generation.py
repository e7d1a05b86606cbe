"""Text generation for every causal language model: greedy, sampling and beam search.

``generate(model, input_ids, **options)`` (what ``PreTrainedModel.generate`` calls) takes
the options of transformers' ``generate`` by the same names and gives the same tokens:
the same score processing in the same order, the same sampling draws, the same
beam-search scoring and stopping rules. Only models registered as a type's
``causal-lm`` head can generate.

How a run goes, and why it is quick:

- The options are merged once into a ``GenerationConfig`` (checkpoint defaults <
  ``generation_config=`` < keyword arguments) and checked, with errors that say what
  to change.
- The prompt runs through the model once (the prefill). Then each step feeds only the
  newest token, with a ``KVCache`` allocated once to the final length, an attention
  mask and position ids sliced from buffers built up front, and writes the chosen token
  into an output buffer of the final size: no concatenation per step.
- The score processors are built once; a step with none of them is just
  ``argmax``. Finished rows are tracked with tensor ops and the stop check reads one
  boolean per step.
- A model that returns no cache still works: it is fed the whole sequence each step.

How a model class can change what each forward pass gets (all optional; a class without
them runs as described above):

- ``generation_inputs(input_ids, past, attention_mask) -> dict``: the keyword arguments
  of the forward pass that scores the next token. ``input_ids`` (rows, length) is the
  whole sequence so far (prompt and generated tokens), ``past`` the cache the previous
  pass left (None for the prefill, and on every pass when ``use_cache=False``),
  ``attention_mask`` (rows, length) or None. The output's ``logits[:, -1]`` are read.
  XLNet uses it to append its dummy target token with ``perm_mask`` and
  ``target_mapping``, and to pass ``mems`` as the cache.
- ``generation_cache(output[, inputs])``: the cache to keep from a forward's output
  (default: ``output.past_key_values``). ``inputs`` is the dict ``generation_inputs``
  returned for that pass; it is passed only to a hook that takes a second argument (XLM
  reads its in-place ``cache`` dict from it and drops the appended mask token's slot).
- ``reorder_generation_cache(past, index) -> past``: the cache holding only the rows
  ``index`` (beam search; default: ``KVCache.reorder``, or the rows of every tensor of a
  legacy tuple of (key, value) per layer).
"""

from __future__ import annotations

import difflib
import inspect
import json
import logging
import os
import warnings
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, ValidationError

from .cache import KVCache
from .hub import HubOptions, resolve_file
from .layers import lay_out_for_one_row
from .modeling_outputs import ModelOutput

__all__ = ["GenerationConfig", "GenerateOutput", "GenerateBeamOutput", "generate", "GENERATION_CONFIG_NAME"]

logger = logging.getLogger("plugformers")

GENERATION_CONFIG_NAME = "generation_config.json"

# Options of transformers' GenerationConfig that this generate() does not implement. A
# checkpoint's file may hold them (they are kept and saved again); passing one to
# generate() is an error, and a file that sets one to a non-neutral value gets a warning.
_NOT_IMPLEMENTED = {
    "typical_p": 1.0, "min_p": None, "top_h": None, "epsilon_cutoff": 0.0, "eta_cutoff": 0.0,
    "bad_words_ids": None, "force_words_ids": None, "constraints": None, "sequence_bias": None,
    "forced_bos_token_id": None, "forced_eos_token_id": None, "suppress_tokens": None,
    "begin_suppress_tokens": None, "exponential_decay_length_penalty": None,
    "encoder_repetition_penalty": 1.0, "encoder_no_repeat_ngram_size": 0, "renormalize_logits": False,
    "remove_invalid_values": False, "num_beam_groups": 1, "diversity_penalty": 0.0, "penalty_alpha": None,
    "guidance_scale": None, "max_time": None, "stop_strings": None, "token_healing": False,
    "output_attentions": False, "output_hidden_states": False, "watermarking_config": None,
    "prefill_chunk_size": None, "cache_implementation": None,
}


# --------------------------------------------------------------------------- configuration


class GenerationConfig(BaseModel):
    """The options of a generate() call, with transformers' names and defaults.

    A checkpoint's ``generation_config.json`` holds the values its authors chose; the
    fields a file or a caller sets explicitly are remembered (``explicit()``), so that
    layering ``model defaults < generation_config= < keyword arguments`` only overrides
    what each layer really says. Unknown keys of a file are kept.
    """

    model_config = ConfigDict(extra="allow", validate_assignment=True, protected_namespaces=())

    # Length. max_length counts the prompt; left unset, generate() makes 20 new tokens
    # (at most up to the model's positions), as transformers 5 does.
    max_length: int = 20
    max_new_tokens: int | None = None
    min_length: int = 0
    min_new_tokens: int | None = None
    early_stopping: bool | Literal["never"] = False
    # Strategy.
    do_sample: bool = False
    num_beams: int = 1
    use_cache: bool = True
    # Score processing.
    temperature: float = 1.0
    top_k: int | None = 50
    top_p: float | None = 1.0
    repetition_penalty: float = 1.0
    no_repeat_ngram_size: int = 0
    length_penalty: float = 1.0
    # Outputs.
    num_return_sequences: int = 1
    output_scores: bool = False
    output_logits: bool = False
    return_dict_in_generate: bool = False
    # Special tokens.
    pad_token_id: int | None = None
    bos_token_id: int | None = None
    eos_token_id: int | list[int] | None = None

    def __init__(self, **kwargs: Any) -> None:
        kwargs = {k: v for k, v in kwargs.items() if not k.startswith("_")}  # transformers' private keys
        try:
            super().__init__(**kwargs)
        except ValidationError as e:
            problems = "; ".join(f"{'.'.join(map(str, err['loc']))}={err.get('input')!r}: {err['msg']}"
                                 for err in e.errors())
            raise ValueError(f"GenerationConfig: {problems}") from None

    # ------------------------------------------------------------------ views

    def explicit(self) -> dict[str, Any]:
        """The values set on purpose (by a file, a caller or an assignment), extras included."""
        values = {k: getattr(self, k) for k in self.model_fields_set}
        values.update(self.__pydantic_extra__ or {})
        return values

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()

    def to_json_string(self) -> str:
        return json.dumps(self.explicit(), indent=2, sort_keys=True) + "\n"

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> GenerationConfig:
        return cls(**values)

    @classmethod
    def from_json_file(cls, path: str | os.PathLike) -> GenerationConfig:
        try:
            values = json.loads(Path(path).read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: not valid JSON ({e}); a generation_config.json holds one JSON object") from None
        if not isinstance(values, dict):
            raise ValueError(f"{path}: expected a JSON object of generation options, got {type(values).__name__}")
        try:
            return cls(**values)
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from None

    @classmethod
    def from_model_config(cls, config: Any) -> GenerationConfig:
        """The special-token ids of a model config (what a checkpoint without a
        generation_config.json generates with)."""
        tokens = {name: getattr(config, name, None) for name in ("bos_token_id", "eos_token_id", "pad_token_id")}
        return cls(**{k: v for k, v in tokens.items() if v is not None})

    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: str | os.PathLike,
        config_file_name: str = GENERATION_CONFIG_NAME,
        *,
        missing_ok: bool = False,
        **hub_kwargs: Any,
    ) -> GenerationConfig | None:
        """Read ``generation_config.json`` from a local folder or a Hub repo
        (``cache_dir``, ``revision``, ``local_files_only``, ``token``, ``subfolder`` ...).
        A checkpoint without the file raises CheckpointNotFoundError, or with
        ``missing_ok=True`` gives None (what a model's from_pretrained wants)."""
        options = HubOptions.pop_from(hub_kwargs)
        if hub_kwargs:
            raise TypeError(f"GenerationConfig.from_pretrained: unexpected arguments {sorted(hub_kwargs)}")
        path = resolve_file(pretrained_model_name_or_path, config_file_name, options, required=not missing_ok)
        return None if path is None else cls.from_json_file(path)

    def save_pretrained(self, save_directory: str | os.PathLike, config_file_name: str = GENERATION_CONFIG_NAME) -> None:
        """Write the explicitly set values as ``generation_config.json`` (the format
        transformers reads), atomically."""
        from .serialization import atomic_write_text

        folder = Path(save_directory)
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(folder / config_file_name, self.to_json_string())

    def merged(self, override: GenerationConfig | dict[str, Any] | None) -> GenerationConfig:
        """A new config: these values, with what ``override`` sets explicitly on top."""
        if override is None:
            return self.model_copy(deep=True)
        extra = override.explicit() if isinstance(override, GenerationConfig) else dict(override)
        return GenerationConfig(**{**self.explicit(), **extra})


@dataclass
class GenerateOutput(ModelOutput):
    """What greedy search and sampling return with ``return_dict_in_generate=True``.

    sequences: (batch * num_return_sequences, length), prompt included.
    scores: per step, the processed scores (batch * num_return_sequences, vocab) the
        token was chosen from (``output_scores=True``).
    logits: per step, the model's raw next-token logits (``output_logits=True``).
    """

    sequences: torch.Tensor | None = None
    scores: tuple[torch.Tensor, ...] | None = None
    logits: tuple[torch.Tensor, ...] | None = None
    past_key_values: Any = None


@dataclass
class GenerateBeamOutput(ModelOutput):
    """What beam search returns with ``return_dict_in_generate=True``.

    sequences: (batch * num_return_sequences, length). sequences_scores: the final,
    length-normalised score of each (``output_scores=True``). scores: per step the
    processed log-probabilities of every beam (batch * num_beams, vocab). beam_indices:
    (batch * num_return_sequences, new tokens), which beam row each token came from.
    """

    sequences: torch.Tensor | None = None
    sequences_scores: torch.Tensor | None = None
    scores: tuple[torch.Tensor, ...] | None = None
    logits: tuple[torch.Tensor, ...] | None = None
    beam_indices: torch.Tensor | None = None
    past_key_values: Any = None


# --------------------------------------------------------------------------- the model side


class _ModelInfo:
    """What generate() learns once per model class: which forward arguments it takes,
    whether it fills a KVCache passed in."""

    def __init__(self, cls: type) -> None:
        params = inspect.signature(cls.forward).parameters
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        self.accepts = {name for name in params if name != "self"}
        self.accepts_all = takes_any
        self.takes_kv_cache: bool | None = getattr(cls, "supports_kv_cache", None)

    def takes(self, name: str) -> bool:
        return self.accepts_all or name in self.accepts


_MODEL_INFO: weakref.WeakKeyDictionary[type, _ModelInfo] = weakref.WeakKeyDictionary()


def _model_info(model: torch.nn.Module) -> _ModelInfo:
    cls = type(model)
    info = _MODEL_INFO.get(cls)
    if info is None:
        info = _MODEL_INFO[cls] = _ModelInfo(cls)
    return info


def causal_lm_error(cls: type, model_type: str | None) -> str | None:
    """Why instances of ``cls`` cannot generate, or None: it must be (a subclass of) the
    ``causal-lm`` head that ``model_type`` registers."""
    from .registry import PluginError, UnknownModelTypeError, registry

    if not model_type:
        return (f"{cls.__name__} cannot generate: it has no config.model_type, so no registered "
                "'causal-lm' head to check it against. Use a model built from a registered config.")
    try:
        spec = registry.get(model_type)
    except (UnknownModelTypeError, PluginError) as e:
        return f"{cls.__name__} cannot generate: {e}"
    target = spec.heads.get("causal-lm")
    if target is None:
        return (f"{cls.__name__} cannot generate: model_type {model_type!r} has no 'causal-lm' head "
                f"(its heads: {', '.join(spec.heads) or 'none'}); only causal language models generate text.")
    head = registry.resolve(target, what="the 'causal-lm' head", model_type=model_type)
    if isinstance(head, type) and issubclass(cls, head):
        return None
    return (f"{cls.__name__} cannot generate: use the 'causal-lm' head of model_type {model_type!r}, "
            f"{getattr(head, '__name__', head)} (AutoModelForCausalLM)")


def _max_positions(config: Any) -> int | None:
    try:
        value = config.max_position_embeddings  # attribute_map gives n_positions etc.
    except AttributeError:
        return None
    return value if isinstance(value, int) and value > 0 else None


def checkpoint_generation_config(config: Any, path: str | None) -> GenerationConfig:
    """What a model loaded with ``config`` generates with: the config's special tokens,
    overridden by the checkpoint's generation_config.json at ``path`` (if any)."""
    generation_config = GenerationConfig.from_model_config(config)
    if path is not None:
        generation_config = generation_config.merged(GenerationConfig.from_json_file(path))
        _warn_not_implemented(generation_config, path)
    return generation_config


def _model_generation_config(model: torch.nn.Module) -> GenerationConfig:
    """``model.generation_config``: set by from_pretrained from the checkpoint's
    generation_config.json, else built on first use from the model config's special tokens."""
    existing = getattr(model, "generation_config", None)
    if isinstance(existing, GenerationConfig):
        return existing
    if existing is not None:
        raise TypeError(f"model.generation_config must be a plugformers GenerationConfig, got "
                        f"{type(existing).__name__}; assign GenerationConfig(...) or delete the attribute")
    model.generation_config = checkpoint_generation_config(model.config, None)
    return model.generation_config


def _warn_not_implemented(config: GenerationConfig, source: str) -> None:
    ignored = {k: v for k, v in (config.__pydantic_extra__ or {}).items()
               if k in _NOT_IMPLEMENTED and v is not None and v != _NOT_IMPLEMENTED[k]}
    if ignored:
        warnings.warn(f"{source}: plugformers' generate() does not implement {ignored}; these options are ignored.",
                      UserWarning, stacklevel=4)


# --------------------------------------------------------------------------- settings


_GENERATE_ARGS = ("input_ids", "inputs", "attention_mask", "generation_config", "streamer", "callback",
                  "truncate_prompt")


@dataclass
class _Plan:
    """The resolved settings of one call."""

    cfg: GenerationConfig
    batch: int  # prompts
    rows: int  # prompts x beams (or x returned samples)
    prompt_len: int
    max_length: int  # total, prompt included
    min_length: int  # total length before which eos is forbidden
    eos: torch.Tensor | None  # (n_eos,)
    pad: int | None
    pad_lengths: torch.Tensor | None  # (rows,) left padding, for the repetition penalty


def _resolve_config(model: torch.nn.Module, generation_config: Any, kwargs: dict[str, Any]) -> GenerationConfig:
    fields = set(GenerationConfig.model_fields)
    unknown = [k for k in kwargs if k not in fields]
    if unknown:
        key = unknown[0]
        if key in _NOT_IMPLEMENTED:
            raise TypeError(f"generate(): {key}={kwargs[key]!r} is a transformers option that plugformers' "
                            f"generate() does not implement. Supported options: {', '.join(sorted(fields))}.")
        close = difflib.get_close_matches(key, sorted(fields | set(_GENERATE_ARGS)), n=3, cutoff=0.6)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else f" Options: {', '.join(sorted(fields))}."
        raise TypeError(f"generate() got an unexpected keyword argument {key!r}.{hint}")
    base = _model_generation_config(model)
    if generation_config is not None and not isinstance(generation_config, (GenerationConfig, dict)):
        raise TypeError(f"generation_config must be a plugformers GenerationConfig or a dict, got "
                        f"{type(generation_config).__name__}")
    return base.merged(generation_config).merged(kwargs)


def _check_options(cfg: GenerationConfig) -> None:
    """Reject values that cannot work, saying which value and what to pass instead."""
    def fail(msg: str) -> None:
        raise ValueError(f"generate(): {msg}")

    if cfg.max_new_tokens is not None and cfg.max_new_tokens < 1:
        fail(f"max_new_tokens={cfg.max_new_tokens}; it must be at least 1.")
    if cfg.min_new_tokens is not None and cfg.min_new_tokens < 0:
        fail(f"min_new_tokens={cfg.min_new_tokens}; it must be 0 or more.")
    if cfg.num_beams < 1:
        fail(f"num_beams={cfg.num_beams}; use 1 for greedy search or sampling, 2 or more for beam search.")
    if cfg.num_return_sequences < 1:
        fail(f"num_return_sequences={cfg.num_return_sequences}; it must be at least 1.")
    if cfg.top_p is not None and not 0.0 < cfg.top_p <= 1.0:
        fail(f"top_p={cfg.top_p} is outside (0, 1]: it is the probability mass kept by nucleus sampling. "
             "Pass a value such as 0.9, or top_p=1.0 to switch it off.")
    if cfg.top_k is not None and cfg.top_k < 0:
        fail(f"top_k={cfg.top_k}; pass a positive number of tokens to keep, or 0 to switch it off.")
    if cfg.do_sample and cfg.temperature <= 0:
        fail(f"temperature={cfg.temperature} with do_sample=True; the temperature must be > 0 "
             "(e.g. 0.7). For deterministic output use do_sample=False (greedy search).")
    if cfg.repetition_penalty <= 0:
        fail(f"repetition_penalty={cfg.repetition_penalty}; it must be > 0 (1.0: no penalty, e.g. 1.2 to penalise).")
    if cfg.no_repeat_ngram_size < 0:
        fail(f"no_repeat_ngram_size={cfg.no_repeat_ngram_size}; it must be 0 (off) or more.")
    if cfg.num_beams > 1 and cfg.num_return_sequences > cfg.num_beams:
        fail(f"num_return_sequences={cfg.num_return_sequences} is larger than num_beams={cfg.num_beams}: beam "
             f"search returns at most num_beams sequences. Pass num_beams>={cfg.num_return_sequences}.")
    if cfg.num_beams == 1 and not cfg.do_sample and cfg.num_return_sequences > 1:
        fail(f"num_return_sequences={cfg.num_return_sequences} with greedy search would return identical "
             "sequences; pass do_sample=True or num_beams>=num_return_sequences.")
    eos = cfg.eos_token_id
    for name, value in (("eos_token_id", eos), ("pad_token_id", cfg.pad_token_id)):
        values = value if isinstance(value, list) else [value]
        if any(v is not None and v < 0 for v in values):
            fail(f"{name}={value}; token ids are 0 or more.")


def _prepare_inputs(
    model: torch.nn.Module, input_ids: Any, attention_mask: Any, cfg: GenerationConfig, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor | None]:
    if input_ids is None:
        if cfg.bos_token_id is None:
            raise ValueError("generate(): no input_ids and no bos_token_id to start from; pass a prompt "
                             "(tokenizer(text, return_tensors='pt').input_ids) or set bos_token_id.")
        return torch.full((1, 1), cfg.bos_token_id, dtype=torch.long, device=device), None
    if isinstance(input_ids, (list, tuple)):
        rows = [list(r) for r in input_ids] if input_ids and isinstance(input_ids[0], (list, tuple)) else [list(input_ids)]
        if len({len(r) for r in rows}) > 1:
            raise ValueError(
                f"generate(): the prompts have different lengths ({sorted({len(r) for r in rows})}); a batch must "
                "be padded on the LEFT and come with its attention_mask: tokenizer(texts, padding=True, "
                "return_tensors='pt') with tokenizer.padding_side = 'left', then "
                "generate(input_ids=..., attention_mask=...)."
            )
        input_ids = torch.tensor(rows, dtype=torch.long)
    if not isinstance(input_ids, torch.Tensor):
        raise TypeError(f"generate(): input_ids must be a tensor of token ids, got {type(input_ids).__name__}")
    if input_ids.dim() == 1:
        input_ids = input_ids.unsqueeze(0)
    if input_ids.dim() != 2 or input_ids.dtype not in (torch.long, torch.int, torch.int16, torch.uint8):
        raise TypeError(f"generate(): input_ids must be integer ids of shape (batch, length), got "
                        f"{input_ids.dtype} of shape {tuple(input_ids.shape)}")
    if input_ids.shape[1] == 0:
        raise ValueError("generate(): the prompt is empty; pass at least one token (e.g. the bos token).")
    input_ids = input_ids.to(device=device, dtype=torch.long)
    if attention_mask is not None:
        attention_mask = torch.as_tensor(attention_mask, device=device)
        if attention_mask.dim() == 1:
            attention_mask = attention_mask.unsqueeze(0)
        if attention_mask.shape != input_ids.shape:
            raise ValueError(f"generate(): attention_mask has shape {tuple(attention_mask.shape)} but input_ids "
                             f"{tuple(input_ids.shape)}; pass the mask the tokenizer returned with the ids.")
    return input_ids, attention_mask


def _infer_mask(input_ids: torch.Tensor, attention_mask: torch.Tensor | None, pad: int | None,
                eos: list[int]) -> torch.Tensor | None:
    """The attention mask to generate with, or None when every position is attended."""
    batch = input_ids.shape[0]
    if attention_mask is None and pad is not None:
        is_pad = input_ids == pad
        if bool(is_pad.any()):
            if pad not in eos:
                attention_mask = (~is_pad).long()  # the pad token tells the padding apart
            elif batch > 1:
                # Leading pad tokens in different numbers per row: a left-padded batch whose
                # padding cannot be told from real end-of-text tokens.
                leading = torch.cumprod(is_pad.long(), dim=1).sum(dim=1)
                if bool((leading != leading[0]).any()):
                    raise ValueError(
                        f"generate(): the batch looks left-padded (rows start with {leading.tolist()} pad tokens, "
                        f"id {pad}), but the pad token is also the eos token, so the padding cannot be inferred. "
                        "Pass the attention_mask the tokenizer returned."
                    )
    if attention_mask is None:
        return None
    if bool((attention_mask[:, -1] == 0).any()):
        raise ValueError(
            "generate(): the attention_mask has padding on the right (zeros in the last column); a causal LM "
            "continues from the last token, so pad on the LEFT: tokenizer.padding_side = 'left'."
        )
    if bool(attention_mask.all()):
        return None  # nothing masked: the model runs without a mask (as transformers does)
    return attention_mask


def _plan(model: torch.nn.Module, cfg: GenerationConfig, input_ids: torch.Tensor, truncate_prompt: bool,
          attention_mask: torch.Tensor | None) -> tuple[_Plan, torch.Tensor, torch.Tensor | None]:
    batch, prompt_len = input_ids.shape
    explicit = cfg.model_fields_set
    positions = _max_positions(model.config)
    max_new = cfg.max_new_tokens
    if max_new is not None:
        max_length = prompt_len + max_new
    elif "max_length" not in explicit:  # the default: 20 new tokens, within the model's positions
        max_length = prompt_len + cfg.max_length
        if positions is not None:
            max_length = min(max_length, positions)
    else:
        max_length = cfg.max_length
    if positions is not None and max_length > positions:
        new = max_length - prompt_len
        if truncate_prompt and new < positions:
            keep = positions - new
            input_ids = input_ids[:, -keep:]
            attention_mask = attention_mask[:, -keep:] if attention_mask is not None else None
            prompt_len, max_length = keep, positions
        else:
            where = "max_new_tokens" if max_new is not None else "max_length"
            raise ValueError(
                f"generate(): the prompt ({prompt_len} tokens) plus {new} new tokens make {max_length} positions, "
                f"but {type(model).__name__} has {positions} (config.max_position_embeddings). Lower {where} "
                f"(at most {max(positions - prompt_len, 0)} new tokens for this prompt), shorten the prompt, or "
                "pass truncate_prompt=True to keep only its last tokens."
            )
    if prompt_len >= max_length:
        raise ValueError(
            f"generate(): the prompt has {prompt_len} tokens but max_length={max_length} leaves no room for new "
            "ones; pass max_new_tokens=N (the number of tokens to generate) instead of max_length."
        )
    if cfg.min_new_tokens is not None:
        min_length = prompt_len + cfg.min_new_tokens
    else:
        min_length = cfg.min_length

    eos_list = cfg.eos_token_id if isinstance(cfg.eos_token_id, list) else (
        [] if cfg.eos_token_id is None else [cfg.eos_token_id])
    pad = cfg.pad_token_id
    if pad is None and eos_list:
        pad = eos_list[0]
        if batch > 1 and attention_mask is None:
            logger.warning("generate(): no pad_token_id; finished rows are padded with eos_token_id %d.", pad)
    attention_mask = _infer_mask(input_ids, attention_mask, pad, eos_list)
    expand = max(cfg.num_beams, cfg.num_return_sequences)
    eos = torch.tensor(eos_list, dtype=torch.long, device=input_ids.device) if eos_list else None
    pad_lengths = None
    if attention_mask is not None:
        if expand > 1:
            attention_mask = attention_mask.repeat_interleave(expand, dim=0)
        pad_lengths = (attention_mask != 0).int().argmax(dim=1)
    if expand > 1:
        input_ids = input_ids.repeat_interleave(expand, dim=0)
    plan = _Plan(cfg, batch, batch * expand, prompt_len, max_length, min_length, eos, pad, pad_lengths)
    return plan, input_ids, attention_mask


# --------------------------------------------------------------------------- score processing


Processor = Callable[[torch.Tensor, int, torch.Tensor], torch.Tensor]  # (ids buffer, length, scores) -> scores


def _processors(plan: _Plan) -> list[Processor]:
    """The score processors of this call, in transformers' order: repetition penalty,
    n-gram ban, minimum length; then, when sampling, temperature, top-k, top-p."""
    cfg = plan.cfg
    procs: list[Processor] = []
    if cfg.repetition_penalty != 1.0:
        procs.append(_repetition_penalty(cfg.repetition_penalty, plan.pad_lengths, plan.max_length))
    if cfg.no_repeat_ngram_size > 0:
        procs.append(_no_repeat_ngram(cfg.no_repeat_ngram_size))
    if plan.eos is not None and plan.min_length > 0:
        procs.append(_min_length(plan.min_length, plan.eos))
    if cfg.do_sample:
        keep = 1 if cfg.num_beams == 1 else (2 if plan.eos is None else plan.eos.numel() + 1)
        if cfg.temperature != 1.0:
            temperature = float(cfg.temperature)
            procs.append(lambda ids, n, scores: scores / temperature)
        if cfg.top_k:
            procs.append(_top_k(max(cfg.top_k, keep)))
        if cfg.top_p is not None and cfg.top_p < 1.0:
            procs.append(_top_p(float(cfg.top_p), keep))
    return procs


def _repetition_penalty(penalty: float, pad_lengths: torch.Tensor | None, total: int) -> Processor:
    # Every token already in a row (left padding excepted) has its score divided by the
    # penalty when positive, multiplied when negative. Ignored positions point at an
    # extra, discarded vocabulary column.
    ignore = None
    if pad_lengths is not None:
        ignore = torch.arange(total, device=pad_lengths.device)[None, :] < pad_lengths[:, None]  # (rows, total)

    def apply(ids: torch.Tensor, n: int, scores: torch.Tensor) -> torch.Tensor:
        vocab = scores.shape[-1]
        seen = ids[:, :n]
        if ignore is not None:
            seen = seen.masked_fill(ignore[:, :n], vocab)
        seen = seen.clamp(max=vocab)
        wide = F.pad(scores, (0, 1))  # (rows, vocab + 1)
        old = wide.gather(1, seen)
        new = torch.where(old < 0, old * penalty, old / penalty)
        return wide.scatter(1, seen, new)[:, :vocab]

    return apply


def _no_repeat_ngram(size: int) -> Processor:
    # Ban every token that would complete an n-gram already present in the row: find the
    # earlier windows whose first n-1 tokens equal the row's last n-1 tokens.
    def apply(ids: torch.Tensor, n: int, scores: torch.Tensor) -> torch.Tensor:
        if n < size:
            return scores
        seq = ids[:, :n]
        windows = seq.unfold(1, size, 1)  # (rows, n - size + 1, size)
        tail = seq[:, n - size + 1:]  # (rows, size - 1)
        hit = (windows[:, :, : size - 1] == tail[:, None, :]).all(dim=-1)  # (rows, windows)
        vocab = scores.shape[-1]
        banned_ids = torch.where(hit, windows[:, :, -1].clamp(max=vocab), vocab)
        banned = torch.zeros(scores.shape[0], vocab + 1, dtype=torch.bool, device=scores.device)
        banned.scatter_(1, banned_ids, True)
        return scores.masked_fill(banned[:, :vocab], float("-inf"))

    return apply


def _min_length(min_length: int, eos: torch.Tensor) -> Processor:
    def apply(ids: torch.Tensor, n: int, scores: torch.Tensor) -> torch.Tensor:
        if n < min_length:  # an eos id outside the vocabulary can never be produced: nothing to suppress
            scores = scores.index_fill(1, eos[eos < scores.shape[1]], float("-inf"))
        return scores

    return apply


def _top_k(k: int) -> Processor:
    def apply(ids: torch.Tensor, n: int, scores: torch.Tensor) -> torch.Tensor:
        kth = torch.topk(scores, min(k, scores.shape[-1]))[0][..., -1:]  # (rows, 1): the k-th largest score
        return scores.masked_fill(scores < kth, float("-inf"))

    return apply


def _top_p(top_p: float, keep: int) -> Processor:
    # Drop the least likely tokens whose total probability stays within 1 - top_p,
    # always keeping the `keep` most likely.
    def apply(ids: torch.Tensor, n: int, scores: torch.Tensor) -> torch.Tensor:
        ascending, order = torch.sort(scores, descending=False)
        mass = ascending.softmax(dim=-1).cumsum(dim=-1)
        drop_sorted = mass <= (1 - top_p)
        drop_sorted[..., -keep:] = False
        drop = drop_sorted.scatter(1, order, drop_sorted)
        return scores.masked_fill(drop, float("-inf"))

    return apply


def _run_processors(procs: list[Processor], ids: torch.Tensor, n: int, scores: torch.Tensor) -> torch.Tensor:
    for proc in procs:
        scores = proc(ids, n, scores)
    return scores


# --------------------------------------------------------------------------- the forward passes


class _Stepper:
    """Runs the model: the prefill over the prompt, then one new token per step.

    Holds the cache, the attention-mask buffer (prompt mask then ones) and the
    position-id buffer (counting real tokens only, so left padding does not shift
    positions), all sized to the final length once.
    """

    def __init__(self, model: torch.nn.Module, info: _ModelInfo, plan: _Plan, mask: torch.Tensor | None,
                 device: torch.device) -> None:
        self.model = model
        self.info = info
        rows, total, prompt_len = plan.rows, plan.max_length, plan.prompt_len
        self.mask = None
        if mask is not None and info.takes("attention_mask"):
            self.mask = torch.ones(rows, total, dtype=mask.dtype, device=device)
            self.mask[:, :prompt_len] = mask
        self.positions = None
        # Without padding, positions are 0, 1, 2 ...: what a model assumes when given
        # none (and cheaper for it), so they are passed only under left padding.
        if mask is not None and info.takes("position_ids"):
            pos = torch.empty(rows, total, dtype=torch.long, device=device)
            pos[:, :prompt_len] = (mask.long().cumsum(-1) - 1).masked_fill(mask == 0, 0)
            pos[:, prompt_len:] = pos[:, prompt_len - 1:prompt_len] + torch.arange(1, total - prompt_len + 1,
                                                                                    device=device)
            self.positions = pos
        self.use_cache = plan.cfg.use_cache
        self.total = total
        self.past: Any = None
        self.fixed: dict[str, Any] = {}
        if info.takes("return_dict"):
            self.fixed["return_dict"] = True
        if info.takes("use_cache"):
            self.fixed["use_cache"] = self.use_cache
        if info.takes("logits_to_keep"):
            self.fixed["logits_to_keep"] = 1
        # The model's own step inputs and cache handling, when its class defines them (see the module docstring).
        self.step_inputs = getattr(model, "generation_inputs", None)
        self.read_cache = getattr(model, "generation_cache", None) or _output_cache
        # generation_cache(output, inputs), or a hook that takes only the output
        self.cache_reads_inputs = self.read_cache is not _output_cache and len(
            inspect.signature(self.read_cache).parameters) >= 2
        self.reorder_cache = getattr(model, "reorder_generation_cache", None)

    def _custom_call(self, ids: torch.Tensor) -> torch.Tensor:
        """One pass through the model's ``generation_inputs``: ``ids`` is the whole sequence so far."""
        mask = self.mask[:, :ids.shape[1]] if self.mask is not None else None
        inputs = self.step_inputs(ids, self.past if self.use_cache else None, mask)
        out = self.model(**inputs)
        if not self.use_cache:
            self.past = None
        else:
            self.past = self.read_cache(out, inputs) if self.cache_reads_inputs else self.read_cache(out)
        self.length = ids.shape[1]
        return out.logits[:, -1, :]

    def _call(self, ids: torch.Tensor, start: int, end: int, past: Any) -> Any:
        kwargs = dict(self.fixed)
        if self.mask is not None:
            kwargs["attention_mask"] = self.mask[:, :end]
        if self.positions is not None:
            kwargs["position_ids"] = self.positions[:, start:end]
        if past is not None:
            kwargs["past_key_values"] = past
        return self.model(input_ids=ids, **kwargs)

    def prefill(self, ids: torch.Tensor) -> torch.Tensor:
        """Logits (rows, vocab) after the prompt ``ids`` (rows, prompt_len)."""
        if self.step_inputs is not None:
            self.past = None
            return self._custom_call(ids)
        length = ids.shape[1]
        out = cache = None
        if self.use_cache and self.info.takes_kv_cache is not False and self.info.takes("past_key_values"):
            # A model that only reads legacy (key, value) tuples fails on a KVCache: learn
            # that once per class (the class attribute `supports_kv_cache` says it up front).
            cache = KVCache(max_length=self.total)
            try:
                out = self._call(ids, 0, length, cache)
            except Exception:  # noqa: BLE001 - retried below without the cache; a real error raises again
                if self.info.takes_kv_cache:
                    raise
            else:
                self.info.takes_kv_cache = True
        if out is None:
            out = self._call(ids, 0, length, None)
            if self.info.takes_kv_cache is None and cache is not None:
                self.info.takes_kv_cache = False  # it failed with a KVCache and works without one
        self.past = _output_cache(out) if self.use_cache else None
        if isinstance(self.past, KVCache) and self.past.get_seq_length() != length:
            raise RuntimeError(
                f"{type(self.model).__name__} returned a KVCache holding {self.past.get_seq_length()} positions after "
                f"a {length}-token prompt; its forward must write every layer's keys and values with "
                "KVCache.update. Pass use_cache=False to generate without a cache."
            )
        self.length = length
        return out.logits[:, -1, :]

    def step(self, new_tokens: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """Logits (rows, vocab) after appending ``new_tokens`` (rows, 1); ``ids`` is the
        output buffer, read in full only when the model keeps no cache."""
        if self.step_inputs is not None:
            return self._custom_call(ids[:, :self.length + 1])
        start, end = self.length, self.length + 1
        self.length = end
        if self.past is None:  # no cache: the whole sequence again
            out = self._call(ids[:, :end], 0, end, None)
        else:
            out = self._call(new_tokens, start, end, self.past)
            self.past = _output_cache(out)
        return out.logits[:, -1, :]

    def reorder(self, index: torch.Tensor) -> None:
        """Keep the cache rows ``index`` (beam search)."""
        past = self.past
        if past is None:
            return
        if self.reorder_cache is not None:
            self.past = self.reorder_cache(past, index)
        elif hasattr(past, "reorder"):
            past.reorder(index)
        elif hasattr(past, "reorder_cache"):
            past.reorder_cache(index)
        else:
            self.past = tuple(tuple(t.index_select(0, index) for t in layer) for layer in past)


def _output_cache(out: Any) -> Any:
    past = getattr(out, "past_key_values", None)
    if past is None and isinstance(out, tuple):
        raise TypeError("generate() needs the model to return an output object with .logits and "
                        ".past_key_values, got a tuple; do not set config.return_dict=False / torchscript")
    return past


# --------------------------------------------------------------------------- decoding


def _decode(stepper: _Stepper, plan: _Plan, procs: list[Processor], input_ids: torch.Tensor,
            streamer: Any, callback: Any) -> Any:
    """Greedy search and multinomial sampling."""
    cfg = plan.cfg
    rows, prompt_len, total = plan.rows, plan.prompt_len, plan.max_length
    ids = torch.empty(rows, total, dtype=torch.long, device=input_ids.device)
    ids[:, :prompt_len] = input_ids
    keep_scores = cfg.return_dict_in_generate and cfg.output_scores
    keep_logits = cfg.return_dict_in_generate and cfg.output_logits
    scores_out: list[torch.Tensor] = []
    logits_out: list[torch.Tensor] = []
    eos, pad = plan.eos, plan.pad
    single_eos = int(eos[0]) if eos is not None and eos.numel() == 1 else None
    unfinished = torch.ones(rows, dtype=torch.bool, device=ids.device) if eos is not None else None
    sample = cfg.do_sample

    if streamer is not None:
        streamer.put(input_ids.cpu())
    logits = stepper.prefill(input_ids)
    n = prompt_len
    while True:
        if keep_logits:
            logits_out.append(logits.float().clone())
        scores = logits.float()
        if procs:
            scores = _run_processors(procs, ids, n, scores)
        if keep_scores:
            scores_out.append(scores if procs else scores.clone())
        if sample:
            next_tokens = torch.multinomial(F.softmax(scores, dim=-1), num_samples=1).squeeze(1)
        else:
            next_tokens = torch.argmax(scores, dim=-1)
        if unfinished is not None:
            next_tokens = torch.where(unfinished, next_tokens, pad)  # finished rows get padding
            done_now = next_tokens == single_eos if single_eos is not None else torch.isin(next_tokens, eos)
            unfinished &= ~done_now
        ids[:, n] = next_tokens
        n += 1
        if streamer is not None:
            streamer.put(next_tokens.cpu())
        if callback is not None:
            callback(next_tokens)
        if n >= total or (unfinished is not None and not bool(unfinished.any())):
            break
        logits = stepper.step(next_tokens[:, None], ids)
    if streamer is not None:
        streamer.end()
    sequences = ids[:, :n] if n == total else ids[:, :n].clone()
    if not cfg.return_dict_in_generate:
        return sequences
    return GenerateOutput(sequences=sequences, scores=tuple(scores_out) if keep_scores else None,
                          logits=tuple(logits_out) if keep_logits else None, past_key_values=stepper.past)


def _beam_search(stepper: _Stepper, plan: _Plan, procs: list[Processor], input_ids: torch.Tensor) -> Any:
    """Beam search (and beam sampling with do_sample=True), with transformers' rules:

    - each step the best ``keep`` = max(2, 1 + #eos) x beams continuations over all beams
      of a prompt are taken (or sampled without replacement), so beams ending in eos can
      be set aside while ``beams`` others go on;
    - a continuation that ends in eos or reaches max_length is a finished hypothesis,
      scored by its summed log-probability / (new tokens) ** length_penalty; only those
      among the first ``beams`` candidates count, and the best ``beams`` are kept;
    - a prompt is done when early_stopping=True and it has ``beams`` finished
      hypotheses, or when no running beam can still beat the worst kept one: the best
      running score divided by the current length ** length_penalty (False), or by the
      longest possible length when length_penalty > 0 (``"never"``).
    """
    cfg = plan.cfg
    batch, beams, total, prompt_len = plan.batch, cfg.num_beams, plan.max_length, plan.prompt_len
    device = input_ids.device
    eos, pad = plan.eos, plan.pad
    n_eos = 0 if eos is None else eos.numel()
    keep = max(2, 1 + n_eos) * beams
    lp = cfg.length_penalty
    early = cfg.early_stopping
    # Unused positions of shorter outputs hold the pad token (eos when pad is 0 or unset,
    # exactly as transformers fills them), -1 without eos (never visible then).
    fill = -1 if eos is None else (pad if pad else int(eos[0]))
    keep_scores = cfg.return_dict_in_generate and cfg.output_scores
    keep_logits = cfg.return_dict_in_generate and cfg.output_logits
    scores_out: list[torch.Tensor] = []
    logits_out: list[torch.Tensor] = []
    new_max = total - prompt_len

    running = torch.full((batch, beams, total), fill, dtype=torch.long, device=device)
    running[:, :, :prompt_len] = input_ids.view(batch, beams, prompt_len)
    finished = running.clone()
    running_scores = torch.zeros(batch, beams, device=device)
    running_scores[:, 1:] = -1e9  # only the first beam of each prompt may start
    finished_scores = torch.full((batch, beams), -1e9, device=device)
    is_finished = torch.zeros(batch, beams, dtype=torch.bool, device=device)
    can_improve = torch.ones(batch, 1, dtype=torch.bool, device=device)
    running_origin = torch.full((batch, beams, new_max), -1, dtype=torch.int32, device=device)
    finished_origin = running_origin.clone()
    first_beams = torch.zeros(keep, dtype=torch.bool, device=device)
    first_beams[:beams] = True
    row_offset = (torch.arange(batch, device=device) * beams)[:, None]  # (batch, 1)

    logits = stepper.prefill(input_ids)
    n = prompt_len
    while True:
        if keep_logits:
            logits_out.append(logits.float().clone())
        log_probs = F.log_softmax(logits.float(), dim=-1)
        if procs:
            log_probs = _run_processors(procs, running.view(batch * beams, total), n, log_probs)
        if keep_scores:
            scores_out.append(log_probs.clone())
        vocab = log_probs.shape[-1]
        total_lp = (log_probs.view(batch, beams, vocab) + running_scores[:, :, None]).view(batch, beams * vocab)
        if cfg.do_sample:
            picked = torch.multinomial(F.softmax(total_lp, dim=-1), num_samples=keep)
            cand_scores = torch.gather(total_lp, 1, picked)
        else:
            cand_scores, picked = torch.topk(total_lp, k=keep)
        src_beam = picked // vocab  # (batch, keep)
        tokens = picked % vocab
        cand_seqs = torch.take_along_dim(running, src_beam[:, :, None], dim=1)  # (batch, keep, total)
        cand_seqs[:, :, n] = tokens
        cand_origin = torch.take_along_dim(running_origin, src_beam[:, :, None], dim=1)
        cand_origin[:, :, n - prompt_len] = (src_beam + row_offset).to(torch.int32)
        hits = torch.zeros_like(tokens, dtype=torch.bool) if n + 1 < total else torch.ones_like(tokens, dtype=torch.bool)
        if eos is not None:
            hits = hits | torch.isin(tokens, eos)

        # The beams that go on: the best `beams` candidates that did not finish.
        go_on_scores = cand_scores + hits.to(torch.float32) * -1.0e9
        chosen = torch.topk(go_on_scores, k=beams)[1]
        running = torch.take_along_dim(cand_seqs, chosen[:, :, None], dim=1)
        running_scores = torch.take_along_dim(go_on_scores, chosen, dim=1)
        running_origin = torch.take_along_dim(cand_origin, chosen[:, :, None], dim=1)

        # The hypotheses that finished: length-normalised, merged with the kept ones.
        just_finished = hits & first_beams[None, :]
        final = cand_scores / ((n + 1 - prompt_len) ** lp)
        if early is True:  # a prompt with `beams` finished hypotheses takes no more
            final += torch.all(is_finished, dim=-1, keepdim=True).to(torch.float32) * -1.0e9
        final += (~can_improve).to(torch.float32) * -1.0e9
        final += (~just_finished) * -1.0e9
        all_seqs = torch.cat((finished, cand_seqs), dim=1)
        all_scores = torch.cat((finished_scores, final), dim=1)
        all_origin = torch.cat((finished_origin, cand_origin), dim=1)
        all_finished = torch.cat((is_finished, just_finished), dim=1)
        best = torch.topk(all_scores, k=beams)[1]
        finished = torch.take_along_dim(all_seqs, best[:, :, None], dim=1)
        finished_scores = torch.take_along_dim(all_scores, best, dim=1)
        finished_origin = torch.take_along_dim(all_origin, best[:, :, None], dim=1)
        is_finished = torch.take_along_dim(all_finished, best, dim=1)

        stepper.reorder(running_origin[:, :, n - prompt_len].reshape(-1).long())
        n += 1
        # Can a running beam still beat the worst kept hypothesis?
        best_len = (total - prompt_len) if (early == "never" and lp > 0.0) else (n - prompt_len)
        best_running = running_scores[:, :1] / (best_len ** lp)
        worst_kept = torch.where(is_finished, torch.min(finished_scores, dim=1, keepdim=True)[0], -1.0e9)
        can_improve = can_improve & torch.any(best_running > worst_kept, dim=-1, keepdim=True)
        go = bool(can_improve.any()) and not bool(hits.all())
        if early is True and bool(is_finished.all()):
            go = False
        if not go:
            break
        logits = stepper.step(running[:, :, n - 1].reshape(-1, 1), running.view(batch * beams, total))

    returned = cfg.num_return_sequences
    sequences = finished[:, :returned].reshape(batch * returned, total)
    sequence_scores = finished_scores[:, :returned].reshape(-1)
    origin = finished_origin[:, :returned].reshape(batch * returned, new_max)
    generated = int((origin >= 0).sum(dim=1).max())
    sequences = sequences[:, : prompt_len + generated]
    origin = origin[:, :generated]
    if not cfg.return_dict_in_generate:
        return sequences
    return GenerateBeamOutput(
        sequences=sequences,
        sequences_scores=sequence_scores if cfg.output_scores else None,
        scores=tuple(scores_out) if keep_scores else None,
        logits=tuple(logits_out) if keep_logits else None,
        beam_indices=origin,
        past_key_values=stepper.past,
    )


# --------------------------------------------------------------------------- entry point


def generate(
    model: torch.nn.Module,
    input_ids: torch.Tensor | list | None = None,
    *,
    attention_mask: torch.Tensor | None = None,
    generation_config: GenerationConfig | dict | None = None,
    streamer: Any = None,
    callback: Callable[[torch.Tensor], Any] | None = None,
    truncate_prompt: bool = False,
    **kwargs: Any,
) -> torch.Tensor | GenerateOutput | GenerateBeamOutput:
    """Continue ``input_ids`` with ``model``, a registered ``causal-lm`` head.

    input_ids: (batch, length) token ids; a batch of different lengths is padded on the
        LEFT and comes with ``attention_mask`` (1 for tokens, 0 for padding). None starts
        from ``bos_token_id``.
    generation_config: a GenerationConfig (or dict) over the model's defaults
        (``model.generation_config``, read from the checkpoint's generation_config.json).
    kwargs: any GenerationConfig field, overriding both: ``max_new_tokens``,
        ``do_sample``, ``temperature``, ``top_k``, ``top_p``, ``num_beams``,
        ``length_penalty``, ``early_stopping``, ``repetition_penalty``,
        ``no_repeat_ngram_size``, ``num_return_sequences``, ``eos_token_id``,
        ``pad_token_id``, ``min_new_tokens``, ``return_dict_in_generate``,
        ``output_scores``, ...
    streamer: an object with ``put(tensor)`` and ``end()``: put first receives the
        prompt ids, then each new token (batch size 1, no beam search).
    callback: called with the new tokens (rows,) after every step (no beam search).
    truncate_prompt: when prompt + new tokens exceed the model's positions, keep only
        the prompt's last tokens instead of raising.

    Returns the sequences (prompt + new tokens; rows that finished early are padded
    with ``pad_token_id``), or with ``return_dict_in_generate=True`` a GenerateOutput /
    GenerateBeamOutput with ``.sequences`` and, with ``output_scores=True``, ``.scores``.
    Sampling draws with ``torch.multinomial``: seed with ``torch.manual_seed``.
    """
    # Asked each call: the registry may change.
    error = causal_lm_error(type(model), getattr(getattr(model, "config", None), "model_type", None))
    if error:
        raise TypeError(error)
    info = _model_info(model)
    if "inputs" in kwargs:
        if input_ids is not None:
            raise TypeError("generate(): pass the prompt once, as input_ids or inputs")
        input_ids = kwargs.pop("inputs")
    cfg = _resolve_config(model, generation_config, kwargs)
    _check_options(cfg)
    beam = cfg.num_beams > 1
    if beam and (streamer is not None or callback is not None):
        raise ValueError("generate(): streamer and callback follow one sequence token by token, which beam search "
                         "does not have until it ends; use num_beams=1, or print the returned sequences.")
    device = next(model.parameters()).device
    input_ids, attention_mask = _prepare_inputs(model, input_ids, attention_mask, cfg, device)
    plan, input_ids, mask = _plan(model, cfg, input_ids, truncate_prompt, attention_mask)
    if streamer is not None and plan.rows != 1:
        raise ValueError(f"generate(): a streamer follows a single sequence, but this call makes {plan.rows} "
                         "(batch x num_return_sequences); stream one prompt at a time, or use callback=.")
    if cfg.min_new_tokens is not None and plan.min_length > plan.max_length:
        warnings.warn(f"generate(): min_new_tokens={cfg.min_new_tokens} is more than the {plan.max_length - plan.prompt_len} "
                      "new tokens allowed; generation stops at the maximum length.", UserWarning, stacklevel=3)
    procs = _processors(plan)
    if plan.rows == 1:  # every step a product of one row per weight
        lay_out_for_one_row(model)
    with torch.inference_mode():
        stepper = _Stepper(model, info, plan, mask, device)
        if beam:
            return _beam_search(stepper, plan, procs, input_ids)
        return _decode(stepper, plan, procs, input_ids, streamer, callback)
