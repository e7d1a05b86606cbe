"""The conformance suite itself, run on the toy architecture, and shown to fail."""

import pytest
import torch

from plugformers.testing import check_head, conformance_cases


def test_toy_cases_pass(toy, tmp_path):
    cases = conformance_cases("toy")
    assert cases == [("toy", "base"), ("toy", "masked-lm"), ("toy", "sequence-classification")]
    for model_type, head in cases:
        check_head(model_type, head, tmp_path)


def test_a_broken_head_fails(toy, tmp_path, monkeypatch):
    cls = toy.heads["sequence-classification"]
    original = cls.forward

    def wrong_shape(self, input_ids, labels=None):
        out = original(self, input_ids, labels)
        out.logits = out.logits[:, :1]
        return out

    monkeypatch.setattr(cls, "forward", wrong_shape)
    with pytest.raises(AssertionError, match=r"logits has shape \(2, 1\), expected \(2, 2\)"):
        check_head("toy", "sequence-classification", tmp_path)


def test_a_head_that_loses_weights_on_reload_fails(toy, tmp_path, monkeypatch):
    import plugformers.modeling_utils as mu

    original = mu.write_weights

    def drop_one(folder, state_dict, **kw):
        return original(folder, {k: v for k, v in state_dict.items() if k != "dense.bias"}, **kw)

    monkeypatch.setattr(mu, "write_weights", drop_one)
    with pytest.raises(AssertionError, match=r"round trip lost keys.*dense\.bias"):
        check_head("toy", "base", tmp_path)
