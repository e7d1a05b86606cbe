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
        self.metadata = {"Name": name, "Version": version}  # what the registry reads (one parse)


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
        registry_with(monkeypatch).add_plugin(mod, name="typo2")


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
    assert [(p.name, p.disabled) for p in reg.plugins()] == [("one", True), ("two", False)]


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


def test_name_excludes_pass_a_type_over(monkeypatch):
    # a short pattern that another architecture's names contain: the excluded names fall
    # through to the other types (or to none), every other name still matches
    reg = registry_with(monkeypatch, FakeEntryPoint("a", plugin_module(
        spec("short", name_patterns=("ab",), name_excludes=("ab-cd",)), spec("other", name_patterns=("cd",))),
        "dist-a"))
    assert reg.type_for_name("/models/ab-base") == "short"
    assert reg.type_for_name("/models/AB-CD-base") == "other"
    assert reg.type_for_name("ab-cd") == "other"
    reg2 = registry_with(monkeypatch, FakeEntryPoint("b", plugin_module(
        spec("short", name_patterns=("ab",), name_excludes=("ab-cd",))), "dist-b"))
    assert reg2.type_for_name("ab-cd-large") is None
    with pytest.raises(PluginError, match="name_excludes must be a tuple"):
        spec("bad", name_excludes="ab-cd")


def test_name_patterns_try_the_last_part_of_the_name_first(monkeypatch):
    # an organisation or parent folder named after one type holds a checkpoint of another
    reg = registry_with(monkeypatch, FakeEntryPoint("a", plugin_module(
        spec("long", name_patterns=("longname",)), spec("other", name_patterns=("shortx",))), "dist-a"))
    assert reg.type_for_name("longname/shortx-base") == "other"  # equal or longer org pattern loses
    assert reg.type_for_name("/data/longname/checkpoint-500/") == "long"  # nothing in the last part: the whole
    assert reg.type_for_name("C:\\ckpt\\shortx-1") == "other"
    assert reg.type_for_name("/data/plain") is None


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


# ---------------------------------------------------------------------- head keys


@pytest.mark.parametrize("key", ["double-heads", "question-answering-beam", "span-classification", "lm-head"])
def test_head_keys_of_an_architecture_own_are_free(key):
    assert key in ModelType(model_type="x", config="m:C", heads={key: "m:M"}).heads


@pytest.mark.parametrize("key, shared", [("masked-llm", "masked-lm"), ("casual-lm", "causal-lm"),
                                         ("question-answer", "question-answering"), ("bsae", "base"),
                                         ("pretrain", "pretraining")])
def test_a_near_miss_of_a_shared_head_key_is_an_error(key, shared):
    with pytest.raises(PluginError, match=f"head key '{key}' looks like a misspelling of the shared key '{shared}'"):
        ModelType(model_type="x", config="m:C", heads={key: "m:M"})


def test_a_plugin_registering_one_type_twice_is_skipped(monkeypatch):
    reg = registry_with(monkeypatch, FakeEntryPoint("twice", plugin_module(spec("dup"), spec("dup")), "dist-twice"))
    with pytest.warns(RuntimeWarning, match="'dup' is registered twice by this plugin"):
        assert reg.model_types() == []


def test_one_plugin_name_in_two_distributions(monkeypatch):
    reg = registry_with(
        monkeypatch,
        FakeEntryPoint("same", plugin_module(spec("from-a")), "dist-a"),
        FakeEntryPoint("same", plugin_module(spec("from-b")), "dist-b"),
    )
    with pytest.warns(RuntimeWarning, match="plugin name 'same' is used by the distributions dist-a and dist-b"):
        assert reg.model_types() == ["from-a", "from-b"]  # both load; neither clobbers the other


# ---------------------------------------------------------------------- priority


def contested(monkeypatch):
    return registry_with(
        monkeypatch,
        FakeEntryPoint("one", plugin_module(spec("shared"), name="one"), "dist-one"),
        FakeEntryPoint("two", plugin_module(spec("shared", name_patterns=("shared",)), name="two"), "dist-two"),
    )


@pytest.mark.parametrize("pick, dist", [("one", "dist-one"), ("dist-two", "dist-two"), ("Dist_Two", "dist-two")])
def test_prefer_by_environment(monkeypatch, pick, dist):
    monkeypatch.setenv("PLUGFORMERS_PREFER", f"other=x, shared={pick}")
    assert contested(monkeypatch).registration("shared").distribution == dist


def test_prefer_by_call_wins_over_environment_and_is_checked(monkeypatch):
    monkeypatch.setenv("PLUGFORMERS_PREFER", "shared=one")
    reg = contested(monkeypatch)
    reg.prefer("shared", "two")
    assert reg.registration("shared").plugin == "two"
    assert reg.type_for_name("/models/shared-small") == "shared"
    with pytest.raises(PluginError, match=r"registry.prefer\(\) picks 'three'.*Pick one of 'dist-one', 'dist-two'"):
        reg.prefer("shared", "three")
    assert reg.registration("shared").plugin == "two"  # unchanged
    reg.prefer("shared", None)
    with pytest.raises(PluginConflictError, match="PLUGFORMERS_PREFER=shared=dist-one or "
                                                  r"plugformers.registry.prefer\('shared', 'dist-one'\)"):
        reg.registration("shared")


def test_prefer_entry_without_a_type_is_warned(monkeypatch):
    monkeypatch.setenv("PLUGFORMERS_PREFER", "shared")
    with pytest.warns(RuntimeWarning, match="PLUGFORMERS_PREFER entry 'shared' is ignored"):
        contested(monkeypatch).model_types()


def test_priority_never_follows_install_order(monkeypatch):
    import importlib.metadata

    eps = [FakeEntryPoint("one", plugin_module(spec("shared")), "dist-one"),
           FakeEntryPoint("two", plugin_module(spec("shared")), "dist-two")]
    for order in (eps, eps[::-1]):
        monkeypatch.setattr(importlib.metadata, "entry_points", lambda group=None, order=order: list(order))
        with pytest.raises(PluginConflictError):
            Registry().registration("shared")


# ---------------------------------------------------------------------- run-time layer


def test_runtime_registration_overrides_a_plugin_and_unregister_restores_it(monkeypatch):
    reg = contested(monkeypatch)
    mine = spec("shared", name_patterns=("mine",))
    reg.register(mine, replace=True)
    assert reg.get("shared") is mine and reg.registration("shared").source == "a run-time register() call"
    assert len(reg.claims("shared")) == 2
    reg.unregister("shared")
    with pytest.raises(PluginConflictError):  # back to what the plugins say
        reg.get("shared")
    reg.unregister("shared")  # no run-time layer left: the type goes
    assert reg.model_types() == []


def test_conflict_on_register_names_every_holder(monkeypatch):
    with pytest.raises(PluginConflictError, match="already registered by plugin 'one' from distribution dist-one "
                                                  "1.0 and plugin 'two' from distribution dist-two 1.0"):
        contested(monkeypatch).register(spec("shared"))


# ---------------------------------------------------------------------- transformers-style routes


@pytest.fixture
def routed():
    """Classes for a model type that no plugin provides, removed again after the test."""
    import torch
    from torch import nn

    from plugformers.configuration_utils import PretrainedConfig
    from plugformers.modeling_outputs import BaseModelOutput, SequenceClassifierOutput
    from plugformers.modeling_utils import PreTrainedModel
    from plugformers.tokenization_utils import PreTrainedTokenizer

    class RoutedConfig(PretrainedConfig):
        model_type = "routed"
        vocab_size: int = 11
        hidden_size: int = 4

    class RoutedModel(PreTrainedModel):
        config_class = RoutedConfig
        base_model_prefix = "routed"

        def __init__(self, config):
            super().__init__(config)
            self.embeddings = nn.Embedding(config.vocab_size, config.hidden_size)
            self.post_init()

        def forward(self, input_ids, attention_mask=None):
            return BaseModelOutput(last_hidden_state=torch.tanh(self.embeddings(input_ids)))

    class RoutedForSequenceClassification(RoutedModel):
        def forward(self, input_ids, attention_mask=None):
            return SequenceClassifierOutput(logits=super().forward(input_ids).last_hidden_state[:, 0, :2])

    class RoutedTokenizer(PreTrainedTokenizer):
        pass

    ns = types.SimpleNamespace(config=RoutedConfig, model=RoutedModel, cls=RoutedForSequenceClassification,
                               tokenizer=RoutedTokenizer)
    try:
        yield ns
    finally:
        plugformers.unregister("routed")


def test_transformers_style_register_routes(routed, tmp_path):
    from plugformers import (
        AutoConfig,
        AutoModel,
        AutoModelForSequenceClassification,
        AutoTokenizer,
    )

    AutoConfig.register("routed", routed.config)
    AutoModel.register(routed.config, routed.model)
    AutoModelForSequenceClassification.register(routed.config, routed.cls)
    AutoTokenizer.register(routed.config, fast_tokenizer_class=routed.tokenizer)
    spec_ = plugformers.registry.get("routed")
    assert dict(spec_.heads) == {"base": routed.model, "sequence-classification": routed.cls}
    assert spec_.tokenizer is routed.tokenizer and spec_.config is routed.config

    AutoModel.from_config(routed.config()).save_pretrained(tmp_path)
    assert type(AutoModel.from_pretrained(tmp_path)) is routed.model
    assert type(AutoModelForSequenceClassification.from_pretrained(tmp_path)) is routed.cls
    assert type(AutoConfig.from_pretrained(tmp_path)) is routed.config
    assert plugformers.registry.export("RoutedModel") is routed.model

    AutoModel.register(routed.config, routed.model)  # the same class again: not a conflict
    plugformers.unregister("routed")
    with pytest.raises(UnknownModelTypeError):
        AutoConfig.for_model("routed")


def test_register_routes_follow_the_conflict_rules(routed):
    from plugformers import AutoConfig, AutoModel, AutoModelForMaskedLM, AutoModelWithLMHead, AutoTokenizer

    AutoModel.register(routed.config, routed.model)  # creates the type, config included
    with pytest.raises(PluginConflictError, match=r"AutoModel.register: model_type 'routed' already has a 'base' "
                                                  "head .*; pass exist_ok=True"):
        AutoModel.register(routed.config, routed.cls)
    AutoModel.register(routed.config, routed.cls, exist_ok=True)
    assert plugformers.registry.get("routed").heads["base"] is routed.cls

    other = type("OtherConfig", (routed.config,), {"model_type": "routed"})
    with pytest.raises(PluginConflictError, match="AutoConfig.register: model_type 'routed' already has a config"):
        AutoConfig.register("routed", other)
    with pytest.raises(ValueError, match="model_type is 'routed', not 'elsewhere'"):
        AutoConfig.register("elsewhere", routed.config)

    stranger = type("StrangerConfig", (plugformers.PretrainedConfig,), {"model_type": "routed"})
    with pytest.raises(ValueError, match="RoutedForSequenceClassification.config_class is RoutedConfig"):
        AutoModelForMaskedLM.register(stranger, routed.cls)
    with pytest.raises(TypeError, match="AutoModelWithLMHead serves more than one head key"):
        AutoModelWithLMHead.register(routed.config, routed.cls)
    with pytest.raises(ValueError, match="one tokenizer class per model type"):
        AutoTokenizer.register(routed.config, routed.tokenizer, fast_tokenizer_class=type("T2", (routed.tokenizer,), {}))


def test_register_route_onto_an_installed_plugin_is_undone_by_unregister(monkeypatch, routed):
    from plugformers import AutoModelForMaskedLM

    reg = registry_with(monkeypatch, FakeEntryPoint("a", plugin_module(spec("alpha")), "dist-a"))
    monkeypatch.setattr("plugformers.auto.registry", reg)
    config = type("AlphaConfig", (routed.config,), {"model_type": "alpha"})
    AutoModelForMaskedLM.register(config, routed.model)
    registration = reg.registration("alpha")
    assert registration.source == "plugin 'a' from distribution dist-a 1.0, extended at run time"
    assert set(registration.spec.heads) == {"base", "masked-lm"}
    reg.unregister("alpha")
    assert set(reg.get("alpha").heads) == {"base"}  # the plugin's own registration, intact
