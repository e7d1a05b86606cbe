"""OpenAI GPT's tokenizer: lower-cased BERT-style words, then BPE with ``</w>`` word ends.

The pipeline, run by the `tokenizers` library, is the one transformers 5 uses (it no
longer reaches for ftfy or spaCy): the BERT normaliser (control characters dropped,
whitespace made spaces, CJK characters spaced out, lower-cased, accents stripped), the
BERT pre-tokenizer (split on whitespace and around every punctuation character), then
BPE over vocab.json and merges.txt, where a word's last symbol carries ``</w>`` ("low"
→ "l", "o", "w</w>" before merging). A symbol the vocabulary lacks becomes "<unk>".
Decoding turns each ``</w>`` back into a space. No special tokens are added around a
sequence; a pair is the two sequences one after the other (token type ids 0, then 1).
"""

from __future__ import annotations

import os
from typing import Any

from plugformers.tokenization_utils import PreTrainedTokenizer
from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import BPE

__all__ = ["OpenAIGPTTokenizer", "OpenAIGPTTokenizerFast", "END_OF_WORD"]

END_OF_WORD = "</w>"


class OpenAIGPTTokenizer(PreTrainedTokenizer):
    """OpenAI GPT's BPE tokenizer.

    Args:
        vocab_file: vocab.json, ``{token: id}``. Not needed when a tokenizer.json is given
            (``tokenizer_file=``) or loaded by from_pretrained.
        merges_file: merges.txt, one merge ("t h</w>") per line, highest priority first,
            after an optional "#version" line.
        unk_token: "<unk>" by default; added to the vocabulary when vocab.json lacks it.

    Text is always lower-cased (``do_lower_case`` is True). Other keyword arguments are
    those of `PreTrainedTokenizer` (model_max_length, pad_token, ...).
    """

    vocab_files_names = {"vocab_file": "vocab.json", "merges_file": "merges.txt"}
    model_input_names = ["input_ids", "attention_mask"]

    def __init__(
        self,
        vocab_file: str | os.PathLike | None = None,
        merges_file: str | os.PathLike | None = None,
        unk_token: Any = "<unk>",
        **kwargs: Any,
    ) -> None:
        kwargs.pop("do_lower_case", None)  # always true; a saved tokenizer_config.json may say so
        super().__init__(vocab_file=vocab_file, merges_file=merges_file, unk_token=unk_token, **kwargs)

    @property
    def do_lower_case(self) -> bool:
        return True

    # -- the hooks of PreTrainedTokenizer
    def _build_backend(self, vocab_file: str, merges_file: str) -> Tokenizer:
        try:
            vocab, merges = BPE.read_file(vocab_file, merges_file)
        except Exception as e:  # the Rust reader's error names no file
            raise ValueError(
                f"OpenAIGPTTokenizer: cannot read {vocab_file} and {merges_file} ({e}). vocab.json maps each "
                'token to its id ({"t": 5, "he</w>": 40}); merges.txt holds one merge a line ("h e</w>"). '
                "Take both files from the same checkpoint."
            ) from None
        unk = self.unk_token
        backend = Tokenizer(BPE(vocab, merges, unk_token=unk, continuing_subword_prefix="",
                                end_of_word_suffix=END_OF_WORD, fuse_unk=False))
        backend.normalizer = normalizers.BertNormalizer(lowercase=True)
        backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        backend.decoder = decoders.BPEDecoder(suffix=END_OF_WORD)
        self._adapt_backend(backend)
        return backend

    def _adapt_backend(self, backend: Tokenizer) -> None:
        # No special tokens, but a template all the same: it marks which tokens belong to
        # which sequence (padding to none, the second of a pair type id 1), as transformers' does.
        if backend.post_processor is None:
            backend.post_processor = processors.TemplateProcessing(single="$A:0", pair="$A:0 $B:1")

    def _config_options(self) -> dict[str, Any]:
        return {"do_lower_case": True}

    def save_vocabulary(self, save_directory: str | os.PathLike, filename_prefix: str | None = None) -> tuple[str, ...]:
        """Write vocab.json and merges.txt (a "#version" line, then one merge a line)."""
        model = self._backend.model
        if not isinstance(model, BPE):
            return ()
        return tuple(model.save(os.fspath(save_directory), filename_prefix))


OpenAIGPTTokenizerFast = OpenAIGPTTokenizer  # transformers' name for the tokenizers-backed class
