"""AutoTokenizer on Transformer-XL folders, and `plugformers convert-vocab` on 1.x pickled
vocabularies: the converted folder loads without allow_pickle and gives 1.2.0's ids."""

from __future__ import annotations

import json
import logging
import shutil
import warnings

import pytest
from plugformers import AutoTokenizer
from plugformers.cli import main
from plugformers_transfo_xl.tokenization import TransfoXLTokenizer

TEXTS = ["The quick brown fox", "THE dog zyzzyva , again .", "a<eos>b <unk>", ""]


@pytest.fixture(scope="module")
def oracle(tmp_path_factory):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ptt = pytest.importorskip("pytorch_transformers")
    logging.getLogger("pytorch_transformers").setLevel(logging.ERROR)
    corpus = tmp_path_factory.mktemp("corpus") / "train.txt"
    corpus.write_text("The quick brown fox jumps over the lazy dog .\nthe dog barks , and the Fox runs away !\n",
                      encoding="utf-8")
    tok = ptt.TransfoXLTokenizer(special=["<eos>", "<unk>"])
    tok.count_file(str(corpus), add_eos=True, verbose=False)
    tok.build_vocab()
    return tok


@pytest.fixture
def legacy_dir(oracle, tmp_path):
    """A pytorch-transformers 1.x folder: config.json without model_type, vocab.bin; the name
    matches the plugin's name pattern."""
    folder = tmp_path / "transfo-xl-tiny"
    folder.mkdir()
    oracle.save_pretrained(str(folder))
    (folder / "config.json").write_text(json.dumps({"n_token": len(oracle), "d_model": 8}), encoding="utf-8")
    return folder


def _same_ids(tokenizer, oracle):
    for text in TEXTS:
        assert tokenizer.encode(text) == oracle.encode(text), text


def test_auto_tokenizer_by_model_type(oracle, tmp_path):
    folder = tmp_path / "some-checkpoint"  # no name pattern: config.json's model_type decides
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "transfo-xl"}), encoding="utf-8")
    (folder / "vocab.txt").write_text("".join(s + "\n" for s in oracle.idx2sym), encoding="utf-8")
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    assert type(tokenizer) is TransfoXLTokenizer
    _same_ids(tokenizer, oracle)


def test_auto_tokenizer_on_a_1x_folder_by_name(legacy_dir, oracle):
    with pytest.raises(ValueError, match="convert-vocab"):
        AutoTokenizer.from_pretrained(str(legacy_dir))
    tokenizer = AutoTokenizer.from_pretrained(str(legacy_dir), allow_pickle=True)
    assert type(tokenizer) is TransfoXLTokenizer
    _same_ids(tokenizer, oracle)
    (legacy_dir / "config.json").unlink()  # the name alone
    assert type(AutoTokenizer.from_pretrained(str(legacy_dir), allow_pickle=True)) is TransfoXLTokenizer


def test_convert_vocab_to_another_folder(legacy_dir, oracle, tmp_path, capsys):
    out = tmp_path / "converted"
    assert main(["convert-vocab", str(legacy_dir), "--output", str(out), "--allow-pickle"]) == 0
    printed = capsys.readouterr().out
    assert "TransfoXLTokenizer" in printed and "tokenizer.json" in printed
    assert sorted(p.name for p in out.iterdir()) == [
        "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt"]
    assert "allow_pickle" not in (out / "tokenizer_config.json").read_text()
    tokenizer = AutoTokenizer.from_pretrained(str(out))  # no opt-in, no config.json: tokenizer_class
    assert type(tokenizer) is TransfoXLTokenizer
    _same_ids(tokenizer, oracle)
    assert tokenizer.tokenize("THE dog zyzzyva") == oracle.tokenize("THE dog zyzzyva")


def test_convert_vocab_in_place(legacy_dir, oracle, tmp_path, capsys):
    assert main(["convert-vocab", str(legacy_dir), "--allow-pickle"]) == 0
    assert (legacy_dir / "tokenizer.json").is_file() and (legacy_dir / "vocab.bin").is_file()
    (legacy_dir / "vocab.bin").write_bytes(b"deleted")  # never read again
    _same_ids(AutoTokenizer.from_pretrained(str(legacy_dir)), oracle)


def test_convert_vocab_needs_the_opt_in_and_a_folder(legacy_dir, capsys):
    with pytest.raises(SystemExit) as info:
        main(["convert-vocab", str(legacy_dir)])
    assert info.value.code == 2 and "--allow-pickle" in capsys.readouterr().err
    assert main(["convert-vocab", "someone/transfo-xl-nowhere", "--allow-pickle"]) == 1
    assert "--output" in capsys.readouterr().err
    shutil.rmtree(legacy_dir)
    legacy_dir.mkdir()
    assert main(["convert-vocab", str(legacy_dir), "--allow-pickle"]) == 1  # nothing to convert
    assert "plugformers convert-vocab" in capsys.readouterr().err


def test_download_fetches_a_pickled_vocabulary_and_says_what_it_is(legacy_dir, oracle, tmp_path, capsys,
                                                                  monkeypatch):
    """A 1.x repo on the Hub has no vocabulary but vocab.bin: `plugformers download` fetches
    it (from_pretrained can read it, with the opt-in), names it as a pickle and the way out,
    and the cache then serves the tokenizer offline. A repo with a safe vocabulary beside
    the pickle gets no pickle."""
    import huggingface_hub
    from plugformers.testing.hub_server import HubServer

    safe = tmp_path / "transfo-xl-safe"
    shutil.copytree(legacy_dir, safe)
    assert main(["convert-vocab", str(safe), "--allow-pickle"]) == 0
    cache = str(tmp_path / "cache")
    with HubServer({"org/transfo-xl-tiny": {"main": legacy_dir}, "org/transfo-xl-safe": {"main": safe}}) as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        capsys.readouterr()
        assert main(["download", "org/transfo-xl-tiny", "--cache-dir", cache, "--json"]) == 0
        done = json.loads(capsys.readouterr().out)
        assert {"config.json", "vocab.bin"} <= {f["path"] for f in done["files"]}
        assert done["pickled"] == ["vocab.bin"]
        assert main(["download", "org/transfo-xl-tiny", "--cache-dir", cache]) == 0
        printed = capsys.readouterr().out
        assert "vocab.bin: the vocabulary as a pickle" in printed
        assert "plugformers convert-vocab org/transfo-xl-tiny --allow-pickle --output DIR" in printed
        assert main(["download", "org/transfo-xl-safe", "--cache-dir", cache, "--json"]) == 0
        done = json.loads(capsys.readouterr().out)
        assert "vocab.bin" not in [f["path"] for f in done["files"]] and done["pickled"] == []
        assert {"tokenizer.json", "vocab.txt"} <= {f["path"] for f in done["files"]}
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # the server is gone
    with pytest.raises(ValueError, match="convert-vocab"):
        AutoTokenizer.from_pretrained("org/transfo-xl-tiny", cache_dir=cache)
    _same_ids(AutoTokenizer.from_pretrained("org/transfo-xl-tiny", cache_dir=cache, allow_pickle=True), oracle)
