"""question-answering: the span of a context that answers a question."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from .base import Pipeline, PipelineError, _show

_MASKED = -10000.0  # the logit of a token that cannot be in an answer


class QuestionAnsweringPipeline(Pipeline):
    """Extractive question answering with a span head (start and end logits).

    ``qa(question=..., context=...)``, ``qa({"question": ..., "context": ...})`` or a
    list of such dicts (or lists for ``question=`` and ``context=``; one question with a
    list of contexts asks it of each). One result per input: with ``top_k=1`` (default)
    ``{"score", "start", "end", "answer"}`` (``answer == context[start:end]``), else a
    list of up to ``top_k`` of them, best first.

    A span's score is p(start) * p(end), each a softmax over the context's tokens (and
    the first special token, which stands for "no answer"). A context longer than
    ``max_seq_len`` tokens (default 384, with the question) is read in overlapping
    windows, ``doc_stride`` tokens of overlap (default min(128, max_seq_len // 2)), and
    the answers of every window compete; a span found in two windows keeps its better
    score. Answers are at most ``max_answer_len`` tokens (15). ``align_to_words=True``
    widens an answer to whole words. ``handle_impossible_answer=True`` adds the answer
    ``""`` (start = end = 0), scored by the lowest no-answer score of the windows.
    """

    task = "question-answering"
    head = "question-answering"
    parameters = {"top_k": 1, "doc_stride": None, "max_answer_len": 15, "max_seq_len": 384,
                  "handle_impossible_answer": False, "align_to_words": True}
    input_kinds = "a {'question': str, 'context': str} dict"
    length_fix = "lower max_seq_len to the model's length: long contexts are read in windows of max_seq_len tokens"

    def _check(self, params: dict[str, Any]) -> None:
        for name in ("top_k", "max_answer_len", "max_seq_len"):
            value = params[name]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise PipelineError(f"{name}={value!r}: it must be a positive integer.")
        stride = params["doc_stride"]
        if stride is not None and (isinstance(stride, bool) or not isinstance(stride, int) or stride < 0):
            raise PipelineError(f"doc_stride={stride!r}: the tokens two windows of a long context share, "
                                "an integer >= 0.")
        if stride is not None and stride >= params["max_seq_len"]:
            raise PipelineError(f"doc_stride={stride} is not smaller than max_seq_len={params['max_seq_len']}: "
                                "windows would not move forward; lower doc_stride.")

    def __call__(self, inputs: Any = None, *, question: Any = None, context: Any = None,
                 batch_size: int | None = None, **params: Any) -> Any:
        if question is not None or context is not None:
            if inputs is not None:
                raise PipelineError("give the input once: qa(question=..., context=...) or qa({'question': ..., "
                                    "'context': ...}), not both.")
            inputs = self._from_keywords(question, context)
        elif inputs is None:
            raise PipelineError("question-answering needs a question and a context: qa(question=..., context=...).")
        return super().__call__(inputs, batch_size=batch_size, **params)

    @staticmethod
    def _from_keywords(question: Any, context: Any) -> Any:
        if isinstance(question, (list, tuple)) or isinstance(context, (list, tuple)):
            if isinstance(question, str):
                question = [question] * len(context)
            if isinstance(context, str):
                context = [context] * len(question)
            if not isinstance(question, (list, tuple)) or not isinstance(context, (list, tuple)) \
                    or len(question) != len(context):
                raise PipelineError(f"question= and context= are lists of different lengths "
                                    f"({len(question) if isinstance(question, (list, tuple)) else 'not a list'} and "
                                    f"{len(context) if isinstance(context, (list, tuple)) else 'not a list'}): "
                                    "give one context per question.")
            return [{"question": q, "context": c} for q, c in zip(question, context, strict=True)]
        return {"question": question, "context": context}

    def _items(self, inputs: Any) -> tuple[list[Any], Any]:
        if isinstance(inputs, Mapping):
            return [self._item(inputs, None)], True
        return super()._items(inputs)

    def _item(self, value: Any, index: int | None) -> Any:
        where = self._where(index)
        if not isinstance(value, Mapping) or set(value) != {"question", "context"}:
            raise PipelineError(f"{where}is {_show(value)}; question-answering takes "
                                "{'question': str, 'context': str}, or a list of them.")
        question, context = value["question"], value["context"]
        for name, text in (("question", question), ("context", context)):
            if not isinstance(text, str):
                raise PipelineError(f"{where}has {name}={_show(text)}; it must be a str.")
            if not text.strip():
                what = "the text to find the answer in" if name == "context" else "what to look for in the context"
                raise PipelineError(f"{where}has an empty {name} ({text!r}); give {what}.")
        return question, context

    def _run(self, items: list[tuple[str, str]], params: dict[str, Any]) -> list[Any]:
        tokenizer = self.tokenizer
        question_first = tokenizer.padding_side == "right"
        max_len = min(params["max_seq_len"], tokenizer.model_max_length)
        questions = [q.lstrip() for q, _ in items]  # leading spaces only shift BPE tokens
        contexts = [c for _, c in items]
        stride = self._stride(questions, max_len, params["doc_stride"])
        first, second = (questions, contexts) if question_first else (contexts, questions)
        encoded = tokenizer(first, second, truncation="only_second" if question_first else "only_first",
                            max_length=max_len, stride=stride, return_overflowing_tokens=True,
                            return_offsets_mapping=True)
        sample = encoded["overflow_to_sample_mapping"]
        features = len(sample)
        starts, ends = [], []
        for begin in range(0, features, len(items)):
            rows = range(begin, min(begin + len(items), features))
            inputs = self._tensors(encoded, rows)
            out = self._forward(inputs)
            start, end = out["start_logits"].float().cpu(), out["end_logits"].float().cpu()  # (rows, seq)
            longest = start.shape[1]
            for i, row in enumerate(rows):
                n = len(encoded["input_ids"][row])
                cut = slice(0, n) if tokenizer.padding_side == "right" else slice(longest - n, longest)
                starts.append(start[i, cut])
                ends.append(end[i, cut])
        context_index = 1 if question_first else 0
        answers: list[dict[tuple[int, int], float]] = [{} for _ in items]
        no_answer: list[float | None] = [None] * len(items)
        for row in range(features):
            item = sample[row]
            spans, null = self._spans(encoded, row, starts[row], ends[row], context_index, params)
            if null is not None:
                no_answer[item] = null if no_answer[item] is None else min(no_answer[item], null)
            found = answers[item]
            for span, score in spans:
                if score > found.get(span, -1.0):
                    found[span] = score
        results = []
        for (_, context), found, null in zip(items, answers, no_answer, strict=True):
            ranked = [{"score": score, "start": s, "end": e, "answer": context[s:e]}
                      for (s, e), score in found.items()]
            if params["handle_impossible_answer"] and null is not None:
                ranked.append({"score": null, "start": 0, "end": 0, "answer": ""})
            ranked.sort(key=lambda a: -a["score"])
            ranked = ranked[:params["top_k"]]
            results.append(ranked[0] if params["top_k"] == 1 else ranked)
        return results

    def _stride(self, questions: list[str], max_len: int, stride: int | None) -> int:
        """The overlap of windows: doc_stride, checked against the room the longest question leaves."""
        specials = self.tokenizer.num_special_tokens_to_add(pair=True)
        lengths = [len(ids) for ids in self.tokenizer(questions, add_special_tokens=False)["input_ids"]]
        longest = max(lengths)
        room = max_len - specials - longest
        if room < 1:
            index = lengths.index(longest)
            raise PipelineError(f"the question of input {index} is {longest} tokens long: with {specials} special "
                                f"tokens it leaves no room for the context in max_seq_len={max_len}; shorten the "
                                "question or raise max_seq_len.")
        if stride is None:
            return min(128, max_len // 2, room - 1)
        if stride >= room:
            raise PipelineError(f"doc_stride={stride} leaves the windows no new context: each window holds "
                                f"{room} context tokens (max_seq_len={max_len} minus the longest question, "
                                f"{longest} tokens, and {specials} special tokens); pass doc_stride < {room}.")
        return stride

    def _spans(self, encoded: Any, row: int, start: torch.Tensor, end: torch.Tensor, context_index: int,
               params: dict[str, Any]) -> tuple[list[tuple[tuple[int, int], float]], float | None]:
        """The best spans of one window as ((start char, end char), score), and its no-answer score."""
        ids = encoded["input_ids"][row]
        sequence = encoded.sequence_ids(row)
        in_context = torch.tensor([s == context_index for s in sequence])
        cls = next((i for i, t in enumerate(ids) if t == self.tokenizer.cls_token_id), None)
        allowed = in_context.clone()
        if cls is not None:
            allowed[cls] = True
        p_start = start.masked_fill(~allowed, _MASKED).softmax(-1)
        p_end = end.masked_fill(~allowed, _MASKED).softmax(-1)
        null = float(p_start[cls] * p_end[cls]) if cls is not None else None
        n = len(ids)
        position = torch.arange(n)
        length = position[None, :] - position[:, None]  # (start, end): end - start
        valid = in_context[:, None] & in_context[None, :] & (length >= 0) & (length < params["max_answer_len"])
        scores = (p_start[:, None] * p_end[None, :]).masked_fill(~valid, -1.0).flatten()  # (start * end)
        k = min(params["top_k"], int(valid.sum()))
        if k == 0:
            return [], null
        best, flat = scores.topk(k)
        offsets = encoded["offset_mapping"][row]
        words = encoded.word_ids(row) if params["align_to_words"] else None
        spans = []
        for score, index in zip(best.tolist(), flat.tolist(), strict=True):
            s, e = divmod(index, n)
            if words is not None:
                s_word, e_word = words[s], words[e]
                first = min(i for i in range(n) if words[i] == s_word and sequence[i] == context_index)
                last = max(i for i in range(n) if words[i] == e_word and sequence[i] == context_index)
                span = (offsets[first][0], offsets[last][1])
            else:
                span = (offsets[s][0], offsets[e][1])
            spans.append((span, score))
        return spans, null
