"""plugformers: pretrained Transformer models for PyTorch, every architecture a plugin.

``import plugformers`` is light: it reads the installed plugins' entry points lazily
and imports torch only when a model class is used. Names such as ``AutoModel`` and
``BertModel`` are resolved on first access.
"""

from __future__ import annotations

from typing import Any

from .hookspecs import hookimpl
from .registry import ModelType, PluginError, UnknownModelTypeError, prefer, register, registry, unregister

__version__ = "0.1.0"

_LAZY = {
    "AutoConfig": "auto", "AutoTokenizer": "auto", "AutoModel": "auto",
    "AutoModelForPreTraining": "auto", "AutoModelForMaskedLM": "auto",
    "AutoModelForCausalLM": "auto", "AutoModelForSequenceClassification": "auto",
    "AutoModelForTokenClassification": "auto", "AutoModelForQuestionAnswering": "auto",
    "AutoModelForMultipleChoice": "auto", "AutoModelForNextSentencePrediction": "auto",
    "AutoModelWithLMHead": "auto",
    "PretrainedConfig": "configuration_utils", "ConfigError": "configuration_utils",
    "PreTrainedModel": "modeling_utils", "WeightsError": "modeling_utils",
    "ModelOutput": "modeling_outputs",
    "PreTrainedTokenizer": "tokenization_utils", "BatchEncoding": "tokenization_utils",
    "CheckpointNotFoundError": "hub", "DownloadError": "hub",
    "GenerationConfig": "generation", "TextStreamer": "streamers",
    "pipeline": "pipelines",
}

__all__ = ["ModelType", "hookimpl", "register", "unregister", "prefer", "registry", "PluginError",
           "UnknownModelTypeError", *_LAZY]


def __getattr__(name: str) -> Any:
    import gc
    import importlib

    # Importing torch and pydantic creates some 200,000 objects; with the collector on
    # that triggers full collections worth ~0.1 s. Nothing cyclic is freed meanwhile.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        module = _LAZY.get(name)
        if module is not None:
            value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
        else:
            value = registry.export(name)  # a class a plugin registers: BertModel, GPT2Config, ...
    finally:
        if was_enabled:
            gc.enable()
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | set(registry.exported_names()))
