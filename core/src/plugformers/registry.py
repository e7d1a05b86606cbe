"""The plugin registry: which model types are installed, and their classes.

Plugins are found through the ``plugformers`` entry point group the first time the
registry is asked anything. Each entry module is imported on its own, inside
try/except; its ``register_model_types`` hook receives a ``register`` callback. Classes
are kept as ``"module:attr"`` strings and imported on first use, so discovery imports
no torch and no modeling code.

Two layers: what installed plugins register (several plugins may claim one type: using
it is then an error until the user picks one, with ``PLUGFORMERS_PREFER`` or
``registry.prefer``), and what run-time calls register (``plugformers.register``, the
``Auto*.register`` routes), which takes precedence and which ``unregister`` removes.
"""

from __future__ import annotations

import dataclasses
import difflib
import gc
import importlib
import json
import os
import re
import sys
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
    "PluginWarning",
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


class PluginConflictError(PluginError, ValueError):
    """Two plugins claim one model_type, or a registration would replace another.
    A ValueError too, as transformers' ``Auto*.register`` raises on a taken name."""


class PluginWarning(RuntimeWarning):
    """A plugin is skipped or misbehaves; everything else keeps working."""


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
    name_excludes: substrings that stop this type's name_patterns from matching a name
        (``("xlm-roberta",)`` for a type matched by ``"xlm"``: names of another
        architecture that happen to contain the pattern); other types may still match it.
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
    name_excludes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "heads", _freeze(self.heads))
        object.__setattr__(self, "legacy_names", _freeze(self.legacy_names))
        object.__setattr__(self, "tiny_config", _freeze(self.tiny_config))
        problems = []
        if isinstance(self.name_patterns, str):
            problems.append(f"name_patterns must be a tuple of strings, got the string {self.name_patterns!r}")
        object.__setattr__(self, "name_patterns", tuple(self.name_patterns))
        if isinstance(self.name_excludes, str):
            problems.append(f"name_excludes must be a tuple of strings, got the string {self.name_excludes!r}")
        object.__setattr__(self, "name_excludes", tuple(self.name_excludes))
        if not isinstance(self.model_type, str) or not self.model_type:
            problems.append(f"model_type must be a non-empty string, got {self.model_type!r}")
        for key, target in self.heads.items():
            if not isinstance(key, str) or not _HEAD_KEY_RE.match(key):
                problems.append(
                    f"head key {key!r} is not a lower-case, dash-separated name; the shared keys are "
                    f"{', '.join(HEAD_KEYS)}"
                )
            elif (near := _near_shared_key(key)) is not None:
                problems.append(
                    f"head key {key!r} looks like a misspelling of the shared key {near!r}; use {near!r}, "
                    "or a key of the architecture's own that is not a near miss of a shared one"
                )
            problems += _check_target(f"heads[{key!r}]", target)
        problems += _check_target("config", self.config)
        if self.tokenizer is not None:
            problems += _check_target("tokenizer", self.tokenizer)
        if not all(isinstance(p, str) and p for p in self.name_patterns):
            problems.append(f"name_patterns must be a tuple of non-empty strings, got {self.name_patterns!r}")
        if not all(isinstance(p, str) and p for p in self.name_excludes):
            problems.append(f"name_excludes must be a tuple of non-empty strings, got {self.name_excludes!r}")
        if problems:
            raise PluginError(f"invalid ModelType {self.model_type!r}: " + "; ".join(problems))


def _edit_distance(a: str, b: str) -> int:
    """Levenshtein distance with adjacent transpositions counted as one edit."""
    prev2, prev = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i]
        for j, cb in enumerate(b, 1):
            row.append(min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ca != cb)))
            if prev2 is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], prev2[j - 2] + 1)
        prev2, prev = prev, row
    return prev[-1]


def _near_shared_key(key: str) -> str | None:
    """The shared head key that ``key`` misspells (``masked-llm``, ``casual-lm``) or cuts
    short (``question-answer``), if any. Keys of an architecture's own are free otherwise,
    including those that extend a shared key (``question-answering-beam``)."""
    if key in HEAD_KEYS:
        return None
    for shared in HEAD_KEYS:
        if _edit_distance(key, shared) <= (1 if len(shared) < 6 else 2):
            return shared
        if shared.startswith(key) and len(key) >= len(shared) - 4:
            return shared
    return None


def _check_target(what: str, target: Any) -> list[str]:
    if isinstance(target, type):
        return []
    if isinstance(target, str) and _CLASS_PATH_RE.match(target):
        return []
    return [f"{what} must be a class or a 'module:attr' string, got {target!r}"]


def _class_name(target: str | type) -> str:
    return target.__name__ if isinstance(target, type) else target.rpartition(":")[2].rpartition(".")[2]


def _normal(name: str) -> str:
    """A distribution or plugin name as PEP 503 compares them (``My_Plugin`` == ``my-plugin``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _env_list(variable: str) -> set[str]:
    return {_normal(n.strip()) for n in os.environ.get(variable, "").split(",") if n.strip()}


def _env_preferences() -> dict[str, str]:
    """``PLUGFORMERS_PREFER=bert=my-bert,gpt2=other-gpt2``: model_type -> plugin or distribution."""
    out = {}
    for item in os.environ.get("PLUGFORMERS_PREFER", "").split(","):
        if not item.strip():
            continue
        model_type, sep, name = (part.strip() for part in item.partition("="))
        if not (sep and model_type and name):
            warnings.warn(
                f"plugformers: PLUGFORMERS_PREFER entry {item.strip()!r} is ignored; write "
                "model_type=plugin (the plugin's entry-point name or its distribution), comma-separated",
                PluginWarning, stacklevel=5,
            )
            continue
        out[model_type] = name
    return out


@dataclass
class Registration:
    """A ModelType together with the plugin and distribution that registered it."""

    spec: ModelType
    plugin: str
    distribution: str | None
    version: str | None = None
    runtime: bool = False  # set, or extended, by a run-time call (register, Auto*.register)

    @property
    def source(self) -> str:
        if self.plugin == RUNTIME:
            return "a run-time register() call"
        if self.distribution:
            where = f"plugin {self.plugin!r} from distribution {self.distribution} {self.version or ''}".rstrip()
        else:
            where = f"in-process plugin {self.plugin!r}"
        return where + (", extended at run time" if self.runtime else "")

    def is_named(self, name: str) -> bool:
        """Whether ``name`` is this registration's plugin name or its distribution's name."""
        return _normal(name) in {_normal(n) for n in (self.plugin, self.distribution) if n}


@dataclass
class PluginInfo:
    """What `plugformers plugins` shows of one plugin."""

    name: str
    distribution: str | None
    version: str | None
    module: str
    model_types: list[str] = field(default_factory=list)
    error: str | None = None
    disabled: bool = False

    @property
    def key(self) -> str:
        """Unique per plugin: two distributions may use one entry-point name."""
        return f"{self.name}@{self.distribution or '<in-process>'}"

    def is_named(self, name: str) -> bool:
        return _normal(name) in {_normal(n) for n in (self.name, self.distribution) if n}


def _catalog() -> dict[str, Any]:
    """First-party plugins that may not be installed: install hints, read from data."""
    return json.loads((Path(__file__).with_name("catalog.json")).read_text(encoding="utf-8"))


class Registry:
    """All registered model types; loads the installed plugins on first use."""

    def __init__(self, entry_point_group: str = ENTRY_POINT_GROUP) -> None:
        self.group = entry_point_group
        self._lock = threading.RLock()
        self._loaded = False
        self._types: dict[str, list[Registration]] = {}  # what plugins register; several may claim a type
        self._runtime: dict[str, Registration] = {}  # what run-time calls register; takes precedence
        self._plugins: dict[str, PluginInfo] = {}  # by PluginInfo.key
        self._prefer: dict[str, tuple[str, str]] = {}  # model_type -> (plugin or distribution, who asked)
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

        disabled = _env_list("PLUGFORMERS_DISABLE")
        for model_type, name in _env_preferences().items():
            self._prefer.setdefault(model_type, (name, "PLUGFORMERS_PREFER"))  # a prefer() call wins
        found = []
        for ep in entry_points(group=self.group):
            dist = getattr(ep, "dist", None)
            meta = dist.metadata if dist is not None else {}  # parsed once: dist.name would parse again
            found.append((ep, PluginInfo(ep.name, meta.get("Name"), meta.get("Version"), ep.value)))
        for ep, info in sorted(found, key=lambda f: (f[1].name, f[1].distribution or "")):
            if info.key in self._plugins:  # the same distribution seen twice on sys.path
                continue
            self._plugins[info.key] = info
            if any(info.is_named(n) for n in disabled):
                info.disabled = True
                continue
            had_torch = "torch" in sys.modules
            try:
                module = ep.load()
            except Exception as e:  # noqa: BLE001 - one plugin's failure must not stop the others
                self._broken(info, f"import of {ep.value} failed: {type(e).__name__}: {e}")
                continue
            try:
                self._add_module(module, info)
            except Exception as e:  # noqa: BLE001
                self._broken(info, f"{type(e).__name__}: {e}")
                continue
            if not had_torch and "torch" in sys.modules:
                warnings.warn(
                    f"plugformers: plugin {info.name!r} (distribution {info.distribution or 'unknown'}) imports "
                    f"torch at discovery, in its entry module {ep.value}; that slows down every program that uses "
                    "plugformers, whatever model it loads. Name classes as 'module:attr' strings instead.",
                    PluginWarning, stacklevel=4,
                )
        names: dict[str, list[PluginInfo]] = {}
        for info in self._plugins.values():
            names.setdefault(_normal(info.name), []).append(info)
        for same in names.values():
            if len(same) > 1:
                warnings.warn(
                    f"plugformers: the plugin name {same[0].name!r} is used by the distributions "
                    f"{' and '.join(i.distribution or '?' for i in same)}; both are loaded, and "
                    "PLUGFORMERS_DISABLE / PLUGFORMERS_PREFER tell them apart by distribution name.",
                    PluginWarning, stacklevel=4,
                )

    def _broken(self, info: PluginInfo, error: str) -> None:
        info.error = error
        info.model_types.clear()
        for regs in self._types.values():
            regs[:] = [r for r in regs if (r.plugin, r.distribution) != (info.name, info.distribution)]
        for key in [k for k, regs in self._types.items() if not regs]:
            del self._types[key]
        if self._pm.has_plugin(info.key):
            self._pm.unregister(name=info.key)
        warnings.warn(
            f"plugformers: plugin {info.name!r} (distribution {info.distribution or 'unknown'}) is "
            f"skipped: {error}",
            PluginWarning,
            stacklevel=4,
        )

    def _add_module(self, module: ModuleType | object, info: PluginInfo) -> None:
        """Register a plugin module's hooks, check them, and run register_model_types.
        Nothing of the plugin is kept unless every hook succeeds."""
        self._pm.register(module, name=info.key)
        try:
            self._pm.check_pending()  # a misspelled hook name is an error, not silence
        except pluggy.PluginValidationError as e:
            self._pm.unregister(name=info.key)
            raise PluginError(f"{e} (hooks are: {', '.join(_hook_names())})") from None
        impls = [i for i in self._pm.hook.register_model_types.get_hookimpls() if i.plugin_name == info.key]
        registered: dict[str, Registration] = {}

        def register(spec: ModelType) -> None:
            if not isinstance(spec, ModelType):
                raise PluginError(f"register() takes a plugformers.ModelType, got {type(spec).__name__}")
            if spec.model_type in registered:
                raise PluginError(f"model_type {spec.model_type!r} is registered twice by this plugin")
            registered[spec.model_type] = Registration(spec, info.name, info.distribution, info.version)

        try:
            for impl in impls:
                kwargs = {"register": register} if "register" in impl.argnames else {}
                impl.function(**kwargs)
        except BaseException:
            self._pm.unregister(name=info.key)
            raise
        for model_type, reg in registered.items():
            self._types.setdefault(model_type, []).append(reg)
            info.model_types.append(model_type)

    def add_plugin(self, module: ModuleType | object, name: str | None = None) -> PluginInfo:
        """Register an in-process plugin module (tests, notebooks); errors are raised."""
        self._ensure_loaded()
        name = name or getattr(module, "__name__", repr(module))
        with self._lock:
            info = PluginInfo(name, None, None, getattr(module, "__name__", repr(module)))
            if info.key in self._plugins:
                raise PluginError(f"a plugin named {name!r} is already registered")
            self._add_module(module, info)
            self._plugins[info.key] = info
            self._resolved.clear()
            return info

    def remove_plugin(self, name: str) -> None:
        """Remove the plugins named ``name`` (entry-point or distribution name) and their types."""
        with self._lock:
            for info in [i for i in self._plugins.values() if i.is_named(name)]:
                del self._plugins[info.key]
                if self._pm.has_plugin(info.key):
                    self._pm.unregister(name=info.key)
                for key in list(self._types):
                    self._types[key] = [r for r in self._types[key]
                                        if (r.plugin, r.distribution) != (info.name, info.distribution)]
                    if not self._types[key]:
                        del self._types[key]
            self._resolved.clear()

    # ------------------------------------------------------------------ run-time registration

    def _holders(self, model_type: str) -> list[Registration]:
        """Everything that registers ``model_type``: the run-time registration, then plugins."""
        held = [self._runtime[model_type]] if model_type in self._runtime else []
        return held + self._types.get(model_type, [])

    def register(self, spec: ModelType, *, replace: bool = False) -> None:
        """Register a ModelType at run time, without a package.

        Raises PluginConflictError if the type is already registered, naming who holds
        it, unless ``replace=True``: the run-time registration then serves the type,
        over any plugin's, until ``unregister``.
        """
        if not isinstance(spec, ModelType):
            raise PluginError(f"register() takes a plugformers.ModelType, got {type(spec).__name__}")
        self._ensure_loaded()
        with self._lock:
            held = self._holders(spec.model_type)
            if held and not replace:
                raise PluginConflictError(
                    f"model_type {spec.model_type!r} is already registered by "
                    f"{' and '.join(r.source for r in held)}; call plugformers.unregister(...) first, or "
                    "register(..., replace=True)"
                )
            self._runtime[spec.model_type] = Registration(spec, RUNTIME, None, runtime=True)
            self._resolved.clear()

    def update(self, model_type: str, field_name: str, value: Any, *, config: type | None = None,
               exist_ok: bool = False, who: str = "register") -> None:
        """Set one part of a type's registration (its config, tokenizer, or heads), creating
        the type if needed: the route the transformers-style ``Auto*.register`` calls take.
        Replacing a part that is already set to something else needs ``exist_ok=True``.
        The result is a run-time registration; ``unregister`` undoes it."""
        self._ensure_loaded()
        with self._lock:
            base = self.registration(model_type) if self._holders(model_type) else None  # raises on a conflict
            if base is None:
                spec = ModelType(model_type=model_type, config=config if field_name != "config" else value)
            else:
                spec = base.spec
            if field_name == "heads":
                clash = [h for h in value if h in spec.heads and not _same_target(spec.heads[h], value[h])]
                if clash and not exist_ok:
                    raise PluginConflictError(
                        f"{who}: model_type {model_type!r} already has a {clash[0]!r} head "
                        f"({spec.heads[clash[0]]}, from {base.source}); pass exist_ok=True to replace it"
                    )
                value = {**spec.heads, **value}
            elif base is not None and getattr(spec, field_name) is not None \
                    and not _same_target(getattr(spec, field_name), value) and not exist_ok:
                raise PluginConflictError(
                    f"{who}: model_type {model_type!r} already has a {field_name} "
                    f"({getattr(spec, field_name)}, from {base.source}); pass exist_ok=True to replace it"
                )
            new = dataclasses.replace(spec, **{field_name: value})
            if base is None:
                self._runtime[model_type] = Registration(new, RUNTIME, None, runtime=True)
            else:
                self._runtime[model_type] = dataclasses.replace(base, spec=new, runtime=True)
            self._resolved.clear()

    def unregister(self, model_type: str) -> None:
        """Undo the run-time registration of ``model_type`` (register, Auto*.register),
        giving the type back to the plugin that provides it, if any. A type with no
        run-time registration is removed from this process altogether (a test that
        pretends its plugin is not installed). Unknown types are ignored."""
        self._ensure_loaded()
        with self._lock:
            if self._runtime.pop(model_type, None) is None:
                self._types.pop(model_type, None)
            self._resolved.clear()

    def prefer(self, model_type: str, plugin: str | None) -> None:
        """Pick the plugin that serves ``model_type`` when several installed plugins claim
        it: ``plugin`` is its entry-point name or its distribution's name; None forgets the
        choice. Overrides ``PLUGFORMERS_PREFER=model_type=plugin``. Raises if no installed
        plugin of that name provides the type."""
        self._ensure_loaded()
        with self._lock:
            if plugin is None:
                self._prefer.pop(model_type, None)
            else:
                previous = self._prefer.get(model_type)
                self._prefer[model_type] = (plugin, "registry.prefer()")
                try:
                    self._choose(model_type, self._types.get(model_type, []))
                except PluginError:
                    if previous is None:
                        self._prefer.pop(model_type)
                    else:
                        self._prefer[model_type] = previous
                    raise
            self._resolved.clear()

    # ------------------------------------------------------------------ queries

    def model_types(self) -> list[str]:
        self._ensure_loaded()
        return sorted(set(self._types) | set(self._runtime))

    def plugins(self) -> list[PluginInfo]:
        """Every installed plugin, the broken and the disabled ones included."""
        self._ensure_loaded()
        return sorted(self._plugins.values(), key=lambda p: (p.name, p.distribution or ""))

    def claims(self, model_type: str) -> list[Registration]:
        """The registrations installed plugins make of ``model_type`` (several in a conflict)."""
        self._ensure_loaded()
        return list(self._types.get(model_type, []))

    def registration(self, model_type: str) -> Registration:
        """The registration that serves ``model_type``: the run-time one if any, else the
        one plugin that claims it, else the one the user picked; raises otherwise."""
        self._ensure_loaded()
        if model_type in self._runtime:
            return self._runtime[model_type]
        regs = self._types.get(model_type)
        if not regs:
            raise UnknownModelTypeError(self._unknown_type_message(model_type))
        return self._choose(model_type, regs)

    def _choose(self, model_type: str, regs: list[Registration]) -> Registration:
        picked = self._prefer.get(model_type)
        if picked is None and len(regs) == 1:
            return regs[0]  # the common case, on every lookup
        sides = " and ".join(r.source for r in regs) or "no installed plugin"
        if picked is not None:
            name, who = picked
            chosen = [r for r in regs if r.is_named(name)]
            if len(chosen) == 1:
                return chosen[0]
            if not chosen:
                state = "".join(
                    f" (plugin {i.name!r} of {i.distribution or 'unknown'} is "
                    + ("disabled by PLUGFORMERS_DISABLE)" if i.disabled else f"broken: {i.error})")
                    for i in self._plugins.values() if i.is_named(name) and (i.disabled or i.error)
                )
                choices = ", ".join(repr(r.distribution or r.plugin) for r in regs)
                raise PluginError(
                    f"{who} picks {name!r} to serve model_type {model_type!r}, but it is provided by "
                    f"{sides}{state}." + (f" Pick one of {choices}." if regs else "")
                )
            regs = chosen  # one plugin name in two distributions: fall through to the conflict
            sides = " and ".join(r.source for r in regs)
        if len(regs) == 1:
            return regs[0]
        first = regs[0].distribution or regs[0].plugin
        raise PluginConflictError(
            f"model_type {model_type!r} is claimed by {sides}. Pick one with "
            f"PLUGFORMERS_PREFER={model_type}={first} or plugformers.registry.prefer({model_type!r}, {first!r}); "
            f"or uninstall one, or disable one with PLUGFORMERS_DISABLE={regs[-1].distribution or regs[-1].plugin}."
        )

    def _effective(self, model_type: str) -> list[Registration]:
        """The registration serving a type, or every claimant while a conflict is unresolved."""
        try:
            return [self.registration(model_type)]
        except PluginError:
            return self._types.get(model_type, [])

    def get(self, model_type: str) -> ModelType:
        return self.registration(model_type).spec

    def _unknown_type_message(self, model_type: str) -> str:
        installed = self.model_types()
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
            source = next((r.source for r in self._effective(model_type) if _uses(r.spec, target)), "unknown")
            raise PluginError(
                f"{what} of model_type {model_type!r} is {target!r}, which does not resolve "
                f"({type(e).__name__}: {e}); registered by {source}. "
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
        """The model type whose name pattern matches a checkpoint's name, longest pattern
        first; a type whose ``name_excludes`` occur in the name is passed over. The last
        part of the name (the repo or folder name) is tried before the whole, so that an
        organisation or parent folder does not decide: ``distilbert/distilgpt2`` is GPT-2."""
        name = os.fspath(name_or_path).lower().rstrip("/\\")
        candidates = sorted(
            ((p.lower(), t, r.spec.name_excludes) for t in self.model_types() for r in self._effective(t)
             for p in r.spec.name_patterns),
            key=lambda pt: -len(pt[0]),
        )
        last = re.split(r"[/\\]", name)[-1]
        for text in dict.fromkeys((last, name)):
            for pattern, model_type, excludes in candidates:
                if pattern in text and not any(x.lower() in text for x in excludes):
                    return model_type
        return None

    def legacy_repo_id(self, name: str) -> str:
        for model_type in self.model_types():
            for reg in self._effective(model_type):
                if name in reg.spec.legacy_names:
                    return reg.spec.legacy_names[name]
        return name

    # ------------------------------------------------------------------ lazy exports

    def _named_targets(self):
        for model_type in self.model_types():
            for reg in self._effective(model_type):
                spec = reg.spec
                yield "config", model_type, spec.config
                if spec.tokenizer is not None:
                    yield "tokenizer", model_type, spec.tokenizer
                for head, target in spec.heads.items():
                    yield f"the {head!r} head", model_type, target

    def exported_names(self) -> list[str]:
        return sorted({_class_name(t) for _, _, t in self._named_targets()})

    def export(self, name: str) -> Any:
        """The registered class named ``name`` (``from plugformers import BertModel``).

        Every tokenizer here runs on the Rust `tokenizers` library, so transformers'
        name for that kind, the tokenizer's name + "Fast" (``BertTokenizerFast``), gives
        the same class."""
        fast_of = name.removesuffix("Fast") if name.endswith("Fast") else None
        for what, model_type, target in self._named_targets():
            if _class_name(target) == name or (what == "tokenizer" and _class_name(target) == fast_of):
                return self.resolve(target, what=what, model_type=model_type)
        hint = self.install_hint(class_name=name)
        if hint:
            raise ImportError(f"{name} is provided by a plugformers plugin that is not installed: {hint}")
        close = difflib.get_close_matches(name, self.exported_names(), n=1, cutoff=0.8)
        raise AttributeError(f"module 'plugformers' has no attribute {name!r}"
                             + (f"; did you mean {close[0]!r}?" if close else ""))


def _same_target(a: str | type, b: str | type) -> bool:
    """Whether two class references name the same class, without importing a string one."""
    if a is b or a == b:
        return True
    path = lambda t: f"{t.__module__}:{t.__qualname__}" if isinstance(t, type) else t  # noqa: E731
    return path(a) == path(b)


def _uses(spec: ModelType, target: str | type) -> bool:
    return target in (spec.config, spec.tokenizer, *spec.heads.values())


def _hook_names() -> list[str]:
    return [n for n in dir(hookspecs) if n.startswith("register_")]


registry = Registry()


def register(spec: ModelType, *, replace: bool = False) -> None:
    """Register a ModelType at run time (notebooks, tests): the same path as the hook."""
    registry.register(spec, replace=replace)


def unregister(model_type: str) -> None:
    """Undo a run-time registration of ``model_type``; a type only plugins provide is
    removed from this process (tests)."""
    registry.unregister(model_type)


def prefer(model_type: str, plugin: str | None) -> None:
    """Pick which installed plugin (entry-point or distribution name) serves a model_type
    that several claim; None forgets the choice. Wins over ``PLUGFORMERS_PREFER``."""
    registry.prefer(model_type, plugin)
