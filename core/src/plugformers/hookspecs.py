"""The hooks a plugformers plugin implements.

A plugin is a module named by an entry point in the ``plugformers`` group; it holds
functions decorated with ``@hookimpl`` whose names are those of the specs below. An
implementation may take fewer arguments than its spec. A function decorated with
``@hookimpl`` whose name matches no spec is an error at discovery.
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

    Receives ``register``; call it once per type with a ``plugformers.ModelType``
    (model_type, config class, tokenizer class, a head key -> model class map,
    name_patterns for checkpoints without ``model_type``). Classes may be given as
    ``"module:attr"`` strings so that discovery imports no torch and no model code.
    """
