"""GPT-2's tokenizer: byte-level BPE over vocab.json and merges.txt.

The pipeline, run by the `tokenizers` library: the ByteLevel pre-tokenizer (split with
GPT-2's regex into contractions, letter runs, digit runs, other symbols and whitespace, each
piece keeping its leading space; then map every UTF-8 byte to a printable symbol, "Ġ" for
a space), BPE (apply merges.txt's merges by rank, no unknown token: every byte is in the
vocabulary), then the ByteLevel post-processor and decoder (bytes back to text, so decoding
gives the text back byte for byte). No special tokens are added unless ``add_bos_token`` or
``add_eos_token`` asks for them; "<|endoftext|>" is the bos, eos and unk token.
"""

from __future__ import annotations

import json
import os
import warnings
from typing import Any

from plugformers.tokenization_utils import PreTrainedTokenizer
from tokenizers import AddedToken, Tokenizer, decoders, pre_tokenizers, processors
from tokenizers.models import BPE

__all__ = ["GPT2Tokenizer", "GPT2TokenizerFast"]

VOCAB_FILE = "vocab.json"
MERGES_FILE = "merges.txt"
MERGES_HEADER = "#version: 0.2"  # first line of the merges.txt files GPT-2 and the tokenizers library write
ENDOFTEXT = "<|endoftext|>"


def read_vocab(vocab_file: str) -> dict[str, int]:
    """vocab.json as {token: id}, checked."""
    try:
        with open(vocab_file, encoding="utf-8") as f:
            vocab = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{vocab_file}: not valid UTF-8 JSON ({e}); vocab.json must map each token to its id, "
                         'like {"!": 0, "hello": 31373}. Re-download or re-save the tokenizer.') from None
    if not isinstance(vocab, dict):
        raise ValueError(f"{vocab_file}: expected a JSON object mapping tokens to ids, found a "
                         f"{type(vocab).__name__}. Is this the vocab.json of a GPT-2 (byte-level BPE) tokenizer?")
    if not vocab:
        raise ValueError(f"{vocab_file}: the vocabulary is empty.")
    for token, index in vocab.items():
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise ValueError(f"{vocab_file}: token {token!r} has id {index!r}; ids must be integers >= 0.")
    if len(set(vocab.values())) != len(vocab):
        owner: dict[int, str] = {}
        for token, index in vocab.items():
            if owner.setdefault(index, token) != token:
                warnings.warn(f"{vocab_file}: {owner[index]!r} and {token!r} share id {index}; decoding that id "
                              "gives one of them.", stacklevel=5)
                break
    return vocab


def read_merges(merges_file: str, vocab: dict[str, int], vocab_file: str) -> list[tuple[str, str]]:
    """merges.txt as [(left, right), ...] in rank order, checked against the vocabulary."""
    try:
        with open(merges_file, encoding="utf-8", newline="") as f:
            lines = f.read().split("\n")
    except UnicodeDecodeError as e:
        raise ValueError(f"{merges_file}: not UTF-8 text ({e}).") from None
    merges = []
    for number, line in enumerate(lines, start=1):
        line = line.removesuffix("\r")
        if not line or (number == 1 and line.startswith("#version")):
            continue
        parts = line.split(" ")
        if len(parts) != 2 or not all(parts):
            raise ValueError(f"{merges_file}, line {number}: {line!r} is not a merge. Each line holds two tokens "
                             f"separated by one space, after an optional first line {MERGES_HEADER!r}.")
        for token in (parts[0], parts[1], parts[0] + parts[1]):
            if token not in vocab:
                raise ValueError(f"{merges_file}, line {number}: the merge {line!r} needs {token!r}, which is not "
                                 f"in {vocab_file}. The two files do not belong together: take both from the "
                                 "same checkpoint.")
        merges.append((parts[0], parts[1]))
    return merges


def _framing_option(name: str) -> property:
    """``add_{name}_token``: reading gives a bool, setting it rebuilds the post-processor."""
    attribute = f"_add_{name}_token"

    def get(self: GPT2Tokenizer) -> bool:
        return bool(getattr(self, attribute))

    def set(self: GPT2Tokenizer, value: bool) -> None:
        setattr(self, attribute, bool(value))
        self._set_post_processor(self._backend)

    return property(get, set, doc=f"Whether {name}_token is added to each sequence.")


class GPT2Tokenizer(PreTrainedTokenizer):
    """GPT-2's byte-level BPE tokenizer.

    Args:
        vocab_file: vocab.json, ``{token: id}``. Not needed when a tokenizer.json is given
            (``tokenizer_file=``) or loaded by from_pretrained.
        merges_file: merges.txt, one merge ("Ġ t") per line, highest priority first.
        errors: how invalid UTF-8 is decoded; only "replace" (U+FFFD) is supported.
        unk_token, bos_token, eos_token: "<|endoftext|>" by default.
        pad_token: None by default: set one (``tokenizer.pad_token = tokenizer.eos_token``)
            to pad batches.
        add_prefix_space: put a space before the text (unless it starts with one), so the
            first word is tokenized like any other. None: as the tokenizer.json says, False
            when building from vocab files. Split into words (``is_split_into_words=True``),
            every word gets the space.
        add_bos_token, add_eos_token: frame each sequence with bos/eos (``bos A eos``,
            ``bos A eos bos B eos``). None: as the tokenizer.json says, else no.

    Other keyword arguments are those of `PreTrainedTokenizer` (model_max_length, ...).
    """

    vocab_files_names = {"vocab_file": VOCAB_FILE, "merges_file": MERGES_FILE}
    model_input_names = ["input_ids", "attention_mask"]

    def __init__(
        self,
        vocab_file: str | os.PathLike | None = None,
        merges_file: str | os.PathLike | None = None,
        errors: str = "replace",
        unk_token: Any = ENDOFTEXT,
        bos_token: Any = ENDOFTEXT,
        eos_token: Any = ENDOFTEXT,
        pad_token: Any = None,
        add_prefix_space: bool | None = None,
        add_bos_token: bool | None = None,
        add_eos_token: bool | None = None,
        **kwargs: Any,
    ) -> None:
        if errors != "replace":
            warnings.warn(f"errors={errors!r} is not supported: the byte-level decoder replaces invalid UTF-8 "
                          "with U+FFFD, as errors='replace' does.", stacklevel=2)
        self.errors = errors
        self.add_prefix_space = add_prefix_space
        self._add_bos_token = add_bos_token
        self._add_eos_token = add_eos_token
        super().__init__(
            vocab_file=vocab_file, merges_file=merges_file, unk_token=unk_token, bos_token=bos_token,
            eos_token=eos_token, pad_token=pad_token, **kwargs,
        )

    add_bos_token = _framing_option("bos")
    add_eos_token = _framing_option("eos")

    def _set_post_processor(self, backend: Tokenizer) -> None:
        """ByteLevel (offsets kept as they are), or a template adding bos/eos when asked."""
        self._layouts = {}  # the cached special-token template is stale
        framing = [(name, getattr(self, f"{name}_token")) for name, on in
                   (("bos", self._add_bos_token), ("eos", self._add_eos_token)) if on]
        if not framing:
            backend.post_processor = processors.ByteLevel(trim_offsets=False)
            return
        ids = {}
        for name, token in framing:
            if token is None:
                raise ValueError(f"add_{name}_token=True needs a {name}_token; pass {name}_token=...")
            if backend.token_to_id(token) is None:
                backend.add_special_tokens([AddedToken(token, special=True)])
            ids[token] = backend.token_to_id(token)

        def frame(sequence: str, type_id: int) -> str:
            parts = [f"{self.bos_token}:{type_id}"] if self._add_bos_token else []
            parts.append(f"${sequence}:{type_id}")
            if self._add_eos_token:
                parts.append(f"{self.eos_token}:{type_id}")
            return " ".join(parts)

        backend.post_processor = processors.TemplateProcessing(
            single=frame("A", 0),
            pair=f"{frame('A', 0)} {frame('B', 1)}",
            special_tokens=list(ids.items()),
        )

    # -- the hooks of PreTrainedTokenizer
    def _build_backend(self, vocab_file: str, merges_file: str) -> Tokenizer:
        if self.add_prefix_space is None:
            self.add_prefix_space = False
        vocab = read_vocab(vocab_file)
        merges = read_merges(merges_file, vocab, vocab_file)
        missing = [symbol for symbol in pre_tokenizers.ByteLevel.alphabet() if symbol not in vocab]
        if missing:
            warnings.warn(f"{vocab_file}: {len(missing)} of the 256 byte symbols are not in the vocabulary (such as "
                          f"{sorted(missing)[:3]}), so text with those bytes loses them. Is this a GPT-2 (byte-level "
                          "BPE) vocabulary?", stacklevel=5)
        backend = Tokenizer(BPE(vocab, merges, continuing_subword_prefix="", end_of_word_suffix="", fuse_unk=False))
        backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=self.add_prefix_space)
        backend.decoder = decoders.ByteLevel()
        self._set_post_processor(backend)
        return backend

    def _adapt_backend(self, backend: Tokenizer) -> None:
        pre = backend.pre_tokenizer
        if isinstance(pre, pre_tokenizers.ByteLevel):
            if self.add_prefix_space is None:
                self.add_prefix_space = pre.add_prefix_space
            elif pre.add_prefix_space != self.add_prefix_space:
                backend.pre_tokenizer = pre_tokenizers.ByteLevel(
                    add_prefix_space=self.add_prefix_space, trim_offsets=pre.trim_offsets, use_regex=pre.use_regex)
        elif self.add_prefix_space is not None:
            warnings.warn(f"add_prefix_space={self.add_prefix_space} is ignored: this tokenizer.json's pre-tokenizer "
                          f"is {type(pre).__name__}, not ByteLevel.", stacklevel=4)
        if self._add_bos_token is not None or self._add_eos_token is not None:
            self._set_post_processor(backend)

    def _config_options(self) -> dict[str, Any]:
        options = {"add_prefix_space": self.add_prefix_space, "errors": self.errors}
        for name, value in (("add_bos_token", self._add_bos_token), ("add_eos_token", self._add_eos_token)):
            if value is not None:
                options[name] = value
        return options

    def save_vocabulary(self, save_directory: str | os.PathLike, filename_prefix: str | None = None) -> tuple[str, ...]:
        """Write vocab.json (tokens in id order) and merges.txt (a version line, then one merge a line)."""
        from plugformers.serialization import atomic_write_text

        model = json.loads(self._backend.to_str())["model"]
        if model.get("type") != "BPE":
            return ()
        merges = [merge.split(" ") if isinstance(merge, str) else merge for merge in model["merges"]]
        spaced = next((pair for pair in merges if len(pair) != 2 or any(" " in part for part in pair)), None)
        if spaced is not None:
            warnings.warn(f"The merge {spaced!r} holds a space, which merges.txt cannot write: only tokenizer.json "
                          "is saved.", stacklevel=3)
            return ()
        vocab = dict(sorted(model["vocab"].items(), key=lambda item: item[1]))
        prefix = f"{filename_prefix}-" if filename_prefix else ""
        directory = os.fspath(save_directory)
        vocab_path = os.path.join(directory, prefix + VOCAB_FILE)
        merges_path = os.path.join(directory, prefix + MERGES_FILE)
        atomic_write_text(vocab_path, json.dumps(vocab, ensure_ascii=False) + "\n")
        atomic_write_text(merges_path, MERGES_HEADER + "\n" + "".join(f"{a} {b}\n" for a, b in merges))
        return vocab_path, merges_path


GPT2TokenizerFast = GPT2Tokenizer  # transformers' name for the tokenizers-backed class
