"""GPT-2 checkpoints of pytorch-transformers 1.x load here and give its numbers; generation
from them matches its greedy loop token for token."""

from __future__ import annotations

import json

import pytest
import torch

pytorch_transformers = pytest.importorskip("pytorch_transformers")

from plugformers import AutoModel, AutoModelForCausalLM  # noqa: E402

pytestmark = pytest.mark.oracle


@pytest.fixture(scope="module")
def legacy(tmp_path_factory):
    """A pytorch-transformers 1.2.0 GPT2LMHeadModel saved to a folder named like a gpt2 checkpoint."""
    pt = pytorch_transformers
    config = pt.GPT2Config(vocab_size_or_config_json_file=97, n_positions=48, n_ctx=48, n_embd=32, n_layer=2,
                           n_head=4)
    torch.manual_seed(0)
    model = pt.GPT2LMHeadModel(config).eval()
    folder = tmp_path_factory.mktemp("ckpt") / "distilgpt2-legacy"
    folder.mkdir()
    model.save_pretrained(str(folder))
    return model, folder


def test_1x_folder_has_no_model_type_and_loads_by_name(legacy):
    model, folder = legacy
    assert "model_type" not in json.loads((folder / "config.json").read_text())
    ours = AutoModelForCausalLM.from_pretrained(folder)
    assert type(ours).__name__ == "GPT2LMHeadModel"
    assert type(AutoModel.from_pretrained(folder)).__name__ == "GPT2Model"
    ids = torch.randint(0, 97, (2, 11), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        logits, presents = model(ids)[:2]
        out = ours(ids, use_cache=True)
        torch.testing.assert_close(out.logits, logits, rtol=0, atol=1e-5)
        # 1.x returns the past as one (2, batch, heads, seq, head_dim) tensor per layer.
        for layer, present in enumerate(presents):
            key, value = out.past_key_values[layer]
            torch.testing.assert_close(key, present[0], rtol=0, atol=1e-5)
            torch.testing.assert_close(value, present[1], rtol=0, atol=1e-5)


def test_generate_matches_the_1x_greedy_loop_with_past(legacy):
    model, folder = legacy
    ours = AutoModelForCausalLM.from_pretrained(folder)
    prompt = torch.tensor([[5, 17, 42, 8]])
    tokens, past, step = prompt, None, prompt
    with torch.no_grad():
        for _ in range(12):  # the pytorch-transformers README's loop: feed the past, take the argmax
            logits, past = model(step, past=past)[:2]
            step = logits[:, -1:].argmax(-1)
            tokens = torch.cat([tokens, step], dim=1)
    assert torch.equal(ours.generate(prompt, max_new_tokens=12, eos_token_id=None), tokens)


def test_fast_tokenizer_names_give_the_tokenizers_backed_classes():
    import plugformers

    assert plugformers.GPT2TokenizerFast is plugformers.GPT2Tokenizer
    assert plugformers.BertTokenizerFast is plugformers.BertTokenizer
    with pytest.raises(AttributeError, match="did you mean .DistilBertModel."):  # the example plugin
        plugformers.registry.export("DistilBertModle")
