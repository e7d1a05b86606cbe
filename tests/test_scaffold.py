"""`plugformers new-plugin NAME`: the scaffolded package installs and its tests pass.

The slow test scaffolds a plugin into a temporary folder with the real command, pip-
installs it into a fresh virtualenv layered on the test environment, and runs the
generated tests there; then checks that the Auto classes and `plugformers plugins` see
it. The fast ones check names, refusals and the rendered files.
"""

from __future__ import annotations

import ast
import json
import tomllib

import pytest

from plugformers import scaffold
from plugformers.cli import main
from plugformers.testing.venv import LayeredVenv


def test_names_derived_from_the_plugin_name():
    n = scaffold.names("tiny-former")
    assert (n["model_type"], n["dist"], n["package"], n["Prefix"], n["attr"]) == (
        "tiny-former", "plugformers-tiny-former", "plugformers_tiny_former", "TinyFormer", "tiny_former")


@pytest.mark.parametrize("bad, hint", [("Tiny_Former", "try 'tiny-former'"), ("9lives", ""), ("a--b", "try 'a-b'"),
                                       ("", "")])
def test_bad_names_are_refused_with_a_suggestion(bad, hint):
    with pytest.raises(scaffold.ScaffoldError, match="must be lower-case") as err:
        scaffold.names(bad)
    assert hint in str(err.value)


def test_refuses_a_folder_that_is_not_empty(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("mine")
    assert main(["new-plugin", "tiny", "--dir", str(tmp_path)]) == 2
    assert "exists and is not an empty folder" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_rendered_files(tmp_path, capsys):
    assert main(["new-plugin", "tiny-former", "--dir", str(tmp_path / "pkg")]) == 0
    assert "created" in capsys.readouterr().out
    folder = tmp_path / "pkg"
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert files == sorted(
        [out.replace("${package}", "plugformers_tiny_former") for out in scaffold.FILES]
    )
    pyproject = tomllib.loads((folder / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == "plugformers-tiny-former"
    assert pyproject["project"]["entry-points"]["plugformers"] == {"tiny-former": "plugformers_tiny_former.plugin"}
    for path in folder.rglob("*.py"):
        source = path.read_text()
        assert "${" not in source and "$" not in source, path
        tree = ast.parse(source, filename=str(path))
        if path.name == "plugin.py":  # the entry module imports plugformers only
            imported = {n.module if isinstance(n, ast.ImportFrom) else a.name
                        for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
                        for a in getattr(n, "names", [])}
            assert imported == {"plugformers"}


@pytest.mark.slow
def test_scaffolded_plugin_installs_and_its_tests_pass(tmp_path):
    venv = LayeredVenv.create(tmp_path / "venv")
    folder = tmp_path / "plugformers-tiny-former"
    venv.python("-m", "plugformers.cli", "new-plugin", "tiny-former", "--dir", str(folder))
    venv.install(folder)

    tests = venv.python("-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", cwd=folder, check=False)
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    assert " passed" in tests.stdout and "failed" not in tests.stdout

    listed = json.loads(venv.python("-m", "plugformers.cli", "plugins", "--json").stdout)["plugins"]
    (row,) = [r for r in listed if r["name"] == "tiny-former"]
    assert (row["distribution"], row["version"], row["status"]) == ("plugformers-tiny-former", "0.1.0", "ok")
    assert list(row["model_types"][0]["heads"]) == ["base", "sequence-classification"]
