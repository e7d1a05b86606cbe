"""Fixtures of the XLNet plugin's tests."""

from __future__ import annotations

import logging

import pytest


@pytest.fixture(autouse=True, scope="module")
def _quiet_single_thread():
    """Tiny models: one torch thread (faster, far faster on a busy machine) and
    transformers' logging at ERROR; both restored afterwards."""
    import torch

    level, threads = logging.getLogger("transformers").level, torch.get_num_threads()
    logging.getLogger("transformers").setLevel(logging.ERROR)
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
    logging.getLogger("transformers").setLevel(level)
