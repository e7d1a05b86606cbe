"""feature-extraction: the base model's hidden states, per token or pooled."""

from __future__ import annotations

from typing import Any

import torch

from .base import Pipeline, PipelineError

POOLING = (None, "mean", "cls", "max")


class FeatureExtractionPipeline(Pipeline):
    """The last hidden states of the base model.

    One result per input: without ``pooling``, a nested list (1, tokens, hidden) as
    transformers gives, each input's own tokens only (padding of a batch is dropped);
    with ``pooling``, one vector (hidden,): ``"mean"`` averages the tokens (special
    tokens included, padding not: the sentence embedding of sentence-transformers
    checkpoints such as all-MiniLM-L6-v2), ``"cls"`` takes the first token, ``"max"``
    the largest value of each feature. ``normalize=True`` scales a pooled vector to
    unit length. ``return_tensors=True`` gives torch tensors instead of lists.
    ``truncation=True`` cuts inputs to the tokenizer's ``model_max_length`` (or
    ``max_length``); ``tokenize_kwargs`` go to the tokenizer.
    """

    task = "feature-extraction"
    head = "base"
    sort_by_length = True
    parameters = {"pooling": None, "normalize": False, "return_tensors": False, "truncation": None,
                  "max_length": None, "tokenize_kwargs": None}

    def _check(self, params: dict[str, Any]) -> None:
        pooling = params["pooling"]
        if pooling not in POOLING:
            raise PipelineError(f"pooling={pooling!r}: use None (every token), 'mean', 'cls' or 'max'.")
        if params["normalize"] and pooling is None:
            raise PipelineError("normalize=True scales a pooled vector: pass pooling='mean' (or 'cls', 'max') too.")

    def _run(self, items: list[str], params: dict[str, Any]) -> list[Any]:
        tokenize = {"verbose": False, **(params["tokenize_kwargs"] or {})}  # too long: _tensors says what to do
        for key in ("truncation", "max_length"):
            if params[key] is not None:
                tokenize[key] = params[key]
        encoded = self.tokenizer(items, **tokenize)
        inputs = self._tensors(encoded)
        hidden = self._forward(inputs)[0]  # (batch, seq, hidden)
        mask = inputs["attention_mask"] if "attention_mask" in inputs else torch.ones(hidden.shape[:2])
        lengths = [len(row) for row in encoded["input_ids"]]
        right = self.tokenizer.padding_side == "right"
        longest = hidden.shape[1]
        pooling = params["pooling"]
        if pooling is None:
            hidden = hidden.cpu()
            rows = [hidden[i, :n] if right else hidden[i, longest - n:] for i, n in enumerate(lengths)]
            if params["return_tensors"]:
                return [row.unsqueeze(0) for row in rows]  # (1, tokens, hidden)
            return [[row.tolist()] for row in rows]
        keep = mask.to(hidden.device, hidden.dtype).unsqueeze(-1)  # (batch, seq, 1)
        if pooling == "mean":
            pooled = (hidden * keep).sum(1) / keep.sum(1).clamp(min=1)
        elif pooling == "max":
            pooled = hidden.masked_fill(keep == 0, torch.finfo(hidden.dtype).min).amax(1)
        else:  # cls: the first real token
            first = torch.tensor([0 if right else longest - n for n in lengths], device=hidden.device)
            pooled = hidden[torch.arange(len(lengths), device=hidden.device), first]
        if params["normalize"]:
            pooled = torch.nn.functional.normalize(pooled, p=2, dim=-1)
        pooled = pooled.cpu()
        if params["return_tensors"]:
            return list(pooled)
        return pooled.tolist()
