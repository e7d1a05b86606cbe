"""RoBERTa's tokenizer: GPT-2's byte-level BPE (vocab.json + merges.txt, or a
tokenizer.json) with RoBERTa's special tokens and framing.

plugformers-gpt2's GPT2Tokenizer does the reading, checking, BPE and byte-level decoding;
this class changes only what RoBERTa changes: the special tokens ``<s>`` (bos and cls),
``</s>`` (eos and sep), ``<unk>``, ``<pad>`` and ``<mask>``, and the post-processor,
``<s> A </s>`` and ``<s> A </s></s> B </s>`` (every token type id 0), whose offsets leave
out the space a token starts with (``trim_offsets``). ``<mask>`` strips the space before
it (lstrip), as in RoBERTa's checkpoints: "Hello <mask>" is ``Hello``, ``<mask>``.
"""

from __future__ import annotations

import os
from typing import Any

from plugformers_gpt2.tokenization import GPT2Tokenizer
from tokenizers import AddedToken, Tokenizer, processors

__all__ = ["RobertaTokenizer", "RobertaTokenizerFast"]


class RobertaTokenizer(GPT2Tokenizer):
    """RoBERTa's byte-level BPE tokenizer.

    Args:
        vocab_file, merges_file, errors: as GPT2Tokenizer's.
        bos_token, cls_token: "<s>"; the first token of every sequence (cls_token).
        eos_token, sep_token: "</s>"; ends each sequence, twice between a pair (sep_token).
        unk_token, pad_token: "<unk>", "<pad>".
        mask_token: "<mask>", stripping the whitespace on its left (``lstrip``), as RoBERTa's
            checkpoints record it; pass a plain string for a mask token without it.
        add_prefix_space: put a space before the text, so the first word is tokenized like
            any other. None: as the tokenizer.json says; False when building from vocab files.
        trim_offsets: offsets leave out the space a token starts with. None: as the
            tokenizer.json says; True when building from vocab files.

    Other keyword arguments are those of `PreTrainedTokenizer` (model_max_length, ...).
    """

    model_input_names = ["input_ids", "attention_mask"]

    def __init__(self, vocab_file: str | os.PathLike | None = None, merges_file: str | os.PathLike | None = None,
                 errors: str = "replace", bos_token: Any = "<s>", eos_token: Any = "</s>", sep_token: Any = "</s>",
                 cls_token: Any = "<s>", unk_token: Any = "<unk>", pad_token: Any = "<pad>",
                 mask_token: Any = AddedToken("<mask>", lstrip=True, rstrip=False, normalized=False, special=True),
                 add_prefix_space: bool | None = None, trim_offsets: bool | None = None, **kwargs: Any) -> None:
        self.trim_offsets = trim_offsets
        # GPT-2's bos/eos framing options do not apply: RoBERTa always frames with cls/sep.
        kwargs.pop("add_bos_token", None)
        kwargs.pop("add_eos_token", None)
        super().__init__(
            vocab_file=vocab_file, merges_file=merges_file, errors=errors, unk_token=unk_token,
            bos_token=bos_token, eos_token=eos_token, pad_token=pad_token, add_prefix_space=add_prefix_space,
            sep_token=sep_token, cls_token=cls_token, mask_token=mask_token, **kwargs,
        )

    def _set_post_processor(self, backend: Tokenizer) -> None:
        """``<s> A </s>`` / ``<s> A </s></s> B </s>``, the special tokens added to the
        backend first when the vocabulary lacks them."""
        self._layouts = {}  # the cached special-token template is stale
        if self.trim_offsets is None:
            self.trim_offsets = True
        ids = {}
        for name in ("cls", "sep"):
            token = self._special_tokens.get(f"{name}_token")
            if token is None:
                raise ValueError(f"RobertaTokenizer needs a {name}_token to frame sequences; pass {name}_token=...")
            if backend.token_to_id(str(token)) is None:
                backend.add_special_tokens([AddedToken(str(token), special=True, normalized=False)])
            ids[name] = (str(token), backend.token_to_id(str(token)))
        backend.post_processor = processors.RobertaProcessing(
            ids["sep"], ids["cls"], trim_offsets=self.trim_offsets, add_prefix_space=bool(self.add_prefix_space)
        )

    def _adapt_backend(self, backend: Tokenizer) -> None:
        explicit = self.add_prefix_space is not None or self.trim_offsets is not None
        super()._adapt_backend(backend)
        post = backend.post_processor
        if isinstance(post, processors.RobertaProcessing) and self.trim_offsets is None:
            self.trim_offsets = post.trim_offsets
        if explicit or post is None:
            self._set_post_processor(backend)

    def _config_options(self) -> dict[str, Any]:
        return {"add_prefix_space": self.add_prefix_space, "errors": self.errors, "trim_offsets": self.trim_offsets}


RobertaTokenizerFast = RobertaTokenizer  # transformers' name for the tokenizers-backed class
