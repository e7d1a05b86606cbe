"""PretrainedConfig: a checkpoint's config.json as a validated pydantic model.

Every architecture's config subclasses PretrainedConfig with its own typed fields and
sets ``model_type`` as a class constant. Keys the class does not know are kept (real
checkpoints carry many), and a key that looks like a misspelling of a known field is
warned about.
"""

from __future__ import annotations

import copy
import difflib
import json
import os
import warnings
from contextvars import ContextVar
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from .hub import HubOptions, resolve_file

__all__ = ["PretrainedConfig", "ConfigError", "CONFIG_NAME"]

CONFIG_NAME = "config.json"

# Keys transformers and pytorch-transformers write that are bookkeeping, not fields:
# kept when present, never warned about as near misses.
_BOOKKEEPING_KEYS = frozenset({
    "transformers_version", "_name_or_path", "_commit_hash", "_attn_implementation",
    "_attn_implementation_autoset", "name_or_path", "plugformers_version",
})


# The file a config is being read from, for error messages (pydantic calls __init__).
_SOURCE: ContextVar[str | None] = ContextVar("plugformers_config_source", default=None)


class ConfigError(ValueError):
    """A config (a config.json file or keyword arguments) that cannot be used."""


def _describe_validation_error(error: ValidationError, where: str, cls_name: str) -> str:
    lines = []
    for item in error.errors():
        field = ".".join(str(p) for p in item["loc"]) or "(config)"
        value = item.get("input")
        shown = repr(value) if len(repr(value)) < 60 else repr(value)[:57] + "..."
        if item["type"].startswith("value_error"):
            lines.append(f"  {field}: {item['msg'].removeprefix('Value error, ')}")
        else:
            lines.append(f"  {field} = {shown} ({type(value).__name__}): {item['msg']}")
    return f"{where}: invalid {cls_name}:\n" + "\n".join(lines) + "\nFix these values and try again."


class PretrainedConfig(BaseModel):
    """Base class of every architecture's config.

    Subclasses declare typed fields with one-line descriptions and set ``model_type``.
    ``attribute_map`` maps common names (``hidden_size``) to an architecture's own
    (``n_embd``) for reading and writing.
    """

    model_config = ConfigDict(
        extra="allow",
        validate_assignment=True,
        strict=True,
        protected_namespaces=(),
        arbitrary_types_allowed=True,
    )

    model_type: ClassVar[str] = ""
    attribute_map: ClassVar[dict[str, str]] = {}

    # What a model returns and how.
    output_hidden_states: bool = False
    output_attentions: bool = False
    return_dict: bool = True
    torchscript: bool = False
    dtype: str | None = None
    # Structure shared by many architectures.
    tie_word_embeddings: bool = True
    is_decoder: bool = False
    add_cross_attention: bool = False
    is_encoder_decoder: bool = False
    chunk_size_feed_forward: int = 0
    pruned_heads: dict[int, list[int]] = {}
    # Provenance and task heads.
    architectures: list[str] | None = None
    finetuning_task: str | None = None
    id2label: dict[int, str] = {0: "LABEL_0", 1: "LABEL_1"}
    label2id: dict[str, int] = {"LABEL_0": 0, "LABEL_1": 1}
    problem_type: Literal["regression", "single_label_classification", "multi_label_classification"] | None = None
    tokenizer_class: str | None = None
    prefix: str | None = None
    task_specific_params: dict[str, Any] | None = None
    # Special token ids.
    bos_token_id: int | None = None
    pad_token_id: int | None = None
    eos_token_id: int | list[int] | None = None
    sep_token_id: int | None = None
    decoder_start_token_id: int | None = None

    # ------------------------------------------------------------------ validation

    @model_validator(mode="before")
    @classmethod
    def _normalise_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for common, own in cls.attribute_map.items():
            if common in data:
                value = data.pop(common)
                data.setdefault(own, value)
        if "torch_dtype" in data:  # the transformers 4 name of `dtype`
            data.setdefault("dtype", data.pop("torch_dtype"))
        if type(data.get("dtype")).__name__ == "dtype":  # a torch.dtype, without importing torch
            data["dtype"] = str(data["dtype"]).removeprefix("torch.")
        num_labels = data.pop("num_labels", None)
        if num_labels is not None:
            if isinstance(num_labels, bool) or not isinstance(num_labels, int) or num_labels < 1:
                raise ValueError(f"num_labels must be a positive integer, got {num_labels!r}")
            id2label = data.get("id2label")
            if id2label is None or len(id2label) != num_labels:
                data["id2label"] = {i: f"LABEL_{i}" for i in range(num_labels)}
                data["label2id"] = {f"LABEL_{i}": i for i in range(num_labels)}
        if "id2label" in data and "label2id" not in data and isinstance(data["id2label"], dict):
            data["label2id"] = {v: int(k) for k, v in data["id2label"].items()}
        known = set(cls.model_fields) | set(cls.attribute_map) | _BOOKKEEPING_KEYS
        for key in data:
            if key in known or key.startswith("_"):
                continue
            close = difflib.get_close_matches(key, sorted(cls.model_fields), n=1, cutoff=0.85)
            if close:
                warnings.warn(
                    f"{cls.__name__}: unknown key {key!r} is kept as is; did you mean {close[0]!r}?",
                    UserWarning,
                    stacklevel=4,
                )
        return data

    @field_validator("id2label", mode="before")
    @classmethod
    def _int_label_keys(cls, value: Any) -> Any:
        if isinstance(value, dict):
            try:
                return {int(k): v for k, v in value.items()}
            except (TypeError, ValueError):
                raise ValueError(f"id2label keys must be integers, got {list(value)[:5]}") from None
        return value

    @field_validator("pruned_heads", mode="before")
    @classmethod
    def _int_pruned_keys(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {int(k): list(v) for k, v in value.items()}
        return value

    @field_validator("label2id", mode="before")
    @classmethod
    def _int_label_values(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: int(v) for k, v in value.items()}
        return value

    # ------------------------------------------------------------------ construction

    def __init__(self, **kwargs: Any) -> None:
        try:
            super().__init__(**kwargs)
        except ValidationError as e:
            where = _SOURCE.get() or type(self).__name__
            raise ConfigError(_describe_validation_error(e, where, type(self).__name__)) from None

    def __setattr__(self, name: str, value: Any) -> None:
        name = type(self).attribute_map.get(name, name)
        if name == "num_labels":
            self._set_num_labels(value)
            return
        missing = object()
        before = self.__dict__.get(name, missing)
        try:
            super().__setattr__(name, value)
        except ValidationError as e:
            # a cross-field rule fails after pydantic stored the value: put the old one back
            if before is not missing and self.__dict__.get(name, missing) is not before:
                self.__dict__[name] = before
            raise ConfigError(_describe_validation_error(e, type(self).__name__, type(self).__name__)) from None

    def __getattr__(self, name: str) -> Any:
        own = type(self).attribute_map.get(name)
        if own is not None:
            return getattr(self, own)
        return super().__getattr__(name)

    @property
    def num_labels(self) -> int:
        """How many labels a classification head predicts (the length of id2label)."""
        return len(self.id2label)

    def _set_num_labels(self, n: int) -> None:
        if self.id2label is None or len(self.id2label) != n:
            self.id2label = {i: f"LABEL_{i}" for i in range(n)}
            self.label2id = {f"LABEL_{i}": i for i in range(n)}

    @property
    def use_return_dict(self) -> bool:
        return self.return_dict and not self.torchscript

    @property
    def name_or_path(self) -> str:
        return (self.model_extra or {}).get("_name_or_path", "")

    # ------------------------------------------------------------------ dict / json

    def to_dict(self) -> dict[str, Any]:
        """Every field and every kept unknown key, plus ``model_type``."""
        out = {"model_type": self.model_type} if self.model_type else {}
        out.update(copy.deepcopy(self.model_dump()))
        return out

    def to_diff_dict(self) -> dict[str, Any]:
        """What config.json holds: the architecture's own fields, the shared fields that
        differ from their defaults, and kept unknown keys."""
        full = self.to_dict()
        base_fields = PretrainedConfig.model_fields
        own = {k for c in type(self).__mro__[: type(self).__mro__.index(PretrainedConfig)]
               for k in c.__dict__.get("__annotations__", {})}
        out = {}
        for key, value in full.items():
            if key in base_fields and key not in own:
                default = base_fields[key].get_default(call_default_factory=True)
                if value == default:
                    continue
            if key == "_name_or_path":
                continue
            out[key] = value
        return out

    def to_json_string(self, use_diff: bool = True) -> str:
        data = self.to_diff_dict() if use_diff else self.to_dict()
        return json.dumps(_jsonable(data), indent=2, sort_keys=True) + "\n"

    def to_json_file(self, path: str | os.PathLike, use_diff: bool = True) -> None:
        Path(path).write_text(self.to_json_string(use_diff=use_diff), encoding="utf-8")

    def save_pretrained(self, save_directory: str | os.PathLike) -> None:
        from .serialization import atomic_write_text

        if os.path.isfile(save_directory):
            raise ConfigError(f"save_pretrained: {save_directory} is a file; pass a folder.")
        os.makedirs(save_directory, exist_ok=True)
        atomic_write_text(Path(save_directory) / CONFIG_NAME, self.to_json_string())

    def update(self, values: dict[str, Any]) -> None:
        for key, value in values.items():
            setattr(self, key, value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PretrainedConfig) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"{type(self).__name__} {self.to_json_string(use_diff=False)}"

    __str__ = __repr__

    # ------------------------------------------------------------------ loading

    @classmethod
    def from_dict(cls, config_dict: dict[str, Any], *, source: str | None = None,
                  return_unused_kwargs: bool = False, **kwargs: Any):
        """Build a config from a dict; ``kwargs`` override its values.

        With ``return_unused_kwargs=True`` returns ``(config, unused)`` where unused
        holds the keyword arguments that are not config attributes.
        """
        data = {k: v for k, v in config_dict.items() if k != "model_type"}
        unused = {}
        known = set(cls.model_fields) | set(cls.attribute_map) | {"num_labels", "torch_dtype"}
        for key, value in kwargs.items():
            if key in known or key in data:
                data[key] = value
            elif return_unused_kwargs:
                unused[key] = value
            else:
                data[key] = value
        token = _SOURCE.set(source)
        try:
            config = cls(**data)
        finally:
            _SOURCE.reset(token)
        return (config, unused) if return_unused_kwargs else config

    @classmethod
    def from_json_file(cls, path: str | os.PathLike):
        return cls.from_dict(read_config_file(path), source=str(path))

    @classmethod
    def get_config_dict(cls, name_or_path: str | os.PathLike, **kwargs: Any) -> tuple[dict, dict]:
        """Read config.json of a folder, a Hub repo or a json file; returns (dict, kwargs left)."""
        options = HubOptions.pop_from(kwargs)
        if os.path.isfile(name_or_path):
            path = os.fspath(name_or_path)
        else:
            path = resolve_file(name_or_path, CONFIG_NAME, options)
        data = read_config_file(path)
        data.setdefault("_name_or_path", os.fspath(name_or_path))
        return data, kwargs

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike, **kwargs: Any):
        """Load from a folder, a Hub repo id or a config.json path; kwargs override values."""
        return_unused = kwargs.pop("return_unused_kwargs", False)
        data, kwargs = cls.get_config_dict(name_or_path, **kwargs)
        stored_type = data.get("model_type")
        if cls.model_type and stored_type and stored_type != cls.model_type:
            warnings.warn(
                f"{name_or_path}: config.json has model_type {stored_type!r} but is loaded as "
                f"{cls.__name__} ({cls.model_type!r}); use AutoConfig to pick the class from the file.",
                UserWarning,
                stacklevel=2,
            )
        source = os.path.join(os.fspath(name_or_path), CONFIG_NAME) if os.path.isdir(name_or_path) else str(name_or_path)
        return cls.from_dict(data, source=source, return_unused_kwargs=return_unused, **kwargs)


def read_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """Parse a config.json, with errors that name the file and the position."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text ({e}); config.json must be a JSON object.") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(
            f"{path}: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg}). "
            "Fix the file, or save it again with config.save_pretrained()."
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: config.json must hold a JSON object, found {type(data).__name__}.")
    return data


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if type(value).__name__ == "dtype":
        return str(value).removeprefix("torch.")
    return value
