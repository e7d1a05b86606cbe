"""Tokenizers: the architecture-neutral base class `PreTrainedTokenizer` and its output `BatchEncoding`.

Every tokenizer runs on a `tokenizers.Tokenizer` (the Rust library), its *backend*: loaded
from tokenizer.json when the checkpoint has one, else built by the architecture's subclass
from its own files (vocab.txt; vocab.json + merges.txt; ...). Around it this module adds
what users of pytorch-transformers and transformers expect: special-token attributes,
padding and truncation strategies, tensors, `pad` for data collators, save and load.

Speed: a call sets truncation (and padding) on the backend only when they differ from the
previous call's and encodes the whole batch in one Rust call, without offset tracking unless
offsets are asked for. For tensors, Rust does not pad: numpy pads the rows straight into the
arrays, the same way. Word and character alignments (``BatchEncoding.word_ids`` ...) then
encode the batch again, with offsets and padding, the first time one is asked for. torch
and numpy are imported only when tensors are asked for.

What a subclass provides (plugformers_bert.tokenization is the worked example):

- ``vocab_files_names``: ``{init keyword: file name}`` of the architecture's own files;
- ``pickled_vocab_files``: optional, the names of legacy pickled vocabularies the class
  can read with ``allow_pickle=True`` (``plugformers download`` fetches them when a repo
  has nothing else, and says what they are);
- ``_build_backend(**files)``: the `tokenizers.Tokenizer` built from those files, using
  the options the subclass stored on ``self`` before calling ``super().__init__``;
- ``_adapt_backend(backend)``: optional, brings a loaded tokenizer.json in line with
  options the user gave explicitly (BERT: ``do_lower_case``);
- ``_config_options()``: the architecture's options written to tokenizer_config.json;
- ``save_vocabulary(directory)``: writes the architecture's own files.
"""

from __future__ import annotations

import difflib
import importlib.util
import inspect
import json
import os
import warnings
from collections.abc import Mapping
from functools import cache, partial
from itertools import chain
from typing import Any, ClassVar, NamedTuple

from tokenizers import AddedToken, Tokenizer

from .hub import CheckpointNotFoundError, HubOptions, resolve_file

__all__ = ["PreTrainedTokenizer", "BatchEncoding", "CharSpan", "TokenSpan", "VERY_LARGE_INTEGER"]

TOKENIZER_FILE = "tokenizer.json"
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
SPECIAL_TOKENS_MAP_FILE = "special_tokens_map.json"
ADDED_TOKENS_FILE = "added_tokens.json"  # pytorch-transformers' record of tokens added after the vocabulary

VERY_LARGE_INTEGER = int(1e30)  # model_max_length of a tokenizer that declares none (transformers' value)
LARGE_INTEGER = int(1e20)

SPECIAL_TOKENS_ATTRIBUTES = (
    "bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token",
)

_PADDING = {False: None, "do_not_pad": None, True: "longest", "longest": "longest", "max_length": "max_length"}
_TRUNCATION = {
    None: None, False: None, "do_not_truncate": None, True: "longest_first",
    "longest_first": "longest_first", "only_first": "only_first", "only_second": "only_second",
}
# tokenizer_config.json keys that describe how a file was loaded or written, not how to tokenize:
# transformers writes some of them (5.x copies its loading arguments and the backend's padding),
# older versions wrote absolute paths. They are dropped on load, so they are not saved back either.
_NOT_INIT_KEYS = frozenset({
    "tokenizer_class", "auto_map", "name_or_path", "backend", "is_local", "local_files_only",
    "files_loaded", "processor_class", "tokenizer_file", "special_tokens_map_file", "full_tokenizer_file",
    "max_length", "stride", "truncation_strategy", "pad_to_multiple_of", "use_fast", "_from_auto",
    "_commit_hash", "from_slow", "init_inputs",
    "allow_pickle",  # a loading opt-in (pickled vocabularies), never saved
})
_DECODE_IGNORED_KWARGS = frozenset({"use_source_tokenizer", "spaces_between_special_tokens"})
_UNKNOWN = object()  # backend padding/truncation state that must be set again before the next call


class CharSpan(NamedTuple):
    """Characters ``[start, end)`` of the original string."""

    start: int
    end: int


class TokenSpan(NamedTuple):
    """Tokens ``[start, end)`` of an encoded sequence."""

    start: int
    end: int


# ----------------------------------------------------------------------------------- helpers


def _added_token(value: Any, *, special: bool) -> str | AddedToken | None:
    """A token as given in code or in a JSON file (str, AddedToken, or {"content": ...} dict)."""
    if value is None or isinstance(value, (str, AddedToken)):
        return value
    if isinstance(value, Mapping) and "content" in value:
        options = {k: bool(value[k]) for k in ("single_word", "lstrip", "rstrip", "normalized") if k in value}
        return AddedToken(value["content"], special=bool(value.get("special", special)), **options)
    raise TypeError(f"a token must be a str, a tokenizers.AddedToken or a dict with 'content'; got {value!r}")


def _as_special(token: str | AddedToken) -> AddedToken:
    if isinstance(token, AddedToken):
        if token.special:
            return token
        return AddedToken(token.content, single_word=token.single_word, lstrip=token.lstrip,
                          rstrip=token.rstrip, normalized=token.normalized, special=True)
    return AddedToken(token, special=True)


def _token_json(token: str | AddedToken, *, full: bool = False) -> str | dict:
    """How a token is written to JSON: a plain string unless it carries non-default options."""
    if isinstance(token, str):
        token = AddedToken(token, special=True)
    fields = {"content": token.content, "lstrip": token.lstrip, "normalized": token.normalized,
              "rstrip": token.rstrip, "single_word": token.single_word}
    if full:
        return {**fields, "special": token.special}
    if not (token.lstrip or token.rstrip or token.single_word or token.normalized):
        return token.content
    return fields


def _plain_token_json(value: str | dict | list) -> str | list:
    """``_token_json``'s output with every token reduced to its content string."""
    if isinstance(value, list):
        return [_plain_token_json(v) for v in value]
    return value["content"] if isinstance(value, dict) else value


def _read_json(path: str | None, what: str) -> dict:
    if path is None:
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e}); the {what} is damaged. Re-save the tokenizer.") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object for the {what}, found {type(data).__name__}.")
    return data


def _write_text(path: str, text: str) -> None:
    from .serialization import atomic_write_text  # temp file in the same folder + os.replace

    atomic_write_text(path, text)


def _tolist(value: Any) -> Any:
    """numpy arrays, torch tensors and their scalars as Python lists and ints."""
    return value.tolist() if hasattr(value, "tolist") else value


def _first_leaf(value: Any) -> Any:
    while isinstance(value, (list, tuple)) and value:
        value = value[0]
    return value


def _numpy_array(key: str, value: Any):
    import numpy as np

    if isinstance(value, np.ndarray):
        return value
    leaf = _first_leaf(value)
    # ints (token ids, masks, offsets) and empty lists become int64, as token ids must be
    dtype = np.int64 if isinstance(leaf, (list, tuple)) or (isinstance(leaf, int) and not isinstance(leaf, bool)) else None
    try:
        array = np.array(value, dtype=dtype)
    except (ValueError, TypeError) as e:
        array, error = None, e
    if array is None or array.dtype == object:
        lengths = sorted({len(v) for v in value if isinstance(v, (list, tuple))}) if isinstance(value, list) else []
        raise ValueError(
            f"Cannot make a tensor of {key!r}: its sequences have different lengths {lengths[:6]}. "
            "Pass padding=True (and truncation=True for sequences longer than the model takes) to get "
            "sequences of one length, or return_tensors=None for lists."
        ) from (error if array is None else None)
    return array


def _tensor_converter(tensor_type: Any):
    kind = getattr(tensor_type, "value", tensor_type)
    if kind == "np":
        return _numpy_array
    if kind == "pt":
        import torch

        def to_torch(key: str, value: Any):
            if isinstance(value, torch.Tensor):
                return value
            try:
                return torch.from_numpy(_numpy_array(key, value))
            except ImportError:  # torch without numpy
                return torch.tensor(value, dtype=torch.int64)

        return to_torch
    raise ValueError(
        f"return_tensors={tensor_type!r} is not supported: use 'pt' (torch tensors), 'np' (numpy arrays) "
        "or None (Python lists)."
    )


@cache
def _numpy_available() -> bool:
    return importlib.util.find_spec("numpy") is not None


def _pad_with_numpy(data: dict[str, Any], padding: tuple) -> dict[str, Any]:
    """Pad unpadded rows into int64 arrays exactly as the Rust library pads encodings.

    The target length is the longest row (or the fixed length), rounded up to
    ``pad_to_multiple_of``; ids take the pad id, token types the pad type id, the attention
    mask 0 and the special-tokens mask 1, on the padding side; ``length`` is the padded length.
    """
    import numpy as np

    length, multiple, pad_id, pad_type_id, _, side = padding
    rows = data["input_ids"]
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    target = int(lengths.max()) if length is None else length
    if multiple and target % multiple:
        target += multiple - target % multiple
    fills = {"input_ids": pad_id, "token_type_ids": pad_type_id, "special_tokens_mask": 1}
    out: dict[str, Any] = {}
    if int(lengths.max()) > target:
        # A fixed length shorter than a row: Rust leaves that row as it is and pads the others
        # (one row still makes a tensor; several then fail to, with the usual explanation).
        def pad(row: list, fill: int) -> list:
            extra = [fill] * max(0, target - len(row))
            return row + extra if side == "right" else extra + row

        for key, value in data.items():
            if key == "attention_mask":
                out[key] = [pad([1] * len(row), 0) for row in rows]
            elif key == "length":
                out[key] = [max(len(row), target) for row in rows]
            else:
                out[key] = [pad(row, fills[key]) for row in value] if key in fills else value
        return out
    positions = np.arange(target)
    keep = positions < lengths[:, None] if side == "right" else positions >= (target - lengths)[:, None]
    total = int(lengths.sum())
    for key, value in data.items():
        if key == "attention_mask":
            out[key] = keep.astype(np.int64)
        elif key == "length":
            out[key] = np.full(len(rows), target, dtype=np.int64)
        elif key in fills:
            array = np.full((len(rows), target), fills[key], dtype=np.int64)
            array[keep] = np.fromiter(chain.from_iterable(value), dtype=np.int64, count=total)
            out[key] = array
        else:
            out[key] = value
    return out


# ----------------------------------------------------------------------------- BatchEncoding


class BatchEncoding(dict):
    """What a tokenizer returns: a dict of model inputs (``input_ids``, ``attention_mask``, ...).

    Keys read as attributes too (``batch.input_ids``); ``model(**batch)`` passes them on.
    ``to(device)`` moves tensors. When the batch came from a tokenizer, ``encodings`` holds the
    Rust `tokenizers.Encoding` of each row, and the word/character alignment methods
    (``word_ids``, ``char_to_token``, ...) read them; ``batch[i]`` is the i-th encoding.
    """

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        encodings: list | None = None,
        tensor_type: str | None = None,
        prepend_batch_axis: bool = False,
        n_sequences: int | None = None,
    ) -> None:
        super().__init__(data or {})
        self._encodings = encodings
        # A tokenizer that encoded without offset tracking (faster) leaves a function here that
        # encodes the same inputs again with it, run the first time an alignment is asked for.
        self._full_encodings = None
        if n_sequences is None and encodings:
            n_sequences = encodings[0].n_sequences
        self._n_sequences = n_sequences
        if tensor_type is not None:
            self.convert_to_tensors(tensor_type, prepend_batch_axis=prepend_batch_axis)

    # -- dict with attribute access
    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"BatchEncoding has no attribute or key {name!r}; keys: {list(self)}") from None

    def __getitem__(self, item: str | int | slice) -> Any:
        if isinstance(item, str):
            return dict.__getitem__(self, item)
        if isinstance(item, int):
            return self._require_encodings()[item]
        if isinstance(item, slice):
            return {key: value[item] for key, value in self.items()}
        raise KeyError(f"BatchEncoding indices are keys (str), rows (int) or slices, not {item!r}")

    def __getstate__(self) -> dict:
        return {"_encodings": self.encodings, "_full_encodings": None, "_n_sequences": self._n_sequences}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def __repr__(self) -> str:
        return f"BatchEncoding({dict.__repr__(self)})"

    @property
    def data(self) -> dict[str, Any]:
        """The inputs as a plain dict."""
        return dict(self)

    @property
    def encodings(self) -> list | None:
        """The `tokenizers.Encoding` of each row (overflowing windows included), or None."""
        if self._full_encodings is not None:
            self._encodings, self._full_encodings = self._full_encodings(), None
        return self._encodings

    @property
    def is_fast(self) -> bool:
        return self._encodings is not None

    @property
    def n_sequences(self) -> int | None:
        """1 for single sequences, 2 for pairs (None when not made by a tokenizer)."""
        return self._n_sequences

    def convert_to_tensors(self, tensor_type: str | None = None, prepend_batch_axis: bool = False) -> BatchEncoding:
        """Turn every list value into a torch tensor ('pt') or a numpy array ('np'), in place."""
        if tensor_type is None:
            return self
        convert = _tensor_converter(tensor_type)
        for key, value in self.items():
            dict.__setitem__(self, key, convert(key, [value] if prepend_batch_axis else value))
        return self

    def to(self, device: Any, *, non_blocking: bool = False) -> BatchEncoding:
        """Move every tensor to ``device`` (in place) and return self."""
        for key, value in self.items():
            if hasattr(value, "to") and callable(value.to):
                dict.__setitem__(self, key, value.to(device=device, non_blocking=non_blocking))
        return self

    # -- alignment between tokens, words and characters (from the Rust encodings)
    def _require_encodings(self) -> list:
        encodings = self.encodings
        if encodings is None:
            raise ValueError(
                "This BatchEncoding was not made by a tokenizer call (it has no encodings), so token/word/"
                "character alignments are not available."
            )
        return encodings

    def _row(self, batch_or_index: int, index: int | None) -> tuple[Any, int]:
        encodings = self._require_encodings()
        if index is None:
            if len(encodings) > 1:
                raise ValueError("This is a batch: pass the batch index first, then the index in that row.")
            return encodings[0], batch_or_index
        return encodings[batch_or_index], index

    def tokens(self, batch_index: int = 0) -> list[str]:
        """The tokens (sub-words) of row ``batch_index``."""
        return self._require_encodings()[batch_index].tokens

    def sequence_ids(self, batch_index: int = 0) -> list[int | None]:
        """Per token: None for special tokens, 0 for the first sequence, 1 for the second."""
        return self._require_encodings()[batch_index].sequence_ids

    def word_ids(self, batch_index: int = 0) -> list[int | None]:
        """Per token: the index of the word it comes from (None for special tokens)."""
        return self._require_encodings()[batch_index].word_ids

    words = word_ids

    def token_to_sequence(self, batch_or_token_index: int, token_index: int | None = None) -> int | None:
        encoding, token = self._row(batch_or_token_index, token_index)
        return encoding.token_to_sequence(token if token >= 0 else len(encoding) + token)

    def token_to_word(self, batch_or_token_index: int, token_index: int | None = None) -> int | None:
        encoding, token = self._row(batch_or_token_index, token_index)
        return encoding.token_to_word(token if token >= 0 else len(encoding) + token)

    def token_to_chars(self, batch_or_token_index: int, token_index: int | None = None) -> CharSpan | None:
        encoding, token = self._row(batch_or_token_index, token_index)
        span = encoding.token_to_chars(token if token >= 0 else len(encoding) + token)
        return CharSpan(*span) if span is not None else None

    def word_to_tokens(self, batch_or_word_index: int, word_index: int | None = None,
                       sequence_index: int = 0) -> TokenSpan | None:
        encoding, word = self._row(batch_or_word_index, word_index)
        span = encoding.word_to_tokens(word, sequence_index)
        return TokenSpan(*span) if span is not None else None

    def word_to_chars(self, batch_or_word_index: int, word_index: int | None = None,
                      sequence_index: int = 0) -> CharSpan | None:
        encoding, word = self._row(batch_or_word_index, word_index)
        span = encoding.word_to_chars(word, sequence_index)
        return CharSpan(*span) if span is not None else None

    def char_to_token(self, batch_or_char_index: int, char_index: int | None = None,
                      sequence_index: int = 0) -> int | None:
        encoding, char = self._row(batch_or_char_index, char_index)
        return encoding.char_to_token(char, sequence_index)

    def char_to_word(self, batch_or_char_index: int, char_index: int | None = None,
                     sequence_index: int = 0) -> int | None:
        encoding, char = self._row(batch_or_char_index, char_index)
        return encoding.char_to_word(char, sequence_index)


# ------------------------------------------------------------------------ special token attributes


def _special_token(name: str) -> property:
    def get(self: PreTrainedTokenizer) -> str | None:
        token = self._special_tokens.get(name)
        return None if token is None else str(token)

    def set(self: PreTrainedTokenizer, value: str | AddedToken | None) -> None:
        self._special_tokens[name] = _added_token(value, special=True)

    return property(get, set, doc=f"The {name.removesuffix('_token')} token (a str), or None. Setting it does "
                                  "not add it to the vocabulary: use add_special_tokens() for a new token.")


def _special_token_id(name: str) -> property:
    def get(self: PreTrainedTokenizer) -> int | None:
        token = self._special_tokens.get(name)
        return None if token is None else self.convert_tokens_to_ids(str(token))

    def set(self: PreTrainedTokenizer, value: int | None) -> None:
        self._special_tokens[name] = None if value is None else self.convert_ids_to_tokens(int(value))

    return property(get, set, doc=f"The id of {name}, or None.")


# -------------------------------------------------------------------------- PreTrainedTokenizer


class PreTrainedTokenizer:
    """A tokenizer: text to model inputs and back, on a `tokenizers.Tokenizer` backend.

    Build one with ``Cls.from_pretrained(name_or_path)``, or directly from
    ``tokenizer_file=`` (a tokenizer.json), ``tokenizer_object=`` (a `tokenizers.Tokenizer`,
    copied) or the architecture's own files (``vocab_file=`` for BERT). The base class
    itself loads any checkpoint that has a tokenizer.json.

    Keyword options (also read from tokenizer_config.json and special_tokens_map.json):
    the special tokens (``bos_token`` ... ``mask_token`` and ``additional_special_tokens``,
    each a str, an AddedToken or an AddedToken-style dict), ``model_max_length``,
    ``padding_side`` and ``truncation_side`` ('right' or 'left'), ``model_input_names``,
    ``clean_up_tokenization_spaces`` (default False), ``split_special_tokens`` (default False).
    """

    vocab_files_names: ClassVar[dict[str, str]] = {}
    pickled_vocab_files: ClassVar[tuple[str, ...]] = ()
    model_input_names: ClassVar[list[str]] = ["input_ids", "token_type_ids", "attention_mask"]
    padding_side: str = "right"
    truncation_side: str = "right"

    bos_token = _special_token("bos_token")
    eos_token = _special_token("eos_token")
    unk_token = _special_token("unk_token")
    sep_token = _special_token("sep_token")
    pad_token = _special_token("pad_token")
    cls_token = _special_token("cls_token")
    mask_token = _special_token("mask_token")
    bos_token_id = _special_token_id("bos_token")
    eos_token_id = _special_token_id("eos_token")
    unk_token_id = _special_token_id("unk_token")
    sep_token_id = _special_token_id("sep_token")
    pad_token_id = _special_token_id("pad_token")
    cls_token_id = _special_token_id("cls_token")
    mask_token_id = _special_token_id("mask_token")

    def __init__(
        self,
        *,
        tokenizer_object: Tokenizer | None = None,
        tokenizer_file: str | os.PathLike | None = None,
        name_or_path: str | os.PathLike = "",
        model_max_length: int | None = None,
        padding_side: str | None = None,
        truncation_side: str | None = None,
        model_input_names: list[str] | None = None,
        clean_up_tokenization_spaces: bool = False,
        split_special_tokens: bool = False,
        pad_token_type_id: int = 0,
        additional_special_tokens: list | None = None,
        added_tokens_decoder: Mapping[Any, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        extra = kwargs.pop("extra_special_tokens", None)  # transformers 5's name for the same list
        if additional_special_tokens is None and extra is not None:
            additional_special_tokens = list(extra.values()) if isinstance(extra, Mapping) else extra
        legacy_max_len = kwargs.pop("max_len", None)  # pytorch-transformers' name
        if model_max_length is None:
            model_max_length = legacy_max_len
        special = {name: kwargs.pop(name, None) for name in SPECIAL_TOKENS_ATTRIBUTES}
        files = {key: kwargs.pop(key) for key in self.vocab_files_names if key in kwargs}
        files = {key: os.fspath(path) for key, path in files.items() if path is not None}
        for key in _NOT_INIT_KEYS:
            kwargs.pop(key, None)
        # What is left are options the architecture does not use (a slow tokenizer's
        # do_basic_tokenize, never_split, ...): kept, and written back on save.
        self.init_kwargs: dict[str, Any] = kwargs
        if kwargs:
            self._warn_near_misses(kwargs)

        self.name_or_path = os.fspath(name_or_path)
        self.model_max_length = int(model_max_length) if model_max_length is not None else VERY_LARGE_INTEGER
        self.padding_side = padding_side or type(self).padding_side
        self.truncation_side = truncation_side or type(self).truncation_side
        for option in ("padding_side", "truncation_side"):
            if getattr(self, option) not in ("right", "left"):
                raise ValueError(f"{option}={getattr(self, option)!r}: use 'right' or 'left'.")
        self.model_input_names = list(model_input_names or type(self).model_input_names)
        self.clean_up_tokenization_spaces = bool(clean_up_tokenization_spaces)
        self.split_special_tokens = bool(split_special_tokens)
        self.pad_token_type_id = int(pad_token_type_id)
        self._special_tokens: dict[str, str | AddedToken | None] = {
            name: _added_token(value, special=True) for name, value in special.items()
        }
        self._additional_special_tokens: list[str | AddedToken] = [
            _added_token(token, special=True) for token in additional_special_tokens or ()
        ]
        self._warned: set[str] = set()
        self._layouts: dict[bool, list] = {}

        backend = self._load_backend(tokenizer_object, tokenizer_file, files)
        if tokenizer_object is None and tokenizer_file is None and added_tokens_decoder:
            self._restore_added_tokens(backend, added_tokens_decoder)
        backend.no_truncation()  # a tokenizer.json may carry the padding of its last use
        backend.no_padding()
        backend.encode_special_tokens = self.split_special_tokens
        self._backend = backend
        self._truncation_state: Any = None
        self._padding_state: Any = None
        self._register_special_tokens()

    def _warn_near_misses(self, unknown: Mapping[str, Any]) -> None:
        """Warn about an option that looks like a misspelled known one (``do_lowercase``)."""
        known = set(SPECIAL_TOKENS_ATTRIBUTES) | set(self.vocab_files_names)
        for klass in type(self).__mro__:
            if "__init__" in vars(klass) and klass is not object:
                known.update(inspect.signature(klass.__init__).parameters)
        for key in unknown:
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.85)
            if close:
                warnings.warn(f"{type(self).__name__}: unknown option {key!r} is kept but not used; did you mean "
                              f"{close[0]!r}?", stacklevel=4)

    # ---------------------------------------------------------------- backend construction hooks
    def _build_backend(self, **files: str) -> Tokenizer:
        """Build the backend from the architecture's own files (``vocab_files_names``)."""
        raise NotImplementedError(f"{type(self).__name__} reads only tokenizer.json")

    def _adapt_backend(self, backend: Tokenizer) -> None:
        """Bring a backend loaded from tokenizer.json in line with explicitly given options."""

    def _config_options(self) -> dict[str, Any]:
        """The architecture's options, written to tokenizer_config.json."""
        return {}

    def save_vocabulary(self, save_directory: str | os.PathLike, filename_prefix: str | None = None) -> tuple[str, ...]:
        """Write the architecture's own vocabulary files; returns their paths."""
        return ()

    def _load_backend(self, tokenizer_object: Tokenizer | None, tokenizer_file: Any,
                      files: dict[str, str]) -> Tokenizer:
        cls = type(self).__name__
        if tokenizer_object is not None:
            if not isinstance(tokenizer_object, Tokenizer):
                raise TypeError(f"tokenizer_object must be a tokenizers.Tokenizer, not {type(tokenizer_object).__name__}")
            backend = Tokenizer.from_str(tokenizer_object.to_str())  # a copy: the caller's object is not changed
        elif tokenizer_file is not None:
            path = os.fspath(tokenizer_file)
            if not os.path.isfile(path):
                raise FileNotFoundError(f"{cls}: tokenizer_file {path!r} does not exist.")
            backend = Tokenizer.from_file(path)
        elif files:
            missing = [f"{key}={path!r}" for key, path in files.items() if not os.path.isfile(path)]
            if missing:
                raise FileNotFoundError(f"{cls}: no such file: {', '.join(missing)}.")
            absent = [key for key in self.vocab_files_names if key not in files]
            if absent:
                raise ValueError(f"{cls} needs {', '.join(absent)} as well ({', '.join(files)} given).")
            return self._build_backend(**files)
        else:
            own = ", ".join(f"{key}= (a {name})" for key, name in self.vocab_files_names.items())
            raise ValueError(
                f"{cls} needs a vocabulary: use {cls}.from_pretrained(name_or_path), or pass "
                f"tokenizer_file= (a tokenizer.json), tokenizer_object= (a tokenizers.Tokenizer)"
                + (f" or {own}." if own else ".")
            )
        self._adapt_backend(backend)
        return backend

    @staticmethod
    def _restore_added_tokens(backend: Tokenizer, added_tokens_decoder: Mapping[Any, Any]) -> None:
        """Add the tokens tokenizer_config.json records, in id order, to a backend built from vocab files."""
        for index, value in sorted(((int(k), v) for k, v in added_tokens_decoder.items()), key=lambda kv: kv[0]):
            token = _added_token(value, special=False)
            if isinstance(token, str):
                token = AddedToken(token)
            if token.special:
                backend.add_special_tokens([token])
            else:
                backend.add_tokens([token])
            got = backend.token_to_id(token.content)
            if got != index:
                warnings.warn(f"added token {token.content!r} is recorded with id {index} in tokenizer_config.json "
                              f"but got id {got}: the vocabulary files and the config disagree.", stacklevel=4)

    def _register_special_tokens(self) -> None:
        """Make every special token an added special token of the backend (never split, skippable)."""
        present = {token.content for token in self._backend.get_added_tokens_decoder().values()}
        new = []
        for token in (*self._special_tokens.values(), *self._additional_special_tokens):
            if token is not None and str(token) not in present:
                new.append(_as_special(token))
                present.add(str(token))
        if new:
            self._backend.add_special_tokens(new)

    # ------------------------------------------------------------------------------ loading
    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, *init_inputs: Any,
                        **kwargs: Any) -> PreTrainedTokenizer:
        """Load the tokenizer of a checkpoint folder or Hub repo.

        Reads tokenizer.json when present, else the architecture's own files
        (``vocab_files_names``); tokenizer_config.json and special_tokens_map.json give the
        options. Keyword arguments override them; the hub options (cache_dir, revision,
        local_files_only, force_download, token, subfolder) say where to look.
        """
        name = os.fspath(pretrained_model_name_or_path)
        options = HubOptions.pop_from(kwargs)
        config = _read_json(resolve_file(name, TOKENIZER_CONFIG_FILE, options, required=False),
                            "tokenizer configuration")
        declared = config.get("tokenizer_class")
        if (isinstance(declared, str) and cls is not PreTrainedTokenizer
                and declared.removesuffix("Fast") != cls.__name__.removesuffix("Fast")):
            warnings.warn(f"{name!r} declares tokenizer_class {declared!r} but is loaded with {cls.__name__}; "
                          "use AutoTokenizer.from_pretrained to get the declared class.", stacklevel=2)
        init = {key: value for key, value in config.items() if key not in _NOT_INIT_KEYS}
        special_map = _read_json(resolve_file(name, SPECIAL_TOKENS_MAP_FILE, options, required=False),
                                 "special tokens map")
        init.update(special_map)  # special_tokens_map.json wins over tokenizer_config.json, as in transformers
        init.update(kwargs)

        if init.get("tokenizer_file") is None and init.get("tokenizer_object") is None:
            init["tokenizer_file"] = resolve_file(name, TOKENIZER_FILE, options, required=False)
        if init.get("tokenizer_file") is None and init.get("tokenizer_object") is None:
            init.pop("tokenizer_file")
            for key, filename in cls.vocab_files_names.items():
                if init.get(key) is None:
                    try:
                        init[key] = resolve_file(name, filename, options)
                    except CheckpointNotFoundError as e:
                        raise CheckpointNotFoundError(
                            f"{cls.__name__}: {name!r} has neither {TOKENIZER_FILE!r} nor {filename!r}, "
                            f"so there is no vocabulary to load. {e}"
                        ) from None
            if not cls.vocab_files_names:
                raise CheckpointNotFoundError(
                    f"{name!r} has no {TOKENIZER_FILE!r}. {cls.__name__} reads only that file; load the "
                    "checkpoint with its architecture's tokenizer class (AutoTokenizer picks it)."
                )
            legacy_added = _read_json(resolve_file(name, ADDED_TOKENS_FILE, options, required=False),
                                      "added tokens file")
            if legacy_added and not init.get("added_tokens_decoder"):
                # it lists the special tokens pytorch-transformers added (a new pad token, ...) too
                values = [init.get(key) for key in SPECIAL_TOKENS_ATTRIBUTES]
                values += init.get("additional_special_tokens") or []
                special = {str(_added_token(value, special=True)) for value in values if value is not None}
                init["added_tokens_decoder"] = {index: {"content": token, "special": token in special}
                                                for token, index in legacy_added.items()}
        init["name_or_path"] = name
        return cls(*init_inputs, **init)

    # ------------------------------------------------------------------------------ saving
    def save_pretrained(self, save_directory: str | os.PathLike, legacy_format: bool | None = None,
                        filename_prefix: str | None = None, **kwargs: Any) -> tuple[str, ...]:
        """Write tokenizer_config.json, special_tokens_map.json, tokenizer.json and the
        architecture's own files (vocab.txt, ...) to ``save_directory``; returns their paths.

        Each file is written atomically (a temporary file renamed into place).
        ``legacy_format=True`` leaves out tokenizer.json, ``False`` the architecture's files.
        """
        if kwargs.pop("push_to_hub", False):
            raise ValueError("push_to_hub is not supported: save, then upload the folder with "
                             "huggingface_hub.upload_folder().")
        if kwargs:
            raise TypeError(f"save_pretrained() got unexpected keyword arguments {sorted(kwargs)}")
        if legacy_format is True and not self.vocab_files_names:
            raise ValueError(f"legacy_format=True leaves out tokenizer.json, and {type(self).__name__} has no "
                             "other vocabulary files to write: use legacy_format=None.")
        directory = os.fspath(save_directory)
        if os.path.isfile(directory):
            raise NotADirectoryError(f"save_pretrained needs a folder; {directory!r} is a file.")
        os.makedirs(directory, exist_ok=True)
        prefix = f"{filename_prefix}-" if filename_prefix else ""

        special_map = {name: _token_json(token) for name, token in self._special_tokens.items() if token is not None}
        if self._additional_special_tokens:
            special_map["additional_special_tokens"] = [_token_json(t) for t in self._additional_special_tokens]
        config = {
            **self.init_kwargs,
            **self._config_options(),
            # Plain strings here, as transformers 5 writes them (and requires: it rejects the dict
            # form); a token's options (RoBERTa's lstrip <mask>) are in added_tokens_decoder below.
            **{name: _plain_token_json(value) for name, value in special_map.items()},
            "model_max_length": self.model_max_length,
            "padding_side": self.padding_side,
            "truncation_side": self.truncation_side,
            "clean_up_tokenization_spaces": self.clean_up_tokenization_spaces,
            "added_tokens_decoder": {str(index): _token_json(token, full=True)
                                     for index, token in sorted(self._backend.get_added_tokens_decoder().items())},
            # transformers' AutoTokenizer reads this; its name for a tokenizer.json-only tokenizer
            "tokenizer_class": "PreTrainedTokenizerFast" if type(self) is PreTrainedTokenizer else type(self).__name__,
        }
        if self.model_input_names != list(type(self).model_input_names):
            config["model_input_names"] = self.model_input_names
        if self.split_special_tokens:
            config["split_special_tokens"] = True
        if self.pad_token_type_id:
            config["pad_token_type_id"] = self.pad_token_type_id

        written = []
        for filename, content in ((TOKENIZER_CONFIG_FILE, config), (SPECIAL_TOKENS_MAP_FILE, special_map)):
            path = os.path.join(directory, prefix + filename)
            _write_text(path, json.dumps(content, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
            written.append(path)
        if legacy_format is not True:
            path = os.path.join(directory, prefix + TOKENIZER_FILE)
            self._set_backend_state(None, None)  # the file describes the tokenizer, not its last call
            _write_text(path, self._backend.to_str(pretty=True))
            written.append(path)
        if legacy_format is not False:
            written.extend(self.save_vocabulary(directory, filename_prefix=filename_prefix))
        return tuple(written)

    # ------------------------------------------------------------------------------ vocabulary
    @property
    def backend_tokenizer(self) -> Tokenizer:
        """The `tokenizers.Tokenizer` doing the work."""
        # The caller may change its padding or truncation: set them again before the next call.
        self._truncation_state = self._padding_state = _UNKNOWN
        return self._backend

    @property
    def is_fast(self) -> bool:
        return True

    @property
    def vocab_size(self) -> int:
        """Size of the base vocabulary, without added tokens."""
        return self._backend.get_vocab_size(with_added_tokens=False)

    def __len__(self) -> int:
        """Size of the full vocabulary, added tokens included."""
        return self._backend.get_vocab_size(with_added_tokens=True)

    def get_vocab(self) -> dict[str, int]:
        """Token to id, added tokens included."""
        return self._backend.get_vocab(with_added_tokens=True)

    @property
    def vocab(self) -> dict[str, int]:
        return self.get_vocab()

    @property
    def added_tokens_decoder(self) -> dict[int, AddedToken]:
        return self._backend.get_added_tokens_decoder()

    @property
    def added_tokens_encoder(self) -> dict[str, int]:
        return {token.content: index for index, token in sorted(self.added_tokens_decoder.items())}

    def get_added_vocab(self) -> dict[str, int]:
        return self.added_tokens_encoder

    def convert_tokens_to_ids(self, tokens: str | list[str]) -> int | list[int] | None:
        """Id of a token (or of each token of a list); the unknown token's id for tokens not in the vocabulary."""
        if isinstance(tokens, str):
            index = self._backend.token_to_id(tokens)
            return index if index is not None else self._unk_id()
        unk = self._unk_id()
        token_to_id = self._backend.token_to_id
        return [index if (index := token_to_id(token)) is not None else unk for token in tokens]

    def _unk_id(self) -> int | None:
        unk = self._special_tokens.get("unk_token")
        return None if unk is None else self._backend.token_to_id(str(unk))

    def convert_ids_to_tokens(self, ids: int | list[int], skip_special_tokens: bool = False) -> str | list[str]:
        """Token of an id (or of each id of a list, numpy array or tensor)."""
        ids = _tolist(ids)
        if isinstance(ids, int):
            return self._backend.id_to_token(ids)
        skip = set(self.all_special_ids) if skip_special_tokens else ()
        id_to_token = self._backend.id_to_token
        return [id_to_token(int(index)) for index in ids if int(index) not in skip]

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        """Join tokens into text, undoing sub-word markers (the backend's decoder)."""
        decoder = self._backend.decoder
        return decoder.decode(tokens) if decoder is not None else " ".join(tokens)

    def add_tokens(self, new_tokens: str | AddedToken | list[str | AddedToken], special_tokens: bool = False) -> int:
        """Add tokens to the vocabulary (never split, matched before the model runs).

        Returns the count the backend reports (like transformers). Resize the model's
        embeddings to ``len(tokenizer)`` afterwards.
        """
        if not new_tokens:
            return 0
        if not isinstance(new_tokens, (list, tuple)):
            new_tokens = [new_tokens]
        tokens = [_added_token(token, special=special_tokens) for token in new_tokens]
        if special_tokens:
            return self._backend.add_special_tokens([_as_special(token) for token in tokens])
        return self._backend.add_tokens(tokens)

    # ------------------------------------------------------------------------------ special tokens
    @property
    def additional_special_tokens(self) -> list[str]:
        """Special tokens beyond the named ones (bos ... mask)."""
        return [str(token) for token in self._additional_special_tokens]

    @additional_special_tokens.setter
    def additional_special_tokens(self, tokens: list[str | AddedToken] | None) -> None:
        self._additional_special_tokens = [_added_token(t, special=True) for t in tokens or ()]

    extra_special_tokens = additional_special_tokens  # transformers 5's name

    @property
    def additional_special_tokens_ids(self) -> list[int]:
        return self.convert_tokens_to_ids(self.additional_special_tokens)

    extra_special_tokens_ids = additional_special_tokens_ids

    @property
    def special_tokens_map(self) -> dict[str, str | list[str]]:
        """The special tokens that are set, by attribute name."""
        mapping: dict[str, Any] = {name: str(token) for name, token in self._special_tokens.items() if token is not None}
        if self._additional_special_tokens:
            mapping["additional_special_tokens"] = self.additional_special_tokens
        return mapping

    @property
    def all_special_tokens(self) -> list[str]:
        """Every special token (named ones first, then the additional ones), without repeats."""
        tokens = [str(t) for t in (*self._special_tokens.values(), *self._additional_special_tokens) if t is not None]
        return list(dict.fromkeys(tokens))

    @property
    def all_special_ids(self) -> list[int]:
        return self.convert_tokens_to_ids(self.all_special_tokens)

    def add_special_tokens(self, special_tokens_dict: Mapping[str, Any],
                           replace_additional_special_tokens: bool = True,
                           replace_extra_special_tokens: bool | None = None) -> int:
        """Set special tokens (``{'pad_token': '[PAD]', 'additional_special_tokens': [...]}``) and add
        those not yet in the vocabulary. Returns the count the backend reports."""
        if replace_extra_special_tokens is not None:
            replace_additional_special_tokens = replace_extra_special_tokens
        to_add = []
        # named tokens first, then the additional ones (the order, hence the ids, transformers gives)
        items = sorted(special_tokens_dict.items(), key=lambda kv: kv[0] in ("additional_special_tokens",
                                                                              "extra_special_tokens"))
        for key, value in items:
            if key in ("additional_special_tokens", "extra_special_tokens"):
                if isinstance(value, (str, AddedToken)) or not isinstance(value, (list, tuple)):
                    raise ValueError(f"{key} must be a list of tokens, not {value!r}")
                new = [_as_special(_added_token(token, special=True)) for token in value]
                if replace_additional_special_tokens:
                    self._additional_special_tokens = list(new)
                else:
                    known = set(self.additional_special_tokens)
                    self._additional_special_tokens.extend(t for t in new if t.content not in known)
                to_add.extend(new)
            elif key in SPECIAL_TOKENS_ATTRIBUTES:
                token = _as_special(_added_token(value, special=True))
                self._special_tokens[key] = token
                to_add.append(token)
            else:
                raise ValueError(f"{key!r} is not a special token attribute; use one of "
                                 f"{', '.join(SPECIAL_TOKENS_ATTRIBUTES)} or additional_special_tokens.")
        return self._backend.add_special_tokens(to_add) if to_add else 0

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        """How many special tokens encoding a single sequence (or a pair) adds."""
        return self._backend.num_special_tokens_to_add(pair)

    @property
    def max_len_single_sentence(self) -> int:
        return self.model_max_length - self.num_special_tokens_to_add(False)

    @property
    def max_len_sentences_pair(self) -> int:
        return self.model_max_length - self.num_special_tokens_to_add(True)

    @property
    def max_len(self) -> int:
        """pytorch-transformers' name for ``model_max_length``."""
        return self.model_max_length

    def _special_layout(self, pair: bool) -> list[tuple[Any, int]]:
        """The post-processor's template as [(special token id | 'A' | 'B', type id), ...]."""
        layout = self._layouts.get(pair)
        if layout is None:
            self._set_backend_state(None, None)
            probe = [self._backend.encode(["a"], is_pretokenized=True, add_special_tokens=False)
                     for _ in range(2 if pair else 1)]
            if not all(len(p.ids) for p in probe):
                raise NotImplementedError(f"{type(self).__name__}: cannot read the special-token template")
            encoding = self._backend.post_process(probe[0], probe[1] if pair else None, add_special_tokens=True)
            layout, runs = [], iter("AB")
            # (sequence_ids are not reliable after post_process of a pair: the special-tokens mask is)
            for index, special, type_id in zip(encoding.ids, encoding.special_tokens_mask, encoding.type_ids,
                                               strict=True):
                if special:
                    layout.append((index, type_id))
                elif not layout or layout[-1][0] not in ("A", "B"):
                    layout.append((next(runs), type_id))
            self._layouts[pair] = layout
        return layout

    def build_inputs_with_special_tokens(self, token_ids_0: list[int], token_ids_1: list[int] | None = None) -> list[int]:
        """Ids of one sequence or a pair with the special tokens added (``[CLS] A [SEP] B [SEP]`` for BERT)."""
        out: list[int] = []
        for item, _ in self._special_layout(token_ids_1 is not None):
            out.extend(token_ids_0 if item == "A" else token_ids_1 if item == "B" else (item,))
        return out

    def create_token_type_ids_from_sequences(self, token_ids_0: list[int],
                                             token_ids_1: list[int] | None = None) -> list[int]:
        """Token type ids of the sequence build_inputs_with_special_tokens makes."""
        out: list[int] = []
        for item, type_id in self._special_layout(token_ids_1 is not None):
            size = len(token_ids_0) if item == "A" else len(token_ids_1) if item == "B" else 1
            out.extend([type_id] * size)
        return out

    def get_special_tokens_mask(self, token_ids_0: list[int], token_ids_1: list[int] | None = None,
                                already_has_special_tokens: bool = False) -> list[int]:
        """1 for special tokens, 0 for sequence tokens, of the sequence build_inputs_with_special_tokens
        makes (or of ``token_ids_0`` itself with ``already_has_special_tokens=True``)."""
        if already_has_special_tokens:
            if token_ids_1 is not None:
                raise ValueError("already_has_special_tokens=True takes one sequence that already holds both parts.")
            special = set(self.all_special_ids)
            return [1 if int(index) in special else 0 for index in token_ids_0]
        out: list[int] = []
        for item, _ in self._special_layout(token_ids_1 is not None):
            out.extend([0] * len(token_ids_0) if item == "A" else [0] * len(token_ids_1) if item == "B" else [1])
        return out

    # ------------------------------------------------------------------------------ encoding
    def _warn_once(self, key: str, message: str, stacklevel: int = 4) -> None:
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(message, stacklevel=stacklevel)

    def _strategies(self, padding: Any, truncation: Any, max_length: int | None,
                    pad_to_multiple_of: int | None, verbose: bool) -> tuple[str | None, str | None, int | None]:
        """Resolve the padding and truncation arguments as transformers does."""
        try:
            pad = _PADDING[getattr(padding, "value", padding)]
        except (KeyError, TypeError):
            raise ValueError(f"padding={padding!r}: use True or 'longest', 'max_length', or False or 'do_not_pad'.") from None
        if max_length is not None and padding is False and truncation is None:
            truncation = True  # max_length alone asks for truncation
        try:
            trunc = _TRUNCATION[getattr(truncation, "value", truncation)]
        except (KeyError, TypeError):
            raise ValueError(f"truncation={truncation!r}: use True or 'longest_first', 'only_first', 'only_second', "
                             "or False or 'do_not_truncate'.") from None
        if padding is True and max_length is not None and trunc is None and verbose:
            self._warn_once("max_length-ignored", "max_length is ignored by padding=True without truncation: it pads "
                            "to the longest sequence. Use padding='max_length' to pad to max_length, or truncation=True.")
        if max_length is None and (pad == "max_length" or trunc is not None):
            if self.model_max_length > LARGE_INTEGER:
                what = " and ".join(w for w, on in (("pad", pad == "max_length"), ("truncate", trunc)) if on)
                self._warn_once("no-max-length", f"Asked to {what} to a maximum length, but no max_length was given "
                                "and this tokenizer has no model_max_length: not doing it. Pass max_length=...")
                pad = None if pad == "max_length" else pad
                trunc = None
            else:
                max_length = self.model_max_length
        if pad is not None and (self.pad_token is None or self.pad_token_id is None):
            raise ValueError(
                "Asked to pad, but this tokenizer has no pad_token. Set one: `tokenizer.pad_token = "
                "tokenizer.eos_token` reuses an existing token, `tokenizer.add_special_tokens({'pad_token': "
                "'[PAD]'})` adds a new one (then resize the model's embeddings to len(tokenizer))."
            )
        if trunc and pad and pad_to_multiple_of and max_length is not None and max_length % pad_to_multiple_of:
            raise ValueError(f"truncation to max_length={max_length} and pad_to_multiple_of={pad_to_multiple_of} "
                             "disagree: make max_length a multiple of pad_to_multiple_of.")
        return pad, trunc, max_length

    def _set_backend_state(self, truncation: tuple | None, padding: tuple | None) -> None:
        """Configure truncation and padding on the backend, only where they changed."""
        backend = self._backend
        if truncation != self._truncation_state:
            self._truncation_state = _UNKNOWN  # until the backend accepts the new setting
            if truncation is None:
                backend.no_truncation()
            else:
                max_length, stride, strategy, direction = truncation
                backend.enable_truncation(max_length, stride=stride, strategy=strategy, direction=direction)
            self._truncation_state = truncation
        if padding != self._padding_state:
            self._padding_state = _UNKNOWN
            if padding is None:
                backend.no_padding()
            else:
                length, multiple, pad_id, pad_type_id, pad_token, direction = padding
                backend.enable_padding(direction=direction, pad_id=pad_id, pad_type_id=pad_type_id,
                                       pad_token=pad_token, length=length, pad_to_multiple_of=multiple)
            self._padding_state = padding

    def _batch_inputs(self, text: Any, text_pair: Any, is_split_into_words: bool) -> tuple[bool, list]:
        """(is it a batch, the backend's list of inputs) for text and text_pair."""
        if is_split_into_words:
            batched = isinstance(text, (list, tuple)) and len(text) > 0 and isinstance(text[0], (list, tuple))
        else:
            batched = isinstance(text, (list, tuple))
        if not batched:
            for value, name in ((text, "text"), (text_pair, "text_pair")):
                ok = isinstance(value, (list, tuple)) if is_split_into_words else isinstance(value, str)
                if not ok and (value is not None or name == "text"):
                    raise TypeError(self._input_error(name, value, is_split_into_words))
            # an empty text_pair ("" or []) means no pair in a single call, as in transformers
            return False, [(text, text_pair)] if text_pair else [text]
        if text_pair is None:
            return True, list(text)  # a copy: the batch may encode it again later (BatchEncoding.encodings)
        if not isinstance(text_pair, (list, tuple)):
            raise TypeError(f"text is a batch of {len(text)}, so text_pair must be a list of the same length, "
                            f"not {type(text_pair).__name__}.")
        if len(text_pair) != len(text):
            raise ValueError(f"text has {len(text)} items but text_pair has {len(text_pair)}: give one pair each.")
        return True, list(zip(text, text_pair, strict=True))

    @staticmethod
    def _input_error(name: str, value: Any, is_split_into_words: bool) -> str:
        shown = repr(value) if len(repr(value)) < 60 else type(value).__name__
        if is_split_into_words:
            return (f"{name}={shown}: with is_split_into_words=True, give a list of words (one sequence) or a "
                    "list of such lists (a batch).")
        return f"{name}={shown}: give a str (one sequence) or a list of str (a batch)."

    def __call__(
        self,
        text: Any = None,
        text_pair: Any = None,
        *,
        add_special_tokens: bool = True,
        padding: bool | str = False,
        truncation: bool | str | None = None,
        max_length: int | None = None,
        stride: int = 0,
        is_split_into_words: bool = False,
        pad_to_multiple_of: int | None = None,
        padding_side: str | None = None,
        return_tensors: str | None = None,
        return_token_type_ids: bool | None = None,
        return_attention_mask: bool | None = None,
        return_overflowing_tokens: bool = False,
        return_special_tokens_mask: bool = False,
        return_offsets_mapping: bool = False,
        return_length: bool = False,
        split_special_tokens: bool | None = None,
        verbose: bool = True,
        **legacy: Any,
    ) -> BatchEncoding:
        """Tokenize a string, a pair, a batch of strings or a batch of pairs into model inputs.

        ``text`` is a str or a list of str (with ``is_split_into_words=True``: a list of words or
        a list of such lists); ``text_pair`` the second sequences, in the same form. ``padding``:
        False, True/'longest', 'max_length'. ``truncation``: False, True/'longest_first',
        'only_first', 'only_second'; with no ``max_length`` it truncates to model_max_length,
        and ``max_length`` alone (no padding) truncates. ``return_overflowing_tokens`` with
        ``stride`` returns the cut-off parts as extra rows and ``overflow_to_sample_mapping``.
        ``return_tensors``: None (lists), 'pt' or 'np'.
        """
        if legacy:
            padding, truncation = self._legacy_arguments(legacy, padding, truncation)
        if text is None:
            raise ValueError("Give the text to tokenize: tokenizer(text) or tokenizer(text, text_pair).")
        batched, inputs = self._batch_inputs(text, text_pair, is_split_into_words)
        pad, trunc, max_length = self._strategies(padding, truncation, max_length, pad_to_multiple_of, verbose)
        truncation_state = None if trunc is None else (max_length, stride, trunc, self.truncation_side)
        padding_state = None if pad is None else (
            max_length if pad == "max_length" else None, pad_to_multiple_of, self.pad_token_id,
            self.pad_token_type_id, self.pad_token, padding_side or self.padding_side,
        )
        if split_special_tokens is None:
            split_special_tokens = self.split_special_tokens
        encode = partial(self._encode_batch, inputs, add_special_tokens, is_split_into_words,
                         truncation_state, padding_state, return_overflowing_tokens, split_special_tokens)
        # Tensors without offsets: the fastest path. Rust encodes without offsets and without
        # padding (padding there allocates a token string, offsets, ... per cell) and numpy pads.
        numpy_padding = (padding_state is not None and return_tensors is not None and not return_offsets_mapping
                         and _numpy_available())
        if numpy_padding and inputs:
            encodings, sample_mapping = self._encode_batch(
                inputs, add_special_tokens, is_split_into_words, truncation_state, None,
                return_overflowing_tokens, split_special_tokens, False)
        else:
            numpy_padding = False
            encodings, sample_mapping = encode(return_offsets_mapping)

        want_types = "token_type_ids" in self.model_input_names if return_token_type_ids is None else return_token_type_ids
        want_mask = "attention_mask" in self.model_input_names if return_attention_mask is None else return_attention_mask
        ids = [e.ids for e in encodings]
        data: dict[str, Any] = {"input_ids": ids}
        if want_types:
            data["token_type_ids"] = [e.type_ids for e in encodings]
        if want_mask:  # unpadded encodings attend to every token: numpy makes the mask
            data["attention_mask"] = None if numpy_padding else [e.attention_mask for e in encodings]
        if return_special_tokens_mask:
            data["special_tokens_mask"] = [e.special_tokens_mask for e in encodings]
        if return_offsets_mapping:
            data["offset_mapping"] = [e.offsets for e in encodings]
        if return_length:
            data["length"] = [len(row) for row in ids]
        if sample_mapping is not None:
            data["overflow_to_sample_mapping"] = sample_mapping
        if truncation_state is None and max_length is None and verbose and self.model_max_length < LARGE_INTEGER:
            longest = max(map(len, ids), default=0)
            if longest > self.model_max_length:
                self._warn_once("too-long", f"A sequence is {longest} tokens long, more than this tokenizer's "
                                f"model_max_length ({self.model_max_length}): the model cannot take it. Pass "
                                "truncation=True to cut sequences to the maximum length.", stacklevel=3)
        if numpy_padding:
            data = _pad_with_numpy(data, padding_state)
        if not batched and return_tensors is None and not return_overflowing_tokens:
            data = {key: value[0] for key, value in data.items()}
        batch = BatchEncoding(data, encodings, tensor_type=return_tensors)
        if not return_offsets_mapping:  # encoded without offsets: word/char alignments encode again on demand
            batch._full_encodings = lambda: encode(True)[0]
        return batch

    def _encode_batch(self, inputs: list, add_special_tokens: bool, is_pretokenized: bool,
                      truncation_state: tuple | None, padding_state: tuple | None, overflowing: bool,
                      split_special_tokens: bool, with_offsets: bool) -> tuple[list, list[int] | None]:
        """Encode with the given backend settings; overflowing windows follow their row."""
        self._set_backend_state(truncation_state, padding_state)
        if self._backend.encode_special_tokens != split_special_tokens:
            self._backend.encode_special_tokens = split_special_tokens
        backend = self._backend
        encode = backend.encode_batch if with_offsets else getattr(backend, "encode_batch_fast", backend.encode_batch)
        try:
            encodings = encode(inputs, add_special_tokens=add_special_tokens, is_pretokenized=is_pretokenized)
        except TypeError as e:
            bad = next((i for i, item in enumerate(inputs) if not self._valid_input(item, is_pretokenized)), None)
            if bad is None:
                raise
            raise TypeError(f"item {bad} of the batch: "
                            + self._input_error("text", inputs[bad], is_pretokenized)) from e
        except BaseException as e:
            # The Rust library raises a bare Exception ("Truncation error: ...") or panics (a
            # BaseException that `except Exception` misses) on truncation settings that leave no
            # room, e.g. only_second with a first sequence filling max_length.
            if type(e) is not Exception and type(e).__name__ != "PanicException":
                raise
            settings = "no truncation" if truncation_state is None else (
                "max_length={}, stride={}, truncation={!r}".format(*truncation_state[:3]))
            raise ValueError(f"{e} ({settings})") from e
        if not overflowing:
            return encodings, None
        rows, mapping = [], []
        for index, encoding in enumerate(encodings):
            extra = encoding.overflowing
            rows.append(encoding)
            rows.extend(extra)
            mapping.extend([index] * (1 + len(extra)))
        return rows, mapping

    @staticmethod
    def _valid_input(item: Any, is_pretokenized: bool) -> bool:
        def sequence(value: Any) -> bool:
            if is_pretokenized:
                return isinstance(value, (list, tuple)) and all(isinstance(w, str) for w in value)
            return isinstance(value, str)

        if sequence(item):
            return True
        return isinstance(item, (list, tuple)) and len(item) == 2 and sequence(item[0]) and sequence(item[1])

    def _legacy_arguments(self, legacy: dict, padding: Any, truncation: Any) -> tuple[Any, Any]:
        """pytorch-transformers 2.x spellings: pad_to_max_length, truncation_strategy."""
        if legacy.pop("pad_to_max_length", False):
            padding = "max_length"
        if "truncation_strategy" in legacy:
            strategy = legacy.pop("truncation_strategy")
            truncation = strategy if truncation is None else truncation
        if legacy:
            raise TypeError(f"{type(self).__name__}.__call__() got unexpected keyword argument(s) {sorted(legacy)}")
        return padding, truncation

    def encode(self, text: Any, text_pair: Any = None, **kwargs: Any) -> Any:
        """The input ids of ``text`` (and ``text_pair``): a list, or a tensor with return_tensors."""
        return self(text, text_pair, **kwargs)["input_ids"]

    def encode_plus(self, text: Any, text_pair: Any = None, **kwargs: Any) -> BatchEncoding:
        """pytorch-transformers' name for calling the tokenizer on one sequence or pair."""
        return self(text, text_pair, **kwargs)

    def batch_encode_plus(self, batch_text_or_text_pairs: list, **kwargs: Any) -> BatchEncoding:
        """pytorch-transformers' name for calling the tokenizer on a batch (of str or of pairs)."""
        return self(list(batch_text_or_text_pairs), **kwargs)

    def tokenize(self, text: str, pair: str | None = None, add_special_tokens: bool = False, **kwargs: Any) -> list[str]:
        """The tokens (sub-words) of ``text`` (and ``pair``), by default without special tokens."""
        kwargs.setdefault("return_offsets_mapping", True)  # the tokens' strings come with offset tracking
        return self(text, pair, add_special_tokens=add_special_tokens, **kwargs).tokens()

    # ------------------------------------------------------------------------------ padding
    def pad(
        self,
        encoded_inputs: Any,
        padding: bool | str = True,
        max_length: int | None = None,
        pad_to_multiple_of: int | None = None,
        padding_side: str | None = None,
        return_attention_mask: bool | None = None,
        return_tensors: str | None = None,
        verbose: bool = True,
    ) -> BatchEncoding:
        """Pad encoded inputs to one length (what data collators call).

        ``encoded_inputs``: one encoding (dict of lists), a batch (dict of lists of lists, or a
        list of dicts); values may be lists, numpy arrays or tensors (the result then has the
        same type unless return_tensors says otherwise). Pads input_ids, attention_mask,
        token_type_ids and special_tokens_mask; other keys are left as they are.
        """
        if isinstance(encoded_inputs, (list, tuple)) and encoded_inputs and isinstance(encoded_inputs[0], Mapping):
            examples = encoded_inputs
            for index, example in enumerate(examples):
                if example.keys() != examples[0].keys():
                    raise ValueError(f"pad(): example {index} has keys {sorted(example)} but example 0 has "
                                     f"{sorted(examples[0])}; give every example the same keys.")
            encoded_inputs = {key: [example[key] for example in examples] for key in examples[0]}
        elif isinstance(encoded_inputs, Mapping):
            encoded_inputs = dict(encoded_inputs)
        else:
            raise TypeError("pad() takes an encoding (dict), a dict of batched lists, or a list of encodings; "
                            f"got {type(encoded_inputs).__name__}.")
        main = self.model_input_names[0]
        if main not in encoded_inputs:
            raise ValueError(f"pad() needs {main!r} in its input; it has {list(encoded_inputs)}.")
        found_type = None
        for key, value in encoded_inputs.items():
            sample = value[0] if isinstance(value, (list, tuple)) and value else value
            if hasattr(sample, "tolist"):
                found_type = found_type or ("np" if type(sample).__module__ == "numpy" else "pt")
                encoded_inputs[key] = _tolist(value) if hasattr(value, "tolist") else [_tolist(v) for v in value]
        return_tensors = return_tensors or found_type
        if return_attention_mask is None:
            return_attention_mask = "attention_mask" in self.model_input_names

        pad, _, max_length = self._strategies(padding, False, max_length, pad_to_multiple_of, verbose)
        rows = encoded_inputs[main]
        single = not rows or not isinstance(rows[0], (list, tuple))
        if single:
            encoded_inputs = {key: [value] for key, value in encoded_inputs.items()}
            rows = encoded_inputs[main]
        target = None
        if pad == "longest":
            target = max(map(len, rows), default=0)
        elif pad == "max_length":
            target = max_length
        if target is not None and pad_to_multiple_of and target % pad_to_multiple_of:
            target = (target // pad_to_multiple_of + 1) * pad_to_multiple_of
        side = padding_side or self.padding_side
        fill = {main: self.pad_token_id, "attention_mask": 0, "token_type_ids": self.pad_token_type_id,
                "special_tokens_mask": 1}
        if return_attention_mask and "attention_mask" not in encoded_inputs:
            encoded_inputs["attention_mask"] = [[1] * len(row) for row in rows]
        out = {}
        for key, values in encoded_inputs.items():
            if key not in fill or target is None:
                out[key] = [list(v) if isinstance(v, tuple) else v for v in values] if key in fill else values
                continue
            padded = []
            for value in values:
                missing = target - len(value)
                value = list(value)
                if missing > 0:
                    value = value + [fill[key]] * missing if side == "right" else [fill[key]] * missing + value
                padded.append(value)
            out[key] = padded
        if single:
            out = {key: value[0] for key, value in out.items()}
        return BatchEncoding(out, tensor_type=return_tensors)

    # ------------------------------------------------------------------------------ decoding
    def decode(self, token_ids: Any, skip_special_tokens: bool = False,
               clean_up_tokenization_spaces: bool | None = None, **kwargs: Any) -> str | list[str]:
        """Text of a sequence of ids (list, numpy array or tensor); a list of texts for a batch."""
        self._check_decode_kwargs(kwargs)
        ids = _tolist(token_ids)
        if isinstance(ids, int):
            ids = [ids]
        if ids and hasattr(ids[0], "tolist"):  # a list of tensors or numpy values
            ids = [_tolist(i) for i in ids]
        if ids and isinstance(ids[0], (list, tuple)):
            return self.batch_decode(ids, skip_special_tokens, clean_up_tokenization_spaces)
        try:
            text = self._backend.decode(ids, skip_special_tokens=skip_special_tokens)
        except TypeError:
            text = self._backend.decode([int(i) for i in ids], skip_special_tokens=skip_special_tokens)
        return self._clean_up(text, clean_up_tokenization_spaces)

    def batch_decode(self, sequences: Any, skip_special_tokens: bool = False,
                     clean_up_tokenization_spaces: bool | None = None, **kwargs: Any) -> list[str]:
        """Texts of a batch of id sequences."""
        self._check_decode_kwargs(kwargs)
        rows = [_tolist(row) for row in _tolist(sequences)]
        if rows and isinstance(rows[0], int):
            rows = [rows]
        try:
            texts = self._backend.decode_batch(rows, skip_special_tokens=skip_special_tokens)
        except TypeError:
            texts = self._backend.decode_batch([[int(i) for i in row] for row in rows],
                                               skip_special_tokens=skip_special_tokens)
        return [self._clean_up(text, clean_up_tokenization_spaces) for text in texts]

    @staticmethod
    def _check_decode_kwargs(kwargs: dict) -> None:
        unknown = set(kwargs) - _DECODE_IGNORED_KWARGS
        if unknown:
            raise TypeError(f"decode() got unexpected keyword argument(s) {sorted(unknown)}")

    def _clean_up(self, text: str, clean_up: bool | None) -> str:
        if clean_up is None:
            clean_up = self.clean_up_tokenization_spaces
        return self.clean_up_tokenization(text) if clean_up else text

    @staticmethod
    def clean_up_tokenization(text: str) -> str:
        """Remove the spaces word-level tokenization leaves before punctuation and English contractions."""
        for spaced, joined in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                               (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")):
            text = text.replace(spaced, joined)
        return text

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(name_or_path={self.name_or_path!r}, vocab_size={self.vocab_size}, "
                f"added_tokens={len(self) - self.vocab_size}, model_max_length={self.model_max_length}, "
                f"padding_side={self.padding_side!r}, truncation_side={self.truncation_side!r}, "
                f"special_tokens={self.special_tokens_map})")
