"""Tokenizer parity helpers for plugin tests: compare an encoding with the reference
library's, field by field and row by row.

    from plugformers.testing.tokenization import assert_same_encoding, same_outcome

    assert_same_encoding(ours(text, return_tensors="pt"), theirs(text, return_tensors="pt"))
    same_outcome(ours, theirs, text, truncation="only_second", max_length=3)  # equal, or both raise
"""

from __future__ import annotations

from typing import Any

__all__ = ["assert_same_encoding", "same_outcome"]


def assert_same_encoding(ours: Any, ref: Any, rows: bool = True) -> None:
    """Same keys in the same order, same values (lists, numpy arrays or tensors, with the
    same dtype and shape); with ``rows``, the same word ids, sequence ids and tokens per row."""
    assert list(ours.keys()) == list(ref.keys())
    for key in ref:
        a, b = ours[key], ref[key]
        if hasattr(b, "detach"):  # a tensor
            assert type(a) is type(b) and a.dtype == b.dtype and a.shape == b.shape, key
            assert bool((a == b).all()), key
        elif type(b).__module__ == "numpy":
            import numpy as np

            assert isinstance(a, np.ndarray) and a.dtype == b.dtype, key
            np.testing.assert_array_equal(a, b, err_msg=key)
        else:
            assert a == b, key
    if rows and ref.encodings is not None:
        assert len(ours.encodings) == len(ref.encodings)
        for i in range(len(ref.encodings)):
            assert ours.word_ids(i) == ref.word_ids(i)
            assert ours.sequence_ids(i) == ref.sequence_ids(i)
            assert ours.tokens(i) == ref.tokens(i)


def same_outcome(ours: Any, ref: Any, *args: Any, **kwargs: Any) -> None:
    """Both tokenizers, called with the same arguments, give the same encoding, or both
    raise (ours a ValueError that explains what the Rust library rejects or panics on)."""
    import pytest

    try:
        expected = ref(*args, **kwargs)
    except BaseException as error:  # the Rust library may panic (PanicException is a BaseException)
        if isinstance(error, (KeyboardInterrupt, SystemExit)):
            raise
        with pytest.raises(ValueError):
            ours(*args, **kwargs)
        return
    assert_same_encoding(ours(*args, **kwargs), expected)
