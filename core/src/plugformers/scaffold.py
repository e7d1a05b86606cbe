"""`plugformers new-plugin NAME`: a plugin package to start from.

Writes ``plugformers-NAME/``: pyproject.toml with the entry point, the entry module
(``plugin.py``, no torch), a config, a model with a ``base`` and a
``sequence-classification`` head, a tokenizer hookup and tests (the core's conformance
suite, a light-discovery check, an Auto-class round trip). The files are the templates
in ``plugformers/templates/new_plugin/`` with the names filled in.
"""

from __future__ import annotations

import os
import re
import string
from importlib import resources
from pathlib import Path

__all__ = ["new_plugin", "ScaffoldError", "FILES"]

_NAME_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")

# output path (placeholders allowed) -> template file
FILES = {
    "pyproject.toml": "pyproject.toml.tmpl",
    "README.md": "README.md.tmpl",
    "src/${package}/__init__.py": "__init__.py.tmpl",
    "src/${package}/plugin.py": "plugin.py.tmpl",
    "src/${package}/configuration.py": "configuration.py.tmpl",
    "src/${package}/modeling.py": "modeling.py.tmpl",
    "src/${package}/tokenization.py": "tokenization.py.tmpl",
    "tests/test_${package}.py": "test_plugin.py.tmpl",
}


class ScaffoldError(ValueError):
    """The plugin cannot be created as asked (a bad name, a folder in the way)."""


def names(name: str) -> dict[str, str]:
    """Every name the templates use, derived from the plugin name (``my-arch``)."""
    if not _NAME_RE.match(name):
        suggestion = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        hint = f"; try {suggestion!r}" if suggestion and _NAME_RE.match(suggestion) else ""
        raise ScaffoldError(
            f"plugin name {name!r} must be lower-case letters and digits, words separated by '-', starting with a "
            f"letter{hint}. It becomes the model_type, the entry-point name and part of the distribution name."
        )
    from . import __version__

    return {
        "name": name,
        "model_type": name,
        "dist": f"plugformers-{name}",
        "package": "plugformers_" + name.replace("-", "_"),
        "attr": name.replace("-", "_"),  # base_model_prefix: the checkpoint keys' first part
        "Prefix": "".join(part.capitalize() for part in name.split("-")),
        "core_version": __version__,
    }


def new_plugin(name: str, directory: str | os.PathLike | None = None) -> Path:
    """Create the plugin package for ``name`` in ``directory`` (default ``./plugformers-NAME``);
    returns the folder. Refuses to write into a folder that is not empty."""
    values = names(name)
    folder = Path(directory if directory is not None else values["dist"]).resolve()
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ScaffoldError(f"{folder} exists and is not an empty folder; pick another --dir")
    templates = resources.files("plugformers") / "templates" / "new_plugin"
    rendered = {}
    for out, template in FILES.items():
        text = (templates / template).read_text(encoding="utf-8")
        rendered[string.Template(out).substitute(values)] = string.Template(text).substitute(values)
    for out, text in rendered.items():
        path = folder / out
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder
