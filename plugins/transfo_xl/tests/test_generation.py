"""TransfoXLLMHeadModel.generate() through the core's generate, with mems as the cache,
against a step-by-step loop over pytorch-transformers 1.2.0 (which has no generate):
the prompt from empty mems, then one token per step with the mems of the step before.
Also the segment iterator and perplexity helper against 1.2.0's evaluation loop."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

ptt = pytest.importorskip("pytorch_transformers")

from plugformers_transfo_xl.configuration import TransfoXLConfig  # noqa: E402
from plugformers_transfo_xl.evaluation import perplexity, segments  # noqa: E402
from plugformers_transfo_xl.modeling import TransfoXLLMHeadModel  # noqa: E402

pytestmark = pytest.mark.oracle

VOCAB, EOS = 60, 0
CONFIGS = {
    # mem_len 8 < prompt + new tokens: the memory window slides while generating
    "div2-short-mems": dict(cutoffs=[10, 30], div_val=2, d_model=16, d_embed=24, n_head=2, d_head=8, d_inner=32,
                            n_layer=2, tgt_len=5, mem_len=8, clamp_len=6, same_length=True, pre_lnorm=True,
                            untie_r=False),
    "div1-long-mems": dict(cutoffs=[20], div_val=1, d_model=16, d_embed=12, n_head=4, d_head=4, d_inner=24,
                           n_layer=2, tgt_len=5, mem_len=32, clamp_len=-1, same_length=False, untie_r=True),
}
NEW = 10


def build(kind: str, scale: float = 1.0):
    kw = CONFIGS[kind]
    torch.manual_seed(0)
    oracle = ptt.TransfoXLLMHeadModel(ptt.TransfoXLConfig(vocab_size_or_config_json_file=VOCAB, **kw))
    with torch.no_grad():
        for p in oracle.parameters():  # a random model whose choices vary
            p.add_(torch.randn(p.shape) * scale)
    ours = TransfoXLLMHeadModel(TransfoXLConfig(vocab_size=VOCAB, eos_token_id=EOS, **kw))
    ours.load_state_dict(oracle.state_dict())
    ours.tie_weights()
    return ours.eval(), oracle.eval()


def oracle_loop(oracle, prompt: torch.Tensor, sample: bool, temperature: float = 1.0) -> torch.Tensor:
    """1.2.0 step by step: empty mems, the prompt, then each new token with the mems."""
    d_model, n_layer = oracle.config.d_model, oracle.config.n_layer
    mems = [torch.zeros(0, prompt.shape[0], d_model) for _ in range(n_layer)]
    ids, feed = prompt, prompt
    with torch.no_grad():
        for step in range(NEW):
            out = oracle(feed, mems=mems)
            scores, mems = out[0][:, -1].clone(), out[1]
            scores[:, EOS] = -float("inf")  # what min_new_tokens does
            if sample:
                token = torch.multinomial(torch.softmax(scores / temperature, dim=-1), num_samples=1)
            else:
                token = scores.argmax(-1, keepdim=True)
            ids, feed = torch.cat([ids, token], dim=1), token
    return ids


def prompt():
    return torch.randint(1, VOCAB, (2, 6), generator=torch.Generator().manual_seed(2))


@pytest.mark.parametrize("kind", list(CONFIGS))
def test_greedy_equals_the_1x_loop(kind):
    ours, oracle = build(kind)
    ids = prompt()
    got = ours.generate(ids, max_new_tokens=NEW, min_new_tokens=NEW, do_sample=False)
    expected = oracle_loop(oracle, ids, sample=False)
    assert torch.equal(got, expected), f"\n{got}\n{expected}"
    assert len(set(got[:, 6:].reshape(-1).tolist())) > 1  # the model's choices vary: the test can tell


@pytest.mark.parametrize("kind", list(CONFIGS))
def test_sampling_equals_the_1x_loop(kind):
    ours, oracle = build(kind)
    ids = prompt()
    torch.manual_seed(7)
    got = ours.generate(ids, max_new_tokens=NEW, min_new_tokens=NEW, do_sample=True, top_k=0, temperature=0.7)
    torch.manual_seed(7)
    expected = oracle_loop(oracle, ids, sample=True, temperature=0.7)
    assert torch.equal(got, expected), f"\n{got}\n{expected}"


def test_generation_cache_is_the_mems():
    ours, _ = build("div2-short-mems")
    out = ours.generate(prompt(), max_new_tokens=3, return_dict_in_generate=True)
    assert len(out.past_key_values) == 2 and tuple(out.past_key_values[0].shape) == (8, 2, 16)
    beams = ours.generate(prompt(), max_new_tokens=4, min_new_tokens=4, num_beams=3)
    assert tuple(beams.shape) == (2, 10)


def test_segments_equal_1x_ordered_iterator():
    from pytorch_transformers.tokenization_transfo_xl import LMOrderedIterator

    stream = torch.randint(0, VOCAB, (55,), generator=torch.Generator().manual_seed(3))
    ours = list(segments(stream, batch_size=2, tgt_len=5))
    theirs = list(LMOrderedIterator(stream, bsz=2, bptt=5, ext_len=0).get_fixlen_iter())
    assert len(ours) == len(theirs) and ours[-1][0].shape[1] < 5
    for (inp, tgt), (data, target, seq_len) in zip(ours, theirs):
        assert torch.equal(inp, data) and torch.equal(tgt, target) and inp.shape[1] == seq_len


@pytest.mark.parametrize("kind", list(CONFIGS))
def test_perplexity_equals_the_1x_evaluation_loop(kind):
    ours, oracle = build(kind, scale=0.3)
    stream = torch.randint(0, VOCAB, (55,), generator=torch.Generator().manual_seed(3))
    total, count, mems = 0.0, 0, None
    with torch.no_grad():
        for inp, tgt in segments(stream, batch_size=2, tgt_len=5):
            out = oracle(inp.contiguous(), labels=tgt.contiguous(), mems=mems)
            mems = out[2]
            total += inp.shape[1] * out[0].mean().item()
            count += inp.shape[1]
    result = perplexity(ours, stream, batch_size=2, tgt_len=5)
    assert result.tokens == 2 * count
    assert math.isclose(result.perplexity, math.exp(total / count), rel_tol=1e-5)
    assert math.isclose(result.nll, total / count, rel_tol=1e-5)


@pytest.mark.parametrize("kind", list(CONFIGS))
def test_cached_mems_give_the_numbers_of_plain_mems(kind):
    """use_cache=True in inference (TransfoXLMems: keys and values kept in growing buffers)
    against plain mems, over steps that slide the memory window; an older cache fed again
    (its buffer grown since) still gives its own numbers; in training mode it is a list."""
    ours, _ = build(kind, scale=0.3)
    ids = torch.randint(0, VOCAB, (2, 14), generator=torch.Generator().manual_seed(5))
    with torch.inference_mode():
        plain = cached = ours.transformer.empty_mems(2)
        history = []
        for step in range(ids.shape[1] - 3):
            seg = ids[:, :4] if step == 0 else ids[:, step + 3:step + 4]
            a = ours(seg, mems=plain)
            b = ours(seg, mems=cached, use_cache=True)
            assert type(b.mems).__name__ == "TransfoXLMems"
            torch.testing.assert_close(b.logits, a.logits, rtol=0, atol=1e-5)
            for x, y in zip(a.mems, b.mems):
                torch.testing.assert_close(y, x, rtol=0, atol=1e-5)
            history.append((seg, cached, a.logits))
            plain, cached = a.mems, b.mems
        seg, old, expected = history[2]  # fed again after its buffer has grown
        torch.testing.assert_close(ours(seg, mems=old, use_cache=True).logits, expected, rtol=0, atol=1e-5)
    ours.train()
    assert type(ours(ids[:, :4], mems=ours.transformer.empty_mems(2), use_cache=True).mems) is list


def test_generate_lays_the_widening_layer_weights_input_major_and_keeps_their_values(tmp_path):
    """generate() at batch 1 (the core's lay_out_for_one_row) re-lays the layers' widening
    linear weights (more outputs than inputs: the attention's qkv_net, the feed-forward's
    first map) (in, out) in memory, and leaves the narrowing and square ones (out, in); shapes and
    values stay the checkpoint's (a save writes them, from_pretrained reads them back),
    and the model still trains afterwards (ordinary tensors, not inference tensors)."""
    ours, oracle = build("div1-long-mems")

    def layouts(model):
        found = {}
        for name, module in model.transformer.layers[0].named_modules():
            if isinstance(module, nn.Linear):
                found[name] = "input-major" if module.weight.stride() == (1, module.out_features) else "output-major"
        return found

    widening = {"dec_attn.qkv_net", "pos_ff.CoreNet.0"}
    assert set(layouts(ours).values()) == {"output-major"}
    assert ours.config.d_inner > ours.config.d_model and ours.config.n_head * ours.config.d_head <= ours.config.d_model

    prompt = torch.randint(1, VOCAB, (1, 4), generator=torch.Generator().manual_seed(3))
    before = ours(prompt).logits
    ours.generate(prompt, max_new_tokens=3)
    after = layouts(ours)
    assert {name for name, layout in after.items() if layout == "input-major"} == widening, after
    torch.testing.assert_close(ours(prompt).logits, before, rtol=0, atol=1e-6)
    ours.save_pretrained(tmp_path)
    expected = oracle.state_dict()
    for key, value in TransfoXLLMHeadModel.from_pretrained(tmp_path).state_dict().items():
        if key in expected:
            assert value.shape == expected[key].shape and torch.equal(value, expected[key]), key
    ours.train()
    ours(prompt, labels=prompt).loss.backward()
    assert ours.transformer.layers[0].pos_ff.CoreNet[0].weight.grad is not None
