"""OpenAIGPTLMHeadModel.generate() through the core's generate, against transformers 5.x:
greedy, beam search and sampling give the same tokens on the same checkpoint and seed,
on a left-padded batch too (positions counted over the real tokens, as transformers does),
tied and untied."""

from __future__ import annotations

import pytest
import torch
import transformers

from plugformers_openai_gpt import modeling
from plugformers_openai_gpt.configuration import OpenAIGPTConfig

pytestmark = pytest.mark.oracle
transformers.logging.set_verbosity_error()

VOCAB, PAD = 99, 0
# initializer_range 0.3: a random tiny model whose next-token choices vary (0.02 repeats one token)
BASE = dict(vocab_size=VOCAB, n_positions=32, n_embd=32, n_layer=2, n_head=4, initializer_range=0.3,
            pad_token_id=PAD, eos_token_id=2)
CONFIGS = {"tied": {}, "relu-untied": dict(afn="relu", tie_word_embeddings=False, n_layer=3)}
OPTIONS = {
    "greedy": dict(do_sample=False),
    "beam": dict(num_beams=3),
    "beam-returns-2": dict(num_beams=2, num_return_sequences=2, length_penalty=0.5),
    "sampling": dict(do_sample=True, top_k=10, top_p=0.9, temperature=0.8),
}


def build(extra: dict):
    kwargs = {**BASE, **extra}
    torch.manual_seed(0)
    theirs = transformers.OpenAIGPTLMHeadModel(transformers.OpenAIGPTConfig(**kwargs)).eval()
    ours = modeling.OpenAIGPTLMHeadModel(OpenAIGPTConfig(**kwargs)).eval()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    return ours, theirs


@pytest.mark.parametrize("option", list(OPTIONS))
@pytest.mark.parametrize("config_name", list(CONFIGS))
@pytest.mark.parametrize("padded", [False, True], ids=["unpadded", "left-padded"])
def test_generate_gives_transformers_tokens(config_name, option, padded):
    ours, theirs = build(CONFIGS[config_name])
    ids = torch.randint(3, VOCAB, (2, 6), generator=torch.Generator().manual_seed(2))
    mask = torch.ones_like(ids)
    if padded:
        ids[1, :2] = PAD
        mask[1, :2] = 0
    torch.manual_seed(7)
    expected = theirs.generate(ids, attention_mask=mask, max_new_tokens=8, **OPTIONS[option])
    torch.manual_seed(7)
    got = ours.generate(ids, attention_mask=mask, max_new_tokens=8, **OPTIONS[option])
    assert got.tolist() == expected.tolist()


def test_generate_scores_match_transformers():
    ours, theirs = build(CONFIGS["tied"])
    ids = torch.randint(3, VOCAB, (2, 5), generator=torch.Generator().manual_seed(4))
    kwargs = dict(max_new_tokens=5, min_new_tokens=5, return_dict_in_generate=True, output_scores=True)
    a, b = ours.generate(ids, **kwargs), theirs.generate(ids, **kwargs)
    assert a.sequences.tolist() == b.sequences.tolist()
    for x, y in zip(a.scores, b.scores, strict=True):
        torch.testing.assert_close(x, y, atol=1e-5, rtol=1e-5)
    assert a.past_key_values is None  # no cache: every step scores the whole sequence
