"""The RoBERTa plugin as plugformers sees it: its entry point and registration, which
checkpoint names it claims (roberta and distilroberta, not xlm-roberta), its legacy short
names, a light entry module, and the core's conformance suite over its heads."""

from __future__ import annotations

import subprocess
import sys

import pytest
from plugformers.registry import registry
from plugformers.testing import check_head, conformance_cases

HEADS = {"base", "masked-lm", "causal-lm", "sequence-classification", "multiple-choice",
         "token-classification", "question-answering"}


def test_registered_with_every_head():
    spec = registry.get("roberta")
    assert set(spec.heads) == HEADS
    assert registry.config_class("roberta").__name__ == "RobertaConfig"


@pytest.mark.parametrize("name, expected", [
    ("roberta-base", "roberta"),
    ("FacebookAI/roberta-large-mnli", "roberta"),
    ("distilroberta-base", "roberta"),
    ("distilbert/distilroberta-base", "roberta"),  # its Hub id holds "distilbert" too
    ("/models/distilbert/distilroberta-base", "roberta"),
    ("cardiffnlp/twitter-roberta-base-sentiment", "roberta"),
])
def test_name_patterns_claim_roberta_checkpoints(name, expected):
    assert registry.type_for_name(name) == expected


@pytest.mark.parametrize("name", ["xlm-roberta-base", "FacebookAI/xlm-roberta-large", "/ckpt/XLM-RoBERTa-base",
                                  "xlm_roberta_base"])
def test_name_patterns_leave_xlm_roberta_to_its_own_type(name):
    assert registry.type_for_name(name) != "roberta"


@pytest.mark.parametrize("short, repo", [
    ("roberta-base", "FacebookAI/roberta-base"),
    ("roberta-large", "FacebookAI/roberta-large"),
    ("roberta-large-mnli", "FacebookAI/roberta-large-mnli"),
    ("distilroberta-base", "distilbert/distilroberta-base"),
])
def test_legacy_names(short, repo):
    assert registry.legacy_repo_id(short) == repo


def test_entry_module_imports_no_torch_and_no_modeling_code():
    code = ("import sys, plugformers_roberta.plugin; "
            "bad = [m for m in ('torch', 'plugformers_bert', 'plugformers_gpt2', 'plugformers_roberta.modeling', "
            "'plugformers_roberta.tokenization') if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_classes_export_by_name():
    import plugformers

    assert plugformers.RobertaForMaskedLM.__module__ == "plugformers_roberta.modeling"
    assert plugformers.RobertaTokenizer.__module__ == "plugformers_roberta.tokenization"


@pytest.mark.parametrize("model_type, head", conformance_cases("roberta"))
def test_conformance(model_type, head, tmp_path):
    check_head(model_type, head, tmp_path)
