"""fill-mask: the likeliest tokens for each mask token of the input."""

from __future__ import annotations

import warnings
from typing import Any

import torch

from .base import Pipeline, PipelineError, _show


class FillMaskPipeline(Pipeline):
    """Predictions for the tokenizer's mask token (``[MASK]`` for BERT).

    One result per input: for one mask, the ``top_k`` predictions (default 5), best
    first, each ``{"score", "token", "token_str", "sequence"}`` (``sequence``: the
    input with the mask filled, special tokens dropped); for several masks, one such
    list per mask, in order, each ``sequence`` filling that mask only (special tokens
    kept, as transformers does). ``score`` is the probability over the whole
    vocabulary. ``targets`` (a word or a list) limits the predictions to those tokens;
    a target that is not one token is scored by its first token (with a warning).
    """

    task = "fill-mask"
    head = "masked-lm"
    sort_by_length = True
    parameters = {"top_k": 5, "targets": None, "tokenize_kwargs": None}
    length_fix = "shorten the input (cutting it could cut the mask token off)"

    def _check(self, params: dict[str, Any]) -> None:
        top_k = params["top_k"]
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise PipelineError(f"top_k={top_k!r}: the number of predictions per mask, a positive integer.")
        targets = params["targets"]
        if targets is not None:
            if isinstance(targets, str):
                targets = [targets]
            if not isinstance(targets, (list, tuple)) or not targets or not all(isinstance(t, str) for t in targets):
                raise PipelineError(f"targets={targets!r}: give a word or a non-empty list of words.")
        if self.tokenizer.mask_token_id is None:
            raise PipelineError(f"{type(self.tokenizer).__name__} has no mask_token, so fill-mask cannot mark "
                                "the word to predict; set tokenizer.mask_token to the model's mask token.")

    def _item(self, value: Any, index: int | None) -> Any:
        text = super()._item(value, index)
        mask = self.tokenizer.mask_token
        if mask not in text:
            raise PipelineError(f"{self._where(index)}has no mask token {mask!r}: put {mask!r} where the word to "
                                f"predict goes ({_show(text)}).")
        return text

    def _target_ids(self, targets: str | list[str]) -> list[int]:
        if isinstance(targets, str):
            targets = [targets]
        vocab = self.tokenizer.get_vocab()
        ids = []
        for target in targets:
            index = vocab.get(target)
            if index is None:
                pieces = self.tokenizer(target, add_special_tokens=False)["input_ids"]
                if not pieces:
                    warnings.warn(f"fill-mask target {target!r} makes no token; it is ignored.", stacklevel=4)
                    continue
                index = pieces[0]
                warnings.warn(f"fill-mask target {target!r} is not a token of the vocabulary; it is scored by "
                              f"its first token {self.tokenizer.convert_ids_to_tokens(index)!r}.", stacklevel=4)
            ids.append(index)
        ids = list(dict.fromkeys(ids))
        if not ids:
            raise PipelineError(f"targets={targets!r} give no token to score; give words of the vocabulary.")
        return ids

    def _run(self, items: list[str], params: dict[str, Any]) -> list[Any]:
        tokenizer = self.tokenizer
        mask_id = tokenizer.mask_token_id
        encoded = tokenizer(items, **{"verbose": False, **(params["tokenize_kwargs"] or {})})
        masks = [[i for i, token in enumerate(ids) if token == mask_id] for ids in encoded["input_ids"]]
        for text, found in zip(items, masks, strict=True):
            if not found:  # the mask token's text is there, but inside something the tokenizer keeps whole
                raise PipelineError(f"{text!r} makes no mask token {tokenizer.mask_token!r} when tokenized; "
                                    "put it between words.")
        inputs = self._tensors(encoded)
        logits = self._forward(inputs)[0]  # (batch, seq, vocab)
        longest = logits.shape[1]
        right = tokenizer.padding_side == "right"
        rows, positions = [], []
        for row, (ids, found) in enumerate(zip(encoded["input_ids"], masks, strict=True)):
            shift = 0 if right else longest - len(ids)
            rows.extend([row] * len(found))
            positions.extend(shift + p for p in found)
        probs = logits[torch.tensor(rows), torch.tensor(positions)].float().softmax(-1)  # (masks, vocab)
        targets = None if params["targets"] is None else self._target_ids(params["targets"])
        if targets is not None:
            probs = probs[:, torch.tensor(targets, device=probs.device)]
        k = min(params["top_k"], probs.shape[-1])
        scores, picked = probs.topk(k, dim=-1)
        scores, picked = scores.tolist(), picked.tolist()
        if targets is not None:
            picked = [[targets[i] for i in row] for row in picked]
        results, cursor = [], 0
        for ids, found in zip(encoded["input_ids"], masks, strict=True):
            single = len(found) == 1
            per_mask = []
            for position in found:
                predictions = []
                for score, token in zip(scores[cursor], picked[cursor], strict=True):
                    filled = list(ids)
                    filled[position] = token
                    predictions.append({
                        "score": score, "token": token, "token_str": tokenizer.decode([token]),
                        "sequence": tokenizer.decode(filled, skip_special_tokens=single),
                    })
                per_mask.append(predictions)
                cursor += 1
            results.append(per_mask[0] if single else per_mask)
        return results
