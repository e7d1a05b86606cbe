"""docs/plugins.md against the code, as datasette checks its plugin hook docs.

- every hook in plugformers.hookspecs has a heading ``### name(arguments)`` in the hook
  reference, with the spec's arguments, and no heading names a hook that does not exist;
- every hook has a test named ``test_hook_<name>``;
- every environment variable the registry reads is documented;
- the tutorial's file snippets are exactly what ``plugformers new-plugin`` writes, and the
  DistilBERT snippets exactly what examples/plugformers-distilbert holds;
- the tutorial's session runs, against the scaffolded plugin installed for real.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest

from plugformers import hookspecs, scaffold
from plugformers.testing.venv import LayeredVenv

REPO = Path(__file__).resolve().parents[1]
DOCS = (REPO / "docs" / "plugins.md").read_text(encoding="utf-8")
TEST_DIRS = [REPO / "tests", REPO / "core" / "tests"]


def hookspec_names() -> list[str]:
    return sorted(name for name, fn in vars(hookspecs).items()
                  if callable(fn) and hasattr(fn, f"{hookspecs.PROJECT}_spec"))


def documented_hooks() -> dict[str, list[str]]:
    """``### name(a, b)`` headings of the hook reference section: name -> arguments."""
    section = DOCS.split("\n## Hook reference\n", 1)[1].split("\n## ", 1)[0]
    found = {}
    for name, args in re.findall(r"^### (\w+)\(([^)]*)\)\s*$", section, flags=re.M):
        found[name] = [a.strip() for a in args.split(",") if a.strip()]
    return found


def test_there_are_hooks():
    assert "register_model_types" in hookspec_names()


@pytest.mark.parametrize("hook", hookspec_names())
def test_every_hook_is_documented_with_its_signature(hook):
    documented = documented_hooks()
    assert hook in documented, f"plugformers.hookspecs.{hook} has no '### {hook}(...)' heading in docs/plugins.md"
    spec_args = list(inspect.signature(getattr(hookspecs, hook)).parameters)
    assert documented[hook] == spec_args, f"docs/plugins.md documents {hook}({', '.join(documented[hook])}), " \
                                          f"the spec is {hook}({', '.join(spec_args)})"


def test_no_documented_hook_is_missing_from_hookspecs():
    assert sorted(documented_hooks()) == hookspec_names()


@pytest.mark.parametrize("hook", hookspec_names())
def test_every_hook_has_a_test(hook):
    wanted = f"test_hook_{hook}"
    for folder in TEST_DIRS:
        for path in folder.glob("test_*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            if any(isinstance(n, ast.FunctionDef) and n.name == wanted for n in ast.walk(tree)):
                return
    pytest.fail(f"no test named {wanted} in {', '.join(str(d.relative_to(REPO)) for d in TEST_DIRS)}")


def test_environment_variables_are_documented():
    source = Path(importlib.import_module("plugformers.registry").__file__).read_text(encoding="utf-8")
    variables = set(re.findall(r"PLUGFORMERS_[A-Z]+", source))
    assert variables >= {"PLUGFORMERS_DISABLE", "PLUGFORMERS_PREFER"}
    assert not [v for v in variables if v not in DOCS]


def snippets(prefix: str) -> list[tuple[str, str]]:
    """Fenced blocks whose first line is ``# <prefix>...path``: (path, the rest)."""
    found = []
    for block in re.findall(r"^```\w*\n(.*?)^```", DOCS, flags=re.M | re.S):
        first, _, rest = block.partition("\n")
        if first.startswith(f"# {prefix}"):
            found.append((first[2:].strip(), rest))
    return found


@pytest.fixture(scope="module")
def tinyformer(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("docs") / "plugformers-tinyformer"
    scaffold.new_plugin("tinyformer", folder)
    return folder


def test_tutorial_snippets_are_what_the_scaffold_writes(tinyformer):
    found = snippets("plugformers-tinyformer/")
    assert len(found) >= 5
    for path, text in found:
        target = tinyformer / path.removeprefix("plugformers-tinyformer/")
        assert target.is_file(), f"docs/plugins.md quotes {path}, which the scaffold does not write"
        assert text in target.read_text(encoding="utf-8"), f"docs/plugins.md's snippet of {path} is out of date"


def test_tutorial_tree_lists_the_scaffolded_files():
    for out in scaffold.FILES:
        name = out.rsplit("/", 1)[-1].replace("${package}", "plugformers_tinyformer")
        assert name in DOCS, f"the tutorial's tree does not show {name}"


def test_example_snippets_are_what_the_example_holds():
    found = snippets("examples/")
    assert found
    for path, text in found:
        assert text in (REPO / path).read_text(encoding="utf-8"), f"docs/plugins.md's snippet of {path} is out of date"


@pytest.mark.slow
def test_tutorial_session_runs(tinyformer, tmp_path):
    session = re.search(r"<!-- tested: tutorial-session -->\n```python\n(.*?)```", DOCS, flags=re.S).group(1)
    venv = LayeredVenv.create(tmp_path / "venv")
    venv.install(tinyformer)
    listed = venv.python("-m", "plugformers.cli", "plugins").stdout
    assert "tinyformer  plugformers-tinyformer 0.1.0\n  tinyformer: base, sequence-classification\n" in listed
    assert venv.python("-c", session).stdout.strip() == "TinyformerModel"
