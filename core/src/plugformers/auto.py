"""The Auto classes: pick the registered class for a checkpoint's model type.

Every AutoModelFor* is the same class with a different head key; the head key is
looked up in the model type's ``ModelType.heads``, the only map from a type to its
classes.
"""

from __future__ import annotations

import json
import os
from typing import Any, ClassVar

from .configuration_utils import PretrainedConfig, read_config_file
from .hub import HubOptions, resolve_file
from .registry import PluginError, registry

__all__ = [
    "AutoConfig",
    "AutoTokenizer",
    "AutoModel",
    "AutoModelForPreTraining",
    "AutoModelForMaskedLM",
    "AutoModelForCausalLM",
    "AutoModelForSequenceClassification",
    "AutoModelForTokenClassification",
    "AutoModelForQuestionAnswering",
    "AutoModelForMultipleChoice",
    "AutoModelForNextSentencePrediction",
    "AutoModelWithLMHead",
]

_HUB_KEYS = ("cache_dir", "revision", "local_files_only", "force_download", "token", "subfolder")
_MODEL_ONLY_KEYS = frozenset({
    "torch_dtype", "dtype", "output_loading_info", "ignore_mismatched_sizes", "allow_pickle",
    "state_dict", "use_safetensors", "low_cpu_mem_usage", "device_map",
})


def _registered_type_of(config_class: type, who: str) -> str:
    model_type = getattr(config_class, "model_type", None)
    if not isinstance(model_type, str) or not model_type:
        raise ValueError(f"{who}: {getattr(config_class, '__name__', config_class)!r} has no model_type; give "
                         "the config class a `model_type: ClassVar[str] = \"...\"` constant.")
    return model_type


def _model_type_of(data: dict, name_or_path: str | os.PathLike) -> str:
    """The model type of a config dict: its ``model_type``, else the name patterns."""
    model_type = data.get("model_type")
    if model_type:
        return model_type
    found = registry.type_for_name(os.fspath(name_or_path))
    if found is None:
        types = registry.model_types()
        raise PluginError(
            f"{name_or_path}: config.json has no 'model_type' (a pytorch-transformers 1.x checkpoint?) and "
            f"no installed plugin's name pattern matches this name. Installed types: {', '.join(types) or 'none'}. "
            "Add \"model_type\": \"...\" to config.json, or load with the model's own class."
        )
    return found


class AutoConfig:
    """Builds the config class registered for a checkpoint's model type."""

    def __init__(self) -> None:
        raise OSError("AutoConfig is not instantiated; use AutoConfig.from_pretrained(...) or AutoConfig.for_model(...)")

    @classmethod
    def for_model(cls, model_type: str, **kwargs: Any) -> PretrainedConfig:
        return registry.config_class(model_type)(**kwargs)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, **kwargs: Any):
        return_unused = kwargs.pop("return_unused_kwargs", False)
        data, kwargs = PretrainedConfig.get_config_dict(pretrained_model_name_or_path, **kwargs)
        model_type = _model_type_of(data, pretrained_model_name_or_path)
        config_cls = registry.config_class(model_type)
        name = os.fspath(pretrained_model_name_or_path)
        source = os.path.join(name, "config.json") if os.path.isdir(name) else name
        return config_cls.from_dict(data, source=source, return_unused_kwargs=return_unused, **kwargs)

    @classmethod
    def register(cls, model_type: str, config_class: type, exist_ok: bool = False) -> None:
        """transformers-style registration of the config class of ``model_type``: a thin
        route onto ``plugformers.register``, with its conflict rules (a type some plugin or
        call already registers with another config needs ``exist_ok=True``). Undo it with
        ``plugformers.unregister(model_type)``."""
        if getattr(config_class, "model_type", model_type) != model_type:
            raise ValueError(
                f"{config_class.__name__}.model_type is {config_class.model_type!r}, not {model_type!r}; "
                "they must match"
            )
        registry.update(model_type, "config", config_class, exist_ok=exist_ok, who="AutoConfig.register")


class _AutoModelBase:
    """AutoModel*: ``from_pretrained`` / ``from_config`` pick the class registered for
    the checkpoint's model type under this Auto class's head key."""

    head: ClassVar[str] = "base"
    fallback_heads: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        raise OSError(f"{type(self).__name__} is not instantiated; use {type(self).__name__}.from_pretrained(...)")

    @classmethod
    def _head_class(cls, model_type: str) -> type:
        spec = registry.get(model_type)
        for head in (cls.head, *cls.fallback_heads):
            if head in spec.heads:
                return registry.head_class(model_type, head)
        asked = " or ".join(repr(h) for h in (cls.head, *cls.fallback_heads))
        raise PluginError(
            f"{cls.__name__}: model_type {model_type!r} has no {asked} head; its heads are: "
            f"{', '.join(spec.heads) or 'none'}. Use the Auto class of one of those heads."
        )

    @classmethod
    def from_config(cls, config: PretrainedConfig, **kwargs: Any):
        return cls._head_class(config.model_type).from_config(config, **kwargs)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, *model_args: Any, **kwargs: Any):
        config = kwargs.pop("config", None)
        hub = {k: kwargs.pop(k) for k in _HUB_KEYS if k in kwargs}
        model_only = {k: kwargs.pop(k) for k in list(kwargs) if k in _MODEL_ONLY_KEYS}
        if config is None or isinstance(config, (str, os.PathLike)):
            source = pretrained_model_name_or_path if config is None else config
            config, kwargs = AutoConfig.from_pretrained(source, return_unused_kwargs=True, **hub, **kwargs)
        model_cls = cls._head_class(config.model_type)
        return model_cls.from_pretrained(
            pretrained_model_name_or_path, *model_args, config=config, **hub, **model_only, **kwargs
        )

    @classmethod
    def register(cls, config_class: type, model_class: type, exist_ok: bool = False) -> None:
        """transformers-style registration of ``model_class`` as the head of this Auto
        class for ``config_class.model_type``: a thin route onto ``plugformers.register``.
        Replacing a head that is already registered needs ``exist_ok=True``."""
        if cls.fallback_heads:
            raise TypeError(
                f"{cls.__name__} serves more than one head key ({', '.join((cls.head, *cls.fallback_heads))}); "
                "register with the Auto class of the one you mean (AutoModelForMaskedLM, AutoModelForCausalLM)."
            )
        model_type = _registered_type_of(config_class, f"{cls.__name__}.register")
        wanted = getattr(model_class, "config_class", None)
        if isinstance(wanted, type) and isinstance(config_class, type) and not issubclass(config_class, wanted):
            raise ValueError(
                f"{cls.__name__}.register: {model_class.__name__}.config_class is {wanted.__name__}, which "
                f"{config_class.__name__} does not subclass; register the model with its own config class."
            )
        registry.update(model_type, "heads", {cls.head: model_class}, config=config_class,
                        exist_ok=exist_ok, who=f"{cls.__name__}.register")


def _auto(name: str, head: str, *fallback: str, doc: str) -> type:
    return type(name, (_AutoModelBase,), {"head": head, "fallback_heads": fallback, "__doc__": doc,
                                          "__module__": __name__})


AutoModel = _auto("AutoModel", "base", doc="The base model (hidden states) of a checkpoint's type.")
AutoModelForPreTraining = _auto("AutoModelForPreTraining", "pretraining", doc="The pre-training heads.")
AutoModelForMaskedLM = _auto("AutoModelForMaskedLM", "masked-lm", doc="A masked language-model head.")
AutoModelForCausalLM = _auto("AutoModelForCausalLM", "causal-lm", doc="A causal language-model head.")
AutoModelForSequenceClassification = _auto(
    "AutoModelForSequenceClassification", "sequence-classification", doc="A sequence classification head.")
AutoModelForTokenClassification = _auto(
    "AutoModelForTokenClassification", "token-classification", doc="A token classification head.")
AutoModelForQuestionAnswering = _auto(
    "AutoModelForQuestionAnswering", "question-answering", doc="A span-extraction question-answering head.")
AutoModelForMultipleChoice = _auto("AutoModelForMultipleChoice", "multiple-choice", doc="A multiple-choice head.")
AutoModelForNextSentencePrediction = _auto(
    "AutoModelForNextSentencePrediction", "next-sentence-prediction", doc="A next-sentence prediction head.")
AutoModelWithLMHead = _auto(
    "AutoModelWithLMHead", "masked-lm", "causal-lm",
    doc="The seed's LM head: masked-lm where the type has it, else causal-lm.")


class AutoTokenizer:
    """Builds the tokenizer class registered for a checkpoint's model type."""

    def __init__(self) -> None:
        raise OSError("AutoTokenizer is not instantiated; use AutoTokenizer.from_pretrained(...)")

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, *inputs: Any, **kwargs: Any):
        name = os.fspath(pretrained_model_name_or_path)
        config = kwargs.pop("config", None)
        probe = dict(kwargs)
        options = HubOptions.pop_from(probe)
        model_type = config.model_type if isinstance(config, PretrainedConfig) else None
        if model_type is None:
            model_type = cls._type_from_files(name, options)
        return registry.tokenizer_class(model_type).from_pretrained(name, *inputs, **kwargs)

    @staticmethod
    def _type_from_files(name: str, options: HubOptions) -> str:
        tok_config = resolve_file(name, "tokenizer_config.json", options, required=False)
        class_name = None
        if tok_config:
            try:
                class_name = json.loads(open(tok_config, encoding="utf-8").read()).get("tokenizer_class")
            except (json.JSONDecodeError, AttributeError):
                class_name = None
        config_path = resolve_file(name, "config.json", options, required=False)
        if config_path:
            data = read_config_file(config_path)
            if data.get("model_type"):
                return data["model_type"]
        if class_name:
            wanted = class_name.removesuffix("Fast")
            for model_type in registry.model_types():
                target = registry.get(model_type).tokenizer
                if target is not None:
                    tname = target.__name__ if isinstance(target, type) else target.rpartition(":")[2]
                    if tname.removesuffix("Fast") == wanted:
                        return model_type
        return _model_type_of({}, name)

    @classmethod
    def register(cls, config_class: type, tokenizer_class: type | None = None, slow_tokenizer_class: type | None = None,
                 fast_tokenizer_class: type | None = None, exist_ok: bool = False) -> None:
        """transformers-style registration of the tokenizer of ``config_class.model_type``:
        a thin route onto ``plugformers.register``. plugformers has one tokenizer class per
        type, so ``slow_tokenizer_class`` and ``fast_tokenizer_class`` (transformers' pair)
        must not name two different classes."""
        given = [t for t in (tokenizer_class, fast_tokenizer_class, slow_tokenizer_class) if t is not None]
        if not given:
            raise ValueError("AutoTokenizer.register needs a tokenizer class")
        if any(t is not given[0] for t in given):
            raise ValueError(
                "AutoTokenizer.register: plugformers keeps one tokenizer class per model type, got "
                f"{', '.join(t.__name__ for t in given)}; register the one to use."
            )
        model_type = _registered_type_of(config_class, "AutoTokenizer.register")
        registry.update(model_type, "tokenizer", given[0], config=config_class,
                        exist_ok=exist_ok, who="AutoTokenizer.register")
