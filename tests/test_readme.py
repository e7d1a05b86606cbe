"""The README cannot lie: its Python examples run, and CI runs its test command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)


def test_readme_has_examples():
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index):
    exec(compile(BLOCKS[index], f"README.md python block {index + 1}", "exec"), {"__name__": "__readme__"})


def test_ci_runs_both_readme_commands_in_order():
    commands = re.findall(r"^make (\w+)", README, flags=re.M)
    assert commands[:2] == ["demo", "test"]
    ci = re.findall(r"^make (\w+)$", (ROOT / ".ci" / "run").read_text(), flags=re.M)
    assert ci == ["demo", "test"], "CI must run `make demo` (before the test requirements exist), then `make test`"
