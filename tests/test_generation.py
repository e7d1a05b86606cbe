"""generate() against transformers' generate on the same weights: token-identical greedy
search, beam search and seeded sampling, on batched left-padded prompts."""

from __future__ import annotations

import itertools

import pytest
import torch

transformers = pytest.importorskip("transformers")

from plugformers import AutoModelForCausalLM  # noqa: E402

pytestmark = pytest.mark.oracle

GPT2_CONFIGS = {
    "gpt2-a": dict(vocab_size=101, n_embd=32, n_layer=2, n_head=4, n_positions=64),
    "gpt2-b": dict(vocab_size=523, n_embd=48, n_layer=3, n_head=3, n_positions=96),
}
PROMPT_LEN = 9


class Pair:
    """Our model and transformers' on the same weights, a left-padded batch of prompts,
    and an eos token the model generates often (so that rows stop early)."""

    def __init__(self, ours, theirs, vocab_size: int, seed: int) -> None:
        self.ours, self.theirs = ours, theirs
        gen = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(3, vocab_size, (4, PROMPT_LEN), generator=gen)
        self.mask = torch.ones_like(self.ids)
        self.mask[1, :2] = 0
        self.mask[2, :5] = 0
        self.ids[self.mask == 0] = 0
        free = ours.generate(self.ids, attention_mask=self.mask, max_new_tokens=24, pad_token_id=0)
        tokens, counts = free[:, PROMPT_LEN:].flatten().unique(return_counts=True)
        self.eos = int(tokens[counts.argmax()])

    def both(self, seed: int | None = None, **kwargs):
        kwargs = dict(input_ids=self.ids, attention_mask=self.mask, **kwargs)
        outputs = []
        for model in (self.ours, self.theirs):
            if seed is not None:
                torch.manual_seed(seed)
            outputs.append(model.generate(**kwargs))
        return outputs


@pytest.fixture(scope="module", autouse=True)
def _quiet_and_single_threaded(quiet_single_thread):
    """Tiny models: see tests/conftest.py."""


@pytest.fixture(scope="module", params=list(GPT2_CONFIGS))
def gpt2(request, tmp_path_factory):
    from plugformers import GPT2Config, GPT2LMHeadModel

    values = GPT2_CONFIGS[request.param]
    torch.manual_seed(len(request.param) + values["vocab_size"])
    ours = GPT2LMHeadModel(GPT2Config(**values, bos_token_id=1, eos_token_id=2)).eval()
    folder = tmp_path_factory.mktemp(request.param)
    ours.save_pretrained(folder)
    theirs = transformers.GPT2LMHeadModel.from_pretrained(folder).eval()
    ours = AutoModelForCausalLM.from_pretrained(folder)
    return Pair(ours, theirs, values["vocab_size"], seed=values["vocab_size"])


def assert_same(a: torch.Tensor, b: torch.Tensor) -> None:
    assert a.shape == b.shape, f"shapes differ: {tuple(a.shape)} vs {tuple(b.shape)}\n{a}\n{b}"
    assert torch.equal(a, b), f"tokens differ:\n{a}\n{b}"


def test_greedy_with_eos_and_padding(gpt2):
    for pad in (0, 7):
        ours, theirs = gpt2.both(max_new_tokens=16, eos_token_id=gpt2.eos, pad_token_id=pad)
        assert_same(ours, theirs)
    rows_stopped = [(row[PROMPT_LEN:-1] == gpt2.eos).any() for row in ours]
    assert any(rows_stopped), "the eos token never ended a row early: the test would not test stopping"
    ours, theirs = gpt2.both(max_new_tokens=16)  # the config's eos (2) and pad = eos, as transformers
    assert_same(ours, theirs)


BEAM_CASES = [dict(num_beams=nb, length_penalty=lp, early_stopping=es)
              for nb, lp, es in itertools.product((2, 4), (0.5, 1.0, 2.0), (True, False, "never"))]


@pytest.mark.parametrize("case", BEAM_CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_beam_search(gpt2, case):
    ours, theirs = gpt2.both(max_new_tokens=12, eos_token_id=gpt2.eos, pad_token_id=0, num_return_sequences=2,
                             **case)
    assert_same(ours, theirs)


def test_beam_search_scores_and_single_sequence(gpt2):
    ours, theirs = gpt2.both(max_new_tokens=10, eos_token_id=gpt2.eos, pad_token_id=5, num_beams=3,
                             return_dict_in_generate=True, output_scores=True)
    assert_same(ours.sequences, theirs.sequences)
    torch.testing.assert_close(ours.sequences_scores, theirs.sequences_scores, atol=1e-5, rtol=0)
    assert_same(ours.beam_indices.long(), theirs.beam_indices.long())
    for a, b in zip(ours.scores, theirs.scores, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


@pytest.mark.parametrize("options", [
    dict(repetition_penalty=1.3),
    dict(no_repeat_ngram_size=2),
    dict(repetition_penalty=0.8, no_repeat_ngram_size=3),
    dict(repetition_penalty=1.5, no_repeat_ngram_size=2, num_beams=3),
], ids=str)
def test_repetition_penalty_and_no_repeat_ngram(gpt2, options):
    ours, theirs = gpt2.both(max_new_tokens=14, eos_token_id=gpt2.eos, pad_token_id=0, **options)
    assert_same(ours, theirs)


@pytest.mark.parametrize("options", [
    dict(temperature=0.7, top_k=10, top_p=0.9),
    dict(temperature=0.7, top_k=10, top_p=0.9, num_return_sequences=2),
    dict(top_k=0, top_p=0.5),
    dict(temperature=1.3, num_beams=2),
], ids=str)
def test_seeded_sampling(gpt2, options):
    ours, theirs = gpt2.both(seed=1234, do_sample=True, max_new_tokens=14, eos_token_id=gpt2.eos, pad_token_id=0,
                             **options)
    assert_same(ours, theirs)
    again, _ = gpt2.both(seed=1234, do_sample=True, max_new_tokens=14, eos_token_id=gpt2.eos, pad_token_id=0,
                         **options)
    assert_same(again, ours)


def test_min_new_tokens_suppresses_eos(gpt2):
    ours, theirs = gpt2.both(max_new_tokens=12, min_new_tokens=8, eos_token_id=gpt2.eos, pad_token_id=0)
    assert_same(ours, theirs)
    assert not (ours[:, PROMPT_LEN:PROMPT_LEN + 8] == gpt2.eos).any()
    ours, theirs = gpt2.both(max_new_tokens=12, min_length=PROMPT_LEN + 5, eos_token_id=gpt2.eos, pad_token_id=0,
                             num_beams=2)
    assert_same(ours, theirs)


@pytest.mark.filterwarnings("ignore:Using the model-agnostic default")
def test_max_length_and_max_new_tokens(gpt2):
    for options in (dict(max_length=PROMPT_LEN + 6), dict(max_new_tokens=6), dict()):
        ours, theirs = gpt2.both(**options)
        assert_same(ours, theirs)
    assert ours.shape[1] == PROMPT_LEN + 20  # the default: 20 new tokens
    ours = gpt2.ours.generate(gpt2.ids[:1], max_length=PROMPT_LEN + 6)
    assert_same(ours, gpt2.theirs.generate(gpt2.ids[:1], max_length=PROMPT_LEN + 6))


def test_greedy_scores_match(gpt2):
    ours, theirs = gpt2.both(max_new_tokens=8, eos_token_id=gpt2.eos, pad_token_id=0, return_dict_in_generate=True,
                             output_scores=True, repetition_penalty=1.2)
    assert_same(ours.sequences, theirs.sequences)
    assert len(ours.scores) == len(theirs.scores) == ours.sequences.shape[1] - PROMPT_LEN
    for a, b in zip(ours.scores, theirs.scores, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


def test_bert_as_a_decoder_generates_like_transformers():
    from plugformers import BertConfig, BertLMHeadModel

    values = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                  max_position_embeddings=64, is_decoder=True)
    torch.manual_seed(0)
    ours = BertLMHeadModel(BertConfig(**values)).eval()
    theirs = transformers.BertLMHeadModel(transformers.BertConfig(**values)).eval()
    theirs.load_state_dict(ours.state_dict(), strict=False)
    pair = Pair(ours, theirs, 99, seed=3)
    for options in (dict(), dict(num_beams=3, num_return_sequences=2)):
        a, b = pair.both(max_new_tokens=10, eos_token_id=pair.eos, pad_token_id=0, **options)
        assert_same(a, b)


def test_several_eos_tokens_and_inferred_padding(gpt2):
    free = gpt2.ours.generate(gpt2.ids, attention_mask=gpt2.mask, max_new_tokens=24, pad_token_id=0)
    tokens, counts = free[:, PROMPT_LEN:].flatten().unique(return_counts=True)
    eos = tokens[counts.argsort(descending=True)][:2].tolist()
    for options in (dict(), dict(num_beams=3, num_return_sequences=3)):
        ours, theirs = gpt2.both(max_new_tokens=12, eos_token_id=eos, pad_token_id=0, **options)
        assert_same(ours, theirs)
    # Without attention_mask, a pad token that is not eos marks the padding (as in transformers).
    kwargs = dict(max_new_tokens=10, pad_token_id=0, eos_token_id=gpt2.eos)
    assert_same(gpt2.ours.generate(gpt2.ids, **kwargs), gpt2.theirs.generate(gpt2.ids, **kwargs))


def test_generation_config_json_moves_between_the_libraries(gpt2, tmp_path):
    """transformers' generation_config.json sets our defaults, and ours sets theirs."""
    import copy

    theirs = copy.deepcopy(gpt2.theirs)  # the fixture's model is shared by the module
    theirs.generation_config.update(max_new_tokens=6, num_beams=3, no_repeat_ngram_size=2, pad_token_id=0)
    theirs.save_pretrained(tmp_path / "from-transformers")
    ours = AutoModelForCausalLM.from_pretrained(tmp_path / "from-transformers")
    assert ours.generation_config.num_beams == 3
    expected = theirs.generate(gpt2.ids, attention_mask=gpt2.mask)
    assert_same(ours.generate(gpt2.ids, attention_mask=gpt2.mask), expected)
    ours.save_pretrained(tmp_path / "from-plugformers")
    back = transformers.GPT2LMHeadModel.from_pretrained(tmp_path / "from-plugformers").eval()
    assert back.generation_config.num_beams == 3 and back.generation_config.max_new_tokens == 6
    assert_same(back.generate(gpt2.ids, attention_mask=gpt2.mask), expected)
