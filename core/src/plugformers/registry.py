"""The plugin registry: which model types are installed, and their classes.

Plugins are found through the ``plugformers`` entry point group the first time the
registry is asked anything. Each entry module is imported on its own, inside
try/except; its ``register_model_types`` hook receives a ``register`` callback. Classes
are kept as ``"module:attr"`` strings and imported on first use, so discovery imports
no torch and no modeling code.
"""

from __future__ import annotations

import dataclasses
import difflib
import gc
import importlib
import json
import os
import re
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import Any, Mapping

import pluggy

from . import hookspecs

__all__ = [
    "ModelType",
    "Registry",
    "registry",
    "register",
    "unregister",
    "PluginError",
    "PluginConflictError",
    "UnknownModelTypeError",
    "HEAD_KEYS",
]

ENTRY_POINT_GROUP = "plugformers"
RUNTIME = "<runtime>"

# The head keys every architecture may fill (DESIGN.md); a plugin may add its own keys
# for heads peculiar to its architecture.
HEAD_KEYS = (
    "base",
    "pretraining",
    "masked-lm",
    "causal-lm",
    "sequence-classification",
    "token-classification",
    "question-answering",
    "multiple-choice",
    "next-sentence-prediction",
)
_HEAD_KEY_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_CLASS_PATH_RE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


class PluginError(RuntimeError):
    """A plugin, or a ModelType it registers, is not usable."""


class PluginConflictError(PluginError):
    """Two plugins claim one model_type."""


class UnknownModelTypeError(KeyError, ValueError):
    """No installed plugin provides the model type that was asked for."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def _freeze(mapping: Mapping | None) -> Mapping:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class ModelType:
    """One architecture as a plugin registers it.

    model_type: the ``model_type`` value of config.json that this entry serves.
    config / tokenizer: the classes, or ``"module:attr"`` strings imported on first use.
    heads: head key (``base``, ``masked-lm``, ...) -> model class or ``"module:attr"``.
    name_patterns: substrings of a checkpoint's name or path that select this type
        when its config.json has no ``model_type`` (pytorch-transformers 1.x).
    legacy_names: short names (``bert-base-uncased``) -> their Hub repo ids.
    tiny_config: config values for a tiny model, used by the conformance suite.
    """

    model_type: str
    config: str | type
    tokenizer: str | type | None = None
    heads: Mapping[str, str | type] = field(default_factory=dict)
    name_patterns: tuple[str, ...] = ()
    legacy_names: Mapping[str, str] = field(default_factory=dict)
    tiny_config: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "heads", _freeze(self.heads))
        object.__setattr__(self, "legacy_names", _freeze(self.legacy_names))
        object.__setattr__(self, "tiny_config", _freeze(self.tiny_config))
        problems = []
        if isinstance(self.name_patterns, str):
            problems.append(f"name_patterns must be a tuple of strings, got the string {self.name_patterns!r}")
        object.__setattr__(self, "name_patterns", tuple(self.name_patterns))
        if not isinstance(self.model_type, str) or not self.model_type:
            problems.append(f"model_type must be a non-empty string, got {self.model_type!r}")
        for key, target in self.heads.items():
            if not isinstance(key, str) or not _HEAD_KEY_RE.match(key):
                problems.append(
                    f"head key {key!r} is not a lower-case, dash-separated name; the shared keys are "
                    f"{', '.join(HEAD_KEYS)}"
                )
            problems += _check_target(f"heads[{key!r}]", target)
        problems += _check_target("config", self.config)
        if self.tokenizer is not None:
            problems += _check_target("tokenizer", self.tokenizer)
        if not all(isinstance(p, str) and p for p in self.name_patterns):
            problems.append(f"name_patterns must be a tuple of non-empty strings, got {self.name_patterns!r}")
        if problems:
            raise PluginError(f"invalid ModelType {self.model_type!r}: " + "; ".join(problems))


def _check_target(what: str, target: Any) -> list[str]:
    if isinstance(target, type):
        return []
    if isinstance(target, str) and _CLASS_PATH_RE.match(target):
        return []
    return [f"{what} must be a class or a 'module:attr' string, got {target!r}"]


def _class_name(target: str | type) -> str:
    return target.__name__ if isinstance(target, type) else target.rpartition(":")[2].rpartition(".")[2]


@dataclass
class Registration:
    """A ModelType together with the plugin and distribution that registered it."""

    spec: ModelType
    plugin: str
    distribution: str | None
    version: str | None = None

    @property
    def source(self) -> str:
        if self.distribution:
            return f"plugin {self.plugin!r} from distribution {self.distribution} {self.version or ''}".rstrip()
        return f"plugin {self.plugin!r} (registered at run time)" if self.plugin != RUNTIME else "a run-time register() call"


@dataclass
class PluginInfo:
    """What `plugformers plugins` shows of one plugin."""

    name: str
    distribution: str | None
    version: str | None
    module: str
    model_types: list[str] = field(default_factory=list)
    error: str | None = None


def _catalog() -> dict[str, Any]:
    """First-party plugins that may not be installed: install hints, read from data."""
    return json.loads((Path(__file__).with_name("catalog.json")).read_text(encoding="utf-8"))


class Registry:
    """All registered model types; loads the installed plugins on first use."""

    def __init__(self, entry_point_group: str = ENTRY_POINT_GROUP) -> None:
        self.group = entry_point_group
        self._lock = threading.RLock()
        self._loaded = False
        self._types: dict[str, list[Registration]] = {}
        self._plugins: dict[str, PluginInfo] = {}
        self._resolved: dict[str | type, Any] = {}
        self._pm = pluggy.PluginManager(hookspecs.PROJECT)
        self._pm.add_hookspecs(hookspecs)

    # ------------------------------------------------------------------ discovery

    def _ensure_loaded(self) -> None:
        if self._loaded:
            return
        with self._lock:
            if not self._loaded:
                self._loaded = True
                self._load_entry_points()

    def _load_entry_points(self) -> None:
        from importlib.metadata import entry_points

        disabled = {n.strip() for n in os.environ.get("PLUGFORMERS_DISABLE", "").split(",") if n.strip()}
        for ep in sorted(entry_points(group=self.group), key=lambda e: e.name):
            dist = getattr(ep, "dist", None)
            info = PluginInfo(ep.name, dist.name if dist else None, dist.version if dist else None, ep.value)
            if ep.name in disabled or (info.distribution and info.distribution in disabled):
                continue
            if ep.name in self._plugins:
                other = self._plugins[ep.name]
                self._broken(info, f"plugin name {ep.name!r} is also used by {other.distribution}; skipped")
                continue
            self._plugins[ep.name] = info
            try:
                module = ep.load()
            except Exception as e:  # noqa: BLE001 - one plugin's failure must not stop the others
                self._broken(info, f"import of {ep.value} failed: {type(e).__name__}: {e}")
                continue
            try:
                self._add_module(module, info)
            except Exception as e:  # noqa: BLE001
                self._broken(info, f"{type(e).__name__}: {e}")

    def _broken(self, info: PluginInfo, error: str) -> None:
        info.error = error
        self._plugins[info.name] = info
        for regs in self._types.values():
            regs[:] = [r for r in regs if r.plugin != info.name]
        warnings.warn(
            f"plugformers: plugin {info.name!r} (distribution {info.distribution or 'unknown'}) is "
            f"skipped: {error}",
            RuntimeWarning,
            stacklevel=4,
        )

    def _add_module(self, module: ModuleType | object, info: PluginInfo) -> None:
        """Register a plugin module's hooks, check them, and run register_model_types."""
        self._pm.register(module, name=info.name)
        try:
            self._pm.check_pending()  # a misspelled hook name is an error, not silence
        except pluggy.PluginValidationError as e:
            self._pm.unregister(name=info.name)
            raise PluginError(f"{e} (hooks are: {', '.join(_hook_names())})") from None
        impls = [i for i in self._pm.hook.register_model_types.get_hookimpls() if i.plugin_name == info.name]
        registered: list[Registration] = []

        def register(spec: ModelType) -> None:
            if not isinstance(spec, ModelType):
                raise PluginError(f"register() takes a plugformers.ModelType, got {type(spec).__name__}")
            registered.append(Registration(spec, info.name, info.distribution, info.version))

        for impl in impls:
            kwargs = {"register": register} if "register" in impl.argnames else {}
            impl.function(**kwargs)
        for reg in registered:
            self._types.setdefault(reg.spec.model_type, []).append(reg)
            info.model_types.append(reg.spec.model_type)

    def add_plugin(self, module: ModuleType | object, name: str | None = None) -> PluginInfo:
        """Register an in-process plugin module (tests, notebooks); errors are raised."""
        self._ensure_loaded()
        name = name or getattr(module, "__name__", repr(module))
        with self._lock:
            if name in self._plugins:
                raise PluginError(f"a plugin named {name!r} is already registered")
            info = PluginInfo(name, None, None, getattr(module, "__name__", repr(module)))
            self._add_module(module, info)
            self._plugins[name] = info
            self._resolved.clear()
            return info

    def remove_plugin(self, name: str) -> None:
        with self._lock:
            self._plugins.pop(name, None)
            if self._pm.has_plugin(name):
                self._pm.unregister(name=name)
            for key in list(self._types):
                self._types[key] = [r for r in self._types[key] if r.plugin != name]
                if not self._types[key]:
                    del self._types[key]
            self._resolved.clear()

    # ------------------------------------------------------------------ run-time registration

    def register(self, spec: ModelType, *, replace: bool = False) -> None:
        """Register a ModelType at run time, without a package.

        Raises PluginConflictError if the type is already registered, naming who holds
        it, unless ``replace=True``.
        """
        if not isinstance(spec, ModelType):
            raise PluginError(f"register() takes a plugformers.ModelType, got {type(spec).__name__}")
        self._ensure_loaded()
        with self._lock:
            held = self._types.get(spec.model_type, [])
            if held and not replace:
                raise PluginConflictError(
                    f"model_type {spec.model_type!r} is already registered by {held[0].source}; "
                    "call plugformers.unregister(...) first, or register(..., replace=True)"
                )
            self._types[spec.model_type] = [Registration(spec, RUNTIME, None)]
            self._resolved.clear()

    def update(self, model_type: str, field_name: str, value: Any, *, config: type | None = None,
               exist_ok: bool = False, who: str = "register") -> None:
        """Set one part of a type's registration (its config, tokenizer, or a head), creating
        the type if needed: the route the transformers-style ``Auto*.register`` calls take.
        Replacing a part that is already set needs ``exist_ok=True``."""
        self._ensure_loaded()
        with self._lock:
            regs = self._types.get(model_type, [])
            if len(regs) > 1:
                self.registration(model_type)  # raises the conflict error naming both sides
            if not regs:
                spec = ModelType(model_type=model_type, config=config if field_name != "config" else value)
            else:
                spec = regs[0].spec
            if field_name == "heads":
                clash = [h for h in value if h in spec.heads and spec.heads[h] is not value[h]]
                if clash and not exist_ok:
                    raise PluginConflictError(
                        f"{who}: model_type {model_type!r} already has a {clash[0]!r} head "
                        f"({spec.heads[clash[0]]}, from {regs[0].source}); pass exist_ok=True to replace it"
                    )
                value = {**spec.heads, **value}
            elif regs and getattr(spec, field_name) not in (None, value) and not exist_ok:
                raise PluginConflictError(
                    f"{who}: model_type {model_type!r} already has a {field_name} "
                    f"({getattr(spec, field_name)}, from {regs[0].source}); pass exist_ok=True to replace it"
                )
            self.register(dataclasses.replace(spec, **{field_name: value}), replace=True)

    def unregister(self, model_type: str) -> None:
        """Remove a model type (every registration of it); unknown types are ignored."""
        self._ensure_loaded()
        with self._lock:
            self._types.pop(model_type, None)
            self._resolved.clear()

    # ------------------------------------------------------------------ queries

    def model_types(self) -> list[str]:
        self._ensure_loaded()
        return sorted(self._types)

    def plugins(self) -> list[PluginInfo]:
        self._ensure_loaded()
        return sorted(self._plugins.values(), key=lambda p: p.name)

    def registration(self, model_type: str) -> Registration:
        """The one registration of ``model_type``; raises when none or several exist."""
        self._ensure_loaded()
        regs = self._types.get(model_type)
        if not regs:
            raise UnknownModelTypeError(self._unknown_type_message(model_type))
        if len(regs) > 1:
            sides = " and ".join(r.source for r in regs)
            raise PluginConflictError(
                f"model_type {model_type!r} is claimed by {sides}. Uninstall one of them, or "
                f"disable one with PLUGFORMERS_DISABLE={regs[-1].plugin}."
            )
        return regs[0]

    def get(self, model_type: str) -> ModelType:
        return self.registration(model_type).spec

    def _unknown_type_message(self, model_type: str) -> str:
        installed = sorted(self._types)
        msg = f"unknown model_type {model_type!r}."
        close = difflib.get_close_matches(model_type, installed, n=3, cutoff=0.6)
        if close:
            msg += f" Did you mean {', '.join(map(repr, close))}?"
        hint = self.install_hint(model_type=model_type)
        if hint:
            msg += f" It is provided by a plugin that is not installed: {hint}."
        elif not close:
            shown = installed[:8]
            msg += (
                f" Installed types: {', '.join(shown) or 'none'}{' ...' if len(installed) > 8 else ''}."
                " Install the plugin that provides it (`plugformers plugins` lists what is installed)."
            )
        broken = [p for p in self._plugins.values() if p.error]
        if broken:
            msg += " Broken plugins: " + "; ".join(f"{p.name} ({p.error})" for p in broken[:3]) + "."
        return msg

    def install_hint(self, *, model_type: str | None = None, class_name: str | None = None) -> str | None:
        """``pip install ...`` for a first-party plugin that provides a type or class."""
        for dist, entry in _catalog()["plugins"].items():
            if model_type is not None and model_type in entry["model_types"]:
                return f"pip install {dist}"
            if class_name is not None and any(class_name.startswith(p) for p in entry["class_prefixes"]):
                if not any(class_name.startswith(p) for p in entry.get("not_prefixes", [])):
                    return f"pip install {dist}"
        return None

    # ------------------------------------------------------------------ classes

    def resolve(self, target: str | type, *, what: str, model_type: str) -> Any:
        """Import a ``"module:attr"`` string once, with an error naming the plugin."""
        if isinstance(target, type):
            return target
        cached = self._resolved.get(target)
        if cached is not None:
            return cached
        module_name, _, attr = target.partition(":")
        was_enabled = gc.isenabled()
        gc.disable()  # an import of torch and model code: see plugformers.__getattr__
        try:
            value: Any = importlib.import_module(module_name)
            for part in attr.split("."):
                value = getattr(value, part)
        except (ImportError, AttributeError) as e:
            source = self._types.get(model_type, [None])[0]
            raise PluginError(
                f"{what} of model_type {model_type!r} is {target!r}, which does not resolve "
                f"({type(e).__name__}: {e}); registered by {source.source if source else 'unknown'}. "
                "Reinstall or upgrade that plugin."
            ) from e
        finally:
            if was_enabled:
                gc.enable()
        self._resolved[target] = value
        return value

    def config_class(self, model_type: str) -> type:
        spec = self.get(model_type)
        return self.resolve(spec.config, what="the config class", model_type=model_type)

    def tokenizer_class(self, model_type: str) -> type:
        spec = self.get(model_type)
        if spec.tokenizer is None:
            raise PluginError(f"model_type {model_type!r} registers no tokenizer")
        return self.resolve(spec.tokenizer, what="the tokenizer class", model_type=model_type)

    def head_class(self, model_type: str, head: str) -> type:
        spec = self.get(model_type)
        target = spec.heads.get(head)
        if target is None:
            raise PluginError(
                f"model_type {model_type!r} has no {head!r} head; its heads are: "
                f"{', '.join(spec.heads) or 'none'}."
            )
        return self.resolve(target, what=f"the {head!r} head", model_type=model_type)

    def type_for_name(self, name_or_path: str) -> str | None:
        """The model type whose name pattern matches a checkpoint's name, longest pattern first."""
        self._ensure_loaded()
        name = os.fspath(name_or_path).lower()
        candidates = sorted(
            ((p.lower(), t) for t, regs in self._types.items() for r in regs for p in r.spec.name_patterns),
            key=lambda pt: -len(pt[0]),
        )
        for pattern, model_type in candidates:
            if pattern in name:
                return model_type
        return None

    def legacy_repo_id(self, name: str) -> str:
        self._ensure_loaded()
        for regs in self._types.values():
            for reg in regs:
                if name in reg.spec.legacy_names:
                    return reg.spec.legacy_names[name]
        return name

    # ------------------------------------------------------------------ lazy exports

    def _named_targets(self):
        self._ensure_loaded()
        for model_type, regs in self._types.items():
            for reg in regs:
                spec = reg.spec
                yield "config", model_type, spec.config
                if spec.tokenizer is not None:
                    yield "tokenizer", model_type, spec.tokenizer
                for head, target in spec.heads.items():
                    yield f"the {head!r} head", model_type, target

    def exported_names(self) -> list[str]:
        return sorted({_class_name(t) for _, _, t in self._named_targets()})

    def export(self, name: str) -> Any:
        """The registered class named ``name`` (``from plugformers import BertModel``)."""
        for what, model_type, target in self._named_targets():
            if _class_name(target) == name:
                return self.resolve(target, what=what, model_type=model_type)
        hint = self.install_hint(class_name=name)
        if hint:
            raise ImportError(f"{name} is provided by a plugformers plugin that is not installed: {hint}")
        raise AttributeError(f"module 'plugformers' has no attribute {name!r}")


def _hook_names() -> list[str]:
    return [n for n in dir(hookspecs) if n.startswith("register_")]


registry = Registry()


def register(spec: ModelType, *, replace: bool = False) -> None:
    """Register a ModelType at run time (notebooks, tests): the same path as the hook."""
    registry.register(spec, replace=replace)


def unregister(model_type: str) -> None:
    """Remove a model type registered at run time or by a plugin (tests)."""
    registry.unregister(model_type)
