"""token-classification (ner): a label per token, or entities grouped from them."""

from __future__ import annotations

from typing import Any

from .base import Pipeline, PipelineError

STRATEGIES = ("none", "simple", "first", "average", "max")


def _tag(label: str) -> tuple[str, str]:
    """("B" or "I", the entity type) of an IOB label; a label without a prefix continues."""
    if label.startswith(("B-", "I-")):
        return label[0], label[2:]
    return "I", label


class TokenClassificationPipeline(Pipeline):
    """Labels from ``config.id2label`` for the tokens of a text.

    ``aggregation_strategy``:

    - ``"none"`` (default): one ``{"entity", "score", "index", "word", "start", "end"}``
      per token (``index`` in the input ids, ``word`` the token, ``start``/``end``
      character offsets in the text);
    - ``"simple"``: runs of tokens whose IOB labels continue one another (same type, no
      ``B-`` restart) become one ``{"entity_group", "score", "word", "start", "end"}``,
      scored by the mean of their scores;
    - ``"first"``, ``"average"``, ``"max"``: first each word gets one label, that of its
      first token, of its tokens' mean scores, or of its most confident token; then
      words are grouped as in ``"simple"``.

    Labels in ``ignore_labels`` (default ``["O"]``) are dropped after grouping.
    """

    task = "token-classification"
    head = "token-classification"
    sort_by_length = True
    parameters = {"aggregation_strategy": "none", "ignore_labels": ("O",), "truncation": None,
                  "max_length": None}

    def _check(self, params: dict[str, Any]) -> None:
        strategy = params["aggregation_strategy"]
        strategy = getattr(strategy, "value", strategy)
        if strategy is None:
            strategy = "none"
        if not isinstance(strategy, str) or strategy.lower() not in STRATEGIES:
            raise PipelineError(f"aggregation_strategy={params['aggregation_strategy']!r}: use one of "
                                f"{', '.join(map(repr, STRATEGIES))}.")
        params["aggregation_strategy"] = strategy.lower()
        ignore = params["ignore_labels"]
        if isinstance(ignore, str) or not isinstance(ignore, (list, tuple, set, frozenset)):
            raise PipelineError(f"ignore_labels={ignore!r}: give a list of labels (['O'] by default, [] keeps all).")

    def _run(self, items: list[str], params: dict[str, Any]) -> list[Any]:
        tokenize = {key: params[key] for key in ("truncation", "max_length") if params[key] is not None}
        tokenize.setdefault("verbose", False)  # too long: _tensors says what to do
        encoded = self.tokenizer(items, return_offsets_mapping=True, return_special_tokens_mask=True, **tokenize)
        inputs = self._tensors(encoded)
        logits = self._forward(inputs)[0].float()  # (batch, seq, labels)
        probs = logits.softmax(-1).cpu()
        longest = logits.shape[1]
        right = self.tokenizer.padding_side == "right"
        results = []
        for row, text in enumerate(items):
            ids = encoded["input_ids"][row]
            shift = 0 if right else longest - len(ids)
            tokens = self._tokens(text, encoded, row, probs[row, shift:shift + len(ids)].tolist())
            results.append(self._entities(tokens, params))
        return results

    def _tokens(self, text: str, encoded: Any, row: int, scores: list[list[float]]) -> list[dict[str, Any]]:
        """The non-special tokens of a row: token string, scores, offsets, whether it continues a word."""
        tokenizer = self.tokenizer
        ids = encoded["input_ids"][row]
        offsets = encoded["offset_mapping"][row]
        special = encoded["special_tokens_mask"][row]
        words = encoded.word_ids(row)
        unk = tokenizer.unk_token_id
        tokens, previous_word = [], None
        for index, token_id in enumerate(ids):
            if special[index]:
                continue
            start, end = offsets[index]
            word = words[index]
            token = {"word": tokenizer.convert_ids_to_tokens(token_id), "scores": scores[index], "index": index,
                     "start": start, "end": end,
                     "is_subword": word is not None and word == previous_word and bool(tokens)}
            if token_id == unk:  # the text itself says more than [UNK]
                token["word"], token["is_subword"] = text[start:end], False
            previous_word = word
            tokens.append(token)
        return tokens

    def _label(self, scores: list[float]) -> tuple[str, float]:
        best = max(range(len(scores)), key=scores.__getitem__)
        return self.model.config.id2label.get(best, f"LABEL_{best}"), scores[best]

    def _entities(self, tokens: list[dict[str, Any]], params: dict[str, Any]) -> list[dict[str, Any]]:
        strategy = params["aggregation_strategy"]
        ignore = set(params["ignore_labels"])
        if strategy in ("none", "simple"):
            entities = []
            for token in tokens:
                label, score = self._label(token["scores"])
                entities.append({"entity": label, "score": score, "index": token["index"], "word": token["word"],
                                 "start": token["start"], "end": token["end"]})
            if strategy == "none":
                return [e for e in entities if e["entity"] not in ignore]
        else:
            entities = [self._word_entity(word, strategy) for word in self._words(tokens)]
        groups = [self._group(run) for run in self._runs(entities)]
        return [g for g in groups if g["entity_group"] not in ignore]

    @staticmethod
    def _words(tokens: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
        words: list[list[dict[str, Any]]] = []
        for token in tokens:
            if token["is_subword"] and words:
                words[-1].append(token)
            else:
                words.append([token])
        return words

    def _word_entity(self, word: list[dict[str, Any]], strategy: str) -> dict[str, Any]:
        if strategy == "first":
            scores = word[0]["scores"]
        elif strategy == "max":
            scores = max(word, key=lambda t: max(t["scores"]))["scores"]
        else:  # average
            scores = [sum(column) / len(word) for column in zip(*(t["scores"] for t in word), strict=True)]
        label, score = self._label(scores)
        text = self.tokenizer.convert_tokens_to_string([t["word"] for t in word])
        return {"entity": label, "score": score, "word": text, "start": word[0]["start"], "end": word[-1]["end"]}

    @staticmethod
    def _runs(entities: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
        """Consecutive entities of one type, a ``B-`` label starting a new run."""
        runs: list[list[dict[str, Any]]] = []
        for entity in entities:
            bi, kind = _tag(entity["entity"])
            if runs and bi != "B" and _tag(runs[-1][-1]["entity"])[1] == kind:
                runs[-1].append(entity)
            else:
                runs.append([entity])
        return runs

    def _group(self, run: list[dict[str, Any]]) -> dict[str, Any]:
        return {"entity_group": _tag(run[0]["entity"])[1], "score": sum(e["score"] for e in run) / len(run),
                "word": self.tokenizer.convert_tokens_to_string([e["word"] for e in run]),
                "start": run[0]["start"], "end": run[-1]["end"]}
