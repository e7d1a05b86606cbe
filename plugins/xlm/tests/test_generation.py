"""XLMWithLMHeadModel.generate() through the core's generate, against transformers 5.x:
greedy, beam search, sampling and the score processors give the same tokens on the same
checkpoint and seed, left-padded batches included, with languages. XLM's step inputs
(the mask token appended as the slot to predict, ``langs`` of config.lang_id) come from
the model's generation_inputs / generation_cache hooks. A causal model keeps XLM's
``cache`` dict between steps (the newest token and the mask slot fed, the slot dropped
after), giving the tokens of the uncached whole-sequence path; a bidirectional one
rescores the whole sequence each step."""

from __future__ import annotations

import pytest
import torch

transformers = pytest.importorskip("transformers")

from plugformers_xlm import modeling  # noqa: E402
from plugformers_xlm.configuration import XLMConfig  # noqa: E402

pytestmark = pytest.mark.oracle

VOCAB, PAD = 99, 2
# embed_init_std / init_std 0.3: a random tiny model whose next-token choices vary
BASE = dict(vocab_size=VOCAB, emb_dim=32, n_layers=2, n_heads=4, max_position_embeddings=40, causal=True,
            embed_init_std=0.3, init_std=0.3)
CONFIGS = {
    "clm": {},
    "clm-langs-sinusoidal-untied": dict(n_langs=3, lang_id=2, sinusoidal_embeddings=True, tie_word_embeddings=False,
                                        gelu_activation=False),
    "mlm-bidirectional-mask-5": dict(causal=False, mask_token_id=5, n_langs=2, lang_id=1),
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
    theirs = transformers.XLMWithLMHeadModel(transformers.XLMConfig(**kwargs)).eval()
    ours = modeling.XLMWithLMHeadModel(XLMConfig(**kwargs)).eval()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    return ours, theirs


def prompts(padded: bool):
    ids = torch.randint(PAD + 4, VOCAB, (2, 6), generator=torch.Generator().manual_seed(2))
    mask = torch.ones(2, 6, dtype=torch.long)
    if padded:  # generation pads on the left
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
    expected = theirs.generate(ids, attention_mask=mask, max_new_tokens=8, pad_token_id=PAD, **OPTIONS[option])
    torch.manual_seed(7)
    got = ours.generate(ids, attention_mask=mask, max_new_tokens=8, pad_token_id=PAD, **OPTIONS[option])
    assert got.tolist() == expected.tolist()


def test_generate_scores_match_transformers_and_vary():
    ours, theirs = build(CONFIGS["clm-langs-sinusoidal-untied"])
    ids, mask = prompts(False)
    kwargs = dict(max_new_tokens=5, return_dict_in_generate=True, output_scores=True, pad_token_id=PAD)
    a = ours.generate(ids, attention_mask=mask, **kwargs)
    b = theirs.generate(ids, attention_mask=mask, **kwargs)
    assert a.sequences.tolist() == b.sequences.tolist()
    assert len(set(a.sequences[0, 6:].tolist())) > 1  # the model does not repeat one token
    for x, y in zip(a.scores, b.scores, strict=True):
        torch.testing.assert_close(x, y, atol=1e-5, rtol=1e-5)


def test_generation_inputs_append_the_mask_token_and_the_language():
    ours, _ = build(CONFIGS["mlm-bidirectional-mask-5"])
    ids, mask = prompts(True)
    step = ours.generation_inputs(ids[:, :4], None, mask[:, :4])
    assert step["input_ids"].tolist() == [row + [5] for row in ids[:, :4].tolist()]
    assert step["langs"].shape == (2, 5) and step["langs"].eq(1).all()
    assert "attention_mask" not in step  # as transformers: padding is told by pad_token_id
    assert "cache" not in step  # bidirectional: no cache, the whole sequence each step
    ours.config.lang_id = 0  # another language: generation follows the config
    assert ours.generation_inputs(ids, None, None)["langs"].eq(0).all()
    with torch.no_grad():
        assert ours.generation_cache(ours(**step), step) is None


def test_langs_change_what_is_generated():
    ours, _ = build(CONFIGS["clm-langs-sinusoidal-untied"])
    ids, _ = prompts(False)
    outs = set()
    for lang in range(3):
        ours.config.lang_id = lang
        outs.add(tuple(ours.generate(ids, max_new_tokens=6, pad_token_id=PAD)[0].tolist()))
    assert len(outs) > 1


def test_streamer_and_eos():
    ours, _ = build(CONFIGS["clm"])
    ids, _ = prompts(False)

    class Collect:
        def __init__(self):
            self.parts = []

        def put(self, t):
            self.parts.append(t)

        def end(self):
            self.parts.append(None)

    streamer = Collect()
    one = ours.generate(ids[:1], max_new_tokens=4, streamer=streamer, pad_token_id=PAD)
    assert torch.cat([p.reshape(1, -1) for p in streamer.parts[:-1]], dim=1).tolist() == one.tolist()
    first_new = int(one[0, 6])
    stopped = ours.generate(ids[:1], max_new_tokens=4, eos_token_id=first_new, pad_token_id=PAD)
    assert stopped.shape[1] == 7 and int(stopped[0, -1]) == first_new


# --------------------------------------------------------------------------- the causal cache

CAUSAL = [name for name in CONFIGS if CONFIGS[name].get("causal", True)]


def fed_lengths(model):
    """Record how many positions each forward pass feeds (the embeddings' input length)."""
    lengths = []
    handle = model.transformer.embeddings.register_forward_hook(lambda m, args, out: lengths.append(args[0].shape[1]))
    return lengths, handle


@pytest.mark.parametrize("option", ["greedy", "beam", "beam-returns-2", "sampling", "penalties"])
@pytest.mark.parametrize("config_name", CAUSAL)
@pytest.mark.parametrize("padded", [False, True], ids=["unpadded", "left-padded"])
def test_causal_cache_gives_the_uncached_and_transformers_tokens(config_name, option, padded):
    ours, theirs = build(CONFIGS[config_name])
    ids, mask = prompts(padded)
    runs = []
    for model, extra in ((ours, {}), (ours, dict(use_cache=False)), (theirs, {})):
        torch.manual_seed(7)
        runs.append(model.generate(ids, attention_mask=mask, max_new_tokens=10, pad_token_id=PAD,
                                   **OPTIONS[option], **extra).tolist())
    assert runs[0] == runs[1] == runs[2]


@pytest.mark.parametrize("option", ["greedy", "beam"])
def test_causal_cache_when_a_row_generates_the_pad_token(option):
    # The pad count decides which last positions are zeroed; a row that generates the
    # pad token mid-way (the prediction layer's bias pushed towards it) switches over.
    ours, theirs = build(CONFIGS["clm"])
    with torch.no_grad():
        for model in (ours, theirs):
            model.pred_layer.proj.bias[PAD] += 3.25
    ids, _ = prompts(False)
    kwargs = dict(max_new_tokens=8, pad_token_id=PAD, **OPTIONS[option])
    expected = theirs.generate(ids, **kwargs)
    assert PAD in expected[:, 7:].tolist()[1] and PAD not in expected[:, 6:].tolist()[0]  # row 1 switches mid-way
    assert ours.generate(ids, **kwargs).tolist() == expected.tolist()
    assert ours.generate(ids, use_cache=False, **kwargs).tolist() == expected.tolist()


def test_causal_steps_feed_the_newest_token_and_the_mask_slot():
    ours, _ = build(CONFIGS["clm-langs-sinusoidal-untied"])
    ids, mask = prompts(True)
    lengths, handle = fed_lengths(ours)
    try:
        out = ours.generate(ids, attention_mask=mask, max_new_tokens=5, pad_token_id=PAD,
                            return_dict_in_generate=True)
        assert lengths == [7, 2, 2, 2, 2]  # the prompt + mask slot, then [newest token, mask slot]
        cache = out.past_key_values  # the mask slot dropped: one position per token fed, the last one not yet
        assert cache["slen"] == 10
        assert all(cache[layer][0].shape == cache[layer][1].shape == (2, 4, 10, 8) for layer in range(2))
        lengths.clear()
        ours.generate(ids, attention_mask=mask, max_new_tokens=5, pad_token_id=PAD, use_cache=False)
        assert lengths == [7, 8, 9, 10, 11]  # use_cache=False: the whole sequence each step
    finally:
        handle.remove()


def test_causal_cache_positions_and_langs_continue():
    # Cached logits of each step equal the whole-sequence ones (positions and langs
    # sliced from the full sequence), for every row of a left-padded batch.
    ours, _ = build(CONFIGS["clm-langs-sinusoidal-untied"])
    ids, mask = prompts(True)
    cache = None
    with torch.no_grad():
        for length in range(4, 7):
            step = ours.generation_inputs(ids[:, :length], cache, mask[:, :length])
            cached = ours(**step).logits[:, -1]
            full = ours(**ours.generation_inputs(ids[:, :length], None, None)).logits[:, -1]
            torch.testing.assert_close(cached, full, atol=1e-5, rtol=1e-5)
            cache = ours.generation_cache(None, step)
            assert cache["slen"] == length and cache[0][0].shape[2] == length


def test_reorder_generation_cache_takes_the_rows():
    ours, _ = build(CONFIGS["clm"])
    ids, _ = prompts(False)
    with torch.no_grad():
        step = ours.generation_inputs(ids, None, None)
        ours(**step)
    cache = ours.generation_cache(None, step)
    reordered = ours.reorder_generation_cache(cache, torch.tensor([1, 1, 0]))
    assert reordered["slen"] == cache["slen"] == 6
    for layer in range(2):
        for part in range(2):
            assert torch.equal(reordered[layer][part], cache[layer][part][[1, 1, 0]])
    assert ours.reorder_generation_cache(None, torch.tensor([0])) is None


@pytest.mark.parametrize("option", ["greedy", "beam"])
def test_bidirectional_model_takes_the_whole_sequence_path(option):
    ours, theirs = build(CONFIGS["mlm-bidirectional-mask-5"])
    ids, mask = prompts(True)
    lengths, handle = fed_lengths(ours)
    try:
        got = ours.generate(ids, attention_mask=mask, max_new_tokens=4, pad_token_id=PAD, **OPTIONS[option])
    finally:
        handle.remove()
    assert lengths == [7, 8, 9, 10]  # the whole sequence + mask slot every step, no cache
    expected = theirs.generate(ids, attention_mask=mask, max_new_tokens=4, pad_token_id=PAD, **OPTIONS[option])
    assert got.tolist() == expected.tolist()
