"""PretrainedConfig on pydantic, and ModelOutput's three views."""

from __future__ import annotations

import json
import warnings

import pytest
import torch

from plugformers import AutoConfig, ConfigError
from plugformers.modeling_outputs import MaskedLMOutput, SequenceClassifierOutput


def test_json_round_trip_keeps_unknown_keys(toy, tmp_path):
    config = toy.config(hidden_size=12, custom_key={"a": 1}, num_labels=3)
    config.save_pretrained(tmp_path)
    text = (tmp_path / "config.json").read_text()
    data = json.loads(text)
    assert text == json.dumps(data, indent=2, sort_keys=True) + "\n"  # transformers' layout
    assert data["model_type"] == "toy" and data["custom_key"] == {"a": 1}
    assert data["id2label"] == {"0": "LABEL_0", "1": "LABEL_1", "2": "LABEL_2"}
    assert "num_labels" not in data
    again = AutoConfig.from_pretrained(tmp_path)
    assert type(again) is type(config) and again.to_dict() == config.to_dict() | {"_name_or_path": str(tmp_path)}
    assert again.num_labels == 3 and again.custom_key == {"a": 1}


def test_validation_on_assignment(toy):
    config = toy.config()
    with pytest.raises(ConfigError, match=r"hidden_size = 'big' \(str\)"):
        config.hidden_size = "big"
    config.num_labels = 5
    assert config.id2label[4] == "LABEL_4" and config.label2id["LABEL_4"] == 4


def test_wrong_type_in_file_names_file_and_field(toy, tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "toy", "vocab_size": "30522"}))
    with pytest.raises(ConfigError, match=r"config\.json: invalid ToyConfig:\n  vocab_size = '30522' \(str\)"):
        AutoConfig.from_pretrained(tmp_path)


def test_not_json(toy, tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "toy",, }')
    with pytest.raises(ConfigError, match=r"config\.json: not valid JSON \(line 1, column 22"):
        AutoConfig.from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match="must hold a JSON object, found list"):
        AutoConfig.from_pretrained(tmp_path)


def test_near_miss_warns(toy):
    with pytest.warns(UserWarning, match="unknown key 'hiden_size'.*did you mean 'hidden_size'"):
        config = toy.config(hiden_size=3)
    assert config.hiden_size == 3 and config.hidden_size == 8
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        toy.config(transformers_version="4.8.2", gradient_checkpointing=False, _name_or_path="x")


def test_overrides_and_unused_kwargs(toy, tmp_path):
    toy.config().save_pretrained(tmp_path)
    config, unused = AutoConfig.from_pretrained(tmp_path, output_attentions=True, foo=False,
                                                return_unused_kwargs=True)
    assert config.output_attentions is True and unused == {"foo": False}
    assert AutoConfig.for_model("toy", hidden_size=4).hidden_size == 4


def test_torch_dtype_legacy_key(toy):
    assert toy.config(torch_dtype="float16").dtype == "float16"
    assert toy.config(dtype=torch.bfloat16).dtype == "bfloat16"


def test_unknown_model_type_in_file(tmp_path, monkeypatch):
    import plugformers.auto
    from plugformers.registry import Registry

    monkeypatch.setenv("PLUGFORMERS_DISABLE", "gpt2")  # as if only the core were installed
    monkeypatch.setattr(plugformers.auto, "registry", Registry())
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    with pytest.raises(KeyError, match="pip install plugformers-gpt2"):
        AutoConfig.from_pretrained(tmp_path)


def test_model_output_views():
    logits = torch.ones(2)
    out = MaskedLMOutput(logits=logits)
    assert out.logits is logits and out["logits"] is logits and out[0] is logits
    assert out.keys() == ["logits"] and out.to_tuple() == (logits,) and len(out) == 1
    with pytest.raises(KeyError, match="has no .* field 'loss'"):
        out["loss"]
    loss = torch.tensor(0.5)
    full = SequenceClassifierOutput(loss=loss, logits=logits)
    assert full[0] is loss and full[1] is logits and full[:2] == (loss, logits)
    assert list(full) == ["loss", "logits"] and dict(full.items())["loss"] is loss


def test_failed_assignment_keeps_old_value(toy):
    config = toy.config()
    with pytest.raises(ConfigError):
        config.hidden_size = "big"
    assert config.hidden_size == 8
