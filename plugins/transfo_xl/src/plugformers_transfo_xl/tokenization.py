"""Transformer-XL's tokenizer: word level, one id per whitespace-separated word, no pickles.

The pipeline, run by the `tokenizers` library: a normalizer (lowercase with ``lower_case``;
with a ``delimiter``, strip the text's ends), a pre-tokenizer (split on whitespace, or on
``delimiter``), a WordLevel model (a word's id, or the unknown token's), and no special
tokens around a sequence unless a call asks for them (``add_eos=True``: ``A <eos>``;
``add_double_eos=True``: ``<S> A <S>``). Decoding joins the words with spaces.

The vocabulary is read from safe files: a WordLevel tokenizer.json, or vocab.txt (one symbol
a line, the first field of each line, in id order; later repeats are ignored). save_pretrained
writes both. pytorch-transformers 1.x saved the vocabulary as vocab.bin (``torch.save`` of the
tokenizer's attributes: ``idx2sym``, ``sym2idx``, ``lower_case``, ``delimiter``,
``added_tokens_encoder``, ...) and transformers 4.x as vocab.pkl (``pickle.dump`` of the same):
unpickling can run code, so those load only with ``allow_pickle=True``. Convert them once with
``plugformers convert-vocab PATH --allow-pickle``.

Ids, tokens and decoded text are those of pytorch-transformers 1.2.0 on the same vocabulary,
except where 1.2.0 has quirks of its special-token splitting: whitespace-only text gives no
tokens (1.2.0: ``<formula>``); ``add_eos`` / ``add_double_eos`` wrap the whole sequence once,
also when it holds special tokens or is empty (1.2.0 wraps each piece between special tokens,
and adds nothing to an empty text); a pair gives ``A <eos> B <eos>`` (1.2.0: a tuple of two
lists); a special token that is not in the vocabulary (``<formula>``) glued to a word is part of
that unknown word; with a ``delimiter``, two delimiters in a row give no empty word (1.2.0:
``''``, the unknown word).
"""

from __future__ import annotations

import json
import os
import pickle
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from plugformers.hub import HubOptions, resolve_file
from plugformers.tokenization_utils import PreTrainedTokenizer
from tokenizers import AddedToken, Regex, Tokenizer, normalizers, pre_tokenizers, processors
from tokenizers.models import WordLevel

__all__ = ["TransfoXLTokenizer", "TransfoXLTokenizerFast", "read_vocab_txt", "read_pickled_vocabulary"]

VOCAB_FILE = "vocab.txt"
TOKENIZER_FILE = "tokenizer.json"
PICKLED_VOCAB_FILES = ("vocab.pkl", "vocab.bin")  # transformers 4.x's name, pytorch-transformers 1.x's
DOUBLE_EOS = "<S>"  # what add_double_eos puts around a sequence (LM1B's sentence marker)
DEFAULT_EXTRA_SPECIAL_TOKENS = ("<formula>",)
# Python's str.split() splits on these separators too; Rust's whitespace does not
_PYTHON_ONLY_WHITESPACE = "[\x1c-\x1f]"
# pytorch-transformers 1.x vocabulary-building options: they say how a vocabulary was counted,
# not how to tokenize, so they are accepted and dropped
_BUILD_OPTIONS = ("special", "min_freq", "max_size", "never_split")


def _convert_command(name: str) -> str:
    return f"plugformers convert-vocab {name} --allow-pickle"


def read_vocab_txt(path: str | os.PathLike) -> dict[str, int]:
    """{symbol: id} of a vocab.txt: the first field of each line, ids in order of first appearance."""
    path = os.fspath(path)
    vocab: dict[str, int] = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                raise ValueError(f"{path}: line {number} is blank; vocab.txt holds one symbol a line, its id "
                                 "being its position, so a blank line leaves the ids after it undefined.")
            vocab.setdefault(fields[0], len(vocab))
    if not vocab:
        raise ValueError(f"{path}: the vocabulary is empty.")
    return vocab


class _Unresolved:
    """Stands for a class a pickled vocabulary names but this Python lacks (sacremoses' normalizers
    in transformers 4.x's vocab.pkl): the vocabulary does not need it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        pass


class _VocabularyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return super().find_class(module, name)
        except (ImportError, AttributeError):
            return _Unresolved


def read_pickled_vocabulary(path: str | os.PathLike, *, allow_pickle: bool = False, name: str | None = None) -> dict:
    """The attribute dict a pytorch-transformers / transformers Transfo-XL tokenizer pickled.

    Unpickling can run arbitrary code: refused unless ``allow_pickle``. ``name`` is the
    checkpoint the file belongs to, shown in the conversion command of the error.
    """
    path = os.fspath(path)
    if not allow_pickle:
        raise ValueError(
            f"{path}: this Transfo-XL vocabulary is a pickle (what pytorch-transformers 1.x and transformers "
            "4.x saved), and loading a pickle can run arbitrary code. If you trust its source, pass "
            "allow_pickle=True to from_pretrained; better, convert it once to the safe format (tokenizer.json "
            f"and vocab.txt), then load without the opt-in: {_convert_command(name or os.path.dirname(path) or '.')}"
        )
    with open(path, "rb") as f:
        head = f.read(4)
        f.seek(0)
        data: Any = None
        if not head.startswith(b"PK"):  # a zip archive is torch.save's format; else try a plain pickle
            try:
                data = _VocabularyUnpickler(f).load()
            except Exception:  # noqa: BLE001 - torch's legacy format, tried next
                data = None
    if not isinstance(data, dict):  # torch.save (zip, or the legacy format that starts with a magic number)
        import torch

        try:
            data = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as e:
            raise ValueError(f"{path}: cannot be read as a pickled Transfo-XL vocabulary ({type(e).__name__}: "
                             f"{e}).") from None
    if not isinstance(data, Mapping):
        raise ValueError(f"{path}: holds a {type(data).__name__}, not the dict of a Transfo-XL tokenizer.")
    return dict(data)


def _symbols_of(data: Mapping, path: str) -> list[str]:
    symbols = data.get("idx2sym")
    if not isinstance(symbols, Sequence) or isinstance(symbols, str) or not symbols:
        sym2idx = data.get("sym2idx")
        if not isinstance(sym2idx, Mapping) or not sym2idx:
            raise ValueError(f"{path}: the pickled dict has neither 'idx2sym' nor 'sym2idx' (its keys: "
                             f"{sorted(map(str, data))[:12]}); it is not a Transfo-XL vocabulary.")
        symbols = sorted(sym2idx, key=sym2idx.__getitem__)
    if not all(isinstance(symbol, str) for symbol in symbols):
        raise ValueError(f"{path}: the vocabulary holds symbols that are not strings.")
    return list(symbols)


def _walk(component: dict | None, key: str) -> list[dict]:
    """The parts of a (possibly Sequence) normalizer or pre-tokenizer, from tokenizer.json."""
    if not component:
        return []
    if component.get("type") == "Sequence":
        return [part for child in component.get(key, []) for part in _walk(child, key)]
    return [component]


class TransfoXLTokenizer(PreTrainedTokenizer):
    """Transformer-XL's word-level tokenizer.

    Args:
        vocab_file: vocab.txt, one symbol a line. Not needed when a tokenizer.json is given
            (``tokenizer_file=``) or loaded by from_pretrained.
        pretrained_vocab_file: a pickled vocabulary (vocab.bin of pytorch-transformers 1.x,
            vocab.pkl of transformers 4.x); read only with ``allow_pickle=True``.
        allow_pickle: allow reading a pickled vocabulary, which can run code. Trusted files only.
        lower_case: lowercase the text. None: as the vocabulary's file says, else False.
        delimiter: the string words are separated by; None: any whitespace.
        unk_token, eos_token: the unknown word and the end of a sentence (``<unk>``, ``<eos>``).
        additional_special_tokens: by default ``<formula>`` if the vocabulary has it.

    Calls take ``add_eos=True`` (end each sequence with eos_token) and ``add_double_eos=True``
    (put ``<S>`` before and after it), as pytorch-transformers' tokenize and encode did; with
    neither, no special token is added. Decoding cleans up the spaces before punctuation by
    default (``clean_up_tokenization_spaces=True``), as 1.x's decode did. Other keyword arguments
    are those of `PreTrainedTokenizer` (model_max_length, pad_token, ...); Transformer-XL has no
    pad token, so set one (``tokenizer.pad_token = tokenizer.eos_token``) before padding.
    """

    vocab_files_names = {"vocab_file": VOCAB_FILE}
    pickled_vocab_files = PICKLED_VOCAB_FILES
    model_input_names = ["input_ids"]  # the model takes no attention mask or token types

    def __init__(
        self,
        vocab_file: str | os.PathLike | None = None,
        pretrained_vocab_file: str | os.PathLike | None = None,
        lower_case: bool | None = None,
        delimiter: str | None = None,
        unk_token: Any = "<unk>",
        eos_token: Any = "<eos>",
        additional_special_tokens: list | None = None,
        allow_pickle: bool = False,
        clean_up_tokenization_spaces: bool = True,
        **kwargs: Any,
    ) -> None:
        for option in _BUILD_OPTIONS:
            kwargs.pop(option, None)
        if delimiter == "":
            raise ValueError("delimiter='' splits nothing; give the separator string, or None for whitespace.")
        self.lower_case = lower_case
        self.delimiter = delimiter
        if additional_special_tokens is None and kwargs.get("extra_special_tokens") is None:
            additional_special_tokens = list(DEFAULT_EXTRA_SPECIAL_TOKENS)
        given = any(kwargs.get(key) is not None for key in ("tokenizer_file", "tokenizer_object")) or vocab_file
        if pretrained_vocab_file is not None and not given:
            kwargs["tokenizer_object"] = self._backend_from_pickle(
                os.fspath(pretrained_vocab_file), allow_pickle=allow_pickle, name=kwargs.get("name_or_path"))
        super().__init__(
            vocab_file=vocab_file, unk_token=unk_token, eos_token=eos_token,
            additional_special_tokens=additional_special_tokens,
            clean_up_tokenization_spaces=clean_up_tokenization_spaces, **kwargs,
        )

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, *init_inputs: Any,
                        **kwargs: Any) -> TransfoXLTokenizer:
        """Load from tokenizer.json, else vocab.txt, else (with ``allow_pickle=True`` only) the
        pickled vocab.pkl or vocab.bin of transformers 4.x / pytorch-transformers 1.x."""
        name = os.fspath(pretrained_model_name_or_path)
        vocabulary_keys = ("tokenizer_file", "tokenizer_object", "vocab_file", "pretrained_vocab_file")
        if not any(kwargs.get(key) is not None for key in vocabulary_keys):
            options = HubOptions.pop_from(dict(kwargs))
            if not any(resolve_file(name, f, options, required=False) for f in (TOKENIZER_FILE, VOCAB_FILE)):
                for filename in cls.pickled_vocab_files:
                    path = resolve_file(name, filename, options, required=False)
                    if path is not None:
                        kwargs["tokenizer_object"] = cls._backend_from_pickle(
                            path, allow_pickle=kwargs.get("allow_pickle", False), name=name,
                            lower_case=kwargs.get("lower_case"), delimiter=kwargs.get("delimiter"))
                        break
        return super().from_pretrained(name, *init_inputs, **kwargs)

    @classmethod
    def _backend_from_pickle(cls, path: str, *, allow_pickle: bool, name: str | None = None,
                             lower_case: bool | None = None, delimiter: str | None = None) -> Tokenizer:
        """A backend built from a pickled 1.x / 4.x vocabulary (its options unless given)."""
        data = read_pickled_vocabulary(path, allow_pickle=allow_pickle, name=name)
        symbols = _symbols_of(data, path)
        vocab: dict[str, int] = {}
        for symbol in symbols:
            vocab.setdefault(symbol, len(vocab))
        unk = None
        unk_idx = data.get("unk_idx")
        if isinstance(unk_idx, int) and 0 <= unk_idx < len(symbols):
            unk = symbols[unk_idx]
        unk = unk or next((s for s in ("<unk>", "<UNK>") if s in vocab), None)
        if unk is None:
            raise ValueError(f"{path}: the vocabulary has no unknown token (<unk> or <UNK>).")
        backend = Tokenizer(WordLevel(vocab, unk_token=unk))
        if lower_case is None:
            lower_case = bool(data.get("lower_case", False))
        if delimiter is None:
            delimiter = data.get("delimiter") if isinstance(data.get("delimiter"), str) else None
        cls._set_pipeline(backend, lower_case=bool(lower_case), delimiter=delimiter or None)
        added = data.get("added_tokens_encoder")
        if isinstance(added, Mapping):
            for token, _ in sorted(added.items(), key=lambda kv: kv[1]):
                backend.add_tokens([AddedToken(str(token))])
        return backend

    # ------------------------------------------------------------------ the pipeline
    @staticmethod
    def _set_pipeline(backend: Tokenizer, *, lower_case: bool, delimiter: str | None) -> None:
        steps = [normalizers.Replace(Regex(_PYTHON_ONLY_WHITESPACE), " ") if delimiter is None else normalizers.Strip()]
        if lower_case:
            steps.append(normalizers.Lowercase())
        backend.normalizer = normalizers.Sequence(steps)
        if delimiter is None:
            backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
        elif len(delimiter) == 1:
            backend.pre_tokenizer = pre_tokenizers.CharDelimiterSplit(delimiter)
        else:
            backend.pre_tokenizer = pre_tokenizers.Split(delimiter, behavior="removed")
        backend.decoder = None  # words joined with spaces

    def _fill_defaults(self, backend: Tokenizer) -> None:
        self.lower_case = bool(self.lower_case)
        # <formula> (1.x's default, which 1.x wrote to every special_tokens_map.json) only where the
        # vocabulary has it: adding it would give an id the model has no embedding for
        self._additional_special_tokens = [
            token for token in self._additional_special_tokens
            if str(token) not in DEFAULT_EXTRA_SPECIAL_TOKENS or backend.token_to_id(str(token)) is not None]
        unk = self.unk_token
        model_unk = backend.model.unk_token if isinstance(backend.model, WordLevel) else None
        if unk is None or backend.token_to_id(unk) is None:
            if model_unk is not None and backend.token_to_id(model_unk) is not None:
                self.unk_token = model_unk  # the vocabulary's own (<UNK> in some)

    def _build_backend(self, vocab_file: str) -> Tokenizer:
        vocab = read_vocab_txt(vocab_file)
        unk = next((t for t in (self.unk_token, "<UNK>", "<unk>") if t is not None and t in vocab), None)
        if unk is None:
            raise ValueError(f"{vocab_file}: the unknown token {self.unk_token!r} is not in the vocabulary (nor "
                             "<UNK> or <unk>); pass unk_token= with the one it uses.")
        backend = Tokenizer(WordLevel(vocab, unk_token=unk))
        self._fill_defaults(backend)
        self._set_pipeline(backend, lower_case=self.lower_case, delimiter=self.delimiter)
        return backend

    def _adapt_backend(self, backend: Tokenizer) -> None:
        state = json.loads(backend.to_str())
        if state["model"].get("type") != "WordLevel":
            raise ValueError(f"TransfoXLTokenizer needs a WordLevel model; this tokenizer.json holds a "
                             f"{state['model'].get('type')} model. Load it with the tokenizer class it was made for.")
        if self.lower_case is None:
            self.lower_case = any(step.get("type") == "Lowercase"
                                  for step in _walk(state.get("normalizer"), "normalizers"))
        if self.delimiter is None:
            for step in _walk(state.get("pre_tokenizer"), "pretokenizers"):
                if step.get("type") == "CharDelimiterSplit":
                    self.delimiter = step.get("delimiter")
                elif step.get("type") == "Split" and isinstance(step.get("pattern"), dict):
                    self.delimiter = step["pattern"].get("String")
        self._fill_defaults(backend)
        # the file gives the vocabulary and its added tokens; the options give the rest
        self._set_pipeline(backend, lower_case=self.lower_case, delimiter=self.delimiter)

    def _config_options(self) -> dict[str, Any]:
        return {"lower_case": self.lower_case, "delimiter": self.delimiter}

    # ------------------------------------------------------------------ encoding
    def _eos_template(self, double: bool) -> processors.TemplateProcessing:
        if double:
            token = DOUBLE_EOS
            index = self._backend.token_to_id(token)
            index = self._unk_id() if index is None else index  # 1.x: the unknown word's id
            single, pair = f"{token}:0 $A:0 {token}:0", f"{token}:0 $A:0 {token}:0 {token}:1 $B:1 {token}:1"
        else:
            token = self.eos_token
            if token is None:
                raise ValueError("add_eos=True needs an eos_token; this tokenizer has none.")
            index = self.eos_token_id
            single, pair = f"$A:0 {token}:0", f"$A:0 {token}:0 $B:1 {token}:1"
        return processors.TemplateProcessing(single=single, pair=pair, special_tokens=[(token, index)])

    def __call__(self, text: Any = None, text_pair: Any = None, *, add_eos: bool = False,
                 add_double_eos: bool = False, **kwargs: Any):
        """Tokenize as `PreTrainedTokenizer.__call__` does; ``add_eos=True`` ends each sequence with
        eos_token, ``add_double_eos=True`` puts ``<S>`` before and after it (and wins over add_eos)."""
        if not (add_eos or add_double_eos):
            return super().__call__(text, text_pair, **kwargs)
        template = self._eos_template(double=add_double_eos)
        offsets = kwargs.get("return_offsets_mapping", False)
        # with offsets the encodings are complete now: none is made again later without the template
        kwargs.update(add_special_tokens=True, return_offsets_mapping=True)
        backend = self._backend
        saved = backend.post_processor
        backend.post_processor = template
        self._layouts = {}
        try:
            batch = super().__call__(text, text_pair, **kwargs)
        finally:
            backend.post_processor = saved
            self._layouts = {}
        if not offsets:
            dict.pop(batch, "offset_mapping", None)
        return batch

    def tokenize(self, text: str, pair: str | None = None, add_special_tokens: bool = False, **kwargs: Any) -> list[str]:
        """The words of ``text`` (and ``pair``), lowercased with ``lower_case``; a word not in the
        vocabulary stays itself (its id is the unknown token's), as in pytorch-transformers 1.x."""
        kwargs.setdefault("return_offsets_mapping", True)
        batch = self(text, pair, add_special_tokens=add_special_tokens, **kwargs)
        encoding, texts, unk = batch.encodings[0], (text, pair), self._unk_id()
        tokens = list(encoding.tokens)
        for position, (index, sequence, special) in enumerate(zip(encoding.ids, encoding.sequence_ids,
                                                                  encoding.special_tokens_mask, strict=True)):
            if index == unk and sequence is not None and not special:
                start, end = encoding.offsets[position]
                source = texts[sequence]
                if not isinstance(source, str):  # is_split_into_words: offsets are within the word
                    source = source[encoding.word_ids[position]]
                word = source[start:end]
                tokens[position] = word.lower() if self.lower_case else word
        return tokens

    @staticmethod
    def clean_up_tokenization(text: str) -> str:
        """The spaces before punctuation and contractions removed, and "do not" made "don't",
        as pytorch-transformers 1.x's decode did."""
        return PreTrainedTokenizer.clean_up_tokenization(text).replace(" do not", " don't")

    # ------------------------------------------------------------------ saving
    def save_vocabulary(self, save_directory: str | os.PathLike, filename_prefix: str | None = None) -> tuple[str, ...]:
        """Write vocab.txt (one symbol a line, in id order), when the symbols fit that format."""
        from plugformers.serialization import atomic_write_text

        if not isinstance(self._backend.model, WordLevel):
            return ()
        vocab = self._backend.get_vocab(with_added_tokens=False)
        symbols = sorted(vocab, key=vocab.__getitem__)
        gaps = [index for index, symbol in enumerate(symbols) if vocab[symbol] != index]
        spaced = [symbol for symbol in symbols if not symbol or len(symbol.split()) != 1 or symbol.strip() != symbol]
        if gaps or spaced:
            why = (f"its ids are not consecutive (first gap at {gaps[0]})" if gaps else
                   f"symbols such as {spaced[0]!r} are empty or hold whitespace")
            warnings.warn(f"vocab.txt is not written: {why}. tokenizer.json holds the vocabulary.", stacklevel=3)
            return ()
        path = os.path.join(os.fspath(save_directory), (f"{filename_prefix}-" if filename_prefix else "") + VOCAB_FILE)
        atomic_write_text(path, "".join(symbol + "\n" for symbol in symbols))
        return (path,)


TransfoXLTokenizerFast = TransfoXLTokenizer  # one class: it runs on the tokenizers library
