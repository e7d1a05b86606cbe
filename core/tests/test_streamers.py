"""TextStreamer: what it prints, and when."""

from __future__ import annotations

import io

import pytest
import torch

from plugformers import TextStreamer

# Byte-level style pieces: 5 and 6 are the two halves of "é", which decode to U+FFFD alone.
PIECES = {0: "The", 1: " cat", 2: " sat", 3: "\n", 4: " on", 5: b"\xc3", 6: b"\xa9", 7: " mat", 8: "猫"}


class PieceTokenizer:
    def decode(self, ids, skip_special_tokens=False):
        data = b"".join(p if isinstance(p, bytes) else p.encode() for p in map(PIECES.__getitem__, ids))
        return data.decode("utf-8", errors="replace")


class Chunks(TextStreamer):
    def __init__(self, **kwargs):
        super().__init__(PieceTokenizer(), **kwargs)
        self.chunks = []

    def on_finalized_text(self, text, stream_end=False):
        self.chunks.append((text, stream_end))


def stream(streamer, prompt, new):
    streamer.put(torch.tensor([prompt]))
    for token in new:
        streamer.put(torch.tensor([token]))
    streamer.end()


def test_prints_the_whole_text_once_in_word_sized_chunks():
    out = io.StringIO()
    stream(TextStreamer(PieceTokenizer(), file=out), [0, 1], [2, 3, 4, 5, 6, 7, 8, 1])
    assert out.getvalue() == "The cat sat\n oné mat猫 cat\n"

    chunks = Chunks()
    stream(chunks, [0, 1], [2, 3, 4, 5, 6, 7, 8, 1])
    texts = [text for text, _ in chunks.chunks]
    assert "".join(texts) == "The cat sat\n oné mat猫 cat"
    assert all(t.endswith((" ", "\n", "猫")) for t in texts[:-1])  # never half a word ...
    assert not any("\ufffd" in t for t in texts)  # ... nor half a character
    assert chunks.chunks[-1] == ("cat", True)


def test_skip_prompt_and_reuse():
    chunks = Chunks(skip_prompt=True)
    stream(chunks, [0, 1], [2, 7])
    stream(chunks, [0], [4, 3])  # a second generate() with the same streamer skips its prompt too
    assert "".join(t for t, _ in chunks.chunks) == " sat mat on\n"
    assert [end for _, end in chunks.chunks].count(True) == 2


def test_a_batch_is_refused():
    with pytest.raises(ValueError, match="one sequence, got a batch of 2"):
        TextStreamer(PieceTokenizer()).put(torch.tensor([[0, 1], [1, 0]]))
