"""BERT's tokenizer: WordPiece over vocab.txt, behind BERT's normalizer and pre-tokenizer.

The pipeline, run by the `tokenizers` library: BertNormalizer (clean control characters,
space out CJK characters, optionally lowercase and strip accents), BertPreTokenizer (split
on whitespace and punctuation), WordPiece (greedy longest-match sub-words, "##" marking a
word's continuation, the unknown token for words longer than 100 characters or without a
match), then the template ``[CLS] A [SEP]`` / ``[CLS] A [SEP] B [SEP]`` with token type 1 on
the second sequence.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

from plugformers.tokenization_utils import PreTrainedTokenizer
from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import WordPiece

__all__ = ["BertTokenizer", "BertTokenizerFast"]

VOCAB_FILE = "vocab.txt"
MAX_INPUT_CHARS_PER_WORD = 100


class BertTokenizer(PreTrainedTokenizer):
    """BERT's WordPiece tokenizer.

    Args:
        vocab_file: vocab.txt, one token per line, the line number being its id. Not needed
            when a tokenizer.json is given (``tokenizer_file=``) or loaded by from_pretrained.
        do_lower_case: lowercase the text. None: as the tokenizer.json says, True when
            building from vocab.txt.
        strip_accents: remove accents. None: as the tokenizer.json says, else follow
            ``do_lower_case`` (the original BERT behaviour).
        tokenize_chinese_chars: put spaces around CJK characters, making each one a word.
            None: as the tokenizer.json says, True when building from vocab.txt.
        unk_token, sep_token, pad_token, cls_token, mask_token: BERT's special tokens.
        wordpieces_prefix: the marker of a word's continuation pieces.

    Other keyword arguments are those of `PreTrainedTokenizer` (model_max_length, ...).
    """

    vocab_files_names = {"vocab_file": VOCAB_FILE}
    model_input_names = ["input_ids", "token_type_ids", "attention_mask"]

    def __init__(
        self,
        vocab_file: str | os.PathLike | None = None,
        do_lower_case: bool | None = None,
        unk_token: Any = "[UNK]",
        sep_token: Any = "[SEP]",
        pad_token: Any = "[PAD]",
        cls_token: Any = "[CLS]",
        mask_token: Any = "[MASK]",
        tokenize_chinese_chars: bool | None = None,
        strip_accents: bool | None = None,
        wordpieces_prefix: str = "##",
        **kwargs: Any,
    ) -> None:
        self.do_lower_case = do_lower_case
        self.strip_accents = strip_accents
        self.tokenize_chinese_chars = tokenize_chinese_chars
        self.wordpieces_prefix = wordpieces_prefix
        super().__init__(
            vocab_file=vocab_file, unk_token=unk_token, sep_token=sep_token, pad_token=pad_token,
            cls_token=cls_token, mask_token=mask_token, **kwargs,
        )

    def _normalizer(self, clean_text: bool = True) -> normalizers.BertNormalizer:
        return normalizers.BertNormalizer(
            clean_text=clean_text,
            handle_chinese_chars=self.tokenize_chinese_chars,
            strip_accents=self.strip_accents,
            lowercase=self.do_lower_case,
        )

    def _build_backend(self, vocab_file: str) -> Tokenizer:
        if self.do_lower_case is None:
            self.do_lower_case = True
        if self.tokenize_chinese_chars is None:
            self.tokenize_chinese_chars = True
        vocab = WordPiece.read_file(vocab_file)  # {token: line number}, lines stripped at the end
        if not vocab:
            raise ValueError(f"{vocab_file}: the vocabulary is empty.")
        unk = self.unk_token
        if unk is not None and unk not in vocab:
            raise ValueError(f"{vocab_file}: the unknown token {unk!r} is not in the vocabulary; pass "
                             "unk_token= with the one it uses.")
        backend = Tokenizer(WordPiece(vocab, unk_token=unk or "[UNK]", continuing_subword_prefix=self.wordpieces_prefix,
                                      max_input_chars_per_word=MAX_INPUT_CHARS_PER_WORD))
        backend.normalizer = self._normalizer()
        backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        backend.decoder = decoders.WordPiece(prefix=self.wordpieces_prefix)
        cls, sep = self.cls_token, self.sep_token
        if cls is None or sep is None:
            raise ValueError("BertTokenizer needs cls_token and sep_token: they frame every sequence.")
        ids = {}
        for token in (cls, sep):
            if token not in vocab:
                backend.add_special_tokens([token])
            ids[token] = backend.token_to_id(token)
        backend.post_processor = processors.TemplateProcessing(
            single=f"{cls}:0 $A:0 {sep}:0",
            pair=f"{cls}:0 $A:0 {sep}:0 $B:1 {sep}:1",
            special_tokens=list(ids.items()),
        )
        return backend

    def _adapt_backend(self, backend: Tokenizer) -> None:
        normalizer = backend.normalizer
        wanted = {"lowercase": self.do_lower_case, "strip_accents": self.strip_accents,
                  "handle_chinese_chars": self.tokenize_chinese_chars}
        if not isinstance(normalizer, normalizers.BertNormalizer):
            if any(value is not None for value in wanted.values()):
                warnings.warn("do_lower_case/strip_accents/tokenize_chinese_chars are ignored: this tokenizer.json "
                              f"has no BertNormalizer ({type(normalizer).__name__}).", stacklevel=4)
            return
        if any(value is not None and value != getattr(normalizer, key) for key, value in wanted.items()):
            for key, value in wanted.items():
                if value is None:
                    wanted[key] = getattr(normalizer, key)
            self.do_lower_case, self.strip_accents = wanted["lowercase"], wanted["strip_accents"]
            self.tokenize_chinese_chars = wanted["handle_chinese_chars"]
            backend.normalizer = self._normalizer(clean_text=normalizer.clean_text)
        else:
            self.do_lower_case, self.strip_accents = normalizer.lowercase, normalizer.strip_accents
            self.tokenize_chinese_chars = normalizer.handle_chinese_chars

    def _config_options(self) -> dict[str, Any]:
        return {"do_lower_case": self.do_lower_case, "strip_accents": self.strip_accents,
                "tokenize_chinese_chars": self.tokenize_chinese_chars}

    def save_vocabulary(self, save_directory: str | os.PathLike, filename_prefix: str | None = None) -> tuple[str, ...]:
        """Write vocab.txt (the WordPiece vocabulary, one token per line in id order)."""
        from plugformers.serialization import atomic_write_text

        if not isinstance(self._backend.model, WordPiece):
            return ()
        vocab = self._backend.get_vocab(with_added_tokens=False)
        tokens = sorted(vocab, key=vocab.__getitem__)
        gaps = [index for index, token in enumerate(tokens) if vocab[token] != index]
        if gaps:
            warnings.warn(f"The vocabulary's ids are not consecutive (first gap at {gaps[0]}): vocab.txt gives "
                          "tokens their line number as id, so ids after the gap change. tokenizer.json keeps "
                          "them.", stacklevel=3)
        path = os.path.join(os.fspath(save_directory), (f"{filename_prefix}-" if filename_prefix else "") + VOCAB_FILE)
        atomic_write_text(path, "".join(token + "\n" for token in tokens))
        return (path,)


BertTokenizerFast = BertTokenizer  # transformers' name for the tokenizers-backed class
