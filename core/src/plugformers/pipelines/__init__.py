"""``pipeline(task, model=..., tokenizer=..., device=...)``: text in, answers out.

Each task needs one head of the model type (DESIGN.md's head keys); the model class is
the one the type's plugin registers under that key, so any architecture with the head
serves the task:

| task (aliases) | head | one result |
|---|---|---|
| feature-extraction | base | hidden states (1, tokens, hidden), or a pooled vector |
| fill-mask | masked-lm | ``[{"score", "token", "token_str", "sequence"}]`` |
| text-classification (sentiment-analysis) | sequence-classification | ``[{"label", "score"}]`` |
| token-classification (ner) | token-classification | ``[{"entity", "score", "index", "word", "start", "end"}]`` |
| question-answering | question-answering | ``{"score", "start", "end", "answer"}`` |
| text-generation | causal-lm | ``[{"generated_text"}]`` |

Nothing is downloaded by default: ``model=`` is required (a name, a folder, or a model
object; then ``tokenizer=`` is read from ``model.name_or_path`` unless given).
"""

from __future__ import annotations

import difflib
import os
from typing import Any

from ..registry import UnknownModelTypeError, registry
from .base import Pipeline, PipelineError, check_batch_size
from .feature_extraction import FeatureExtractionPipeline
from .fill_mask import FillMaskPipeline
from .question_answering import QuestionAnsweringPipeline
from .text_classification import TextClassificationPipeline
from .text_generation import TextGenerationPipeline
from .token_classification import TokenClassificationPipeline

__all__ = [
    "pipeline", "Pipeline", "PipelineError", "TASKS", "TASK_ALIASES",
    "FeatureExtractionPipeline", "FillMaskPipeline", "TextClassificationPipeline",
    "TokenClassificationPipeline", "QuestionAnsweringPipeline", "TextGenerationPipeline",
]

TASKS: dict[str, type[Pipeline]] = {cls.task: cls for cls in (
    FeatureExtractionPipeline, FillMaskPipeline, TextClassificationPipeline,
    TokenClassificationPipeline, QuestionAnsweringPipeline, TextGenerationPipeline,
)}
TASK_ALIASES = {"sentiment-analysis": "text-classification", "ner": "token-classification"}
# model_kwargs= that say where checkpoint files come from: the config and tokenizer take them too.
_HUB_KWARGS = ("cache_dir", "local_files_only", "force_download")


def pipeline(
    task: str | None = None,
    model: Any = None,
    tokenizer: Any = None,
    device: Any = None,
    *,
    batch_size: int = 1,
    torch_dtype: Any = None,
    revision: str | None = None,
    token: str | bool | None = None,
    model_kwargs: dict[str, Any] | None = None,
    **params: Any,
) -> Pipeline:
    """A pipeline for ``task`` on ``model``.

    task: one of ``TASKS`` or ``TASK_ALIASES`` (``plugformers.pipelines.TASKS`` lists them).
    model: a Hub id or a local folder, or a loaded model object of the task's head.
    tokenizer: a tokenizer object, or a name or folder to load one from; by default the
        model's own folder (``model.name_or_path`` for a model object).
    device: -1 or ``"cpu"``, a CUDA index, a string (``"cuda:1"``) or a torch.device;
        None leaves a model object where it is (a loaded one stays on the CPU).
    batch_size: how many inputs go through the model at once (a call may override it).
    torch_dtype, revision, token, model_kwargs: passed to ``from_pretrained`` when
        ``model`` is a name or folder.
    params: the task's parameters (``top_k=3``, ``aggregation_strategy="simple"``, ...),
        the defaults of every call.
    """
    cls = _task_class(task)
    check_batch_size(batch_size)
    if model is None:
        raise PipelineError(
            f"pipeline({task!r}) needs model=: plugformers downloads no default model. Pass a Hub id or a "
            f"local folder (model='path/to/checkpoint') or a loaded model with the {cls.head!r} head."
        )
    hub = {k: v for k, v in (("revision", revision), ("token", token)) if v is not None}
    if isinstance(model, (str, os.PathLike)):
        model = _load_model(cls, task, os.fspath(model), hub, torch_dtype, dict(model_kwargs or {}))
    else:
        if model_kwargs or torch_dtype is not None:
            raise PipelineError("model_kwargs= and torch_dtype= apply when model= is a name or folder to load; "
                                "with a model object, load it with those options yourself.")
        _check_model(cls, task, model)
    # The tokenizer comes from the same place as the model: same revision, cache and offline choice.
    where = {k: v for k, v in (model_kwargs or {}).items() if k in _HUB_KWARGS}
    tokenizer = _load_tokenizer(task, model, tokenizer, {**hub, **where})
    return cls(model, tokenizer, device=device, batch_size=batch_size, **params)


def _task_class(task: Any) -> type[Pipeline]:
    known = sorted([*TASKS, *TASK_ALIASES])
    if task is None:
        raise PipelineError(f"pipeline() needs a task: one of {', '.join(known)}.")
    if not isinstance(task, str):
        raise PipelineError(f"task={task!r}: give the task's name, one of {', '.join(known)}.")
    name = TASK_ALIASES.get(task.lower(), task.lower())
    if name in TASKS:
        return TASKS[name]
    close = difflib.get_close_matches(task.lower(), known, n=3, cutoff=0.5)
    hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
    raise PipelineError(f"unknown task {task!r}.{hint} The tasks are: {', '.join(known)}.")


def _tasks_for(heads: Any) -> list[str]:
    return [name for name, cls in TASKS.items() if cls.head in heads]


def _no_head(cls: type[Pipeline], task: str, model_type: str, heads: Any, source: str) -> PipelineError:
    can = _tasks_for(heads)
    return PipelineError(
        f"the {task!r} task needs a {cls.head!r} head, and model_type {model_type!r} ({source}) has none; its "
        f"heads are: {', '.join(heads) or 'none'}."
        + (f" This model can do: {', '.join(can)}." if can else "")
        + f" Use a checkpoint of a type with a {cls.head!r} head for {task!r}."
    )


def _load_model(cls: type[Pipeline], task: str, name: str, hub: dict, torch_dtype: Any, model_kwargs: dict) -> Any:
    from ..auto import AutoConfig

    config_kwargs = {k: model_kwargs[k] for k in (*_HUB_KWARGS, "subfolder") if k in model_kwargs}
    config = AutoConfig.from_pretrained(name, **hub, **config_kwargs)
    spec = registry.get(config.model_type)
    if cls.head not in spec.heads:
        raise _no_head(cls, task, config.model_type, spec.heads, name)
    model_cls = registry.head_class(config.model_type, cls.head)
    if torch_dtype is not None:
        model_kwargs["torch_dtype"] = torch_dtype
    return model_cls.from_pretrained(name, config=config, **hub, **model_kwargs)


def _check_model(cls: type[Pipeline], task: str, model: Any) -> None:
    """A model object must be (a subclass of) the class its type registers under the task's head."""
    config = getattr(model, "config", None)
    model_type = getattr(config, "model_type", None)
    if not callable(getattr(model, "forward", None)) or model_type is None:
        raise PipelineError(f"model={_short(model)} is not a model: pass a plugformers model object, or a "
                            "Hub id or folder to load one from.")
    try:
        spec = registry.get(model_type)
    except UnknownModelTypeError:
        return  # a model class registered nowhere (built by hand): trust the caller
    name = type(model).__name__
    if cls.head not in spec.heads:
        raise _no_head(cls, task, model_type, spec.heads, name)
    wanted = registry.head_class(model_type, cls.head)
    if not isinstance(model, wanted):
        from .. import auto

        loader = next((n for n in auto.__all__ if getattr(getattr(auto, n), "head", None) == cls.head
                       and not getattr(auto, n).fallback_heads), None)
        fix = f"{loader}.from_pretrained(...)" if loader else f"{wanted.__name__}.from_pretrained(...)"
        raise PipelineError(
            f"the {task!r} task needs the {cls.head!r} head of model_type {model_type!r} "
            f"({wanted.__name__}), but model is a {name}. Load it with {fix}, or pass the checkpoint's "
            "name or folder as model=."
        )


def _load_tokenizer(task: str, model: Any, tokenizer: Any, hub: dict) -> Any:
    from ..auto import AutoTokenizer

    if tokenizer is not None and not isinstance(tokenizer, (str, os.PathLike)):
        if not callable(tokenizer) or not hasattr(tokenizer, "model_input_names"):
            raise PipelineError(f"tokenizer={_short(tokenizer)} is not a tokenizer: pass a plugformers tokenizer, "
                                "or a name or folder to load one from.")
        return tokenizer
    source = tokenizer if tokenizer is not None else getattr(model, "name_or_path", "")
    if not source:
        raise PipelineError(f"pipeline({task!r}) cannot tell where {type(model).__name__}'s tokenizer is (the model "
                            "was not loaded from a folder): pass tokenizer= (a tokenizer, or its name or folder).")
    own = {"config": model.config} if tokenizer is None else {}  # the model's folder: its type is known
    return AutoTokenizer.from_pretrained(os.fspath(source), **own, **hub)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"a {type(value).__name__}"
