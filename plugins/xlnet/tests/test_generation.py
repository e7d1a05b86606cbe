"""XLNetLMHeadModel.generate() through the core's generate, against transformers 5.x:
greedy, beam search, sampling and the score processors give the same tokens on the same
checkpoint and seed, on a left-padded batch too. XLNet's step inputs (the dummy target
with perm_mask and target_mapping, mems as the cache) come from the model's
generation_inputs / generation_cache / reorder_generation_cache hooks."""

from __future__ import annotations


import pytest
import torch

transformers = pytest.importorskip("transformers")

from plugformers_xlnet import modeling  # noqa: E402
from plugformers_xlnet.configuration import XLNetConfig  # noqa: E402

pytestmark = pytest.mark.oracle

VOCAB, PAD = 99, 5
# initializer_range 0.3: a random tiny model whose next-token choices vary (the default
# 0.02 repeats one token); transformers' XLNet cannot generate with attn_type="uni".
BASE = dict(vocab_size=VOCAB, d_model=32, n_layer=2, n_head=4, d_inner=37, pad_token_id=PAD, eos_token_id=2,
            bos_token_id=1, initializer_range=0.3)
CONFIGS = {
    "mem-6": dict(mem_len=6),
    "unlimited-mems-clamped-untied": dict(mem_len=None, clamp_len=2, tie_word_embeddings=False),
    "short-mems-reuse": dict(mem_len=3, reuse_len=2),
}
OPTIONS = {
    "greedy": dict(do_sample=False),
    "beam": dict(num_beams=3),
    "beam-returns-2": dict(num_beams=2, num_return_sequences=2, length_penalty=0.5),
    "sampling": dict(do_sample=True, top_k=10, top_p=0.9, temperature=0.8),
    "penalties": dict(repetition_penalty=1.3, no_repeat_ngram_size=2),
}


def build(extra: dict):
    kwargs = {**BASE, **extra}
    torch.manual_seed(0)
    theirs = transformers.XLNetLMHeadModel(transformers.XLNetConfig(**kwargs)).eval()
    ours = modeling.XLNetLMHeadModel(XLNetConfig(**kwargs)).eval()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    return ours, theirs


def prompts(padded: bool):
    ids = torch.randint(PAD + 1, VOCAB, (2, 6), generator=torch.Generator().manual_seed(2))
    mask = torch.ones(2, 6, dtype=torch.long)
    if padded:  # XLNet pads on the left
        ids[1, :2] = PAD
        mask[1, :2] = 0
    return ids, mask


@pytest.mark.parametrize("option", list(OPTIONS))
@pytest.mark.parametrize("config_name", list(CONFIGS))
@pytest.mark.parametrize("padded", [False, True], ids=["unpadded", "left-padded"])
def test_generate_gives_transformers_tokens(config_name, option, padded):
    ours, theirs = build(CONFIGS[config_name])
    ids, mask = prompts(padded)
    torch.manual_seed(7)
    expected = theirs.generate(ids, attention_mask=mask, max_new_tokens=8, **OPTIONS[option])
    torch.manual_seed(7)
    got = ours.generate(ids, attention_mask=mask, max_new_tokens=8, **OPTIONS[option])
    assert got.tolist() == expected.tolist()


def test_generate_scores_and_mems_match_transformers():
    ours, theirs = build(CONFIGS["mem-6"])
    ids, mask = prompts(False)
    kwargs = dict(max_new_tokens=4, return_dict_in_generate=True, output_scores=True)
    a = ours.generate(ids, attention_mask=mask, **kwargs)
    b = theirs.generate(ids, attention_mask=mask, **kwargs)
    assert a.sequences.tolist() == b.sequences.tolist()
    for x, y in zip(a.scores, b.scores, strict=True):
        torch.testing.assert_close(x, y, atol=1e-5, rtol=1e-5)
    assert len(a.past_key_values) == ours.config.n_layer  # the mems are the cache
    assert a.past_key_values[0].shape == (6, 2, ours.config.d_model)


def test_generation_inputs_append_a_hidden_dummy_target():
    """Prefill: the prompt and a dummy token that no position sees and that is the one
    prediction; a step: the last two tokens again and the dummy, over the mems without
    their last two positions (transformers' XLNet decoding)."""
    ours, _ = build(CONFIGS["unlimited-mems-clamped-untied"])
    ids, _ = prompts(False)
    first = ours.generation_inputs(ids[:, :4], None, None)
    assert first["input_ids"].shape == (2, 5) and first["mems"] is None
    assert first["perm_mask"][:, :, -1].eq(1).all() and first["perm_mask"][:, :, :-1].eq(0).all()
    assert first["target_mapping"].tolist() == [[[0, 0, 0, 0, 1]]] * 2
    with torch.no_grad():
        mems = ours.generation_cache(ours(**first))
    assert mems[0].shape == (5, 2, 32)
    step = ours.generation_inputs(ids[:, :5], mems, None)
    assert step["input_ids"][:, :2].tolist() == ids[:, 3:5].tolist() and step["mems"][0].shape == (3, 2, 32)
    reordered = ours.reorder_generation_cache(mems, torch.tensor([1, 1]))
    assert torch.equal(reordered[0][:, 0], mems[0][:, 1])


def test_use_cache_false_and_streamer_and_eos():
    """use_cache=False feeds the whole sequence each step, without mems: the tokens of a
    model whose config keeps no mems (use_mems_eval=False), in both libraries."""
    ours, _ = build(CONFIGS["mem-6"])
    _, no_mems = build(CONFIGS["mem-6"] | {"use_mems_eval": False})
    ids, _ = prompts(False)
    uncached = ours.generate(ids, max_new_tokens=6, use_cache=False)
    assert uncached.tolist() == no_mems.generate(ids, max_new_tokens=6).tolist()

    class Collect:
        def __init__(self):
            self.parts = []

        def put(self, t):
            self.parts.append(t)

        def end(self):
            self.parts.append(None)

    streamer = Collect()
    one = ours.generate(ids[:1], max_new_tokens=4, streamer=streamer)
    assert torch.cat([p.reshape(1, -1) for p in streamer.parts[:-1]], dim=1).tolist() == one.tolist()
    first_new = int(one[0, 6])
    stopped = ours.generate(ids[:1], max_new_tokens=4, eos_token_id=first_new)
    assert stopped.shape[1] == 7 and int(stopped[0, -1]) == first_new

