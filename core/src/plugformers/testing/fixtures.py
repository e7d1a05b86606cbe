"""pytest fixtures for a plugin's own tests. Use one from a conftest.py:

    from plugformers.testing.fixtures import single_thread_quiet_logging  # noqa: F401

(the fixtures are autouse, module-scoped: importing one into a conftest.py applies it to
every test module below that folder)."""

from __future__ import annotations

import logging

import pytest

__all__ = ["single_thread_quiet_logging"]


@pytest.fixture(autouse=True, scope="module")
def single_thread_quiet_logging():
    """Tiny models: one torch thread (faster, far faster on a busy 2-core machine) and
    transformers' logging at ERROR; both restored afterwards."""
    import torch

    level, threads = logging.getLogger("transformers").level, torch.get_num_threads()
    logging.getLogger("transformers").setLevel(logging.ERROR)
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
    logging.getLogger("transformers").setLevel(level)
