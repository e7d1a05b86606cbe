"""The plugin registry in process: fake entry points, run-time registration, errors."""

from __future__ import annotations

import subprocess
import sys
import types
import warnings

import pytest

import plugformers
from plugformers import ModelType, hookimpl
from plugformers.registry import PluginConflictError, PluginError, Registry, UnknownModelTypeError


class FakeDist:
    def __init__(self, name, version="1.0"):
        self.name, self.version = name, version


class FakeEntryPoint:
    """What importlib.metadata gives: name, value, dist, load()."""

    def __init__(self, name, module, dist):
        self.name, self.value, self.dist, self._module = name, f"fake_{name}.plugin", FakeDist(dist), module

    def load(self):
        if isinstance(self._module, Exception):
            raise self._module
        return self._module


def plugin_module(*types_, name="p"):
    mod = types.ModuleType(f"fake_{name}")

    @hookimpl
    def register_model_types(register):
        for t in types_:
            register(t)

    mod.register_model_types = register_model_types
    return mod


def spec(model_type, **kw):
    return ModelType(model_type=model_type, config=f"fake_{model_type.replace('-', '_')}.configuration:Config",
                     heads={"base": f"fake_{model_type.replace('-', '_')}.modeling:Model"}, **kw)


def registry_with(monkeypatch, *eps):
    import importlib.metadata

    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group=None: list(eps))
    return Registry()


def test_discovery_registers_types(monkeypatch):
    reg = registry_with(monkeypatch, FakeEntryPoint("a", plugin_module(spec("alpha")), "dist-a"))
    assert reg.model_types() == ["alpha"]
    (info,) = reg.plugins()
    assert (info.name, info.distribution, info.version, info.model_types) == ("a", "dist-a", "1.0", ["alpha"])


def test_plugin_that_fails_to_import_is_skipped_with_warning(monkeypatch):
    reg = registry_with(
        monkeypatch,
        FakeEntryPoint("bad", ImportError("No module named 'missing_dep'"), "dist-bad"),
        FakeEntryPoint("good", plugin_module(spec("good")), "dist-good"),
    )
    with pytest.warns(RuntimeWarning, match=r"plugin 'bad' \(distribution dist-bad\) is skipped.*missing_dep"):
        assert reg.model_types() == ["good"]
    broken = [p for p in reg.plugins() if p.error]
    assert [p.name for p in broken] == ["bad"]


def test_hook_that_raises_is_skipped(monkeypatch):
    mod = types.ModuleType("fake_raiser")

    @hookimpl
    def register_model_types(register):
        register(spec("half"))
        raise ZeroDivisionError("oops")

    mod.register_model_types = register_model_types
    reg = registry_with(monkeypatch, FakeEntryPoint("raiser", mod, "dist-r"),
                        FakeEntryPoint("good", plugin_module(spec("good")), "dist-good"))
    with pytest.warns(RuntimeWarning, match="raiser.*ZeroDivisionError: oops"):
        assert reg.model_types() == ["good"]  # nothing of the failing plugin is half-registered


def test_misspelled_hook_is_an_error(monkeypatch):
    mod = types.ModuleType("fake_typo")

    @hookimpl
    def register_model_type(register):  # missing 's'
        register(spec("typo"))

    mod.register_model_type = register_model_type
    reg = registry_with(monkeypatch, FakeEntryPoint("typo", mod, "dist-typo"))
    with pytest.warns(RuntimeWarning, match=r"typo.*register_model_type.*hooks are: register_model_types"):
        assert reg.model_types() == []
    with pytest.raises(PluginError, match="register_model_type"):
        Registry().add_plugin(mod, name="typo2")


def test_two_distributions_claiming_one_type(monkeypatch):
    reg = registry_with(
        monkeypatch,
        FakeEntryPoint("one", plugin_module(spec("shared"), spec("only-one")), "dist-one"),
        FakeEntryPoint("two", plugin_module(spec("shared")), "dist-two"),
    )
    assert reg.get("only-one").model_type == "only-one"  # other types unaffected
    with pytest.raises(PluginConflictError, match=r"'shared' is claimed by .*dist-one.* and .*dist-two.*PLUGFORMERS_DISABLE"):
        reg.get("shared")


def test_disable_by_env(monkeypatch):
    monkeypatch.setenv("PLUGFORMERS_DISABLE", "one, other")
    reg = registry_with(
        monkeypatch,
        FakeEntryPoint("one", plugin_module(spec("shared")), "dist-one"),
        FakeEntryPoint("two", plugin_module(spec("shared")), "dist-two"),
    )
    assert reg.registration("shared").distribution == "dist-two"
    assert [p.name for p in reg.plugins()] == ["two"]


def test_runtime_register_conflict_and_unregister(monkeypatch):
    reg = registry_with(monkeypatch, FakeEntryPoint("a", plugin_module(spec("alpha")), "dist-a"))
    with pytest.raises(PluginConflictError, match=r"already registered by plugin 'a' from distribution dist-a"):
        reg.register(spec("alpha"))
    reg.register(spec("beta"))
    assert reg.model_types() == ["alpha", "beta"]
    reg.unregister("beta")
    assert reg.model_types() == ["alpha"]


@pytest.mark.parametrize("bad, message", [
    (dict(heads={"Base Model": "m:C"}), "head key 'Base Model'"),
    (dict(heads={"base": "not a path"}), r"heads\['base'\] must be a class or a 'module:attr' string"),
    (dict(config=42), "config must be a class"),
    (dict(model_type=""), "model_type must be a non-empty string"),
    (dict(name_patterns="bert"), "name_patterns must be a tuple"),
])
def test_invalid_model_type(bad, message):
    fields = dict(model_type="x", config="m:C", heads={"base": "m:M"}, name_patterns=("x",))
    fields.update(bad)
    with pytest.raises(PluginError, match=message):
        ModelType(**fields)


def test_unresolvable_class_names_plugin(monkeypatch):
    reg = registry_with(monkeypatch, FakeEntryPoint("a", plugin_module(spec("alpha")), "dist-a"))
    with pytest.raises(PluginError, match=r"'base' head of model_type 'alpha' is 'fake_alpha.modeling:Model'.*dist-a"):
        reg.head_class("alpha", "base")


def test_missing_head_lists_heads(monkeypatch):
    reg = registry_with(monkeypatch, FakeEntryPoint("a", plugin_module(spec("alpha")), "dist-a"))
    with pytest.raises(PluginError, match=r"'alpha' has no 'masked-lm' head; its heads are: base"):
        reg.head_class("alpha", "masked-lm")


def test_unknown_type_shortlist_and_install_hint(monkeypatch):
    reg = registry_with(monkeypatch, FakeEntryPoint("a", plugin_module(spec("alpha"), spec("alpine")), "dist-a"))
    with pytest.raises(UnknownModelTypeError) as err:
        reg.get("alpah")
    assert "Did you mean 'alpha'" in str(err.value)
    assert len(str(err.value)) < 400
    with pytest.raises(UnknownModelTypeError, match="pip install plugformers-xlnet"):
        reg.get("xlnet")


def test_name_patterns_most_specific_first(monkeypatch):
    reg = registry_with(monkeypatch, FakeEntryPoint("a", plugin_module(
        spec("short", name_patterns=("xl",)), spec("long", name_patterns=("xlnet",))), "dist-a"))
    assert reg.type_for_name("/models/xlnet-base-cased") == "long"
    assert reg.type_for_name("xl-thing") == "short"
    assert reg.type_for_name("gpt") is None


def test_export_and_install_hint(monkeypatch):
    mod = types.ModuleType("fake_cls_mod")

    class AlphaModel:
        pass

    reg = registry_with(monkeypatch, FakeEntryPoint("a", plugin_module(
        ModelType(model_type="alpha", config=AlphaModel, heads={"base": AlphaModel})), "dist-a"))
    assert reg.export("AlphaModel") is AlphaModel
    assert "AlphaModel" in reg.exported_names()
    with pytest.raises(ImportError, match="pip install plugformers-gpt2"):
        reg.export("GPT2LMHeadModel")
    with pytest.raises(AttributeError):
        reg.export("NothingLikeThis")
    del mod


def test_hook_may_take_fewer_arguments(monkeypatch):
    mod = types.ModuleType("fake_noargs")
    calls = []

    @hookimpl
    def register_model_types():
        calls.append(1)

    mod.register_model_types = register_model_types
    reg = registry_with(monkeypatch, FakeEntryPoint("n", mod, "dist-n"))
    assert reg.model_types() == [] and calls == [1]


def test_module_level_register_is_the_same_path():
    t = spec("runtime-only")
    plugformers.register(t)
    try:
        assert plugformers.registry.get("runtime-only") is t
        with pytest.raises(PluginConflictError):
            plugformers.register(t)
    finally:
        plugformers.unregister("runtime-only")
    with pytest.raises(UnknownModelTypeError):
        plugformers.registry.get("runtime-only")


def test_import_and_discovery_stay_light():
    code = (
        "import sys, plugformers\n"
        "types = plugformers.registry.model_types()\n"
        "plugformers.registry.plugins()\n"
        "heavy = [m for m in sys.modules if m == 'torch' or m.endswith('.modeling') or 'tokenization' in m]\n"
        "print(types, heavy)\n"
    )
    with warnings.catch_warnings():
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("[]"), out.stdout + out.stderr
