"""text-classification (sentiment-analysis): a label for a text or a pair of texts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import Pipeline, PipelineError, _show

FUNCTIONS = ("softmax", "sigmoid", "none")
_UNSET = object()


class TextClassificationPipeline(Pipeline):
    """The labels of ``config.id2label`` with their scores.

    An input is a str, or ``{"text": ..., "text_pair": ...}`` for a pair. Without
    ``top_k``, each input gets its best label ``{"label", "score"}`` (a str input gives
    ``[{"label", "score"}]``, as transformers does); with ``top_k`` (an int, or None for
    every label) each input gets a list of labels, best first. ``function_to_apply``:
    ``"softmax"``, ``"sigmoid"`` or ``"none"`` (the logits); by default sigmoid for
    one label or ``problem_type="multi_label_classification"``, none for regression,
    else softmax.
    """

    task = "text-classification"
    head = "sequence-classification"
    sort_by_length = True
    parameters = {"top_k": _UNSET, "function_to_apply": None, "truncation": None, "max_length": None,
                  "tokenize_kwargs": None}
    input_kinds = "a str or a {'text': ..., 'text_pair': ...} dict"

    def _check(self, params: dict[str, Any]) -> None:
        top_k = params["top_k"]
        if top_k is not _UNSET and top_k is not None and (
                isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
            raise PipelineError(f"top_k={top_k!r}: a positive number of labels, or None for all of them.")
        function = params["function_to_apply"]
        if function is not None and str(getattr(function, "value", function)).lower() not in FUNCTIONS:
            raise PipelineError(f"function_to_apply={function!r}: use 'softmax', 'sigmoid' or 'none'.")

    def _item(self, value: Any, index: int | None) -> Any:
        if isinstance(value, str):
            return (value, None)
        if isinstance(value, Mapping):
            if set(value) - {"text", "text_pair"} or not isinstance(value.get("text"), str) or \
                    not isinstance(value.get("text_pair", ""), str):
                raise PipelineError(f"{self._where(index)}is {_show(value)}; a pair is "
                                    "{'text': str, 'text_pair': str}.")
            return (value["text"], value.get("text_pair"))
        return super()._item(value, index)

    def _items(self, inputs: Any) -> tuple[list[Any], Any]:
        items, single = super()._items(inputs)
        return items, "pair" if single and isinstance(inputs, Mapping) else single

    def _length(self, item: tuple[str, str | None]) -> int:
        return len(item[0]) + len(item[1] or "")

    def _function(self, params: dict[str, Any]) -> str:
        function = params["function_to_apply"]
        if function is not None:
            return str(getattr(function, "value", function)).lower()
        config = self.model.config
        if config.problem_type == "regression":
            return "none"
        if config.problem_type == "multi_label_classification" or config.num_labels == 1:
            return "sigmoid"
        return "softmax"

    def _run(self, items: list[tuple[str, str | None]], params: dict[str, Any]) -> list[Any]:
        tokenize = {"verbose": False, **(params["tokenize_kwargs"] or {})}  # too long: _tensors says what to do
        for key in ("truncation", "max_length"):
            if params[key] is not None:
                tokenize[key] = params[key]
        texts = [text for text, _ in items]
        pairs = [pair for _, pair in items]
        if all(p is None for p in pairs):
            encoded = self.tokenizer(texts, **tokenize)
        elif all(p is not None for p in pairs):
            encoded = self.tokenizer(texts, pairs, **tokenize)
        else:  # pairs and single texts in one batch: encode them apart, in order
            parts = [self.tokenizer([t], None if p is None else [p], **tokenize) for t, p in items]
            encoded = {key: [row for part in parts for row in part[key]] for key in parts[0]}
        logits = self._forward(self._tensors(encoded))[0].float()  # (batch, labels)
        function = self._function(params)
        scores = logits.softmax(-1) if function == "softmax" else logits.sigmoid() if function == "sigmoid" \
            else logits
        labels = self.model.config.id2label
        top_k = params["top_k"]
        results = []
        for row in scores.tolist():
            ranked = sorted(range(len(row)), key=lambda i: -row[i])
            named = [{"label": labels.get(i, f"LABEL_{i}"), "score": row[i]} for i in ranked]
            if top_k is _UNSET:
                results.append(named[0])
            else:
                results.append(named if top_k is None else named[:top_k])
        return results

    def _finish(self, results: list[Any], single: bool, params: dict[str, Any]) -> Any:
        if single is True and params["top_k"] is _UNSET:
            return [results[0]]  # transformers' shape for one str and no top_k
        return super()._finish(results, single, params)
