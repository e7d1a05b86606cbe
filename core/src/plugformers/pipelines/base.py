"""What every pipeline shares: loading, parameters, batching, padding, the forward pass.

A pipeline is a model, its tokenizer and the steps between text and answer. A task's
subclass names the head key it needs (``head``), the parameters it takes
(``parameters``: name -> default) and implements ``_run(items, params)``: one batch of
normalised inputs in, one result per input out. The base class turns the caller's
input (one item or a list) into items, cuts them into batches of ``batch_size``, and
unwraps the result of a single input.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch

__all__ = ["Pipeline", "PipelineError"]


class PipelineError(ValueError):
    """A pipeline cannot be built for that task and model, or cannot take that input."""


def resolve_device(device: Any) -> torch.device | None:
    """``device=`` as users of transformers give it: None (leave the model where it is),
    -1 (CPU), a CUDA index, a string or a torch.device; checked to exist here."""
    resolved = _as_device(device)
    if resolved is not None and resolved.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if (resolved.index or 0) >= count:
            raise PipelineError(f"device={device!r}: this torch sees {count} CUDA device(s)"
                                + ("" if torch.version.cuda else " (it is a CPU-only build)")
                                + "; use device='cpu' (or -1).")
    return resolved


def _as_device(device: Any) -> torch.device | None:
    if device is None or isinstance(device, torch.device):
        return device
    if isinstance(device, bool):
        raise PipelineError(f"device={device!r}: give -1 or 'cpu', a CUDA index (0, 1, ...), or a torch.device.")
    if isinstance(device, int):
        return torch.device("cpu") if device < 0 else torch.device("cuda", device)
    if isinstance(device, str):
        try:
            return torch.device(device)
        except RuntimeError as e:
            raise PipelineError(f"device={device!r} is not a device ({e}); use 'cpu', 'cuda', 'cuda:1', 'mps'.") \
                from None
    raise PipelineError(f"device={device!r}: give -1 or 'cpu', a CUDA index (0, 1, ...), or a torch.device.")


def check_batch_size(batch_size: Any) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise PipelineError(f"batch_size={batch_size!r}: it must be a positive integer (1 runs inputs one by one).")
    return batch_size


class Pipeline:
    """One task on one model: ``pipe(inputs, **params)``.

    ``inputs`` is one input or a list of them; a list gives a list of results, in order.
    Parameters given to the constructor (``pipeline(task, model=..., top_k=3)``) are the
    defaults of every call; a call's own parameters override them for that call.
    ``batch_size`` (constructor or call) is how many inputs go through the model at once.
    """

    task: ClassVar[str] = ""
    head: ClassVar[str] = "base"
    parameters: ClassVar[dict[str, Any]] = {}
    input_kinds: ClassVar[str] = "a str"  # what one input is, for error messages
    length_fix: ClassVar[str] = "pass truncation=True to cut inputs to the model's length"
    # Whether a call may batch its inputs by length rather than in order: for tasks whose
    # result for an input does not depend on the padding its batch needs.
    sort_by_length: ClassVar[bool] = False

    def __init__(self, model: Any, tokenizer: Any, *, device: Any = None, batch_size: int = 1,
                 **params: Any) -> None:
        self.model = model
        self.tokenizer = tokenizer
        target = resolve_device(device)
        if target is not None:
            model.to(target)
        model.eval()
        self.batch_size = check_batch_size(batch_size)
        accepted = inspect.signature(model.forward).parameters
        names = dict.fromkeys([*tokenizer.model_input_names, "attention_mask"])
        self._input_names = [n for n in names if n in accepted]  # what the tokenizer gives and the model takes
        self._defaults = self._sanitize(params)
        self._check({**self.parameters, **self._defaults})

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(task={self.task!r}, model={type(self.model).__name__}"
                f"({self.model.name_or_path!r}), device={self.device}, batch_size={self.batch_size})")

    # ------------------------------------------------------------------ parameters

    def _accepted(self) -> set[str]:
        return set(self.parameters)

    def _sanitize(self, params: dict[str, Any]) -> dict[str, Any]:
        """Reject unknown parameter names, naming the nearest known one (values: ``_check``)."""
        accepted = self._accepted()
        for name in params:
            if name not in accepted:
                close = difflib.get_close_matches(name, sorted(accepted), n=2, cutoff=0.6)
                hint = f"did you mean {' or '.join(map(repr, close))}?" if close else \
                    f"it takes {', '.join(sorted(self.parameters)) or 'no parameters'}" + \
                    (" and the generate() options" if accepted != set(self.parameters) else "") + "."
                raise TypeError(f"{self.task} pipeline got an unknown parameter {name!r}; {hint}")
        return params

    def _check(self, params: dict[str, Any]) -> None:
        """Validate the values of a call's parameters, defaults included (raise
        PipelineError naming the value and the fix)."""

    def _params(self, params: dict[str, Any]) -> dict[str, Any]:
        merged = {**self.parameters, **self._defaults, **self._sanitize(params)}
        self._check(merged)
        return merged

    # ------------------------------------------------------------------ calling

    def __call__(self, inputs: Any, *, batch_size: int | None = None, **params: Any) -> Any:
        params = self._params(params)
        items, single = self._items(inputs)
        size = self.batch_size if batch_size is None else check_batch_size(batch_size)
        order = list(range(len(items)))
        if self.sort_by_length and size < len(items):
            # Inputs of similar lengths batched together pad less: the model computes less,
            # and each result is the same (it covers its input's own tokens only).
            order.sort(key=lambda i: self._length(items[i]))
        results: list[Any] = [None] * len(items)
        for start in range(0, len(items), size):
            chunk = order[start:start + size]
            for index, result in zip(chunk, self._run([items[i] for i in chunk], params), strict=True):
                results[index] = result
        return self._finish(results, single, params)

    def _length(self, item: Any) -> int:
        """How long an item is, roughly (for ``sort_by_length``): its characters."""
        return len(item)

    def _items(self, inputs: Any) -> tuple[list[Any], Any]:
        """(the inputs as a list of items, whether one input was given: a truthy value,
        which ``_finish`` receives, says so)."""
        if isinstance(inputs, (list, tuple)):
            items = [self._item(x, i) for i, x in enumerate(inputs)]
            return items, False
        return [self._item(inputs, None)], True

    def _item(self, value: Any, index: int | None) -> Any:
        if not isinstance(value, str):
            raise PipelineError(f"{self._where(index)}is {_show(value)}; the {self.task} pipeline takes "
                                f"{self.input_kinds}, or a list of them.")
        return value

    @staticmethod
    def _where(index: int | None) -> str:
        return "the input " if index is None else f"input {index} "

    def _finish(self, results: list[Any], single: Any, params: dict[str, Any]) -> Any:
        return results[0] if single else results

    def _run(self, items: list[Any], params: dict[str, Any]) -> list[Any]:
        raise NotImplementedError

    # ------------------------------------------------------------------ model

    def _pad_id(self) -> int:
        """The id padding takes: the tokenizer's pad token, else the model's, else eos, else 0.
        The attention mask hides it; GPT-2-style classifiers find the last token by
        ``config.pad_token_id``, which the second choice serves."""
        for value in (self.tokenizer.pad_token_id, getattr(self.model.config, "pad_token_id", None),
                      self.tokenizer.eos_token_id):
            if isinstance(value, int):
                return value
        return 0

    def _tensors(self, encoded: Mapping[str, Any], rows: Sequence[int] | None = None,
                 side: str | None = None) -> dict[str, torch.Tensor]:
        """Pad the model inputs of ``encoded`` (lists, as the tokenizer returns them without
        tensors) into tensors on the model's device; ``rows`` picks some rows."""
        ids = encoded["input_ids"]
        picked = range(len(ids)) if rows is None else rows
        lengths = [len(ids[r]) for r in picked]
        longest = max(lengths)
        self._check_length(longest)
        side = side or self.tokenizer.padding_side
        fills = {"input_ids": self._pad_id(), "attention_mask": 0,
                 "token_type_ids": self.tokenizer.pad_token_type_id}
        out = {}
        for name in self._input_names:
            if name not in encoded and name != "attention_mask":
                continue
            values = encoded.get(name)
            array = torch.full((len(lengths), longest), fills.get(name, 0), dtype=torch.long)
            for i, (r, n) in enumerate(zip(picked, lengths, strict=True)):
                row = [1] * n if values is None else values[r]
                if side == "right":
                    array[i, :n] = torch.tensor(row, dtype=torch.long)
                else:
                    array[i, longest - n:] = torch.tensor(row, dtype=torch.long)
            out[name] = array.to(self.device)
        return out

    def _check_length(self, length: int) -> None:
        limit = getattr(self.model.config, "max_position_embeddings", None)
        if isinstance(limit, int) and 0 < limit < length:
            raise PipelineError(
                f"an input is {length} tokens long, but {type(self.model).__name__} takes at most {limit} "
                f"(max_position_embeddings); {self.length_fix}."
            )

    def _forward(self, inputs: dict[str, torch.Tensor]) -> Any:
        # no_grad, not inference_mode: tensors handed to the caller (return_tensors=True)
        # stay ordinary tensors that may be changed in place.
        with torch.no_grad():
            return self.model(**inputs)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"a {type(value).__name__}"
