"""The plugin as an installed package: found through its entry point, light at discovery,
served by the Auto classes, passing the core's conformance suite, and its tokenizer
giving transformers' ids."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import pytest

import plugformers
from plugformers.testing import check_head, conformance_cases

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "quick", "brown", "fox", "jump", "##s", "over",
         "lazy", "dog", ".", ",", "!", "hello", "world", "un", "##afford", "##able", "a", "b", "c"]
TEXTS = ["The quick brown fox jumps over the lazy dog.", "Hello, world!", "unaffordable abc", "zebra"]


def test_found_through_its_entry_point():
    (info,) = [p for p in plugformers.registry.plugins() if p.name == "distilbert"]
    assert (info.distribution, info.module, info.error) == ("plugformers-distilbert", "plugformers_distilbert.plugin", None)
    assert info.model_types == ["distilbert"]
    spec = plugformers.registry.get("distilbert")
    assert {"base", "masked-lm", "sequence-classification"} <= set(spec.heads)


def test_discovery_imports_no_torch_and_no_modeling_code():
    code = (
        "import sys, plugformers\n"
        "spec = plugformers.registry.get('distilbert')\n"
        "config = plugformers.AutoConfig.for_model('distilbert', dim=64, n_heads=4)\n"
        "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('plugformers_distilbert')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # the entry module and the config module (AutoConfig) are imported; the modeling module is not, nor torch
    assert out.stdout.strip() == (
        "['plugformers_distilbert', 'plugformers_distilbert.configuration', 'plugformers_distilbert.plugin']"
    ), out.stderr


def test_listed_by_the_cli():
    out = subprocess.run([sys.executable, "-m", "plugformers.cli", "plugins", "--json"], capture_output=True,
                         text=True, check=True)
    (row,) = [r for r in json.loads(out.stdout)["plugins"] if r["name"] == "distilbert"]
    assert row["distribution"] == "plugformers-distilbert" and row["status"] == "ok"
    (entry,) = row["model_types"]
    assert entry["heads"]["masked-lm"] == "plugformers_distilbert.modeling:DistilBertForMaskedLM"


def test_classes_are_exported_by_name():
    from plugformers import DistilBertConfig, DistilBertForMaskedLM, DistilBertTokenizer

    assert DistilBertForMaskedLM.config_class is DistilBertConfig
    assert DistilBertTokenizer.model_input_names == ["input_ids", "attention_mask"]


@pytest.mark.parametrize("model_type, head", conformance_cases("distilbert"))
def test_conformance(model_type, head, tmp_path):
    check_head(model_type, head, tmp_path)


def test_auto_classes_round_trip(tmp_path):
    config = plugformers.AutoConfig.for_model("distilbert", vocab_size=len(VOCAB), dim=16, n_heads=2, n_layers=1,
                                              hidden_dim=20, max_position_embeddings=32)
    model = plugformers.AutoModelForMaskedLM.from_config(config)
    model.save_pretrained(tmp_path)
    (tmp_path / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    tokenizer = plugformers.AutoTokenizer.from_pretrained(tmp_path)
    assert type(tokenizer).__name__ == "DistilBertTokenizer"
    batch = tokenizer(TEXTS, padding=True, return_tensors="pt")
    assert set(batch) == {"input_ids", "attention_mask"}
    loaded = plugformers.AutoModelForMaskedLM.from_pretrained(tmp_path)
    assert type(loaded).__name__ == "DistilBertForMaskedLM"
    assert loaded(**batch).logits.shape == (len(TEXTS), batch["input_ids"].shape[1], len(VOCAB))


@pytest.mark.oracle
def test_tokenizer_matches_transformers(tmp_path):
    transformers = pytest.importorskip("transformers")
    (tmp_path / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    ours = plugformers.AutoTokenizer.from_pretrained(tmp_path, config=plugformers.AutoConfig.for_model("distilbert"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = transformers.DistilBertTokenizerFast.from_pretrained(tmp_path)
    for pair in (None, TEXTS[::-1]):
        got = ours(TEXTS, pair, padding=True)
        want = theirs(TEXTS, pair, padding=True)
        assert dict(got) == {k: want[k] for k in ("input_ids", "attention_mask")}
    assert ours.decode(ours("unaffordable")["input_ids"]) == theirs.decode(theirs("unaffordable")["input_ids"])
