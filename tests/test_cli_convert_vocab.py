"""`plugformers convert-vocab` is generic: it works on any registered tokenizer, here BERT's
(which has no pickled vocabulary: it is re-saved with tokenizer.json, and the opt-in is not saved)."""

from __future__ import annotations

import json

import pytest
from plugformers import AutoTokenizer
from plugformers.cli import main

pytest.importorskip("plugformers_bert")


def test_convert_vocab_on_another_architecture(tmp_path, capsys):
    source = tmp_path / "bert-tiny"
    source.mkdir()
    (source / "config.json").write_text(json.dumps({"model_type": "bert"}), encoding="utf-8")
    (source / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\n##s\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["convert-vocab", str(source), "--output", str(out), "--allow-pickle"]) == 0
    assert "BertTokenizer" in capsys.readouterr().out
    assert (out / "tokenizer.json").is_file() and (out / "vocab.txt").is_file()
    assert "allow_pickle" not in json.loads((out / "tokenizer_config.json").read_text())
    before, after = AutoTokenizer.from_pretrained(str(source)), AutoTokenizer.from_pretrained(str(out))
    assert after.encode("hello worlds") == before.encode("hello worlds") == [2, 5, 6, 7, 3]
