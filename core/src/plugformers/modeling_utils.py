"""PreTrainedModel: loading, saving and the shared machinery of every model class.

from_pretrained builds the model with its parameters on the meta device (no random
init, no memory), then reads the checkpoint file by file (shard by shard) and assigns
the tensors in place, so the weights are held once. Parameters the checkpoint lacks
are then created and initialised, and reported.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import re
import threading
from pathlib import Path
from typing import Any, ClassVar, Iterator

import torch
from torch import nn

from .configuration_utils import PretrainedConfig
from .hub import CheckpointNotFoundError, HubOptions, resolve_file
from .layers import init_normal_
from .serialization import (
    SAFE_WEIGHTS_INDEX_NAME,
    SAFE_WEIGHTS_NAME,
    WEIGHTS_INDEX_NAME,
    WEIGHTS_NAME,
    WeightsError,
    WeightsFile,
    atomic_folder,
    read_index,
    write_weights,
)

__all__ = ["PreTrainedModel", "WeightsError", "MODEL_LOAD_KWARGS"]

logger = logging.getLogger("plugformers")

# Keyword arguments of from_pretrained that are about loading, not config overrides.
MODEL_LOAD_KWARGS = frozenset({
    "torch_dtype", "dtype", "output_loading_info", "ignore_mismatched_sizes", "allow_pickle",
    "state_dict", "use_safetensors", "low_cpu_mem_usage", "device_map",
})
_LEGACY_RENAMES = ((re.compile(r"LayerNorm\.gamma$"), "LayerNorm.weight"),
                   (re.compile(r"LayerNorm\.beta$"), "LayerNorm.bias"))
_state = threading.local()
_INIT_FUNCTIONS = (
    "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_", "dirac_",
    "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_",
)


@contextlib.contextmanager
def _parameters_on_meta() -> Iterator[None]:
    """While active, every parameter a module registers lives on the meta device:
    the model gets its structure without allocating or initialising weights. Buffers
    (position ids and the like, computed in __init__) stay real."""
    original = nn.Module.register_parameter

    def register_parameter(module: nn.Module, name: str, param: nn.Parameter | None) -> None:
        original(module, name, param)
        if param is not None and param.device.type != "meta":
            module._parameters[name] = nn.Parameter(param.to("meta"), requires_grad=param.requires_grad)

    # Modules initialise their new parameters in __init__ (nn.Linear.reset_parameters...);
    # on meta tensors that is wasted work, and torch's meta kernels for random init
    # import torch._dynamo (over a second, ~75 MB). Skip it while building for loading.
    inits = {name: getattr(nn.init, name) for name in _INIT_FUNCTIONS if hasattr(nn.init, name)}

    def skip(tensor, *args, **kwargs):
        return tensor

    nn.Module.register_parameter = register_parameter
    for name in inits:
        setattr(nn.init, name, skip)
    _state.loading = True
    try:
        yield
    finally:
        nn.Module.register_parameter = original
        for name, fn in inits.items():
            setattr(nn.init, name, fn)
        _state.loading = False


def _resolve_dtype(torch_dtype: Any, config: PretrainedConfig) -> torch.dtype | None:
    if torch_dtype is None:
        return None
    if torch_dtype == "auto":
        torch_dtype = config.dtype
        if torch_dtype is None:
            return None
    if isinstance(torch_dtype, str):
        value = getattr(torch, torch_dtype.removeprefix("torch."), None)
        if not isinstance(value, torch.dtype):
            raise ValueError(f"torch_dtype {torch_dtype!r} is not a torch dtype; use e.g. torch.float16 or 'auto'")
        return value
    if not isinstance(torch_dtype, torch.dtype):
        raise ValueError(f"torch_dtype must be a torch.dtype, a string or 'auto', got {torch_dtype!r}")
    return torch_dtype


class PreTrainedModel(nn.Module):
    """Base class of every model: ``from_pretrained``, ``save_pretrained``,
    initialisation, tying, resizing and the usual conveniences.

    Subclasses set ``config_class`` and ``base_model_prefix``, build their modules in
    ``__init__(config)`` after ``super().__init__(config)``, and end with
    ``self.post_init()``.
    """

    config_class: ClassVar[type[PretrainedConfig]] = PretrainedConfig
    base_model_prefix: ClassVar[str] = ""
    supports_gradient_checkpointing: ClassVar[bool] = False
    main_input_name: ClassVar[str] = "input_ids"
    # Regexes of checkpoint keys that may be absent / present without a warning.
    _keys_to_ignore_on_load_missing: ClassVar[list[str]] = []
    _keys_to_ignore_on_load_unexpected: ClassVar[list[str]] = []
    # Parameters that share another's tensor when ``config.tie_word_embeddings`` is true:
    # {key: the key it takes its tensor from}, in state-dict names, as transformers 5 has
    # them ({"lm_head.weight": "transformer.wte.weight"}). Tied, a key is stored once
    # (under its source); untied, every key is a parameter of its own, loaded from and
    # saved under its own name. A list (the older form) names keys that share the input
    # embeddings' weight.
    _tied_weights_keys: ClassVar[dict[str, str] | list[str]] = {}

    def __init__(self, config: PretrainedConfig, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        if not isinstance(config, PretrainedConfig):
            raise TypeError(
                f"{type(self).__name__}(config): config must be a PretrainedConfig, got {type(config).__name__}. "
                f"Build one with {self.config_class.__name__}(...) or load a checkpoint with "
                f"{type(self).__name__}.from_pretrained(...)."
            )
        self.config = config
        self.name_or_path = config.name_or_path
        # Tied keys that a checkpoint gave values of their own: left untied (see _load_weights).
        self._kept_untied: set[str] = set()

    # ------------------------------------------------------------------ init and tying

    def post_init(self) -> None:
        """Called at the end of a subclass's __init__: initialise (unless loading) and tie."""
        if not getattr(_state, "loading", False):
            self.init_weights()
        else:
            self.tie_weights()

    def _init_weights(self, module: nn.Module) -> None:
        init_normal_(module, getattr(self.config, "initializer_range", 0.02))

    def init_weights(self) -> None:
        """Initialise every weight the way the architecture's pretraining did, then tie."""
        self.apply(self._init_weights)
        self.tie_weights()

    @property
    def base_model(self) -> nn.Module:
        return getattr(self, self.base_model_prefix, self)

    def get_input_embeddings(self) -> nn.Module | None:
        base = self.base_model
        if base is not self:
            return base.get_input_embeddings()
        return None

    def set_input_embeddings(self, value: nn.Module) -> None:
        base = self.base_model
        if base is self:
            raise NotImplementedError(f"{type(self).__name__} does not define set_input_embeddings")
        base.set_input_embeddings(value)

    def get_output_embeddings(self) -> nn.Module | None:
        return None

    def tied_weights(self) -> dict[str, str]:
        """{key: source key} of the parameters that share a tensor when the config ties
        the embeddings (``_tied_weights_keys``; a list there means the input embeddings'
        weight is every listed key's source)."""
        keys = self._tied_weights_keys
        if isinstance(keys, dict):
            return dict(keys)
        if not keys:
            return {}
        inp = self.get_input_embeddings()
        source = next((n for n, p in self.named_parameters(remove_duplicate=False)
                       if inp is not None and p is inp.weight), None)
        if source is None:
            raise TypeError(f"{type(self).__name__}._tied_weights_keys lists {keys} but the model has no input "
                            "embeddings to tie them to; give a {key: source key} dict instead.")
        return {key: source for key in keys}

    def tie_weights(self) -> None:
        """When ``config.tie_word_embeddings`` (the default), make every key of
        ``tied_weights()`` the very parameter of its source; otherwise leave each its own.
        While loading, a checkpoint that stores the pair under the key's name only (an LM
        checkpoint's embeddings into a head tied the other way) gives the source its values."""
        if not getattr(self.config, "tie_word_embeddings", True):
            return
        for key, source in self.tied_weights().items():
            if key not in self._kept_untied:
                value, own = self.get_parameter(source), self.get_parameter(key)
                if value.device.type == "meta" and own.device.type != "meta":
                    self._set_parameter(source, own)
                else:
                    self._set_parameter(key, value)

    def _set_parameter(self, key: str, value: nn.Parameter) -> None:
        module_name, _, name = key.rpartition(".")
        setattr(self.get_submodule(module_name) if module_name else self, name, value)

    def _keep_checkpoint_untied(self, loaded: set[str], source: str) -> None:
        """A checkpoint holding a tied key and its source with different values keeps
        both (as transformers does): tying would silently drop the key's trained values."""
        if not getattr(self.config, "tie_word_embeddings", True):
            return
        for key, src in self.tied_weights().items():
            if key in loaded and src in loaded:
                a, b = self.get_parameter(key), self.get_parameter(src)
                if a is not b and not torch.equal(a, b):
                    self._kept_untied.add(key)
                    logger.warning(
                        "%s: the config of %s ties %s to %s, but the checkpoint holds different values for the "
                        "two; both are kept. Set tie_word_embeddings=False in its config.json to say so.",
                        type(self).__name__, source, key, src,
                    )

    # ------------------------------------------------------------------ conveniences

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        for p in self.parameters():
            if p.is_floating_point():
                return p.dtype
        return torch.get_default_dtype()

    def num_parameters(self, only_trainable: bool = False, exclude_embeddings: bool = False) -> int:
        skip = set()
        if exclude_embeddings:
            skip = {id(m.weight) for m in self.modules() if isinstance(m, nn.Embedding)}
        seen: set[int] = set()
        total = 0
        for p in self.parameters():
            if id(p) in seen or id(p) in skip or (only_trainable and not p.requires_grad):
                continue
            seen.add(id(p))
            total += p.numel()
        return total

    def gradient_checkpointing_enable(self, gradient_checkpointing_kwargs: dict | None = None) -> None:
        if not self.supports_gradient_checkpointing:
            raise ValueError(f"{type(self).__name__} does not support gradient checkpointing")
        for module in self.modules():
            if hasattr(module, "gradient_checkpointing"):
                module.gradient_checkpointing = True

    def gradient_checkpointing_disable(self) -> None:
        for module in self.modules():
            if hasattr(module, "gradient_checkpointing"):
                module.gradient_checkpointing = False

    @property
    def is_gradient_checkpointing(self) -> bool:
        return any(getattr(m, "gradient_checkpointing", False) for m in self.modules())

    def resize_token_embeddings(self, new_num_tokens: int | None = None, pad_to_multiple_of: int | None = None) -> nn.Embedding:
        """Grow or shrink the vocabulary: rows kept, new rows initialised, output
        embeddings (and their bias) follow, ``config.vocab_size`` updated."""
        old = self.get_input_embeddings()
        if old is None:
            raise NotImplementedError(f"{type(self).__name__} has no input embeddings to resize")
        if new_num_tokens is None and pad_to_multiple_of is None:
            return old
        n = old.weight.shape[0] if new_num_tokens is None else new_num_tokens
        if pad_to_multiple_of is not None:
            n = ((n + pad_to_multiple_of - 1) // pad_to_multiple_of) * pad_to_multiple_of
        rows = old.weight.shape[0]
        new = self._resized_embedding(old, n)
        self.set_input_embeddings(new)
        # Every other vocabulary-sized parameter follows: the output embeddings' weight
        # and bias and every tied key and source (kept rows, new weight rows initialised,
        # new bias entries zero); tie_weights then shares what the config ties.
        output = self.get_output_embeddings()
        tied = self.tied_weights()
        names = set(tied) | set(tied.values())
        params = dict(self.named_parameters(remove_duplicate=False))
        if output is not None:
            names.update(k for k, p in params.items() if any(p is q for q in output.parameters(recurse=False)))
        if getattr(self.config, "tie_word_embeddings", True):
            names -= set(tied) - self._kept_untied  # tie_weights gives these their source's tensor
        for key in sorted(names):
            p = params.get(key)
            if p is None or p is new.weight or p.dim() == 0 or p.shape[0] != rows:
                continue
            if p.dim() == 1:
                data = torch.zeros(n, dtype=p.dtype, device=p.device)
                data[:min(n, rows)] = p.data[:min(n, rows)]
            else:
                data = self._resized_rows(p, n)
            self._set_parameter(key, nn.Parameter(data, requires_grad=p.requires_grad))
        if output is not None and hasattr(output, "out_features"):
            output.out_features = n
        self.config.vocab_size = n
        self.tie_weights()
        return self.get_input_embeddings()

    def _resized_rows(self, weight: torch.Tensor, n: int) -> torch.Tensor:
        data = torch.empty(n, *weight.shape[1:], dtype=weight.dtype, device=weight.device)
        data.normal_(0.0, getattr(self.config, "initializer_range", 0.02))
        keep = min(n, weight.shape[0])
        data[:keep] = weight.data[:keep]
        return data

    def _resized_embedding(self, old: nn.Embedding, n: int) -> nn.Embedding:
        new = nn.Embedding(n, old.embedding_dim, padding_idx=old.padding_idx if (old.padding_idx or 0) < n else None,
                           device=old.weight.device, dtype=old.weight.dtype)
        new.weight.data = self._resized_rows(old.weight, n)
        return new

    def _flags(self, output_attentions: bool | None, output_hidden_states: bool | None,
               return_dict: bool | None) -> tuple[bool, bool, bool]:
        """A forward's output switches: each argument, or the config's value when it is None."""
        config = self.config
        return (
            config.output_attentions if output_attentions is None else output_attentions,
            config.output_hidden_states if output_hidden_states is None else output_hidden_states,
            config.use_return_dict if return_dict is None else return_dict,
        )

    # ------------------------------------------------------------------ generation

    def generate(self, input_ids: torch.Tensor | None = None, **kwargs: Any) -> Any:
        """Generate continuations of ``input_ids``: greedy, sampling or beam search.
        Only models registered as a type's ``causal-lm`` head can generate; see
        ``plugformers.generation.generate`` for the arguments."""
        from .generation import generate

        return generate(self, input_ids, **kwargs)

    @classmethod
    def can_generate(cls) -> bool:
        """Whether ``generate()`` works on this class: it is (a subclass of) the
        ``causal-lm`` head that its config's model_type registers."""
        from .generation import causal_lm_error

        return causal_lm_error(cls, getattr(cls.config_class, "model_type", None)) is None

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_config(cls, config: PretrainedConfig, *, torch_dtype: Any = None, **kwargs: Any):
        """A randomly initialised model for ``config``."""
        dtype = _resolve_dtype(torch_dtype, config)
        model = cls(copy.deepcopy(config), **kwargs)
        return model.to(dtype) if dtype is not None else model

    _from_config = from_config

    # ------------------------------------------------------------------ loading

    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: str | os.PathLike,
        *model_args: Any,
        config: PretrainedConfig | str | os.PathLike | None = None,
        cache_dir: str | os.PathLike | None = None,
        revision: str | None = None,
        local_files_only: bool = False,
        force_download: bool = False,
        token: str | bool | None = None,
        torch_dtype: Any = None,
        output_loading_info: bool = False,
        ignore_mismatched_sizes: bool = False,
        allow_pickle: bool = False,
        state_dict: dict[str, torch.Tensor] | None = None,
        use_safetensors: bool | None = None,
        **kwargs: Any,
    ):
        """Load a model from a local folder or a Hub repo.

        ``kwargs`` that are config attributes override the checkpoint's config
        (``output_attentions=True``, ``num_labels=3``); the rest go to the model's
        ``__init__``. ``torch_dtype`` (a dtype or ``"auto"``) sets the parameters'
        dtype; ``allow_pickle=True`` lets a .bin file that needs full unpickling load.
        """
        name = os.fspath(pretrained_model_name_or_path)
        subfolder = kwargs.pop("subfolder", "")
        torch_dtype = kwargs.pop("dtype", torch_dtype)
        for ignored in ("low_cpu_mem_usage", "device_map"):
            kwargs.pop(ignored, None)
        options = HubOptions(cache_dir, revision, local_files_only, force_download, token, subfolder)
        hub_kwargs = dict(cache_dir=cache_dir, revision=revision, local_files_only=local_files_only,
                          force_download=force_download, token=token, subfolder=subfolder)
        if config is None or isinstance(config, (str, os.PathLike)):
            config_source = name if config is None else config
            config, model_kwargs = cls.config_class.from_pretrained(
                config_source, return_unused_kwargs=True, **hub_kwargs, **kwargs
            )
        else:
            config = copy.deepcopy(config)
            model_kwargs = {}
            for key, value in kwargs.items():
                if key in type(config).model_fields or key in type(config).attribute_map or key == "num_labels":
                    setattr(config, key, value)
                else:
                    model_kwargs[key] = value
        if not isinstance(config, cls.config_class):
            raise TypeError(
                f"{cls.__name__} needs a {cls.config_class.__name__}, got {type(config).__name__}; "
                "use the Auto classes to pick the model class from the checkpoint."
            )
        dtype = _resolve_dtype(torch_dtype, config)

        files = [] if state_dict is not None else cls._weight_files(name, options, use_safetensors)
        with _parameters_on_meta():
            model = cls(config, *model_args, **model_kwargs)
        info = model._load_weights(files, state_dict, dtype=dtype, allow_pickle=allow_pickle,
                                   ignore_mismatched_sizes=ignore_mismatched_sizes, source=name)
        model.name_or_path = name
        if dtype is not None:
            model.to(dtype)
        if cls.can_generate():
            from .generation import GENERATION_CONFIG_NAME, checkpoint_generation_config

            path = resolve_file(name, GENERATION_CONFIG_NAME, options, required=False)
            model.generation_config = checkpoint_generation_config(config, path)
        model.eval()
        return (model, info) if output_loading_info else model

    @classmethod
    def _weight_files(cls, name: str, options: HubOptions, use_safetensors: bool | None) -> list[str]:
        """Local paths of the checkpoint's weight files: safetensors first, then .bin,
        either whole or sharded (each shard fetched in turn)."""
        candidates = []
        if use_safetensors is not False:
            candidates += [SAFE_WEIGHTS_NAME, SAFE_WEIGHTS_INDEX_NAME]
        if not use_safetensors:
            candidates += [WEIGHTS_NAME, WEIGHTS_INDEX_NAME]
        for filename in candidates:
            path = resolve_file(name, filename, options, required=False)
            if path is None:
                continue
            if not filename.endswith(".index.json"):
                return [path]
            shards = list(dict.fromkeys(read_index(path).values()))
            folder_in_repo = os.path.dirname(filename)
            return [resolve_file(name, os.path.join(folder_in_repo, s), options) for s in shards]
        where = name if os.path.isdir(name) else f"Hub repo {name!r}"
        other = ""
        if os.path.isdir(name):
            found = [p.name for p in Path(name).iterdir() if p.suffix in (".h5", ".msgpack", ".ckpt", ".pt", ".pth")]
            if found:
                other = f" It holds {found}, which are not in a format plugformers reads (PyTorch state dicts in safetensors or .bin)."
        raise CheckpointNotFoundError(
            f"{where}: no weights file found (looked for {', '.join(candidates)}).{other} "
            "Save the model there with save_pretrained(), or check the path / repo id."
        )

    def _checkpoint_key_mapper(self, keys: list[str]):
        """How checkpoint keys become this model's keys: legacy names, and the base
        model prefix added (base checkpoint into a head model) or removed (head
        checkpoint into a base model)."""
        prefix = self.base_model_prefix
        expected = set(self.state_dict().keys())
        add = strip = False
        if prefix:
            has_prefixed = any(k.startswith(prefix + ".") for k in keys)
            is_head = self.base_model is not self
            add = is_head and not has_prefixed
            strip = not is_head and has_prefixed

        def mapped(key: str) -> str:
            for pattern, repl in _LEGACY_RENAMES:
                key = pattern.sub(repl, key)
            if add and f"{prefix}.{key}" in expected:
                return f"{prefix}.{key}"
            if strip and key.startswith(prefix + "."):
                return key[len(prefix) + 1:]
            return key

        return mapped

    def _load_weights(self, files: list[str], state_dict: dict | None, *, dtype, allow_pickle: bool,
                      ignore_mismatched_sizes: bool, source: str) -> dict[str, list]:
        expected = self.state_dict()  # meta tensors: shapes without storage
        sources = [WeightsFile(f, allow_pickle) for f in files]
        all_keys = list(state_dict) if state_dict is not None else [k for s in sources for k in s.keys()]
        mapper = self._checkpoint_key_mapper(all_keys)
        loaded: set[str] = set()
        unexpected: list[str] = []
        mismatched: list[tuple[str, tuple, tuple]] = []
        chunks = [state_dict] if state_dict is not None else (s.load() for s in sources)
        for chunk, src in zip(chunks, files or [source]):
            part = {}
            for key, tensor in chunk.items():
                own = mapper(key)
                if own not in expected:
                    unexpected.append(key)
                    continue
                want = tuple(expected[own].shape)
                if tuple(tensor.shape) != want:
                    if not ignore_mismatched_sizes:
                        raise WeightsError(
                            f"{src}: weight {key!r} has shape {tuple(tensor.shape)} but "
                            f"{type(self).__name__} expects {want} for {own!r} (from the config). Check that "
                            "the config matches the checkpoint, or pass ignore_mismatched_sizes=True to "
                            "re-initialise the mismatched weights (e.g. a new classification head)."
                        )
                    mismatched.append((own, tuple(tensor.shape), want))
                    continue
                if dtype is not None and tensor.is_floating_point():
                    tensor = tensor.to(dtype)
                part[own] = tensor
                loaded.add(own)
            self.load_state_dict(part, strict=False, assign=True)
            del chunk, part
        self._keep_checkpoint_untied(loaded, source)
        self.tie_weights()
        missing = self._materialise_missing(dtype)  # after tying: a tied weight is not missing
        ignore_missing = [re.compile(p) for p in self._keys_to_ignore_on_load_missing]
        ignore_unexpected = [re.compile(p) for p in self._keys_to_ignore_on_load_unexpected]
        report_missing = [k for k in missing if not any(p.search(k) for p in ignore_missing)]
        report_unexpected = [k for k in unexpected if not any(p.search(k) for p in ignore_unexpected)]
        name = type(self).__name__
        if report_missing or mismatched:
            logger.warning(
                "%s: weights not in the checkpoint %s were newly initialised: %s%s. Train the model before "
                "using it for predictions.", name, source,
                ", ".join(report_missing[:20]) + (" ..." if len(report_missing) > 20 else ""),
                "".join(f"; {k} re-initialised ({a} in checkpoint, {b} in model)" for k, a, b in mismatched),
            )
        if report_unexpected:
            logger.warning(
                "%s: weights of the checkpoint %s not used: %s. Expected when loading a checkpoint of "
                "another head (e.g. a pre-training checkpoint into a classifier).", name, source,
                ", ".join(report_unexpected[:20]) + (" ..." if len(report_unexpected) > 20 else ""),
            )
        return {"missing_keys": report_missing, "unexpected_keys": report_unexpected,
                "mismatched_keys": mismatched, "error_msgs": []}

    def _materialise_missing(self, dtype: torch.dtype | None) -> list[str]:
        """Create and initialise the parameters that are still on the meta device."""
        missing = [n for n, p in self.named_parameters(remove_duplicate=False) if p.device.type == "meta"]
        if not missing:
            return []
        owners: dict[str, nn.Module] = {}
        for name in missing:
            module_name = name.rpartition(".")[0]
            owners[module_name] = self.get_submodule(module_name) if module_name else self
        for module in owners.values():
            kept = {}
            for pname, p in list(module._parameters.items()):
                if p is None:
                    continue
                if p.device.type == "meta":
                    module._parameters[pname] = nn.Parameter(
                        torch.empty(p.shape, dtype=dtype or p.dtype), requires_grad=p.requires_grad
                    )
                else:
                    kept[pname] = p.data.clone()
            self._init_weights(module)
            for pname, data in kept.items():
                module._parameters[pname].data = data
        self.tie_weights()
        return missing

    # ------------------------------------------------------------------ saving

    def save_pretrained(
        self,
        save_directory: str | os.PathLike,
        *,
        safe_serialization: bool = True,
        max_shard_size: int | str = "5GB",
        state_dict: dict[str, torch.Tensor] | None = None,
        is_main_process: bool = True,
    ) -> None:
        """Write config.json and the weights (model.safetensors, or shards and an index)
        to ``save_directory``, atomically: a save cut short leaves the folder as it was."""
        if not is_main_process:
            return
        config = copy.deepcopy(self.config)
        config.architectures = [type(self).__name__]
        if self.dtype != torch.float32:
            config.dtype = str(self.dtype).removeprefix("torch.")
        tensors = self._unique_state_dict(state_dict if state_dict is not None else self.state_dict())
        generation_config = getattr(self, "generation_config", None)
        with atomic_folder(save_directory) as tmp:
            (tmp / "config.json").write_text(config.to_json_string(), encoding="utf-8")
            if generation_config is not None and generation_config.explicit():
                generation_config.save_pretrained(tmp)
            write_weights(tmp, tensors, safe=safe_serialization, max_shard_size=max_shard_size)

    def _unique_state_dict(self, state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Drop the second and later names of tensors that share storage (tied weights),
        preferring to drop names listed in ``_tied_weights_keys``."""
        tied = set(self.tied_weights())
        by_storage: dict[tuple, list[str]] = {}
        for key, tensor in state_dict.items():
            ident = (tensor.untyped_storage().data_ptr(), tensor.storage_offset(), tuple(tensor.shape), tensor.dtype)
            by_storage.setdefault(ident, []).append(key)
        drop = set()
        for names in by_storage.values():
            if len(names) > 1:
                keep = next((n for n in names if n not in tied), names[0])
                drop.update(n for n in names if n != keep)
        return {k: v.detach() for k, v in state_dict.items() if k not in drop}
