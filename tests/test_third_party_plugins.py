"""Plugins as real installed packages: isolation, conflicts, priority, the CLI.

Throwaway plugin distributions are written to a temporary folder and pip-installed into
a fresh virtualenv layered on the test environment (plugformers.testing.venv). Every
probe runs in a fresh interpreter of that venv, so discovery goes through
importlib.metadata and the packages' entry points, as for a user:

- ``pft-good``: a working architecture (config + base head) that must keep working;
- ``pft-import-error``: its entry module raises on import;
- ``pft-hook-raises``: its hook registers a type, then raises;
- ``pft-bad-head``: registers a ModelType with a misspelled head key;
- ``pft-bad-class``: registers class strings that do not resolve;
- ``pft-claim-a`` and ``pft-claim-b``: both claim the model_type ``contested``;
- ``pft-heavy``: imports torch in its entry module.
"""

from __future__ import annotations

import json
import time

import pytest

from plugformers.testing.venv import LayeredVenv, write_plugin_package

pytestmark = pytest.mark.slow

GOOD_ENTRY = """
from plugformers import ModelType, hookimpl

@hookimpl
def register_model_types(register):
    register(ModelType(model_type="pft-good", config="pft_good.configuration:GoodConfig",
                       heads={"base": "pft_good.modeling:GoodModel"},
                       tiny_config={"vocab_size": 20, "hidden_size": 8}))
"""
GOOD_CONFIG = """
from typing import ClassVar
from plugformers.configuration_utils import PretrainedConfig

class GoodConfig(PretrainedConfig):
    model_type: ClassVar[str] = "pft-good"
    vocab_size: int = 20
    hidden_size: int = 8
"""
GOOD_MODELING = """
import torch
from torch import nn
from plugformers.modeling_outputs import BaseModelOutput
from plugformers.modeling_utils import PreTrainedModel
from .configuration import GoodConfig

class GoodModel(PreTrainedModel):
    config_class = GoodConfig
    base_model_prefix = "good"

    def __init__(self, config):
        super().__init__(config)
        self.embeddings = nn.Embedding(config.vocab_size, config.hidden_size)
        self.post_init()

    def forward(self, input_ids, attention_mask=None):
        return BaseModelOutput(last_hidden_state=torch.tanh(self.embeddings(input_ids)))
"""


def _claim(letter: str) -> str:
    return f"""
from plugformers import ModelType, hookimpl

@hookimpl
def register_model_types(register):
    for model_type in ("contested", "only-{letter}"):
        register(ModelType(model_type=model_type, config="pft_claim_{letter}.configuration:Config{letter.upper()}",
                           heads={{"base": "pft_claim_{letter}.modeling:Model"}}))
"""


PACKAGES = {
    # distribution: (plugin name, entry module source, other modules)
    "pft-good": ("good", GOOD_ENTRY, {"configuration.py": GOOD_CONFIG, "modeling.py": GOOD_MODELING}),
    "pft-import-error": ("import-error", "raise RuntimeError('boom at import')\n", {}),
    "pft-hook-raises": ("hook-raises", """
        from plugformers import ModelType, hookimpl

        @hookimpl
        def register_model_types(register):
            register(ModelType(model_type="half-done", config="pft_hook_raises.c:C"))
            raise ValueError("hook failed half-way")
        """, {}),
    "pft-bad-head": ("bad-head", """
        from plugformers import ModelType, hookimpl

        @hookimpl
        def register_model_types(register):
            register(ModelType(model_type="bad-head", config="pft_bad_head.c:C", heads={"masked-llm": "pft_bad_head.m:M"}))
        """, {}),
    "pft-bad-class": ("bad-class", """
        from plugformers import ModelType, hookimpl

        @hookimpl
        def register_model_types(register):
            register(ModelType(model_type="bad-class", config="pft_bad_class.nowhere:Config",
                               heads={"base": "pft_bad_class.plugin:NoSuchModel"}))
        """, {}),
    "pft-claim-a": ("claim-a", _claim("a"), {"configuration.py": "class ConfigA: pass\n"}),
    "pft-claim-b": ("claim-b", _claim("b"), {"configuration.py": "class ConfigB: pass\n"}),
    "pft-heavy": ("heavy", """
        import torch  # what an entry module must not do
        from plugformers import ModelType, hookimpl

        @hookimpl
        def register_model_types(register):
            register(ModelType(model_type="heavy", config="pft_heavy.c:C"))
        """, {}),
}

PROBE = """
import json, sys, warnings
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    import plugformers
    from plugformers.registry import PluginError
    reg = plugformers.registry
    types = reg.model_types()
result = {"types": types, "warnings": [str(w.message) for w in caught],
          "plugins": {p.name: {"dist": p.distribution, "error": p.error, "disabled": p.disabled,
                               "types": p.model_types} for p in reg.plugins()}}
def attempt(fn):
    try:
        return {"ok": repr(fn())}
    except Exception as e:
        return {"error": f"{type(e).__name__}: {e}"}
"""


@pytest.fixture(scope="session")
def venv(tmp_path_factory):
    root = tmp_path_factory.mktemp("third-party")
    folders = [write_plugin_package(root / "src" / dist, dist, plugin, entry, files)
               for dist, (plugin, entry, files) in PACKAGES.items()]
    env = LayeredVenv.create(root / "venv")
    env.install(*folders)  # one pip run for all eight: a few seconds
    return env


def probe(venv, code: str, **env) -> dict:
    """Run ``code`` after PROBE in a fresh interpreter of the venv; its ``result``. pft-heavy
    is disabled unless PLUGFORMERS_DISABLE is given: importing torch costs a second or two."""
    env.setdefault("PLUGFORMERS_DISABLE", "heavy")
    out = venv.python("-c", PROBE + code + "\nprint(json.dumps(result))", env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def warning_about(result: dict, plugin: str) -> str:
    found = [w for w in result["warnings"] if f"plugin {plugin!r}" in w]
    assert len(found) == 1, result["warnings"]
    return found[0]


def test_hook_register_model_types(venv, tmp_path):
    """The one hook: what it registers is served by the Auto classes, loaded from the
    installed package, and resolving the type imports that plugin's modules only."""
    r = probe(venv, f"""
import torch
config = plugformers.AutoConfig.for_model("pft-good", vocab_size=12)
plugformers.AutoModel.from_config(config).save_pretrained({str(tmp_path)!r})
model = plugformers.AutoModel.from_pretrained({str(tmp_path)!r})
result["model"] = type(model).__module__ + ":" + type(model).__name__
result["shape"] = list(model(torch.tensor([[1, 2, 3]])).last_hidden_state.shape)
result["imported"] = sorted(m for m in sys.modules if m.startswith("pft_"))
result["plugin"] = result["plugins"]["good"]
""")
    assert r["model"] == "pft_good.modeling:GoodModel" and r["shape"] == [1, 3, 8]
    assert r["plugin"] == {"dist": "pft-good", "error": None, "disabled": False, "types": ["pft-good"]}
    # discovery imports every entry module (and its package); beyond them, pft-good's own modules only
    assert [m for m in r["imported"] if "." in m and not m.endswith(".plugin")] == \
        ["pft_good.configuration", "pft_good.modeling"], r["imported"]


def test_entry_module_that_raises_on_import(venv):
    r = probe(venv, "result['good'] = attempt(lambda: reg.config_class('pft-good').__name__)")
    message = warning_about(r, "import-error")
    assert "(distribution pft-import-error) is skipped" in message
    assert "import of pft_import_error.plugin failed: RuntimeError: boom at import" in message
    assert r["plugins"]["import-error"]["error"].startswith("import of pft_import_error.plugin failed")
    assert r["good"] == {"ok": "'GoodConfig'"}  # everything else keeps working


def test_hook_that_raises(venv):
    r = probe(venv, "result['half'] = attempt(lambda: reg.get('half-done'))")
    message = warning_about(r, "hook-raises")
    assert "(distribution pft-hook-raises) is skipped: ValueError: hook failed half-way" in message
    assert "half-done" not in r["types"]  # nothing of the failing plugin is half-registered
    assert r["half"]["error"].startswith("UnknownModelTypeError: unknown model_type 'half-done'")
    assert "Broken plugins:" in r["half"]["error"] and "hook-raises" in r["half"]["error"]


def test_invalid_model_type_unknown_head_key(venv):
    r = probe(venv, "")
    message = warning_about(r, "bad-head")
    assert "(distribution pft-bad-head) is skipped: PluginError: invalid ModelType 'bad-head'" in message
    assert "head key 'masked-llm' looks like a misspelling of the shared key 'masked-lm'" in message
    assert "bad-head" not in r["types"] and "pft-good" in r["types"]


def test_class_string_that_does_not_resolve(venv):
    r = probe(venv, """
result["config"] = attempt(lambda: reg.config_class("bad-class"))
result["head"] = attempt(lambda: reg.head_class("bad-class", "base"))
result["good"] = attempt(lambda: reg.head_class("pft-good", "base").__name__)
""")
    assert not [w for w in r["warnings"] if "bad-class" in w]  # discovery does not import the classes
    config, head = r["config"]["error"], r["head"]["error"]
    assert "the config class of model_type 'bad-class' is 'pft_bad_class.nowhere:Config', which does not resolve" in config
    assert "ModuleNotFoundError" in config
    assert "registered by plugin 'bad-class' from distribution pft-bad-class 1.0" in config
    assert "'base' head" in head and "AttributeError" in head and "pft-bad-class" in head
    assert r["good"] == {"ok": "'GoodModel'"}


def test_two_distributions_claiming_one_model_type(venv):
    r = probe(venv, """
result["contested"] = attempt(lambda: reg.get("contested"))
result["only"] = [reg.config_class(t).__name__ for t in ("only-a", "only-b")]
""")
    error = r["contested"]["error"]
    assert error.startswith("PluginConflictError: model_type 'contested' is claimed by")
    assert "plugin 'claim-a' from distribution pft-claim-a 1.0 and plugin 'claim-b' from distribution pft-claim-b 1.0" in error
    assert "PLUGFORMERS_PREFER=contested=pft-claim-a" in error and "PLUGFORMERS_DISABLE=" in error
    assert r["only"] == ["ConfigA", "ConfigB"]  # other types of both plugins unaffected
    assert not [w for w in r["warnings"] if "claim" in w]  # a conflict is an error on use, not a warning


@pytest.mark.parametrize("pick", ["claim-b", "pft-claim-b", "pft_claim_b"])
def test_prefer_by_environment(venv, pick):
    r = probe(venv, "result['served'] = reg.config_class('contested').__name__", PLUGFORMERS_PREFER=f"contested={pick}")
    assert r["served"] == "ConfigB"


def test_prefer_by_call_overrides_environment(venv):
    r = probe(venv, """
reg.prefer("contested", "claim-a")
result["served"] = reg.config_class("contested").__name__
result["unknown"] = attempt(lambda: reg.prefer("contested", "pft-good"))
result["still"] = reg.config_class("contested").__name__
reg.prefer("contested", None)
result["after_reset"] = attempt(lambda: reg.get("contested"))
""", PLUGFORMERS_PREFER="contested=claim-b")
    assert r["served"] == "ConfigA"
    assert r["unknown"]["error"].startswith("PluginError: registry.prefer() picks 'pft-good' to serve model_type 'contested'")
    assert "Pick one of 'pft-claim-a', 'pft-claim-b'" in r["unknown"]["error"]
    assert r["still"] == "ConfigA"  # a rejected pick changes nothing
    assert "PluginConflictError" in r["after_reset"]["error"]


def test_prefer_naming_a_broken_plugin(venv):
    r = probe(venv, "result['served'] = attempt(lambda: reg.get('contested'))",
              PLUGFORMERS_PREFER="contested=import-error")
    error = r["served"]["error"]
    assert "PLUGFORMERS_PREFER picks 'import-error' to serve model_type 'contested'" in error
    assert "plugin 'import-error' of pft-import-error is broken: import of pft_import_error.plugin failed" in error


def test_runtime_register_overrides_and_unregister_restores(venv):
    r = probe(venv, """
from plugformers import ModelType
result["plain"] = attempt(lambda: plugformers.register(ModelType(model_type="only-a", config="x.y:Z")))
plugformers.register(ModelType(model_type="contested", config=dict), replace=True)
result["served"] = reg.config_class("contested").__name__
plugformers.unregister("contested")
result["restored"] = attempt(lambda: reg.get("contested"))
""")
    assert "already registered by plugin 'claim-a' from distribution pft-claim-a 1.0" in r["plain"]["error"]
    assert r["served"] == "dict"
    assert "PluginConflictError" in r["restored"]["error"]  # back to the installed plugins' state


def test_disable(venv):
    r = probe(venv, "", PLUGFORMERS_DISABLE="import-error, pft-hook-raises,heavy,bad-head,claim-b")
    assert r["warnings"] == []
    disabled = sorted(name for name, p in r["plugins"].items() if p["disabled"])
    assert disabled == ["bad-head", "claim-b", "heavy", "hook-raises", "import-error"]
    assert {"contested", "only-a", "pft-good"} <= set(r["types"]) and "only-b" not in r["types"]
    r = probe(venv, "result['c'] = reg.config_class('contested').__name__", PLUGFORMERS_DISABLE="claim-b")
    assert r["c"] == "ConfigA"  # disabling one side resolves the conflict


def test_entry_module_that_imports_torch_is_reported(venv):
    r = probe(venv, "", PLUGFORMERS_DISABLE="")
    message = warning_about(r, "heavy")
    assert "(distribution pft-heavy) imports torch at discovery, in its entry module pft_heavy.plugin" in message
    assert "heavy" in r["types"]  # reported, not skipped


def test_cli_lists_plugins(venv):
    t0 = time.perf_counter()
    out = venv.python("-m", "plugformers.cli", "plugins", env={"PLUGFORMERS_DISABLE": "heavy"})
    elapsed = time.perf_counter() - t0
    text = out.stdout
    assert "good  pft-good 1.0\n  pft-good: base\n" in text
    assert "import-error  pft-import-error 1.0  BROKEN: import of pft_import_error.plugin failed: " \
           "RuntimeError: boom at import" in text
    assert "hook-raises  pft-hook-raises 1.0  BROKEN: ValueError: hook failed half-way" in text
    assert "bad-head  pft-bad-head 1.0  BROKEN: PluginError: invalid ModelType 'bad-head'" in text
    assert "heavy  pft-heavy 1.0  disabled (PLUGFORMERS_DISABLE)" in text
    assert "  contested: base\n    CONFLICT: model_type 'contested' is claimed by" in text
    assert elapsed < 2.0, f"plugformers plugins took {elapsed:.2f} s"  # the 0.5 s figure is in bench_discovery

    rows = {r["name"]: r for r in json.loads(
        venv.python("-m", "plugformers.cli", "plugins", "--json", env={"PLUGFORMERS_PREFER": "contested=claim-a"}).stdout
    )["plugins"]}
    assert rows["good"]["model_types"] == [{"model_type": "pft-good", "config": "pft_good.configuration:GoodConfig",
                                            "tokenizer": None, "heads": {"base": "pft_good.modeling:GoodModel"},
                                            "status": "ok"}]
    assert (rows["import-error"]["status"], rows["good"]["distribution"], rows["good"]["version"]) == \
        ("broken", "pft-good", "1.0")
    contested = {r: next(t for t in rows[r]["model_types"] if t["model_type"] == "contested")
                 for r in ("claim-a", "claim-b")}
    assert (contested["claim-a"]["status"], contested["claim-b"]["status"]) == ("preferred", "passed-over")


def test_cli_imports_no_torch(venv):
    code = ("import sys, io, contextlib\nfrom plugformers import cli\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n    cli.main(['plugins', '--json'])\n"
            "print('torch' in sys.modules)")
    assert venv.python("-c", code, env={"PLUGFORMERS_DISABLE": "heavy"}).stdout.strip() == "False"


def test_cli_check_resolves_every_class(venv):
    out = venv.python("-m", "plugformers.cli", "plugins", "--check", check=False,
                      env={"PLUGFORMERS_DISABLE": "import-error,hook-raises,bad-head,claim-b,heavy"})
    assert out.returncode == 1
    assert "    DOES NOT RESOLVE: the config class of model_type 'bad-class' is 'pft_bad_class.nowhere:Config'" in out.stdout
    out = venv.python("-m", "plugformers.cli", "plugins", "--check",
                      env={"PLUGFORMERS_DISABLE": "import-error,hook-raises,bad-head,bad-class,claim-a,claim-b,heavy"})
    assert "DOES NOT RESOLVE" not in out.stdout and out.returncode == 0


def test_example_plugin_installs_as_a_wheel(tmp_path):
    """examples/plugformers-distilbert built and installed like a user's package (not
    editable): every module it names is in the wheel and resolves."""
    import shutil
    from pathlib import Path

    example = Path(__file__).resolve().parents[1] / "examples" / "plugformers-distilbert"
    copy = tmp_path / "src"  # a copy: the build leaves build/ and egg-info behind
    shutil.copytree(example, copy, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", ".*"))
    venv = LayeredVenv.create(tmp_path / "venv")
    venv.install(copy)
    code = """
import json, plugformers
reg = plugformers.registry
spec = reg.get("distilbert")
classes = [reg.config_class("distilbert"), reg.tokenizer_class("distilbert")]
classes += [reg.head_class("distilbert", head) for head in spec.heads]
import plugformers_distilbert.modeling as m
print(json.dumps({"file": m.__file__, "classes": [c.__name__ for c in classes]}))
"""
    out = json.loads(venv.python("-c", code).stdout)
    assert out["file"].startswith(str(venv.path)), out["file"]  # the wheel's copy, not the repo's
    assert out["classes"][:3] == ["DistilBertConfig", "DistilBertTokenizer", "DistilBertModel"]
    assert len(out["classes"]) == 8
