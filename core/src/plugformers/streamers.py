"""Streamers: text out of ``generate(..., streamer=...)`` while it is being produced.

generate() calls ``streamer.put(ids)`` with the prompt, then with each new token, and
``streamer.end()`` when it stops; it follows one sequence (batch size 1, no beams).
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

__all__ = ["TextStreamer"]

_INCOMPLETE = "\ufffd"  # what byte-level decoders give for a character whose bytes are not all there yet


class TextStreamer:
    """Print the text as generate() produces it, a word at a time.

    Args:
        tokenizer: decodes the tokens (``tokenizer.decode``).
        skip_prompt: leave out the prompt and print only the new text.
        file: where to write (standard output by default).
        decode_kwargs: passed to ``decode`` (``skip_special_tokens=True``, ...).

    Text is written once it can no longer change: up to the last space, and never in
    the middle of a character whose bytes are split across tokens. Subclasses can
    override ``on_finalized_text`` to send it elsewhere.
    """

    def __init__(self, tokenizer: Any, skip_prompt: bool = False, file: TextIO | None = None,
                 **decode_kwargs: Any) -> None:
        self.tokenizer = tokenizer
        self.skip_prompt = skip_prompt
        self.file = file
        self.decode_kwargs = decode_kwargs
        self._tokens: list[int] = []
        self._printed = 0  # characters of the current decode already written
        self._prompt_pending = True

    def put(self, value: Any) -> None:
        """Take the next token ids (the prompt first): a tensor or list of one sequence."""
        ids = value.tolist() if hasattr(value, "tolist") else list(value)
        if ids and isinstance(ids[0], list):
            if len(ids) > 1:
                raise ValueError(f"TextStreamer follows one sequence, got a batch of {len(ids)}: stream "
                                 "each prompt in its own generate() call.")
            ids = ids[0]
        if self._prompt_pending:
            self._prompt_pending = False
            if self.skip_prompt:
                return
        self._tokens.extend(int(i) for i in ids)
        text = self.tokenizer.decode(self._tokens, **self.decode_kwargs)
        if text.endswith("\n"):  # a line is complete: write it and start afresh
            self._write(text[self._printed:])
            self._tokens, self._printed = [], 0
            return
        if text.endswith(_INCOMPLETE):
            return
        stable = text.rfind(" ") + 1 if not self._is_wide(text[-1:]) else len(text)
        if stable > self._printed:
            self._write(text[self._printed:stable])
            self._printed = stable

    def end(self) -> None:
        """Write what is left, then a newline."""
        rest = ""
        if self._tokens:
            rest = self.tokenizer.decode(self._tokens, **self.decode_kwargs)[self._printed:]
        self._tokens, self._printed, self._prompt_pending = [], 0, True
        self.on_finalized_text(rest, stream_end=True)

    def _write(self, text: str) -> None:
        if text:
            self.on_finalized_text(text)

    @staticmethod
    def _is_wide(char: str) -> bool:
        """CJK characters are words of their own: write them at once."""
        return bool(char) and (0x3000 <= ord(char) <= 0x9FFF or 0xAC00 <= ord(char) <= 0xD7AF
                               or 0xF900 <= ord(char) <= 0xFAFF or 0x20000 <= ord(char) <= 0x2FA1F)

    def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
        """Where finished text goes: printed, flushed, a newline at the end."""
        print(text, end="\n" if stream_end else "", flush=True, file=self.file or sys.stdout)
