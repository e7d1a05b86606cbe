"""generate() on a tiny causal LM defined here and registered at run time: bad input,
streaming, the cache-less path, generation_config.json defaults."""

from __future__ import annotations

import math
from typing import ClassVar

import pytest
import torch
from torch import nn

import plugformers
from plugformers import ModelType
from plugformers.cache import KVCache
from plugformers.configuration_utils import PretrainedConfig
from plugformers.generation import GenerateBeamOutput, GenerateOutput, GenerationConfig, generate
from plugformers.hub import CheckpointNotFoundError
from plugformers.modeling_outputs import BaseModelOutput, CausalLMOutputWithPast
from plugformers.modeling_utils import PreTrainedModel

# --------------------------------------------------------------------------- the toy causal LM


class ToyLMConfig(PretrainedConfig):
    model_type: ClassVar[str] = "toylm"
    attribute_map: ClassVar[dict[str, str]] = {"max_position_embeddings": "n_positions"}
    vocab_size: int = 24
    hidden_size: int = 16
    n_positions: int = 32
    initializer_range: float = 0.5  # large: peaked, varied next-token distributions


class ToyLMPreTrainedModel(PreTrainedModel):
    config_class = ToyLMConfig
    base_model_prefix = "toylm"


class ToyLMModel(ToyLMPreTrainedModel):
    """Token + position embeddings and one causal single-head attention layer."""

    def __init__(self, config):
        super().__init__(config)
        self.wte = nn.Embedding(config.vocab_size, config.hidden_size)
        self.wpe = nn.Embedding(config.n_positions, config.hidden_size)
        self.qkv = nn.Linear(config.hidden_size, 3 * config.hidden_size)
        self.post_init()

    def get_input_embeddings(self):
        return self.wte

    def forward(self, input_ids, attention_mask=None, position_ids=None, past_key_values=None, use_cache=False):
        batch, seq = input_ids.shape
        cache = past_key_values
        past = 0 if cache is None else cache.get_seq_length()
        if position_ids is None:
            position_ids = torch.arange(past, past + seq)[None, :].expand(batch, seq)
        h = self.wte(input_ids) + self.wpe(position_ids)  # (batch, seq, hidden)
        q, k, v = self.qkv(h).chunk(3, dim=-1)  # (batch, seq, hidden) each
        if use_cache:
            cache = cache if cache is not None else KVCache()
            k, v = cache.update(0, k[:, None], v[:, None])  # (batch, 1, past + seq, hidden)
            k, v = k[:, 0], v[:, 0]
        total = k.shape[1]
        allowed = torch.ones(seq, total, dtype=torch.bool).tril(total - seq)[None]  # (1, seq, total)
        if attention_mask is not None:
            allowed = allowed & attention_mask[:, None, :total].bool()
        att = (q @ k.transpose(1, 2)) / math.sqrt(q.shape[-1])  # (batch, seq, total)
        att = att.masked_fill(~allowed, torch.finfo(att.dtype).min).softmax(-1)
        return BaseModelOutput(last_hidden_state=h + att @ v), (cache if use_cache else None)


class ToyLMForCausalLM(ToyLMPreTrainedModel):
    supports_kv_cache = True

    def __init__(self, config):
        super().__init__(config)
        self.toylm = ToyLMModel(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size)
        self.post_init()

    def forward(self, input_ids, attention_mask=None, position_ids=None, past_key_values=None, use_cache=None,
                return_dict=None):
        out, cache = self.toylm(input_ids, attention_mask, position_ids, past_key_values, bool(use_cache))
        return CausalLMOutputWithPast(logits=self.lm_head(out.last_hidden_state), past_key_values=cache)


class ToyLMNoCache(ToyLMForCausalLM):
    """The same model, returning no cache: generate() must re-feed the whole sequence."""

    def forward(self, input_ids, attention_mask=None, position_ids=None, past_key_values=None, use_cache=None,
                return_dict=None):
        assert past_key_values is None or past_key_values.get_seq_length() == 0  # nothing was ever cached
        return super().forward(input_ids, attention_mask, position_ids, None, False)


class ToyLMLegacyCache(ToyLMForCausalLM):
    """The same model, reading and returning only legacy (key, value) tuples."""

    supports_kv_cache = None

    def forward(self, input_ids, attention_mask=None, position_ids=None, past_key_values=None, use_cache=None,
                return_dict=None):
        if past_key_values is not None:
            key, value = past_key_values[0]  # a KVCache has no layer 0 yet: fails like a legacy model
            past_key_values = KVCache.from_legacy(((key, value),))
        out = super().forward(input_ids, attention_mask, position_ids, past_key_values, True)
        out.past_key_values = tuple((k.clone(), v.clone()) for k, v in out.past_key_values)
        return out


TOYLM = ModelType(
    model_type="toylm",
    config=ToyLMConfig,
    heads={"base": ToyLMModel, "causal-lm": ToyLMForCausalLM},
    tiny_config={"vocab_size": 24, "hidden_size": 16},
)


@pytest.fixture(scope="module", autouse=True)
def _single_threaded():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a toy model: one thread is faster
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def toylm():
    plugformers.register(TOYLM)
    try:
        torch.manual_seed(0)
        yield ToyLMForCausalLM(ToyLMConfig()).eval()
    finally:
        plugformers.unregister("toylm")


def _same_weights(cls, model):
    other = cls(model.config).eval()
    other.load_state_dict(model.state_dict())
    return other


PROMPT = torch.tensor([[3, 7, 1, 9, 4], [0, 0, 5, 2, 8]])
MASK = torch.tensor([[1, 1, 1, 1, 1], [0, 0, 1, 1, 1]])


# --------------------------------------------------------------------------- bad input


def test_a_model_that_is_not_a_causal_lm_cannot_generate(toylm, toy):
    base = ToyLMModel(toylm.config)
    with pytest.raises(TypeError, match=r"ToyLMModel cannot generate: use the 'causal-lm' head of model_type "
                                        r"'toylm', ToyLMForCausalLM \(AutoModelForCausalLM\)"):
        base.generate(PROMPT)
    masked = toy.heads["masked-lm"](toy.config())
    with pytest.raises(TypeError, match=r"ToyForMaskedLM cannot generate: model_type 'toy' has no 'causal-lm' "
                                        r"head \(its heads: base, masked-lm"):
        masked.generate(PROMPT)


@pytest.mark.parametrize("top_p", [0.0, -0.1, 1.5])
def test_top_p_outside_0_1(toylm, top_p):
    with pytest.raises(ValueError, match=rf"top_p={top_p} is outside \(0, 1\].*top_p=1.0 to switch it off"):
        toylm.generate(PROMPT[:1], do_sample=True, top_p=top_p, max_new_tokens=2)


@pytest.mark.parametrize("temperature", [0.0, -1.0])
def test_temperature_must_be_positive_when_sampling(toylm, temperature):
    with pytest.raises(ValueError, match=rf"temperature={temperature} with do_sample=True.*do_sample=False"):
        toylm.generate(PROMPT[:1], do_sample=True, temperature=temperature, max_new_tokens=2)
    toylm.generate(PROMPT[:1], temperature=temperature, max_new_tokens=2)  # unused by greedy search: fine


def test_more_returned_sequences_than_beams(toylm):
    with pytest.raises(ValueError, match=r"num_return_sequences=3 is larger than num_beams=2.*num_beams>=3"):
        toylm.generate(PROMPT, attention_mask=MASK, num_beams=2, num_return_sequences=3, max_new_tokens=2)
    with pytest.raises(ValueError, match=r"num_return_sequences=2 with greedy search"):
        toylm.generate(PROMPT, attention_mask=MASK, num_return_sequences=2, max_new_tokens=2)


def test_prompt_longer_than_the_positions(toylm):
    long_prompt = torch.randint(0, 24, (1, 40))
    with pytest.raises(ValueError, match=r"the prompt \(40 tokens\) plus 5 new tokens make 45 positions, but "
                                         r"ToyLMForCausalLM has 32 \(config.max_position_embeddings\)"):
        toylm.generate(long_prompt, max_new_tokens=5)
    with pytest.raises(ValueError, match=r"30 tokens\) plus 5 new tokens make 35.*at most 2 new tokens.*truncate_prompt"):
        toylm.generate(long_prompt[:, :30], max_new_tokens=5)
    with pytest.raises(ValueError, match=r"Lower max_length"):
        toylm.generate(long_prompt[:, :10], max_length=33)
    out = toylm.generate(long_prompt, max_new_tokens=5, truncate_prompt=True)
    assert out.shape == (1, 32) and torch.equal(out[:, :27], long_prompt[:, -27:])
    # Left unset, the length is 20 new tokens, cut to the model's positions: no error.
    assert toylm.generate(long_prompt[:, :30]).shape == (1, 32)


def test_prompts_of_different_lengths_need_left_padding_and_a_mask(toylm):
    with pytest.raises(ValueError, match=r"different lengths \(\[2, 3\]\).*padding_side = 'left'.*attention_mask"):
        toylm.generate([[1, 2, 3], [4, 5]], max_new_tokens=2)
    # Padding that cannot be told from eos, in different amounts per row: a left-padded batch without its mask.
    padded = torch.tensor([[1, 1, 5, 6], [2, 3, 5, 6]])
    with pytest.raises(ValueError, match=r"looks left-padded \(rows start with \[2, 0\] pad tokens, id 1\).*"
                                         r"Pass the attention_mask"):
        toylm.generate(padded, eos_token_id=1, max_new_tokens=2)
    with pytest.raises(ValueError, match=r"padding on the right.*padding_side = 'left'"):
        toylm.generate(PROMPT, attention_mask=MASK.flip(1), max_new_tokens=2)
    # A pad token distinct from eos tells the padding apart, as in transformers.
    inferred = toylm.generate(PROMPT, pad_token_id=0, max_new_tokens=4)
    assert torch.equal(inferred, toylm.generate(PROMPT, attention_mask=MASK, pad_token_id=0, max_new_tokens=4))


def test_misspelled_and_unsupported_options(toylm):
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'max_new_token'.*'max_new_tokens'"):
        toylm.generate(PROMPT, max_new_token=3)
    with pytest.raises(TypeError, match=r"typical_p=0.5 is a transformers option that plugformers' generate\(\) "
                                        r"does not implement"):
        toylm.generate(PROMPT, typical_p=0.5)
    with pytest.raises(ValueError, match=r"streamer and callback.*beam search"):
        toylm.generate(PROMPT[:1], num_beams=2, callback=print)
    with pytest.raises(ValueError, match=r"a streamer follows a single sequence, but this call makes 2"):
        toylm.generate(PROMPT, attention_mask=MASK, streamer=_Recorder())
    with pytest.raises(ValueError, match=r"max_new_tokens=0"):
        toylm.generate(PROMPT, max_new_tokens=0)
    with pytest.raises(ValueError, match=r"GenerationConfig: num_beams='two'"):
        toylm.generate(PROMPT, num_beams="two")


# --------------------------------------------------------------------------- streaming and callbacks


class _Recorder:
    def __init__(self):
        self.puts, self.ended = [], 0

    def put(self, value):
        assert self.ended == 0
        self.puts.append(value.clone())

    def end(self):
        self.ended += 1


def test_streamer_receives_the_prompt_then_each_token_in_order(toylm):
    streamer, steps = _Recorder(), []
    out = toylm.generate(PROMPT[:1], max_new_tokens=6, streamer=streamer, callback=lambda t: steps.append(t.clone()))
    assert streamer.ended == 1
    assert torch.equal(streamer.puts[0], PROMPT[:1])
    streamed = torch.cat([p for p in streamer.puts[1:]])
    assert all(p.shape == (1,) for p in streamer.puts[1:])
    assert streamed.tolist() == out[0, 5:].tolist() == torch.cat(steps).tolist()


def test_streamer_stops_at_eos(toylm):
    first = toylm.generate(PROMPT[:1], max_new_tokens=6)
    eos = int(first[0, 7])
    stop = first[0, 5:].tolist().index(eos)
    streamer = _Recorder()
    out = toylm.generate(PROMPT[:1], max_new_tokens=6, eos_token_id=eos, streamer=streamer)
    assert out.shape == (1, 6 + stop) and int(out[0, -1]) == eos
    assert torch.cat(streamer.puts[1:]).tolist() == out[0, 5:].tolist()


# --------------------------------------------------------------------------- caches


@pytest.mark.parametrize("options", [
    dict(),
    dict(num_beams=3, num_return_sequences=2),
    dict(repetition_penalty=1.5, no_repeat_ngram_size=2),
])
def test_cacheless_and_legacy_models_give_the_same_tokens(toylm, options):
    kwargs = dict(attention_mask=MASK, max_new_tokens=10, **options)
    expected = toylm.generate(PROMPT, **kwargs)
    for cls in (ToyLMNoCache, ToyLMLegacyCache):
        assert torch.equal(_same_weights(cls, toylm).generate(PROMPT, **kwargs), expected), cls.__name__
    assert torch.equal(toylm.generate(PROMPT, use_cache=False, **kwargs), expected)


def test_generate_is_deterministic_under_a_seed(toylm):
    kwargs = dict(attention_mask=MASK, max_new_tokens=10, do_sample=True, temperature=0.7, top_k=10, top_p=0.9)
    torch.manual_seed(1)
    a = toylm.generate(PROMPT, **kwargs)
    torch.manual_seed(1)
    b = toylm.generate(PROMPT, num_return_sequences=1, **kwargs)
    assert torch.equal(a, b)
    torch.manual_seed(1)
    c = toylm.generate(PROMPT, num_return_sequences=3, **kwargs)
    assert c.shape == (6, 15)


# --------------------------------------------------------------------------- lengths, eos and padding


def test_finished_rows_are_padded_and_eos_defaults_the_pad(toylm):
    free = toylm.generate(PROMPT, attention_mask=MASK, max_new_tokens=8)
    eos = int(free[1, 6])  # the second row's second new token
    out = toylm.generate(PROMPT, attention_mask=MASK, max_new_tokens=8, eos_token_id=eos, pad_token_id=23)
    row = out[1, 5:].tolist()
    stop = row.index(eos)
    assert stop <= 1 and all(t == 23 for t in row[stop + 1:])
    out = toylm.generate(PROMPT, attention_mask=MASK, max_new_tokens=8, eos_token_id=eos)
    assert all(t == eos for t in out[1, 5 + stop:].tolist())
    # min_new_tokens forbids eos before it.
    late = toylm.generate(PROMPT, attention_mask=MASK, max_new_tokens=8, eos_token_id=eos, min_new_tokens=6)
    assert eos not in late[:, 5:11].tolist()[0] and eos not in late[:, 5:11].tolist()[1]


def test_max_length_counts_the_prompt_and_max_new_tokens_does_not(toylm):
    assert toylm.generate(PROMPT, attention_mask=MASK, max_length=9).shape == (2, 9)
    assert toylm.generate(PROMPT, attention_mask=MASK, max_new_tokens=9).shape == (2, 14)
    assert toylm.generate(PROMPT, attention_mask=MASK).shape == (2, 25)  # 20 new tokens by default
    with pytest.raises(ValueError, match=r"the prompt has 5 tokens but max_length=5.*max_new_tokens"):
        toylm.generate(PROMPT, attention_mask=MASK, max_length=5)


def test_return_dict_with_scores(toylm):
    out = toylm.generate(PROMPT, attention_mask=MASK, max_new_tokens=4, return_dict_in_generate=True,
                         output_scores=True)
    assert isinstance(out, GenerateOutput) and out.sequences.shape == (2, 9)
    assert len(out.scores) == 4 and out.scores[0].shape == (2, 24)
    assert torch.equal(torch.stack(out.scores, 1).argmax(-1), out.sequences[:, 5:])
    beams = toylm.generate(PROMPT, attention_mask=MASK, max_new_tokens=4, num_beams=3, num_return_sequences=2,
                           return_dict_in_generate=True, output_scores=True)
    assert isinstance(beams, GenerateBeamOutput)
    assert beams.sequences.shape == (4, 9) and beams.sequences_scores.shape == (4,)
    assert beams.beam_indices.shape == (4, 4) and len(beams.scores) == 4


# --------------------------------------------------------------------------- generation_config.json


def test_generation_config_json_sets_the_defaults(toylm, tmp_path):
    toylm.save_pretrained(tmp_path)
    GenerationConfig(max_new_tokens=3, num_beams=2, transformers_version="5.0").save_pretrained(tmp_path)
    loaded = ToyLMForCausalLM.from_pretrained(tmp_path)
    assert loaded.generate(PROMPT, attention_mask=MASK).shape == (2, 8)
    assert loaded.generation_config.num_beams == 2
    assert torch.equal(loaded.generate(PROMPT, attention_mask=MASK),
                       toylm.generate(PROMPT, attention_mask=MASK, max_new_tokens=3, num_beams=2))
    # Keyword arguments override the file, generation_config= too.
    assert loaded.generate(PROMPT, attention_mask=MASK, max_new_tokens=5).shape == (2, 10)
    assert loaded.generate(PROMPT, attention_mask=MASK, generation_config=GenerationConfig(max_new_tokens=4)).shape == (2, 9)
    read = GenerationConfig.from_pretrained(tmp_path)
    assert read.max_new_tokens == 3 and read.explicit()["transformers_version"] == "5.0"
    assert read.max_length == 20 and "max_length" not in read.explicit()


def test_generation_config_defaults_and_errors(toylm, tmp_path):
    config = GenerationConfig()
    assert (config.max_length, config.do_sample, config.num_beams, config.temperature, config.top_k, config.top_p,
            config.repetition_penalty, config.no_repeat_ngram_size, config.length_penalty, config.early_stopping,
            config.num_return_sequences, config.min_length) == (20, False, 1, 1.0, 50, 1.0, 1.0, 0, 1.0, False, 1, 0)
    with pytest.raises(CheckpointNotFoundError, match="generation_config.json"):
        GenerationConfig.from_pretrained(tmp_path)
    assert GenerationConfig.from_pretrained(tmp_path, missing_ok=True) is None
    (tmp_path / "generation_config.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        GenerationConfig.from_pretrained(tmp_path)
    # Without a file: the model config's special tokens.
    toylm.config.eos_token_id = 4
    fresh = _same_weights(ToyLMForCausalLM, toylm)
    generate(fresh, PROMPT[:1], max_new_tokens=2)
    assert fresh.generation_config.eos_token_id == 4 and fresh.generation_config.pad_token_id is None


def test_a_hub_model_without_a_cached_generation_config_generates_offline(toylm):
    toylm.name_or_path = "nobody-here/not-a-cached-repo"
    assert toylm.generate(PROMPT[:1], max_new_tokens=2).shape == (1, 7)
    assert toylm.generation_config.explicit() == {}


def test_from_pretrained_and_save_pretrained_carry_generation_config_json(toylm, tmp_path):
    toylm.save_pretrained(tmp_path / "plain")
    assert not (tmp_path / "plain" / "generation_config.json").exists()  # nothing explicit to write
    GenerationConfig(max_new_tokens=4, repetition_penalty=1.3).save_pretrained(tmp_path / "plain")
    loaded = ToyLMForCausalLM.from_pretrained(tmp_path / "plain")
    assert loaded.generation_config.explicit() == {"max_new_tokens": 4, "repetition_penalty": 1.3}
    loaded.generation_config.num_beams = 2
    loaded.save_pretrained(tmp_path / "again")
    again = ToyLMForCausalLM.from_pretrained(tmp_path / "again")
    assert again.generation_config.explicit() == {"max_new_tokens": 4, "repetition_penalty": 1.3, "num_beams": 2}
    assert torch.equal(again.generate(PROMPT, attention_mask=MASK),
                       toylm.generate(PROMPT, attention_mask=MASK, max_new_tokens=4, repetition_penalty=1.3,
                                      num_beams=2))
    assert ToyLMForCausalLM.can_generate() and not ToyLMModel.can_generate()
    # A base model has no generation config to read or write.
    assert not hasattr(ToyLMModel.from_pretrained(tmp_path / "plain"), "generation_config")


def test_an_eos_outside_the_vocabulary_is_never_produced_nor_an_error(toylm):
    # Checkpoints do this (a small model keeping GPT-2's eos 50256); transformers ignores such an eos too.
    out = toylm.generate(PROMPT, attention_mask=MASK, max_new_tokens=4, min_new_tokens=4, eos_token_id=[5000, 3])
    assert out.shape == (2, 9)
    assert not (out[:, 5:] == 3).any()  # the in-vocabulary eos is still held back by min_new_tokens
