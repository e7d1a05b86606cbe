"""BERT against its oracle, transformers 5.x: same weights, same inputs, same numbers.

Every head is built on several tiny configs (odd sizes, one layer, other activations,
one or three token types, chunked feed-forward), loaded with transformers' state dict
(strict), and run on padded batches with token types. Every output tensor is compared
within 1e-5: logits, losses, pooled and last hidden states, all hidden states, all
attention probabilities and the decoder cache. Our fused-attention path (SDPA) is
compared with transformers' SDPA run, our explicit path (attention probabilities
requested) with its eager run.
"""

from __future__ import annotations

import warnings

import pytest
import torch

transformers = pytest.importorskip("transformers")

from plugformers.cache import KVCache  # noqa: E402
from plugformers.configuration_utils import ConfigError  # noqa: E402
from plugformers_bert import modeling  # noqa: E402
from plugformers_bert.configuration import BertConfig  # noqa: E402

pytestmark = pytest.mark.oracle

ATOL = RTOL = 1e-5

HEADS = [
    "BertModel",
    "BertForPreTraining",
    "BertForMaskedLM",
    "BertLMHeadModel",
    "BertForNextSentencePrediction",
    "BertForSequenceClassification",
    "BertForMultipleChoice",
    "BertForTokenClassification",
    "BertForQuestionAnswering",
]

CONFIGS = {
    "2x32-4heads": dict(
        vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
        max_position_embeddings=64, type_vocab_size=2,
    ),
    "1x48-3heads-gelu_new-1type": dict(
        vocab_size=67, hidden_size=48, num_hidden_layers=1, num_attention_heads=3, intermediate_size=100,
        hidden_act="gelu_new", max_position_embeddings=32, type_vocab_size=1, layer_norm_eps=1e-5,
        classifier_dropout=0.3,
    ),
    "3x24-2heads-relu-3types-chunked": dict(
        vocab_size=53, hidden_size=24, num_hidden_layers=3, num_attention_heads=2, intermediate_size=50,
        hidden_act="relu", max_position_embeddings=20, type_vocab_size=3, pad_token_id=None,
        chunk_size_feed_forward=5,
    ),
}
CONFIG_NAMES = list(CONFIGS)

# Per config: labels of the classification heads and choices of multiple choice.
NUM_LABELS = {"2x32-4heads": 3, "1x48-3heads-gelu_new-1type": 1, "3x24-2heads-relu-3types-chunked": 5}
PROBLEM_TYPE = {"2x32-4heads": None, "1x48-3heads-gelu_new-1type": None,
                "3x24-2heads-relu-3types-chunked": "multi_label_classification"}
NUM_CHOICES = {"2x32-4heads": 2, "1x48-3heads-gelu_new-1type": 4, "3x24-2heads-relu-3types-chunked": 3}

BATCH, SEQ, LENGTHS = 3, 10, (10, 7, 4)  # right-padded rows of different lengths


# --------------------------------------------------------------------------- helpers


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models: thread start-up and hand-over cost more than they save, badly so
    on a busy machine. Restored for the tests that follow."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def head_config(head: str, name: str, **extra) -> dict:
    cfg = dict(CONFIGS[name])
    if head == "BertLMHeadModel":
        cfg["is_decoder"] = True
    if head in ("BertForSequenceClassification", "BertForTokenClassification"):
        cfg["num_labels"] = NUM_LABELS[name]
        if head == "BertForSequenceClassification" and PROBLEM_TYPE[name]:
            cfg["problem_type"] = PROBLEM_TYPE[name]
    cfg.update(extra)
    return cfg


def build_pair(head: str, cfg: dict, seed: int = 0):
    """(ours, theirs) with the same weights; theirs' weights are perturbed so that no
    parameter keeps its init value (LayerNorm ones, zero biases) and mix-ups show."""
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = getattr(transformers, head)(transformers.BertConfig(**cfg)).eval()
        ours = getattr(modeling, head)(BertConfig(**cfg)).eval()
    with torch.no_grad():
        for p in theirs.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    return ours, theirs


def make_inputs(cfg: dict, batch: int = BATCH, seq: int = SEQ, lengths=LENGTHS, seed: int = 1) -> dict:
    g = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(1, cfg["vocab_size"], (batch, seq), generator=g)
    attention_mask = torch.zeros(batch, seq, dtype=torch.long)
    for row, n in enumerate(lengths):
        attention_mask[row, :n] = 1
    input_ids = input_ids.masked_fill(attention_mask == 0, 0)
    token_type_ids = torch.randint(0, cfg["type_vocab_size"], (batch, seq), generator=g)
    return dict(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)


def make_head_inputs(head: str, cfg: dict, name: str) -> tuple[dict, dict]:
    """(inputs, labels) for one head."""
    g = torch.Generator().manual_seed(2)
    if head == "BertForMultipleChoice":
        choices = NUM_CHOICES[name]
        flat = make_inputs(cfg, batch=BATCH * choices, lengths=[LENGTHS[i % 3] for i in range(BATCH * choices)])
        inputs = {k: v.view(BATCH, choices, SEQ) for k, v in flat.items()}  # (batch, choices, seq)
        return inputs, dict(labels=torch.randint(0, choices, (BATCH,), generator=g))
    inputs = make_inputs(cfg)
    token_labels = inputs["input_ids"].masked_fill(inputs["attention_mask"] == 0, -100)
    if head == "BertForPreTraining":
        labels = dict(labels=token_labels, next_sentence_label=torch.randint(0, 2, (BATCH,), generator=g))
    elif head in ("BertForMaskedLM", "BertLMHeadModel"):
        labels = dict(labels=token_labels)
    elif head == "BertForNextSentencePrediction":
        labels = dict(labels=torch.randint(0, 2, (BATCH,), generator=g))
    elif head == "BertForSequenceClassification":
        labels = dict(labels=sequence_labels(cfg, g))
    elif head == "BertForTokenClassification":
        labels = dict(labels=torch.randint(0, cfg["num_labels"], (BATCH, SEQ), generator=g)
                      .masked_fill(inputs["attention_mask"] == 0, -100))
    elif head == "BertForQuestionAnswering":
        # The last start position lies past the sequence: clamped and ignored by the loss.
        labels = dict(start_positions=torch.tensor([1, 3, SEQ + 5]), end_positions=torch.tensor([4, 6, 2]))
    else:
        labels = {}
    return inputs, labels


def sequence_labels(cfg: dict, g: torch.Generator) -> torch.Tensor:
    n = cfg["num_labels"]
    problem = cfg.get("problem_type")
    if problem == "regression" or (problem is None and n == 1):
        return torch.randn(BATCH, n, generator=g).squeeze(-1) if n == 1 else torch.randn(BATCH, n, generator=g)
    if problem == "multi_label_classification":
        return torch.randint(0, 2, (BATCH, n), generator=g).float()
    return torch.randint(0, n, (BATCH,), generator=g)


def plain(value):
    """Outputs of either library as nested tuples/dicts of tensors; caches become one
    (key, value) per layer of self-attention (we do not cache cross-attention)."""
    if isinstance(value, KVCache):
        return tuple(tuple(layer) for layer in value)
    if isinstance(value, transformers.EncoderDecoderCache):
        value = value.self_attention_cache
    if isinstance(value, transformers.DynamicCache):
        return tuple((layer.keys, layer.values) for layer in value.layers)
    if hasattr(value, "keys") and hasattr(value, "to_tuple"):  # a ModelOutput of either library
        return {k: plain(value[k]) for k in value.keys()}
    if isinstance(value, (tuple, list)):
        return tuple(plain(v) for v in value)
    return value


def assert_same(ours, theirs, where: str = "output") -> None:
    ours, theirs = plain(ours), plain(theirs)
    if isinstance(theirs, dict):
        assert isinstance(ours, dict), f"{where}: expected fields {list(theirs)}, got {type(ours)}"
        assert list(ours) == list(theirs), f"{where}: fields {list(ours)} != transformers' {list(theirs)}"
        for key in theirs:
            assert_same(ours[key], theirs[key], f"{where}.{key}")
    elif isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(theirs), (
            f"{where}: {type(ours).__name__} of {len(ours) if isinstance(ours, tuple) else '-'} "
            f"!= tuple of {len(theirs)}"
        )
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            assert_same(a, b, f"{where}[{i}]")
    elif isinstance(theirs, torch.Tensor):
        assert isinstance(ours, torch.Tensor), f"{where}: {type(ours)} is not a tensor"
        torch.testing.assert_close(ours, theirs, atol=ATOL, rtol=RTOL, msg=lambda m: f"{where}: {m}")
    else:
        assert ours == theirs, f"{where}: {ours!r} != {theirs!r}"


# --------------------------------------------------------------------------- every head


@pytest.mark.parametrize("name", CONFIG_NAMES)
@pytest.mark.parametrize("head", HEADS)
def test_head_matches_transformers(head: str, name: str) -> None:
    cfg = head_config(head, name)
    ours, theirs = build_pair(head, cfg)
    inputs, labels = make_head_inputs(head, cfg, name)
    with torch.no_grad():
        # Fused attention on both sides; losses and every hidden state.
        assert_same(ours(**inputs, **labels, output_hidden_states=True),
                    theirs(**inputs, **labels, output_hidden_states=True), f"{head}[sdpa]")
        # No labels: the logits come first.
        assert_same(ours(**inputs), theirs(**inputs), f"{head}[no labels]")
        # Explicit attention: probabilities of every layer too.
        theirs.set_attn_implementation("eager")
        kw = dict(output_hidden_states=True, output_attentions=True)
        assert_same(ours(**inputs, **labels, **kw), theirs(**inputs, **labels, **kw), f"{head}[eager]")
        # return_dict=False: the same tuple.
        out = ours(**inputs, **labels, **kw, return_dict=False)
        assert type(out) is tuple
        assert_same(out, theirs(**inputs, **labels, **kw, return_dict=False), f"{head}[tuple]")


@pytest.mark.parametrize("head", HEADS)
def test_state_dict_keys_equal_transformers(head: str) -> None:
    cfg = head_config(head, CONFIG_NAMES[0])
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = getattr(transformers, head)(transformers.BertConfig(**cfg))
        ours = getattr(modeling, head)(BertConfig(**cfg))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for key, tensor in theirs.state_dict().items():
        assert ours.state_dict()[key].shape == tensor.shape, key


def test_lm_heads_tie_decoder_to_embeddings_and_bias() -> None:
    for head in ("BertForPreTraining", "BertForMaskedLM", "BertLMHeadModel"):
        ours, _ = build_pair(head, head_config(head, CONFIG_NAMES[0]))
        predictions = ours.cls.predictions
        assert predictions.decoder.weight is ours.bert.embeddings.word_embeddings.weight
        assert predictions.decoder.bias is predictions.bias
        assert ours.get_output_embeddings() is predictions.decoder


# --------------------------------------------------------------------------- losses


@pytest.mark.parametrize(
    "num_labels, problem_type",
    [
        (1, None),  # regression, inferred
        (3, "regression"),
        (3, None),  # single label, inferred from integer labels
        (2, "single_label_classification"),
        (3, "multi_label_classification"),
    ],
)
def test_sequence_classification_loss_per_problem_type(num_labels: int, problem_type: str | None) -> None:
    cfg = head_config("BertForSequenceClassification", CONFIG_NAMES[0], num_labels=num_labels,
                      problem_type=problem_type)
    ours, theirs = build_pair("BertForSequenceClassification", cfg)
    inputs = make_inputs(cfg)
    labels = sequence_labels(cfg, torch.Generator().manual_seed(3))
    with torch.no_grad():
        o, t = ours(**inputs, labels=labels), theirs(**inputs, labels=labels)
    assert_same(o, t)
    assert o.loss is not None and o.loss.dim() == 0
    assert ours.config.problem_type == theirs.config.problem_type


def test_losses_ignore_minus_100_and_out_of_range_spans() -> None:
    cfg = head_config("BertForQuestionAnswering", CONFIG_NAMES[0])
    ours, theirs = build_pair("BertForQuestionAnswering", cfg)
    inputs = make_inputs(cfg)
    spans = dict(start_positions=torch.tensor([[SEQ + 1], [0], [2]]), end_positions=torch.tensor([[3], [SEQ], [-4]]))
    with torch.no_grad():
        assert_same(ours(**inputs, **spans), theirs(**inputs, **spans))


# --------------------------------------------------------------------------- decoding


def decoder_pair(name: str = CONFIG_NAMES[0], **extra):
    return build_pair("BertLMHeadModel", head_config("BertLMHeadModel", name, **extra))


@pytest.mark.parametrize("name", CONFIG_NAMES)
def test_incremental_decoding_equals_full_pass(name: str) -> None:
    ours, theirs = decoder_pair(name)
    cfg = head_config("BertLMHeadModel", name)
    inputs = make_inputs(cfg, lengths=(SEQ,) * BATCH)
    ids, types = inputs["input_ids"], inputs["token_type_ids"]
    with torch.no_grad():
        full = ours(ids, token_type_ids=types, use_cache=True)
        assert_same(full, theirs(ids, token_type_ids=types, use_cache=True))
        step = ours(ids[:, :4], token_type_ids=types[:, :4], use_cache=True)
        logits, past = [step.logits], step.past_key_values
        for i in range(4, SEQ):
            step = ours(ids[:, i:i + 1], token_type_ids=types[:, i:i + 1], past_key_values=past, use_cache=True)
            logits.append(step.logits)
            past = step.past_key_values
    torch.testing.assert_close(torch.cat(logits, dim=1), full.logits, atol=ATOL, rtol=RTOL)
    assert isinstance(past, KVCache) and len(past) == cfg["num_hidden_layers"] and past.get_seq_length() == SEQ
    assert_same(past, full.past_key_values, "cache")
    # The legacy format, a tuple of (key, value) per layer, is read too.
    legacy = tuple(tuple(layer) for layer in past)
    with torch.no_grad():
        more = ours(ids[:, :2], token_type_ids=types[:, :2], past_key_values=legacy)
        again = ours(torch.cat([ids, ids[:, :2]], 1), token_type_ids=torch.cat([types, types[:, :2]], 1))
    torch.testing.assert_close(more.logits, again.logits[:, SEQ:], atol=ATOL, rtol=RTOL)


def test_incremental_decoding_with_padding_mask() -> None:
    """A left-padded row: positions holding real tokens agree between the full pass and
    token-by-token decoding with a growing attention mask."""
    ours, theirs = decoder_pair()
    cfg = head_config("BertLMHeadModel", CONFIG_NAMES[0])
    ids = make_inputs(cfg, lengths=(SEQ,) * BATCH)["input_ids"]
    mask = torch.ones(BATCH, SEQ, dtype=torch.long)
    mask[1, :3] = 0
    with torch.no_grad():
        full = ours(ids, attention_mask=mask)
        theirs.set_attn_implementation("eager")
        assert_same(full, theirs(ids, attention_mask=mask))
        step = ours(ids[:, :5], attention_mask=mask[:, :5])
        logits, past = [step.logits], step.past_key_values
        for i in range(5, SEQ):
            step = ours(ids[:, i:i + 1], attention_mask=mask[:, :i + 1], past_key_values=past)
            logits.append(step.logits)
            past = step.past_key_values
    real = mask.bool()
    torch.testing.assert_close(torch.cat(logits, dim=1)[real], full.logits[real], atol=ATOL, rtol=RTOL)


def test_left_padded_decoder_both_attention_paths_match_eager() -> None:
    """Rows whose first queries see only padding: our fused and explicit paths agree
    with each other and with transformers' eager attention everywhere."""
    ours, theirs = decoder_pair()
    inputs = make_inputs(head_config("BertLMHeadModel", CONFIG_NAMES[0]), lengths=(SEQ,) * BATCH)
    inputs["attention_mask"][1, :4] = 0
    theirs.set_attn_implementation("eager")
    with torch.no_grad():
        reference = theirs(**inputs, labels=inputs["input_ids"], output_attentions=True)
        fused = ours(**inputs, labels=inputs["input_ids"])
        explicit = ours(**inputs, labels=inputs["input_ids"], output_attentions=True)
    assert_same(explicit, reference)
    torch.testing.assert_close(fused.logits, reference.logits, atol=ATOL, rtol=RTOL)
    torch.testing.assert_close(fused.loss, reference.loss, atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("name", CONFIG_NAMES[:2])
def test_cross_attention_decoder(name: str) -> None:
    ours, theirs = decoder_pair(name, add_cross_attention=True)
    cfg = head_config("BertLMHeadModel", name)
    inputs = make_inputs(cfg)
    g = torch.Generator().manual_seed(5)
    encoder = dict(encoder_hidden_states=torch.randn(BATCH, 6, cfg["hidden_size"], generator=g),
                   encoder_attention_mask=torch.tensor([[1] * 6, [1] * 4 + [0] * 2, [1] * 2 + [0] * 4]))
    labels = inputs["input_ids"].masked_fill(inputs["attention_mask"] == 0, -100)
    with torch.no_grad():
        assert_same(ours(**inputs, **encoder), theirs(**inputs, **encoder), "sdpa")
        theirs.set_attn_implementation("eager")
        kw = dict(output_attentions=True, output_hidden_states=True)
        assert_same(ours(**inputs, **encoder, labels=labels, **kw), theirs(**inputs, **encoder, labels=labels, **kw))
        assert_same(ours(**inputs, **encoder, **kw, return_dict=False),
                    theirs(**inputs, **encoder, **kw, return_dict=False), "tuple")
        # Token by token with the cross-attention keys cached after the first step.
        ids = inputs["input_ids"][:, :6]
        full = ours(ids, **encoder)
        step = ours(ids[:, :2], **encoder)
        logits, past = [step.logits], step.past_key_values
        for i in range(2, 6):
            step = ours(ids[:, i:i + 1], **encoder, past_key_values=past)
            logits.append(step.logits)
            past = step.past_key_values
    torch.testing.assert_close(torch.cat(logits, dim=1), full.logits, atol=ATOL, rtol=RTOL)
    assert past.get_seq_length() == 6


def test_generate_gives_transformers_tokens() -> None:
    ours, theirs = decoder_pair()
    with torch.no_grad():  # sharper distributions than the tiny init, so that ties are unlikely
        for model in (ours, theirs):
            model.cls.predictions.decoder.weight.mul_(3)
    ids = make_inputs(head_config("BertLMHeadModel", CONFIG_NAMES[0]), lengths=(SEQ,) * BATCH)["input_ids"][:, :4]
    for kw in (dict(do_sample=False), dict(do_sample=False, num_beams=3)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = theirs.generate(ids, max_new_tokens=8, pad_token_id=0, **kw)
        assert torch.equal(ours.generate(ids, max_new_tokens=8, pad_token_id=0, **kw), expected), kw


def test_logits_to_keep() -> None:
    ours, theirs = decoder_pair()
    ids = make_inputs(head_config("BertLMHeadModel", CONFIG_NAMES[0]))["input_ids"]
    with torch.no_grad():
        assert_same(ours(ids, logits_to_keep=1), theirs(ids, logits_to_keep=1))


# --------------------------------------------------------------------------- other inputs


def test_inputs_embeds_and_explicit_position_ids() -> None:
    cfg = head_config("BertModel", CONFIG_NAMES[0])
    ours, theirs = build_pair("BertModel", cfg)
    inputs = make_inputs(cfg)
    embeds = theirs.embeddings.word_embeddings(inputs.pop("input_ids")).detach()
    positions = torch.arange(SEQ).flip(0).expand(BATCH, SEQ)
    with torch.no_grad():
        assert_same(ours(inputs_embeds=embeds, **inputs), theirs(inputs_embeds=embeds, **inputs))
        assert_same(ours(inputs_embeds=embeds, position_ids=positions, **inputs),
                    theirs(inputs_embeds=embeds, position_ids=positions, **inputs))
        assert_same(ours(inputs_embeds=embeds), theirs(inputs_embeds=embeds))


def test_config_flags_give_forward_defaults() -> None:
    cfg = head_config("BertForTokenClassification", CONFIG_NAMES[0], output_attentions=True,
                      output_hidden_states=True, return_dict=False)
    ours, theirs = build_pair("BertForTokenClassification", cfg)
    theirs.set_attn_implementation("eager")
    inputs = make_inputs(cfg)
    with torch.no_grad():
        out = ours(**inputs)
        assert isinstance(out, tuple) and len(out) == 3  # logits, hidden states, attentions
        assert_same(out, theirs(**inputs))


def test_gradient_checkpointing_gives_the_same_gradients() -> None:
    cfg = head_config("BertForMaskedLM", CONFIG_NAMES[0], hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    ours, _ = build_pair("BertForMaskedLM", cfg)
    inputs = make_inputs(cfg)
    labels = inputs["input_ids"].masked_fill(inputs["attention_mask"] == 0, -100)
    ours.train()

    def grads():
        ours.zero_grad()
        ours(**inputs, labels=labels).loss.backward()
        return {n: p.grad.clone() for n, p in ours.named_parameters()}

    plain_grads = grads()
    ours.gradient_checkpointing_enable()
    assert ours.bert.encoder.gradient_checkpointing
    assert_same(grads(), plain_grads)


# --------------------------------------------------------------------------- errors and config


def test_refuses_ids_outside_vocabulary_and_overlong_sequences() -> None:
    cfg = head_config("BertModel", CONFIG_NAMES[0])
    ours, _ = build_pair("BertModel", cfg)
    with pytest.raises(ValueError, match=r"id 99, outside the vocabulary.*vocab_size=99"):
        ours(torch.tensor([[1, 2, 99]]))
    with pytest.raises(ValueError, match="outside the vocabulary"):
        ours(torch.tensor([[1, -1]]))
    too_long = cfg["max_position_embeddings"] + 1
    with pytest.raises(ValueError, match=rf"length {too_long}, longer than the model's 64 positions"):
        ours(torch.ones(1, too_long, dtype=torch.long))
    with pytest.raises(ValueError, match="longer than the model's 64 positions"):
        ours(inputs_embeds=torch.zeros(1, too_long, cfg["hidden_size"]))
    with pytest.raises(ValueError, match=r"token_type_ids holds 2.*config.type_vocab_size=2"):
        ours(torch.tensor([[1, 2]]), token_type_ids=torch.tensor([[0, 2]]))
    with pytest.raises(ValueError, match=r"position_ids holds 64.*config.max_position_embeddings=64"):
        ours(torch.tensor([[1, 2]]), position_ids=torch.tensor([[0, 64]]))
    with pytest.raises(ValueError, match="exactly one of input_ids and inputs_embeds"):
        ours()


def test_decoder_cache_counts_towards_max_positions() -> None:
    ours, _ = decoder_pair()
    with torch.no_grad():
        past = ours(torch.ones(1, 63, dtype=torch.long)).past_key_values
        with pytest.raises(ValueError, match="length 65"):
            ours(torch.ones(1, 2, dtype=torch.long), past_key_values=past)
        assert past.get_seq_length() == 63  # refused before anything was cached
        ours(torch.ones(1, 1, dtype=torch.long), past_key_values=past)
        assert past.get_seq_length() == 64


def test_config_defaults_and_fields_match_transformers() -> None:
    import inspect

    params = inspect.signature(transformers.BertConfig.__init__).parameters
    bert_fields = [p for p in params.values() if p.kind is inspect.Parameter.KEYWORD_ONLY]
    assert bert_fields, "transformers.BertConfig signature changed"
    ours = BertConfig()
    for p in bert_fields:
        assert p.name in BertConfig.model_fields, f"BertConfig lacks {p.name}"
        assert getattr(ours, p.name) == p.default, p.name
    theirs = transformers.BertConfig().to_dict()
    for key in ("vocab_size", "hidden_size", "num_labels", "problem_type", "id2label", "chunk_size_feed_forward"):
        if key in theirs:
            assert getattr(ours, key) == theirs[key], key
    for name, field in BertConfig.model_fields.items():
        if name in type(ours).__annotations__:
            assert field.description, f"{name} has no description"


def test_config_validation_messages() -> None:
    with pytest.raises(ConfigError, match=r"hidden_size=30 is not a multiple of num_attention_heads=4"):
        BertConfig(hidden_size=30, num_attention_heads=4)
    with pytest.raises(ConfigError, match=r"attention_probs_dropout_prob=1.5 is a probability"):
        BertConfig(attention_probs_dropout_prob=1.5)
    with pytest.raises(ConfigError, match=r"num_hidden_layers=0 must be a positive integer"):
        BertConfig(num_hidden_layers=0)
    with pytest.raises(ConfigError, match="position_embedding_type='relative_key' is not supported"):
        BertConfig(position_embedding_type="relative_key")
    config = BertConfig(hidden_dropout_prob=0, layer_norm_eps=1, hidden_size=48, num_attention_heads=3)
    assert isinstance(config.hidden_dropout_prob, float) and isinstance(config.layer_norm_eps, float)
    assert BertConfig(position_embedding_type="absolute").position_embedding_type == "absolute"


# --------------------------------------------------------------------------- checkpoints


@pytest.mark.parametrize("head", ["BertForMaskedLM", "BertForSequenceClassification"])
def test_checkpoint_moves_between_libraries(head: str, tmp_path) -> None:
    cfg = head_config(head, CONFIG_NAMES[0])
    _, theirs = build_pair(head, cfg)
    inputs = make_inputs(cfg)
    theirs.save_pretrained(tmp_path / "theirs")
    ours = getattr(modeling, head).from_pretrained(tmp_path / "theirs")
    with torch.no_grad():
        assert_same(ours(**inputs), theirs(**inputs))
    if head == "BertForMaskedLM":
        assert ours.cls.predictions.decoder.bias is ours.cls.predictions.bias
        assert ours.cls.predictions.decoder.weight is ours.bert.embeddings.word_embeddings.weight
    ours.save_pretrained(tmp_path / "ours")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        back = getattr(transformers, head).from_pretrained(tmp_path / "ours").eval()
    with torch.no_grad():
        assert_same(ours(**inputs), back(**inputs))


LM_HEADS = ["BertForPreTraining", "BertForMaskedLM", "BertLMHeadModel"]


def saved_tensors(folder) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


@pytest.mark.parametrize("name", CONFIG_NAMES[:2])
@pytest.mark.parametrize("head", LM_HEADS)
def test_untied_lm_head_matches_transformers_and_round_trips_key_for_key(head: str, name: str, tmp_path) -> None:
    """tie_word_embeddings=False: the decoder keeps its own weight and bias (build_pair
    makes them differ from the word embeddings and cls.predictions.bias), the logits and
    losses are transformers', and the checkpoint keeps every key both ways."""
    cfg = head_config(head, name, tie_word_embeddings=False)
    ours, theirs = build_pair(head, cfg)
    predictions = ours.cls.predictions
    assert predictions.decoder.weight is not ours.bert.embeddings.word_embeddings.weight
    assert predictions.decoder.bias is not predictions.bias
    assert not torch.equal(predictions.decoder.bias, predictions.bias)
    inputs, labels = make_head_inputs(head, cfg, name)
    with torch.no_grad():
        assert_same(ours(**inputs, **labels), theirs(**inputs, **labels), f"{head}[untied]")
    theirs.save_pretrained(tmp_path / "theirs")
    loaded, info = getattr(modeling, head).from_pretrained(tmp_path / "theirs", output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    with torch.no_grad():
        assert_same(loaded(**inputs, **labels), theirs(**inputs, **labels), f"{head}[untied, loaded]")
    loaded.save_pretrained(tmp_path / "ours")
    want, got = saved_tensors(tmp_path / "theirs"), saved_tensors(tmp_path / "ours")
    assert sorted(got) == sorted(want)
    assert "cls.predictions.decoder.bias" in got and "cls.predictions.decoder.weight" in got
    for key in want:
        assert torch.equal(got[key], want[key]), key
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        back = getattr(transformers, head).from_pretrained(tmp_path / "ours").eval()
    with torch.no_grad():
        assert_same(back(**inputs, **labels), theirs(**inputs, **labels), f"{head}[untied, back]")


def test_tied_config_with_distinct_checkpoint_values_keeps_both_as_transformers(tmp_path, caplog) -> None:
    """A checkpoint whose config ties the embeddings but which stores its own decoder
    weight and bias: transformers keeps both (and warns); so do we."""
    from safetensors.torch import save_file

    head = "BertForMaskedLM"
    cfg = head_config(head, CONFIG_NAMES[0], tie_word_embeddings=False)
    _, theirs = build_pair(head, cfg)
    theirs.config.tie_word_embeddings = True
    theirs.config.save_pretrained(tmp_path)
    save_file({k: v.contiguous() for k, v in theirs.state_dict().items()}, str(tmp_path / "model.safetensors"),
              metadata={"format": "pt"})
    with caplog.at_level("WARNING", logger="plugformers"):
        ours = modeling.BertForMaskedLM.from_pretrained(tmp_path)
    assert "holds different values" in caplog.text and "cls.predictions.decoder.weight" in caplog.text
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        oracle = transformers.BertForMaskedLM.from_pretrained(tmp_path).eval()
    inputs = make_inputs(cfg)
    with torch.no_grad():
        assert_same(ours(**inputs), oracle(**inputs))
        assert_same(ours(**inputs), theirs(**inputs))
    assert ours.cls.predictions.decoder.weight is not ours.bert.embeddings.word_embeddings.weight


def test_resize_token_embeddings_of_an_untied_head() -> None:
    cfg = head_config("BertForMaskedLM", CONFIG_NAMES[0], tie_word_embeddings=False)
    ours, _ = build_pair("BertForMaskedLM", cfg)
    predictions = ours.cls.predictions
    weight, bias = predictions.decoder.weight.detach().clone(), predictions.decoder.bias.detach().clone()
    n = cfg["vocab_size"] + 5
    ours.resize_token_embeddings(n)
    predictions = ours.cls.predictions
    assert predictions.decoder.weight.shape == (n, cfg["hidden_size"]) and predictions.decoder.bias.shape == (n,)
    assert predictions.bias.shape == (n,) and predictions.decoder.bias is not predictions.bias
    assert predictions.decoder.weight is not ours.bert.embeddings.word_embeddings.weight
    torch.testing.assert_close(predictions.decoder.weight[: n - 5], weight)
    torch.testing.assert_close(predictions.decoder.bias[: n - 5], bias)
    assert torch.equal(predictions.decoder.bias[n - 5:], torch.zeros(5))


def test_legacy_checkpoint_layout_loads_cleanly(tmp_path) -> None:
    """A checkpoint as older libraries wrote it: LayerNorm gamma/beta names, the
    position_ids buffer stored, the tied decoder keys left out, in pytorch_model.bin."""
    cfg = head_config("BertForPreTraining", CONFIG_NAMES[0])
    _, theirs = build_pair("BertForPreTraining", cfg)
    old = {}
    for key, tensor in theirs.state_dict().items():
        if key.startswith("cls.predictions.decoder."):
            continue
        old[key.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")] = tensor
    old["bert.embeddings.position_ids"] = torch.arange(cfg["max_position_embeddings"])[None]
    theirs.config.save_pretrained(tmp_path)
    torch.save(old, tmp_path / "pytorch_model.bin")
    ours, info = modeling.BertForPreTraining.from_pretrained(tmp_path, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == [] and info["mismatched_keys"] == []
    inputs = make_inputs(cfg)
    with torch.no_grad():
        assert_same(ours(**inputs), theirs(**inputs))
    assert ours.cls.predictions.decoder.bias is ours.cls.predictions.bias


def test_resize_token_embeddings_keeps_the_lm_head_tied() -> None:
    cfg = head_config("BertForMaskedLM", CONFIG_NAMES[0])
    ours, _ = build_pair("BertForMaskedLM", cfg)
    before = ours.cls.predictions.bias.detach().clone()
    ours.resize_token_embeddings(cfg["vocab_size"] + 21)
    predictions = ours.cls.predictions
    assert predictions.decoder.bias is predictions.bias and predictions.bias.shape == (cfg["vocab_size"] + 21,)
    assert predictions.decoder.weight is ours.bert.embeddings.word_embeddings.weight
    torch.testing.assert_close(predictions.bias[: cfg["vocab_size"]], before)
    with torch.no_grad():
        assert ours(torch.tensor([[1, cfg["vocab_size"] + 20]])).logits.shape[-1] == cfg["vocab_size"] + 21
