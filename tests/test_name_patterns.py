"""Checkpoints without model_type (pytorch-transformers 1.x folders and repo names): which
installed first-party type each name selects, across plugins (the longest pattern wins; a
type's name_excludes pass it over)."""

from __future__ import annotations

import pytest

from plugformers import registry

CASES = [
    ("bert-base-uncased", "bert"),
    ("/ckpt/my-bert-finetuned", "bert"),
    ("gpt2-medium", "gpt2"),
    ("distilbert/distilgpt2", "gpt2"),
    ("distilbert-base-uncased", "distilbert"),
    ("xlnet-base-cased", "xlnet"),
    ("FacebookAI/xlm-mlm-en-2048", "xlm"),
    ("xlm-clm-enfr-1024", "xlm"),
    ("transfo-xl-wt103", "transfo-xl"),
    ("/models/transfo_xl_small", "transfo-xl"),
    ("roberta-base", "roberta"),
    ("distilbert/distilroberta-base", "roberta"),
    ("openai-gpt", "openai-gpt"),
    # XLM-RoBERTa is an architecture no first-party plugin provides: no pattern takes it
    # (it contains "xlm", "roberta" and "bert").
    ("xlm-roberta-base", None),
    ("FacebookAI/xlm-roberta-large", None),
]


@pytest.mark.parametrize("name, expected", CASES, ids=[c[0] for c in CASES])
def test_name_selects_type(name, expected):
    installed = set(registry.model_types())
    if expected is not None and expected not in installed:
        pytest.fail(f"{expected} is not installed: make test installs every first-party plugin")
    assert registry.type_for_name(name) == expected
