"""XLNet across the user-facing layer: sharded checkpoints both ways with transformers,
the Auto classes and torch.hub entries on an XLNet folder, legacy short names."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

transformers = pytest.importorskip("transformers")

from plugformers import (  # noqa: E402
    AutoModel,
    AutoModelForCausalLM,
    AutoModelForQuestionAnswering,
    AutoModelForSequenceClassification,
    AutoModelWithLMHead,
    XLNetLMHeadModel,
    registry,
)
from plugformers.testing import tiny_model  # noqa: E402

pytestmark = pytest.mark.oracle
ROOT = str(Path(__file__).resolve().parents[1])
CONFIG = dict(vocab_size=99, d_model=32, n_layer=3, n_head=4, d_inner=37, mem_len=8, pad_token_id=5)


def _pair():
    torch.manual_seed(0)
    theirs = transformers.XLNetLMHeadModel(transformers.XLNetConfig(**CONFIG)).eval()
    return theirs


def _ids():
    return torch.randint(6, 99, (2, 9), generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("safe", [True, False], ids=["safetensors", "bin"])
def test_sharded_checkpoints_move_both_ways(tmp_path, safe):
    """transformers 5 writes sharded safetensors (it no longer writes .bin); we read them,
    write shards of either format, and transformers reads ours."""
    theirs = _pair()
    ids = _ids()
    with torch.no_grad():
        expected = theirs(ids).logits
    theirs.save_pretrained(tmp_path / "theirs", max_shard_size="20KB")
    assert (tmp_path / "theirs" / "model.safetensors.index.json").exists()
    ours = XLNetLMHeadModel.from_pretrained(tmp_path / "theirs")
    with torch.no_grad():
        torch.testing.assert_close(ours(ids).logits, expected, rtol=1e-5, atol=1e-5)
    ours.save_pretrained(tmp_path / "ours", max_shard_size="20KB", safe_serialization=safe)
    index = "model.safetensors.index.json" if safe else "pytorch_model.bin.index.json"
    assert (tmp_path / "ours" / index).exists() and len(list((tmp_path / "ours").glob("*-of-*"))) > 1
    back = transformers.XLNetLMHeadModel.from_pretrained(tmp_path / "ours").eval()
    again = XLNetLMHeadModel.from_pretrained(tmp_path / "ours")
    with torch.no_grad():
        torch.testing.assert_close(back(ids).logits, expected, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(again(ids).logits, expected, rtol=1e-5, atol=1e-5)


def test_auto_classes_and_hub_entries_pick_xlnet_heads(tmp_path):
    tiny_model("xlnet", "causal-lm").save_pretrained(tmp_path)
    folder = str(tmp_path)
    assert type(AutoModel.from_pretrained(folder)).__name__ == "XLNetModel"
    assert type(AutoModelForCausalLM.from_pretrained(folder)).__name__ == "XLNetLMHeadModel"
    assert type(AutoModelWithLMHead.from_pretrained(folder)).__name__ == "XLNetLMHeadModel"  # no masked-lm
    assert type(AutoModelForSequenceClassification.from_pretrained(folder)).__name__ == "XLNetForSequenceClassification"
    assert type(AutoModelForQuestionAnswering.from_pretrained(folder)).__name__ == "XLNetForQuestionAnsweringSimple"

    def hub(entry, *args, **kwargs):
        return torch.hub.load(ROOT, entry, *args, source="local", **kwargs)

    lm = hub("modelForCausalLM", folder)
    assert type(lm).__name__ == "XLNetLMHeadModel" and type(hub("modelWithLMHead", folder)) is type(lm)
    assert lm.generate(torch.tensor([[7, 8, 9]]), max_new_tokens=3, min_new_tokens=3).shape == (1, 6)
    assert type(hub("model", folder, output_attentions=True)).__name__ == "XLNetModel"
    classifier = hub("modelForSequenceClassification", folder, num_labels=3)
    assert classifier(_ids()).logits.shape == (2, 3)
    assert hub("modelForQuestionAnswering", folder)(_ids()).start_logits.shape == (2, 9)
    with pytest.raises(Exception, match="masked-lm"):
        hub("modelForMaskedLM", folder)


def test_legacy_short_names_map_to_hub_repos():
    assert registry.legacy_repo_id("xlnet-base-cased") == "xlnet/xlnet-base-cased"
    assert registry.legacy_repo_id("xlnet-large-cased") == "xlnet/xlnet-large-cased"
    assert registry.type_for_name("some/folder/xlnet-base-cased-finetuned") == "xlnet"
