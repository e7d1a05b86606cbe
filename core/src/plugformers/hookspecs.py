"""The hooks a plugformers plugin implements.

A plugin is a module named by an entry point in the ``plugformers`` group; it holds
functions decorated with ``@hookimpl`` whose names are those of the specs below. An
implementation may take fewer arguments than its spec. A function decorated with
``@hookimpl`` whose name matches no spec is an error at discovery.

Every hook is documented in docs/plugins.md (a heading with its signature) and has a
test named ``test_hook_<name>``; tests/test_plugin_docs.py fails when either is missing.
"""

from __future__ import annotations

from typing import Callable

import pluggy

PROJECT = "plugformers"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_model_types(register: Callable[..., None]) -> None:
    """Register the model types this plugin provides.

    Receives ``register``; call it once per type with a ``plugformers.ModelType``:
    the ``model_type`` of config.json it serves, its config class, its tokenizer class,
    ``heads`` (head key -> model class: the shared keys where the architecture has such
    a head, ``base`` for the bare model, keys of its own for the rest) and
    ``name_patterns`` for checkpoints without ``model_type``. Give classes as ``"module:attr"`` strings so that
    discovery imports no torch and no model code. An invalid ModelType, or an exception
    here, skips the whole plugin with a warning naming it.
    """
