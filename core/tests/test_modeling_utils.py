"""PreTrainedModel loading and saving, on the toy architecture of conftest.py."""

from __future__ import annotations

import json
import logging
import os
import pickle

import pytest
import torch
from safetensors.torch import save_file

from plugformers import AutoModel, AutoModelForMaskedLM, AutoModelForSequenceClassification, WeightsError
from plugformers.hub import CheckpointNotFoundError


def _toy_model(toy, head="base", **cfg):
    torch.manual_seed(0)
    config = toy.config(**{**toy.tiny_config, **cfg})
    return toy.heads[head](config)


def _ids():
    return torch.tensor([[1, 2, 3, 4], [5, 6, 7, 0]])


def test_save_and_load_round_trip(toy, tmp_path):
    model = _toy_model(toy, "masked-lm")
    model.save_pretrained(tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["config.json", "model.safetensors"]
    loaded = AutoModelForMaskedLM.from_pretrained(tmp_path)
    assert type(loaded).__name__ == "ToyForMaskedLM"
    assert not loaded.training
    torch.testing.assert_close(loaded(_ids()).logits, model.eval()(_ids()).logits, rtol=0, atol=0)
    # the tied output embedding is stored once and tied again on load
    assert loaded.lm_head.weight is loaded.toy.embeddings.weight
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["architectures"] == ["ToyForMaskedLM"] and config["model_type"] == "toy"


def test_loading_does_not_run_random_init(toy, tmp_path, monkeypatch):
    _toy_model(toy).save_pretrained(tmp_path)
    calls = []
    monkeypatch.setattr(toy.heads["base"], "_init_weights", lambda self, m: calls.append(m))
    model = AutoModel.from_pretrained(tmp_path)
    assert calls == []  # every weight came from the file: nothing initialised
    assert all(p.device.type == "cpu" for p in model.parameters())
    assert torch.equal(model.position_ids, torch.arange(16))  # buffers built in __init__ survive


def test_base_checkpoint_into_head_reports_new_weights(toy, tmp_path, caplog):
    _toy_model(toy).save_pretrained(tmp_path)
    with caplog.at_level(logging.WARNING, logger="plugformers"):
        model, info = AutoModelForSequenceClassification.from_pretrained(
            tmp_path, num_labels=3, output_loading_info=True)
    assert info["missing_keys"] == ["classifier.weight", "classifier.bias"]
    assert info["unexpected_keys"] == []
    assert "classifier.weight" in caplog.text
    assert model.classifier.weight.device.type == "cpu" and model.classifier.weight.std() > 0
    assert model.config.num_labels == 3 and model.classifier.out_features == 3


def test_head_checkpoint_into_base_model(toy, tmp_path):
    head = _toy_model(toy, "masked-lm")
    head.save_pretrained(tmp_path)
    base, info = AutoModel.from_pretrained(tmp_path, output_loading_info=True)
    assert info["missing_keys"] == []
    assert info["unexpected_keys"] == ["lm_head.bias"]
    torch.testing.assert_close(base(_ids()).last_hidden_state, head.toy.eval()(_ids()).last_hidden_state)


def test_sharded_safetensors_and_bin(toy, tmp_path):
    model = _toy_model(toy, "masked-lm", hidden_size=16).eval()
    for safe in (True, False):
        folder = tmp_path / f"safe{safe}"
        model.save_pretrained(folder, safe_serialization=safe, max_shard_size=600)
        names = sorted(os.listdir(folder))
        index = "model.safetensors.index.json" if safe else "pytorch_model.bin.index.json"
        assert index in names and len([n for n in names if "-of-" in n]) > 2
        weight_map = json.loads((folder / index).read_text())["weight_map"]
        assert set(weight_map.values()) == {n for n in names if "-of-" in n}
        loaded = AutoModelForMaskedLM.from_pretrained(folder)
        torch.testing.assert_close(loaded(_ids()).logits, model(_ids()).logits, rtol=0, atol=0)


def test_torch_dtype(toy, tmp_path):
    _toy_model(toy).save_pretrained(tmp_path)
    model = AutoModel.from_pretrained(tmp_path, torch_dtype=torch.bfloat16)
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}
    model.save_pretrained(tmp_path / "bf16")
    assert json.loads((tmp_path / "bf16" / "config.json").read_text())["dtype"] == "bfloat16"
    auto = AutoModel.from_pretrained(tmp_path / "bf16", torch_dtype="auto")
    assert auto.dtype == torch.bfloat16


def test_missing_weights_file(toy, tmp_path):
    _toy_model(toy).config.save_pretrained(tmp_path)
    with pytest.raises(CheckpointNotFoundError, match=r"no weights file found.*model\.safetensors"):
        AutoModel.from_pretrained(tmp_path)


def test_truncated_safetensors(toy, tmp_path):
    _toy_model(toy).save_pretrained(tmp_path)
    path = tmp_path / "model.safetensors"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(WeightsError, match=r"model\.safetensors: not a complete safetensors file.*download or save"):
        AutoModel.from_pretrained(tmp_path)


def test_wrong_shape_names_key_and_shapes(toy, tmp_path):
    model = _toy_model(toy)
    model.save_pretrained(tmp_path)
    sd = {k: v for k, v in model.state_dict().items()}
    sd["dense.weight"] = torch.zeros(3, 8)
    save_file(sd, str(tmp_path / "model.safetensors"))
    with pytest.raises(WeightsError, match=r"'dense\.weight' has shape \(3, 8\).*expects \(8, 8\).*ignore_mismatched_sizes"):
        AutoModel.from_pretrained(tmp_path)
    model2, info = AutoModel.from_pretrained(tmp_path, ignore_mismatched_sizes=True, output_loading_info=True)
    assert info["mismatched_keys"] == [("dense.weight", (3, 8), (8, 8))]
    assert model2.dense.weight.shape == (8, 8)


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_pickle_needs_opt_in(toy, tmp_path):
    model = _toy_model(toy)
    model.config.save_pretrained(tmp_path)
    sd = dict(model.state_dict())
    sd["extra"] = _Evil()
    torch.save(sd, tmp_path / "pytorch_model.bin")
    with pytest.raises(WeightsError, match=r"pytorch_model\.bin.*allow_pickle=True"):
        AutoModel.from_pretrained(tmp_path)
    loaded, info = AutoModel.from_pretrained(tmp_path, allow_pickle=True, output_loading_info=True)
    assert info["unexpected_keys"] == ["extra"]


def test_legacy_layernorm_names(toy, tmp_path):
    model = _toy_model(toy)
    model.config.save_pretrained(tmp_path)
    sd = {k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"): v
          for k, v in model.state_dict().items()}
    torch.save(sd, tmp_path / "pytorch_model.bin")
    loaded, info = AutoModel.from_pretrained(tmp_path, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    torch.testing.assert_close(loaded.LayerNorm.weight, model.LayerNorm.weight)


def test_interrupted_save_keeps_previous_checkpoint(toy, tmp_path, monkeypatch):
    first = _toy_model(toy, "masked-lm").eval()
    first.save_pretrained(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    (tmp_path / "vocab.txt").write_text("kept\n")  # a file of someone else's: carried over

    import plugformers.serialization as ser

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(ser, "save_file", crash, raising=False)
    monkeypatch.setattr("safetensors.torch.save_file", crash)
    second = _toy_model(toy, "masked-lm", initializer_range=1.0)
    with pytest.raises(KeyboardInterrupt):
        second.save_pretrained(tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name != "vocab.txt"} == before
    assert not [p for p in tmp_path.parent.iterdir() if p.name.endswith(".partial")]
    monkeypatch.undo()
    second.save_pretrained(tmp_path)
    assert (tmp_path / "vocab.txt").read_text() == "kept\n"
    reloaded = AutoModelForMaskedLM.from_pretrained(tmp_path)
    torch.testing.assert_close(reloaded.lm_head.bias, second.lm_head.bias)


def test_resave_removes_stale_weights(toy, tmp_path):
    model = _toy_model(toy, hidden_size=16)
    model.save_pretrained(tmp_path, max_shard_size=600)
    model.save_pretrained(tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["config.json", "model.safetensors"]


def test_resize_token_embeddings_and_tying(toy):
    model = _toy_model(toy, "masked-lm")
    old = model.toy.embeddings.weight.detach().clone()
    model.resize_token_embeddings(37)
    assert model.config.vocab_size == 37
    assert model.toy.embeddings.weight.shape == (37, 8)
    assert model.lm_head.weight is model.toy.embeddings.weight
    assert model.lm_head.bias.shape == (37,)
    torch.testing.assert_close(model.toy.embeddings.weight[:30], old)
    assert model(torch.tensor([[36]])).logits.shape == (1, 1, 37)
    model.resize_token_embeddings(30, pad_to_multiple_of=16)
    assert model.config.vocab_size == 32


def test_num_parameters_counts_tied_once(toy):
    model = _toy_model(toy, "masked-lm")
    emb = 30 * 8
    total = emb + (8 * 8 + 8) + 2 * 8 + 30
    assert model.num_parameters() == total
    assert model.num_parameters(exclude_embeddings=True) == total - emb


def test_config_overrides_and_model_kwargs(toy, tmp_path):
    _toy_model(toy).save_pretrained(tmp_path)
    model = AutoModel.from_pretrained(tmp_path, return_dict=False)
    assert model.config.return_dict is False
    assert isinstance(model(_ids()), tuple)
    with pytest.raises(TypeError, match="not_a_thing"):
        AutoModel.from_pretrained(tmp_path, not_a_thing=1)


def test_from_config(toy):
    config = toy.config(**toy.tiny_config)
    model = AutoModelForMaskedLM.from_config(config)
    assert type(model).__name__ == "ToyForMaskedLM" and model.training
    assert model.config is not config


def test_config_without_model_type_uses_name_patterns(toy, tmp_path):
    folder = tmp_path / "my-toy-checkpoint"
    model = _toy_model(toy)
    model.save_pretrained(folder)
    data = json.loads((folder / "config.json").read_text())
    del data["model_type"]
    (folder / "config.json").write_text(json.dumps(data))
    assert type(AutoModel.from_pretrained(folder)).__name__ == "ToyModel"
    plain = tmp_path / "plain"
    os.rename(folder, plain)
    with pytest.raises(Exception, match="no 'model_type'.*name pattern"):
        AutoModel.from_pretrained(plain)


def test_pickle_module_is_never_used_for_safetensors(toy, tmp_path, monkeypatch):
    _toy_model(toy).save_pretrained(tmp_path)
    monkeypatch.setattr(pickle, "load", lambda *a, **k: pytest.fail("unpickled"))
    AutoModel.from_pretrained(tmp_path)


def test_untied_output_weights_missing_are_reported(toy, tmp_path):
    model = _toy_model(toy, "masked-lm", tie_word_embeddings=False)
    model.save_pretrained(tmp_path)
    from safetensors.torch import load_file

    sd = load_file(str(tmp_path / "model.safetensors"))
    del sd["lm_head.weight"]
    save_file(sd, str(tmp_path / "model.safetensors"))
    _, info = AutoModelForMaskedLM.from_pretrained(tmp_path, output_loading_info=True)
    assert info["missing_keys"] == ["lm_head.weight"]
