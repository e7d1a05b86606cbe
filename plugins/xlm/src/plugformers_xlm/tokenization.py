"""XLM's tokenizer: Moses preprocessing per language (sacremoses), then BPE with a ``</w>``
end-of-word marker (vocab.json + merges.txt) run by the `tokenizers` library.

The pipeline of each text, for a language ``lang``:

1. Moses punctuation clean-up: full-width and CJK punctuation to ASCII (the table of Moses'
   replace-unicode-punctuation.perl), ``MosesPunctNormalizer(lang)``, then every character
   of Unicode category C (control, format, private use, unassigned) removed;
2. ``MosesTokenizer(lang)`` splits it into words (no XML escaping); Romanian ("ro") first
   loses its diacritics; Chinese, Japanese and Thai use their own word segmenters (rjieba,
   KyTea, PyThaiNLP: installed separately, asked for by name when missing);
3. with ``do_lowercase_and_remove_accent``: the words are lowercased, decomposed (NFD) and
   their combining marks (category Mn) dropped;
4. BPE: each word is split into characters, the last one carrying ``</w>``, and merged by
   merges.txt's ranks (in Rust); a piece that is not in vocab.json is the unknown token;
5. the template ``<s> A </s>`` / ``<s> A </s> B </s>`` (token type 0 on ``<s> A </s>``, 1 on
   ``B </s>``).

Special tokens in the text (``<s>``, ``<special1>``, tokens added later) are cut out first,
and the text between them goes through the pipeline piece by piece, as in transformers.

Speed: Moses is pure Python and costs most of the time, mainly in per-call overhead (some
60 regular-expression passes per text) and in sacremoses' per-token prefix checks. So a
batch is preprocessed as one string: the texts are joined with a separator word that no
Moses rule touches, normalized and tokenized in one pass of each rule, and split again; the
few texts whose first or last character a rule treats differently at the end of a string
than before a separator (an apostrophe or a comma there) are tokenized alone. Inside
sacremoses' own pipeline a few rules are swapped for faster ones with the same results: the
nonbreaking-prefix check visits only tokens ending with a period and uses sets built once,
the apostrophe and comma rules are tried only where there is an apostrophe or a comma, and
runs of spaces are collapsed without rewriting every single space. Tests compare the batched
words with sacremoses' unbatched ones. BPE, special tokens and padding then run in one Rust
call for the batch; merge pieces that vocab.json lacks (fastBPE vocabularies drop pieces only
seen inside longer ones) have ids past the vocabulary in Rust and come out as ``<unk>``.

Truncation (without overflowing rows) is decided here, as XLM's Python tokenizer decides it:
the Rust library splits an odd budget of a pair the other way and refuses 'only_first' /
'only_second' cuts that XLM's tokenizer makes as far as it can.

Where this differs from transformers 5.23's XLMTokenizer, and why:

- ``lang`` is applied. transformers' tokenize() does not pass it on to the Moses step, so
  ``tokenizer(text, lang="fr")`` there uses English rules; its ``_tokenize(text, lang=...)``
  and this tokenizer use French ones.
- Offsets: the Moses steps rewrite the text (quotes, spacing, case, accents), so positions
  in the original text are not known and ``return_offsets_mapping=True`` raises, where
  transformers returns no offsets without saying so. ``word_ids`` give each token's Moses word.
- ``tokenize`` gives ``<unk>`` for a BPE piece outside the vocabulary, where transformers
  gives the piece itself (the ids are the same).
- merges.txt: a malformed line is an error naming the line (transformers skips it), and the
  last line counts when the file does not end with a newline (transformers drops it).
- No tokenizer.json is saved: it cannot hold the Moses steps.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from plugformers.tokenization_utils import BatchEncoding, PreTrainedTokenizer
from tokenizers import AddedToken, Tokenizer, decoders, pre_tokenizers, processors
from tokenizers.models import BPE

__all__ = ["XLMTokenizer", "XLMTokenizerFast", "moses_words"]

VOCAB_FILE = "vocab.json"
MERGES_FILE = "merges.txt"
END_OF_WORD = "</w>"
SPECIAL_TOKENS = tuple(f"<special{i}>" for i in range(10))
# Languages transformers' XLMTokenizer segments with another package, and how to get it
SEGMENTERS = {
    "zh": ("rjieba", "pip install rjieba"),
    "th": ("pythainlp", "pip install pythainlp"),
    "ja": ("Mykytea", "pip install kytea (it needs the KyTea library and its model in "
                      "~/local/share/kytea/model.bin: see https://github.com/neubig/kytea)"),
}

# Moses' replace-unicode-punctuation.perl: one character each, plus "。" and "．" that also
# eat the whitespace after them
_UNICODE_PUNCT = str.maketrans({
    "，": ",", "、": ",", "”": '"', "“": '"', "∶": ":", "：": ":", "？": "?", "《": '"', "》": '"',
    "）": ")", "！": "!", "（": "(", "；": ";", "」": '"', "「": '"', "～": "~", "’": "'", "…": "...",
    "━": "-", "〈": "<", "〉": ">", "【": "[", "】": "]", "％": "%",
    **{chr(0xFF10 + digit): str(digit) for digit in range(10)},
})
_UNICODE_PUNCT_CHARS = re.compile("[" + "".join(map(re.escape, map(chr, _UNICODE_PUNCT))) + "。．]")
_FULL_STOPS = re.compile(r"[。．]\s*")
# Sennrich's WMT16 Romanian normalization and diacritics removal (for xlm-mlm-enro-1024)
_ROMANIAN = str.maketrans({"\u015e": "S", "\u015f": "s", "\u0162": "T", "\u0163": "t", "\u0218": "S",
                           "\u0219": "s", "\u021a": "T", "\u021b": "t", "\u0102": "A", "\u0103": "a",
                           "\u00c2": "A", "\u00e2": "a", "\u00ce": "I", "\u00ee": "i"})
# Joins the texts of a batch: letters only, so no Moses rule splits or moves it; it starts
# with "<" in the normalizer's pass (the rule moving a period after a closing quote looks
# for a character other than "<" after the quote)
_SEPARATOR = "QXLMSEPARATORQ"
_NORMALIZER_SEPARATOR = f"<{_SEPARATOR}>"


_DROP_PATTERNS: dict[frozenset, re.Pattern] = {}


def _drop_categories(text: str, first_letter: str | None = None, category: str | None = None) -> str:
    """``text`` without the characters of a Unicode category (``Mn``) or class (``C``)."""
    bad = frozenset(c for c in set(text) if (unicodedata.category(c)[0] == first_letter if first_letter
                                              else unicodedata.category(c) == category))
    if not bad:
        return text
    pattern = _DROP_PATTERNS.get(bad)
    if pattern is None:
        if len(_DROP_PATTERNS) > 256:
            _DROP_PATTERNS.clear()
        pattern = _DROP_PATTERNS[bad] = re.compile("[" + "".join(map(re.escape, sorted(bad))) + "]")
    return pattern.sub("", text)


def _punctuation_pass(text: str) -> str:
    """replace-unicode-punctuation.perl."""
    if text.isascii() or not _UNICODE_PUNCT_CHARS.search(text):
        return text
    text = _UNICODE_PUNCT_CHARS.sub(lambda match: _UNICODE_PUNCT.get(ord(match.group()), match.group()), text)
    if "。" in text or "．" in text:
        text = _FULL_STOPS.sub(". ", text)
    return text


def _remove_non_printing(text: str) -> str:
    """remove-non-printing-char.perl: drop every character of category C."""
    if text.isprintable():  # no category C (nor separators other than the space)
        return text
    return _drop_categories(text, first_letter="C")


def _lowercase_and_remove_accents(text: str) -> str:
    text = text.lower()
    if text.isascii():
        return text
    return _drop_categories(unicodedata.normalize("NFD", text), category="Mn").lower()


# ------------------------------------------------------------------------- Moses, per language

class _AnchoredPattern:
    """A compiled pattern whose every match has ``literal`` at ``offset`` (``([^x])'([^x])``), with
    the same ``sub``: it tries the pattern only where the literal is, instead of at every
    position (the pattern's first item is a large character class, which re cannot skip)."""

    def __init__(self, pattern: re.Pattern, literal: str, offset: int) -> None:
        self.pattern, self.literal, self.offset = pattern, literal, offset

    def sub(self, replacement: str, text: str) -> str:
        literal, offset, match_at = self.literal, self.offset, self.pattern.match
        position = text.find(literal, offset)
        if position < 0:
            return text
        out, end = [], 0  # end: where the last match ended (matches do not overlap)
        while position >= 0:
            start = position - offset
            if start >= end:
                match = match_at(text, start)
                if match is not None:  # (sub on the match itself: re caches the parsed replacement)
                    out += (text[end:start], self.pattern.sub(replacement, match.group(), 1))
                    end = match.end()
            position = text.find(literal, position + 1)
        out.append(text[end:])
        return "".join(out)


_MOSES: dict[str, tuple[Any, Any]] = {}  # lang -> (MosesPunctNormalizer, MosesTokenizer)
_RUNS_OF_SPACE = (re.compile(r"\s{2,}|[^\S ]"), " ")
_PERIOD_TOKEN = re.compile(r"(?<![^ ])([^ ]+)\.(?![^ ])")  # a token ending with a period, and its prefix
_NEXT_TOKEN = re.compile(r" +([^ ])")


def _anchored(pattern: re.Pattern, literal: str) -> _AnchoredPattern:
    """``pattern`` (one character, then ``literal``) tried only where ``literal`` is."""
    source = pattern.pattern
    if not (source.startswith("([") and f"])[{literal}]" in source and source.count("[") - source.count("\\[") <= 4):
        return pattern  # not of that shape (another sacremoses version): left as it is
    return _AnchoredPattern(pattern, literal, 1)
_SPACES = re.compile("  +")


def _moses(lang: str) -> tuple[Any, Any]:
    """The (cached) sacremoses punctuation normalizer and tokenizer of a language."""
    pair = _MOSES.get(lang)
    if pair is None:
        try:
            import sacremoses
        except ImportError as e:
            raise ImportError("XLMTokenizer preprocesses text with sacremoses, which is not installed: "
                              "pip install sacremoses") from e

        class _Tokenizer(sacremoses.MosesTokenizer):
            """sacremoses' tokenizer with its character-class and prefix checks on sets, built once
            (sacremoses rebuilds a set of every lowercase character for each check)."""

            def __init__(self, lang: str) -> None:
                super().__init__(lang=lang)
                self._lower = frozenset(self.IsLower)
                self._alpha = frozenset(self.IsAlpha)
                self._prefixes = frozenset(self.NONBREAKING_PREFIXES)
                self._numeric_only = frozenset(self.NUMERIC_ONLY_PREFIXES)
                # whitespace runs to one space: the same result, without replacing every single space
                self.DEDUPLICATE_SPACE = _RUNS_OF_SPACE
                # the apostrophe and comma rules, tried only where there is an apostrophe or comma
                for name in ("ENGLISH_SPECIFIC_APOSTROPHE", "FR_IT_SPECIFIC_APOSTROPHE"):
                    setattr(self, name, [(_anchored(rx, "'"), sub) for rx, sub in getattr(self, name)])
                rx, sub = self.COMMA_SEPARATE_1
                self.COMMA_SEPARATE_1 = (_anchored(rx, ","), sub)

            def islower(self, text: str) -> bool:
                return self._lower.issuperset(text)

            def isanyalpha(self, text: str) -> bool:
                return not self._alpha.isdisjoint(text)

            def handles_nonbreaking_prefixes(self, text: str) -> str:
                # The same rules as sacremoses': a token "prefix." keeps its period when the
                # prefix holds a period and a letter, is a known nonbreaking prefix, or the next
                # token starts in lowercase (or with a digit, for numeric-only prefixes);
                # otherwise the period is split off. Only the tokens ending with a period are
                # visited. (Runs after whitespace became single spaces; the spacing of the
                # result does not matter, it is normalized next.)
                lower, prefixes, numeric_only, alpha = self._lower, self._prefixes, self._numeric_only, self._alpha
                out, end = [], 0
                for match in _PERIOD_TOKEN.finditer(text):
                    prefix = match.group(1)
                    after = _NEXT_TOKEN.match(text, match.end())
                    following = after.group(1) if after else None  # first character of the next token
                    if (("." in prefix and not alpha.isdisjoint(prefix))
                            or (prefix in prefixes and prefix not in numeric_only)
                            or (following is not None and following in lower)):
                        continue
                    if prefix in numeric_only and following is not None and "0" <= following <= "9":
                        continue
                    out += (text[end:match.end() - 1], " .")
                    end = match.end()
                if not out:
                    return text
                out.append(text[end:])
                return "".join(out)

        normalizer = sacremoses.MosesPunctNormalizer(lang=lang)
        # " +" -> " " gives the same text as "  +" -> " ", which does not stop at every space
        normalizer.substitutions = [(_SPACES if pattern == " +" else pattern, replacement)
                                    for pattern, replacement in normalizer.substitutions]
        pair = _MOSES[lang] = (normalizer, _Tokenizer(lang))
    return pair


_SEGMENTERS: dict[str, Any] = {}


def _segmenter(lang: str) -> Any:
    """The word segmenter of zh, th or ja (cached), or an ImportError naming what to install."""
    if lang not in _SEGMENTERS:
        _SEGMENTERS[lang] = _load_segmenter(lang)
    return _SEGMENTERS[lang]


def _load_segmenter(lang: str) -> Any:
    module, command = SEGMENTERS[lang]
    try:
        if lang == "zh":
            import rjieba

            return lambda text: list(rjieba.cut(text))
        if lang == "th":
            from pythainlp.tokenize import word_tokenize

            return word_tokenize
        import Mykytea

        kytea = Mykytea.Mykytea(f"-model {os.path.expanduser('~')}/local/share/kytea/model.bin")
        return lambda text: list(kytea.getWS(text))
    except (ImportError, AttributeError, RuntimeError) as e:
        raise ImportError(f"XLMTokenizer: lang={lang!r} is segmented into words with {module}, which is not "
                          f"available ({type(e).__name__}: {e}). Install it: {command}. (Or split the text into "
                          "words yourself and pass bypass_tokenizer=True.)") from e


def _normalize(text: str, lang: str) -> str:
    """Moses' punctuation normalization and non-printing character removal of one text."""
    return _remove_non_printing(_moses(lang)[0].normalize(_punctuation_pass(text)))


def _words_one(text: str, lang: str) -> str:
    """Moses words of one text, joined by spaces, exactly as the unbatched pipeline makes them."""
    if lang in SEGMENTERS:
        segment = _segmenter(lang)
        if lang == "zh":
            return " ".join(_normalize(" ".join(segment(text)), lang).split())
        return " ".join(segment(_normalize(text, lang)))
    text = _normalize(text, lang)
    if lang == "ro":
        text = text.translate(_ROMANIAN)
    return _moses(lang)[1].tokenize(text, return_str=True, escape=False)


def _boundary_sensitive(text: str) -> bool:
    """Whether a Moses rule treats the first or last character of ``text`` differently at the
    start or end of a string than next to a separator: apostrophe rules look at the character
    after (or before) an apostrophe, comma rules at the one before a comma."""
    text = text.strip()
    return text[:1] in ("'", ",") or text[-1:] in ("'", ",")


def moses_words(texts: list[str], lang: str = "en", lowercase_and_remove_accent: bool = False) -> list[str]:
    """The Moses words of each text (steps 1 to 3 of the module docstring), joined by spaces."""
    if lang in SEGMENTERS or len(texts) < 2:
        words = [_words_one(text, lang) for text in texts]
    else:
        words = _moses_batch(texts, lang)
    if lowercase_and_remove_accent:
        words = _lowercase_batch(words)
    return words


def _moses_batch(texts: list[str], lang: str) -> list[str]:
    normalizer, tokenizer = _moses(lang)
    joined = _NORMALIZER_SEPARATOR.join(texts)
    if joined.count(_SEPARATOR) != len(texts) - 1:  # a text holds the separator: no batching
        return [_words_one(text, lang) for text in texts]
    joined = _remove_non_printing(normalizer.normalize(_punctuation_pass(joined)))
    if lang == "ro":
        joined = joined.translate(_ROMANIAN)
    pieces = joined.split(_NORMALIZER_SEPARATOR)
    if len(pieces) != len(texts):
        return [_words_one(text, lang) for text in texts]
    words: list[str] = [""] * len(texts)
    batch = []
    for index, piece in enumerate(pieces):
        if _boundary_sensitive(piece):
            words[index] = tokenizer.tokenize(piece, return_str=True, escape=False)
        else:
            batch.append(index)
    if batch:
        tokens = tokenizer.tokenize(f" {_SEPARATOR} ".join([pieces[i] for i in batch]), return_str=True,
                                    escape=False)
        parts = tokens.split(f" {_SEPARATOR} ") if len(batch) > 1 else [tokens]
        if len(parts) != len(batch) or tokens.count(_SEPARATOR) != len(batch) - 1:
            # an empty text leaves two separators side by side: split on the word alone
            parts = tokens.split(_SEPARATOR)
            if len(parts) != len(batch):
                return [_words_one(text, lang) for text in texts]
        for index, part in zip(batch, parts, strict=True):
            words[index] = part
    return words


def _lowercase_batch(words: list[str]) -> list[str]:
    """Lowercase and strip accents (NFD, then no category Mn) of every text, in one pass."""
    separator = _SEPARATOR.lower()
    joined = _lowercase_and_remove_accents(f" {separator} ".join(words))
    parts = joined.split(f" {separator} ") if len(words) > 1 else [joined]
    if len(parts) != len(words) or joined.count(separator) != len(words) - 1:
        parts = joined.split(separator)
        if len(parts) != len(words):
            parts = [_lowercase_and_remove_accents(w) for w in words]
    # a word made only of combining marks disappears (the pre-tokenizer skips empty words)
    return parts


# ------------------------------------------------------------------------------ vocabulary files


def read_vocab(vocab_file: str) -> dict[str, int]:
    """vocab.json as {token: id}, checked."""
    try:
        with open(vocab_file, encoding="utf-8") as f:
            vocab = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{vocab_file}: not valid UTF-8 JSON ({e}); XLM's vocab.json maps each token to its id, "
                         'like {"<s>": 0, "the</w>": 15}. Re-download or re-save the tokenizer.') from None
    if not isinstance(vocab, dict) or not vocab:
        raise ValueError(f"{vocab_file}: expected a non-empty JSON object mapping tokens to ids, found "
                         f"{type(vocab).__name__ if not isinstance(vocab, dict) else 'an empty object'}.")
    for token, index in vocab.items():
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise ValueError(f"{vocab_file}: token {token!r} has id {index!r}; ids must be integers >= 0.")
    return vocab


def read_merges(merges_file: str) -> list[tuple[str, str]]:
    """merges.txt as [(left, right), ...] in rank order.

    XLM's lines are ``left right`` or ``left right count`` (fastBPE's codes, as transformers
    saves them); a first line ``#version: ...`` (the tokenizers library's) is skipped.
    """
    try:
        with open(merges_file, encoding="utf-8") as f:
            lines = f.read().split("\n")
    except UnicodeDecodeError as e:
        raise ValueError(f"{merges_file}: not UTF-8 text ({e}).") from None
    merges = []
    for number, line in enumerate(lines, start=1):
        parts = line.split()
        if not parts or (number == 1 and line.startswith("#version")):
            continue
        if len(parts) not in (2, 3) or (len(parts) == 3 and not parts[2].isdigit()):
            raise ValueError(f"{merges_file}, line {number}: {line!r} is not a merge. Each line holds two tokens "
                             "separated by a space, optionally followed by a count ('t h</w> 1234'). "
                             "Re-download the file or re-save the tokenizer.")
        merges.append((parts[0], parts[1]))
    return merges


# ------------------------------------------------------------------------------ the tokenizer


class XLMTokenizer(PreTrainedTokenizer):
    """XLM's tokenizer: Moses preprocessing per language, then BPE with ``</w>`` word ends.

    Args:
        vocab_file: vocab.json, ``{token: id}``.
        merges_file: merges.txt, one merge (``t h</w>``, optionally with a count) per line.
        do_lowercase_and_remove_accent: lowercase the words and strip their accents (True for
            the English and the two-language checkpoints, False for XLM-17 and XLM-100).
        lang2id, id2lang: the checkpoint's languages (as its config.json lists them).
        bos_token ``<s>``, sep_token and cls_token ``</s>``, pad_token ``<pad>``, unk_token
        ``<unk>``, mask_token ``<special1>``; additional_special_tokens ``<special0>`` ...
        ``<special9>``.

    Calls take ``lang`` (default "en"): the Moses rules (and word segmenter) of that language,
    and ``bypass_tokenizer=True`` for text already split into words by spaces (then only BPE
    runs: no Moses, no lowercasing). Other keyword arguments are those of `PreTrainedTokenizer`.
    """

    vocab_files_names = {"vocab_file": VOCAB_FILE, "merges_file": MERGES_FILE}
    model_input_names = ["input_ids", "attention_mask"]  # as transformers' XLMTokenizer returns

    def __init__(
        self,
        vocab_file: str | os.PathLike | None = None,
        merges_file: str | os.PathLike | None = None,
        unk_token: Any = "<unk>",
        bos_token: Any = "<s>",
        sep_token: Any = "</s>",
        pad_token: Any = "<pad>",
        cls_token: Any = "</s>",
        mask_token: Any = "<special1>",
        additional_special_tokens: list | None = None,
        lang2id: Mapping[str, int] | None = None,
        id2lang: Mapping[Any, str] | None = None,
        do_lowercase_and_remove_accent: bool = True,
        **kwargs: Any,
    ) -> None:
        if additional_special_tokens is None and kwargs.get("extra_special_tokens") is None:
            additional_special_tokens = list(SPECIAL_TOKENS)
        if lang2id is not None and id2lang is not None and len(lang2id) != len(id2lang):
            raise ValueError(f"lang2id has {len(lang2id)} languages but id2lang has {len(id2lang)}: give both "
                             "from the same config.json.")
        self.lang2id = dict(lang2id) if lang2id is not None else None
        self.id2lang = dict(id2lang) if id2lang is not None else None
        self.do_lowercase_and_remove_accent = bool(do_lowercase_and_remove_accent)
        self._extra_ids = range(0)  # ids of the merge pieces vocab.json lacks (the BPE model needs them)
        self._merges: list[tuple[str, str]] | None = None
        self._lang = "en"
        self._bypass = False
        self._split: bool | None = None
        self._added_pattern: tuple[int, Any] | None = None
        super().__init__(
            vocab_file=vocab_file, merges_file=merges_file, unk_token=unk_token, bos_token=bos_token,
            sep_token=sep_token, pad_token=pad_token, cls_token=cls_token, mask_token=mask_token,
            additional_special_tokens=additional_special_tokens, **kwargs,
        )

    @property
    def do_lower_case(self) -> bool:
        return self.do_lowercase_and_remove_accent

    # -- the hooks of PreTrainedTokenizer
    def _build_backend(self, vocab_file: str, merges_file: str) -> Tokenizer:
        vocab = read_vocab(vocab_file)
        merges = read_merges(merges_file)
        # fastBPE's vocabulary lists the pieces found in the segmented training text, so a merge's
        # intermediate result (or part) may be missing from it. The Rust BPE needs an id for each:
        # they get ids after the vocabulary's, and come out as the unknown token, as in XLM.
        model_vocab = dict(vocab)
        next_id = max(vocab.values()) + 1
        for left, right in merges:
            for piece in (left, right, left + right):
                if piece not in model_vocab:
                    model_vocab[piece] = next_id
                    next_id += 1
        self._extra_ids = range(max(vocab.values()) + 1, next_id)
        self._merges = merges
        unk = self.unk_token
        if unk is not None and unk not in vocab:
            raise ValueError(f"{vocab_file}: the unknown token {unk!r} is not in the vocabulary; pass the "
                             "vocabulary's own unk_token=...")
        backend = Tokenizer(BPE(model_vocab, merges, unk_token=unk, end_of_word_suffix=END_OF_WORD, fuse_unk=False))
        self._set_pipeline(backend)
        return backend

    def _adapt_backend(self, backend: Tokenizer) -> None:
        state = json.loads(backend.to_str())["model"]
        if state.get("type") != "BPE" or state.get("end_of_word_suffix") != END_OF_WORD:
            raise ValueError("XLMTokenizer needs a BPE model with the '</w>' end-of-word suffix; this tokenizer.json "
                             "holds another model. Load XLM's vocab.json and merges.txt instead.")
        self._set_pipeline(backend)

    def _set_pipeline(self, backend: Tokenizer) -> None:
        # Moses (in Python) hands the backend its words joined by spaces
        backend.normalizer = None
        backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
        backend.decoder = decoders.BPEDecoder(suffix=END_OF_WORD)
        bos, sep = self.bos_token, self.sep_token
        if bos is None or sep is None:
            raise ValueError("XLMTokenizer needs bos_token and sep_token: every sequence is framed by them.")
        for token in (bos, sep):
            if backend.token_to_id(token) is None:
                backend.add_special_tokens([AddedToken(token, special=True, normalized=False)])
        backend.post_processor = processors.TemplateProcessing(
            single=f"{bos}:0 $A:0 {sep}:0", pair=f"{bos}:0 $A:0 {sep}:0 $B:1 {sep}:1",
            special_tokens=[(bos, backend.token_to_id(bos)), (sep, backend.token_to_id(sep))],
        )
        self._layouts = {}

    def _config_options(self) -> dict[str, Any]:
        return {"do_lowercase_and_remove_accent": self.do_lowercase_and_remove_accent,
                "lang2id": self.lang2id, "id2lang": self.id2lang}

    # -- vocabulary (without the merge pieces vocab.json lacks)
    @property
    def _extra_pieces(self) -> int:
        return len(self._extra_ids)

    @property
    def vocab_size(self) -> int:
        return self._backend.get_vocab_size(with_added_tokens=False) - self._extra_pieces

    def __len__(self) -> int:
        return self._backend.get_vocab_size(with_added_tokens=True) - self._extra_pieces

    def get_vocab(self) -> dict[str, int]:
        vocab = self._backend.get_vocab(with_added_tokens=True)
        if self._extra_pieces:
            extra = self._extra_ids
            vocab = {token: index for token, index in vocab.items() if index not in extra}
        return vocab

    def _is_extra(self, index: int) -> bool:
        return index in self._extra_ids

    def convert_tokens_to_ids(self, tokens: str | list[str]) -> int | list[int] | None:
        ids = super().convert_tokens_to_ids(tokens)
        if not self._extra_pieces:
            return ids
        unk = self._unk_id()
        if isinstance(ids, int):
            return unk if self._is_extra(ids) else ids
        return [unk if index is not None and self._is_extra(index) else index for index in ids]

    # -- preprocessing: text -> Moses words
    def _added_tokens_pattern(self, split_special_tokens: bool) -> re.Pattern | None:
        """A pattern matching every added token (longest first), but special ones when they are split."""
        decoder = self._backend.get_added_tokens_decoder()
        key = (len(decoder), split_special_tokens)
        if self._added_pattern is None or self._added_pattern[0] != key:
            contents = sorted({t.content for t in decoder.values() if not (split_special_tokens and t.special)},
                              key=len, reverse=True)
            self._added_pattern = (key, re.compile("|".join(map(re.escape, contents))) if contents else None)
        return self._added_pattern[1]

    @staticmethod
    def _split_added(text: str, pattern: re.Pattern | None) -> list[str | AddedToken]:
        """The text cut at added tokens (kept as AddedToken) into plain pieces (str)."""
        if pattern is None or not pattern.search(text):
            return [text]
        out: list[str | AddedToken] = []
        start = 0
        for match in pattern.finditer(text):
            out.append(text[start:match.start()])
            out.append(AddedToken(match.group(), special=True))
            start = match.end()
        out.append(text[start:])
        return out

    def _words(self, sequences: list[str | list[str]], split_special_tokens: bool) -> list[str]:
        """Moses words (and added tokens) of each sequence, joined by spaces: a sequence is a str, or
        a list of words that are each tokenized on their own (is_split_into_words)."""
        lang = self._lang
        if lang in SEGMENTERS:
            _segmenter(lang)  # raises, naming the package, before anything else runs
        if self.lang2id and lang not in self.lang2id:
            self._warn_once(f"lang-{lang}", f"lang={lang!r} is not one of this checkpoint's languages "
                            f"({', '.join(sorted(self.lang2id))}); its Moses rules are used anyway.")
        pattern = self._added_tokens_pattern(split_special_tokens)
        chunks: list[str] = []  # plain text to preprocess
        layout: list[list[Any]] = []  # per sequence: chunk indices (int) and added tokens (str)
        for sequence in sequences:
            items: list[Any] = []
            for part in ([sequence] if isinstance(sequence, str) else sequence):
                for piece in self._split_added(part, pattern):
                    if isinstance(piece, AddedToken):
                        items.append(piece.content)
                    elif piece:
                        items.append(len(chunks))
                        chunks.append(piece)
            layout.append(items)
        if self._bypass:
            words = chunks  # split on whitespace by the backend's pre-tokenizer
        else:
            words = moses_words(chunks, lang, self.do_lowercase_and_remove_accent)
        if len(chunks) == len(layout) and all(len(items) == 1 and isinstance(items[0], int) for items in layout):
            return words  # no added tokens, one chunk each: the usual case
        return [" ".join([words[item] if isinstance(item, int) else item for item in items]) for items in layout]

    def _batch_inputs(self, text: Any, text_pair: Any, is_split_into_words: bool) -> tuple[bool, list]:
        batched, inputs = super()._batch_inputs(text, text_pair, is_split_into_words)
        if not batched and text_pair == "" and not is_split_into_words:
            inputs = [(inputs[0], "")]  # an empty second text is still a pair: <s> A </s> </s>, as in XLM
        pairs = bool(inputs) and isinstance(inputs[0], tuple)
        sequences = [s for item in inputs for s in item] if pairs else inputs
        words = self._words(sequences, self.split_special_tokens if self._split is None else self._split)
        if pairs:
            words = list(zip(words[0::2], words[1::2], strict=True))
        return batched, words

    def _encode_batch(self, inputs: list, add_special_tokens: bool, is_pretokenized: bool,
                      truncation_state: tuple | None, padding_state: tuple | None, overflowing: bool,
                      split_special_tokens: bool, with_offsets: bool) -> tuple[list, list[int] | None]:
        # the inputs are Moses words joined by spaces (the backend splits them on whitespace)
        if truncation_state is not None and not overflowing and inputs:
            return self._encode_truncated(inputs, add_special_tokens, truncation_state, padding_state,
                                          split_special_tokens, with_offsets), None
        return super()._encode_batch(inputs, add_special_tokens, False, truncation_state, padding_state,
                                     overflowing, split_special_tokens, with_offsets)

    def _encode_truncated(self, inputs: list, add_special_tokens: bool, truncation_state: tuple,
                          padding_state: tuple | None, split_special_tokens: bool, with_offsets: bool) -> list:
        """Truncate as XLM's (Python) tokenizer does, which the Rust library does not always match.

        'longest_first' on a pair cuts a token at a time from the longer sequence, from the second
        on a tie (an odd budget leaves the extra token to the first; Rust gives it to the second).
        'only_first' and 'only_second' cut what they can: a sequence too short to make room ends up
        empty and the row stays longer than max_length, where Rust refuses; 'only_second' leaves
        a single sequence as it is.
        """
        pairs = isinstance(inputs[0], tuple)
        count = len(inputs)
        sequences = [a for a, _ in inputs] + [b for _, b in inputs] if pairs else inputs
        encodings, _ = super()._encode_batch(sequences, False, False, None, None, False, split_special_tokens,
                                             with_offsets)
        max_length, stride, strategy, direction = truncation_state
        budget = max_length - (self.num_special_tokens_to_add(pairs) if add_special_tokens else 0)
        post_process = self._backend.post_process
        rows = []
        for index in range(count):
            first = encodings[index]
            second = encodings[count + index] if pairs else None
            size_first, size_second = len(first), len(second) if pairs else 0
            extra = size_first + size_second - budget
            keep_first, keep_second = size_first, size_second
            if extra > 0:
                if strategy == "only_first" or not pairs and strategy == "longest_first":
                    keep_first = max(size_first - extra, 0)
                elif strategy == "only_second":
                    keep_second = max(size_second - extra, 0)
                else:  # longest_first on a pair
                    keep_first = min(size_first, max(budget - size_second, (budget + 1) // 2)) if budget > 0 else 0
                    keep_second = max(budget - keep_first, 0)
            if keep_first < size_first:
                first.truncate(keep_first, stride=stride, direction=direction)
            if keep_second < size_second:
                second.truncate(keep_second, stride=stride, direction=direction)
            rows.append(post_process(first, second, add_special_tokens=add_special_tokens))
        if padding_state is not None:
            length, multiple, pad_id, pad_type_id, pad_token, side = padding_state
            target = max(map(len, rows), default=0) if length is None else length
            if multiple and target % multiple:
                target += multiple - target % multiple
            for row in rows:
                row.pad(target, direction=side, pad_id=pad_id, pad_type_id=pad_type_id, pad_token=pad_token)
        return rows

    def __call__(self, text: Any = None, text_pair: Any = None, *, lang: str | None = None,
                 bypass_tokenizer: bool = False, return_offsets_mapping: bool = False,
                 split_special_tokens: bool | None = None, **kwargs: Any) -> BatchEncoding:
        """Tokenize as `PreTrainedTokenizer.__call__` does, with XLM's ``lang`` (default "en") and
        ``bypass_tokenizer`` (the text is already split into words by spaces: BPE only)."""
        if return_offsets_mapping:
            raise NotImplementedError(
                "XLMTokenizer cannot give offsets: its Moses preprocessing rewrites the text (quotes, spacing, "
                "case, accents), so token positions in the original text are not known. BatchEncoding.word_ids() "
                "gives each token's Moses word.")
        previous = self._lang, self._bypass, self._split
        self._lang, self._bypass, self._split = lang or "en", bool(bypass_tokenizer), split_special_tokens
        try:
            batch = super().__call__(text, text_pair, split_special_tokens=split_special_tokens, **kwargs)
        finally:
            self._lang, self._bypass, self._split = previous
        if self._extra_pieces:
            self._unknown_extra_pieces(batch)
        return batch

    def _unknown_extra_pieces(self, batch: BatchEncoding) -> None:
        """Give merge pieces missing from vocab.json the unknown token's id."""
        low, high, unk = self._extra_ids.start, self._extra_ids.stop, self._unk_id()
        ids = batch["input_ids"]
        if hasattr(ids, "shape"):  # a tensor or an array
            ids[(ids >= low) & (ids < high)] = unk
            return
        rows = ids if ids and isinstance(ids[0], list) else [ids]
        for row in rows:
            if row and max(row) >= low:
                row[:] = [unk if low <= index < high else index for index in row]

    def tokenize(self, text: str, pair: str | None = None, add_special_tokens: bool = False,
                 lang: str | None = None, bypass_tokenizer: bool = False, **kwargs: Any) -> list[str]:
        """The tokens (BPE pieces) of ``text`` (and ``pair``), by default without special tokens."""
        previous = self._lang, self._bypass
        self._lang, self._bypass = lang or "en", bool(bypass_tokenizer)
        try:
            _, inputs = self._batch_inputs(text, pair, kwargs.pop("is_split_into_words", False))
        finally:
            self._lang, self._bypass = previous
        if kwargs:
            raise TypeError(f"tokenize() got unexpected keyword argument(s) {sorted(kwargs)}")
        encodings, _ = super()._encode_batch(inputs, add_special_tokens, False, None, None, False,
                                             self.split_special_tokens, True)
        tokens = encodings[0].tokens
        if self._extra_pieces:
            tokens = [self.unk_token if self._is_extra(index) else token
                      for token, index in zip(tokens, encodings[0].ids, strict=True)]
        return tokens

    def convert_ids_to_tokens(self, ids: int | list[int], skip_special_tokens: bool = False) -> str | list[str]:
        tokens = super().convert_ids_to_tokens(ids, skip_special_tokens)
        if isinstance(tokens, str) or tokens is None:
            return self.unk_token if tokens is None else tokens
        return [self.unk_token if token is None else token for token in tokens]

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        """Join BPE pieces into text: ``</w>`` ends a word."""
        return "".join(tokens).replace(END_OF_WORD, " ").strip()

    # -- saving
    def save_pretrained(self, save_directory: str | os.PathLike, legacy_format: bool | None = None,
                        filename_prefix: str | None = None, **kwargs: Any) -> tuple[str, ...]:
        """Write vocab.json, merges.txt, tokenizer_config.json and special_tokens_map.json.

        No tokenizer.json: the Moses preprocessing cannot be written in one, and a tokenizer
        loaded from it elsewhere would skip it.
        """
        if legacy_format is False:
            raise ValueError("XLMTokenizer cannot be saved as tokenizer.json alone (legacy_format=False): its "
                             "Moses preprocessing runs in Python. Use legacy_format=None (vocab.json + merges.txt).")
        return super().save_pretrained(save_directory, legacy_format=True, filename_prefix=filename_prefix, **kwargs)

    def save_vocabulary(self, save_directory: str | os.PathLike, filename_prefix: str | None = None) -> tuple[str, ...]:
        """Write vocab.json (vocab.json's tokens in id order) and merges.txt (one merge a line)."""
        from plugformers.serialization import atomic_write_text

        model = json.loads(self._backend.to_str())["model"]
        merges = self._merges
        if merges is None:
            merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
        extra = self._extra_ids
        vocab = dict(sorted(((t, i) for t, i in model["vocab"].items() if i not in extra), key=lambda item: item[1]))
        prefix = f"{filename_prefix}-" if filename_prefix else ""
        directory = os.fspath(save_directory)
        vocab_path = os.path.join(directory, prefix + VOCAB_FILE)
        merges_path = os.path.join(directory, prefix + MERGES_FILE)
        atomic_write_text(vocab_path, json.dumps(vocab, indent=2, ensure_ascii=False) + "\n")
        atomic_write_text(merges_path, "".join(f"{a} {b}\n" for a, b in merges))
        return vocab_path, merges_path

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_added_pattern"] = None
        return state


XLMTokenizerFast = XLMTokenizer  # no such class in transformers; the alias the other plugins offer
