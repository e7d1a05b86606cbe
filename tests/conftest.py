"""Fixtures shared by the cross-package tests."""

from __future__ import annotations

import logging

import pytest


@pytest.fixture(scope="module")
def quiet_single_thread():
    """For modules of tiny models: one torch thread (faster, and far faster on a busy
    2-core machine) and transformers' logging at ERROR."""
    import torch

    level, threads = logging.getLogger("transformers").level, torch.get_num_threads()
    logging.getLogger("transformers").setLevel(logging.ERROR)
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
    logging.getLogger("transformers").setLevel(level)
