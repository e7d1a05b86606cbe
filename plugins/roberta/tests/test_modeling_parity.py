"""RoBERTa against its oracle, transformers 5.23: the same weights and inputs give the same
outputs (within 1e-5) and losses for every head, on two configs (one untied, one a
decoder), with padding, segments, inputs_embeds and explicit positions; the decoder's
cache gives the full pass's numbers and generate() the same tokens; checkpoints move both
ways (safetensors and .bin)."""

from __future__ import annotations

import pytest
import torch

transformers = pytest.importorskip("transformers")

from plugformers import AutoConfig, AutoModel, AutoModelForMaskedLM  # noqa: E402
from plugformers_roberta import modeling  # noqa: E402
from plugformers_roberta.configuration import RobertaConfig  # noqa: E402

pytestmark = pytest.mark.oracle

VOCAB, PAD = 99, 1
BASE = dict(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
            max_position_embeddings=40)
CONFIGS = {
    "tied": dict(type_vocab_size=2, num_labels=3),
    "untied-decoder": dict(tie_word_embeddings=False, is_decoder=True, type_vocab_size=1, hidden_act="gelu_new",
                           layer_norm_eps=1e-5, num_hidden_layers=3),
}
HEADS = {
    "base": "RobertaModel",
    "masked-lm": "RobertaForMaskedLM",
    "causal-lm": "RobertaForCausalLM",
    "sequence-classification": "RobertaForSequenceClassification",
    "multiple-choice": "RobertaForMultipleChoice",
    "token-classification": "RobertaForTokenClassification",
    "question-answering": "RobertaForQuestionAnswering",
}
BATCH, CHOICES, SEQ = 3, 2, 9
ATOL = RTOL = 1e-5


def build(head: str, extra: dict, seed: int = 0):
    """(ours, theirs): transformers' model, seeded, and ours loaded from its state dict, strictly."""
    kwargs = {**BASE, **extra}
    if head == "question-answering":
        kwargs["num_labels"] = 2
    torch.manual_seed(seed)
    theirs = getattr(transformers, HEADS[head])(transformers.RobertaConfig(**kwargs)).eval()
    ours = getattr(modeling, HEADS[head])(RobertaConfig(**kwargs)).eval()
    assert list(ours.state_dict()) == list(theirs.state_dict()), f"{head}: state-dict keys differ"
    ours.load_state_dict(theirs.state_dict(), strict=True)
    return ours, theirs


def head_inputs(head: str, config: dict, labels: bool = True, seed: int = 1) -> dict:
    """A batch with right padding (pad ids and mask) in row 1, left padding in row 2 (not for a
    decoder), and
    segments when the config has two; plus the labels of the head's loss."""
    g = torch.Generator().manual_seed(seed)
    shape = (BATCH, CHOICES, SEQ) if head == "multiple-choice" else (BATCH, SEQ)
    ids = torch.randint(3, VOCAB, shape, generator=g)
    ids[1, ..., -3:] = PAD
    if not config.get("is_decoder"):  # a decoder's left padding sees no key at all: its outputs are
        ids[2, ..., :2] = PAD  # arbitrary (transformers' SDPA and eager paths differ there too)
    inputs = {"input_ids": ids, "attention_mask": (ids != PAD).long()}
    if config.get("type_vocab_size", 2) > 1:
        inputs["token_type_ids"] = torch.randint(0, 2, shape, generator=g)
    if labels:
        n = config.get("num_labels", 2)
        if head in ("masked-lm", "causal-lm"):
            inputs["labels"] = ids.masked_fill(ids == PAD, -100)
        elif head == "sequence-classification":
            inputs["labels"] = torch.randint(0, n, (BATCH,), generator=g)
        elif head == "token-classification":
            inputs["labels"] = torch.randint(0, n, (BATCH, SEQ), generator=g)
        elif head == "multiple-choice":
            inputs["labels"] = torch.randint(0, CHOICES, (BATCH,), generator=g)
        elif head == "question-answering":
            inputs["start_positions"] = torch.tensor([0, 3, SEQ + 4])  # the last one out of range: ignored
            inputs["end_positions"] = torch.tensor([2, 5, 1])
    return inputs


def assert_outputs_close(ours, theirs, what: str) -> None:
    for key in theirs.keys():
        b = theirs[key]
        if isinstance(b, torch.Tensor):
            torch.testing.assert_close(ours[key], b, atol=ATOL, rtol=RTOL, msg=f"{what}: {key}")
        elif key in ("hidden_states", "attentions"):
            assert len(ours[key]) == len(b), f"{what}: {key}"
            for i, (x, y) in enumerate(zip(ours[key], b)):
                torch.testing.assert_close(x, y, atol=ATOL, rtol=RTOL, msg=f"{what}: {key}[{i}]")


@pytest.mark.parametrize("name", CONFIGS)
@pytest.mark.parametrize("head", HEADS)
def test_head_and_loss_match_transformers(head: str, name: str) -> None:
    ours, theirs = build(head, CONFIGS[name])
    inputs = head_inputs(head, CONFIGS[name])
    with torch.no_grad():
        a, b = ours(**inputs), theirs(**inputs)  # the fused attention kernel on both sides
        assert_outputs_close(a, b, f"{head}/{name}")
        theirs.set_attn_implementation("eager")  # transformers returns attention probabilities only so
        a = ours(**inputs, output_hidden_states=True, output_attentions=True)
        b = theirs(**inputs, output_hidden_states=True, output_attentions=True)
    if head != "base":
        assert a.loss is not None and torch.isfinite(a.loss)
    assert_outputs_close(a, b, f"{head}/{name}")


@pytest.mark.parametrize("head", ["base", "masked-lm", "sequence-classification"])
def test_inputs_embeds_and_explicit_positions_match(head: str) -> None:
    ours, theirs = build(head, CONFIGS["tied"])
    ids = head_inputs(head, CONFIGS["tied"], labels=False)["input_ids"]
    embeds = theirs.get_input_embeddings()(ids)
    positions = torch.arange(SEQ).expand(BATCH, -1) + 5
    with torch.no_grad():
        for kwargs in ({"inputs_embeds": embeds}, {"input_ids": ids, "position_ids": positions}):
            assert_outputs_close(ours(**kwargs), theirs(**kwargs), f"{head} {sorted(kwargs)}")


def test_padding_keeps_the_padding_position() -> None:
    ids = torch.tensor([[PAD, 5, 6, PAD, 7]])
    assert modeling.position_ids_from_input_ids(ids, PAD).tolist() == [[1, 2, 3, 1, 4]]
    assert modeling.position_ids_from_input_ids(ids, PAD, past_length=3).tolist() == [[1, 5, 6, 1, 7]]


def test_positions_past_the_table_fail_clearly() -> None:
    model = modeling.RobertaModel(RobertaConfig(**BASE)).eval()
    fits = BASE["max_position_embeddings"] - PAD - 1
    model(input_ids=torch.full((1, fits), 5))
    with pytest.raises(ValueError, match=f"more than this model's {fits}"):
        model(input_ids=torch.full((1, fits + 1), 5))


@pytest.mark.parametrize("name", CONFIGS)
def test_incremental_decoding_equals_full_pass_and_transformers(name: str) -> None:
    extra = {**CONFIGS[name], "is_decoder": True}
    ours, theirs = build("causal-lm", extra)
    ids = head_inputs("causal-lm", extra, labels=False)["input_ids"][:, 2:]  # no left padding
    ids[1, -3:] = torch.tensor([11, 12, 13])
    with torch.no_grad():
        full = ours(input_ids=ids).logits
        first = ours(input_ids=ids[:, :5], use_cache=True)
        step = ours(input_ids=ids[:, 5:], past_key_values=first.past_key_values, use_cache=True)
        oracle_first = theirs(input_ids=ids[:, :5], use_cache=True)
        oracle_step = theirs(input_ids=ids[:, 5:], past_key_values=oracle_first.past_key_values, use_cache=True)
    torch.testing.assert_close(torch.cat([first.logits, step.logits], 1), full, atol=ATOL, rtol=RTOL)
    torch.testing.assert_close(step.logits, oracle_step.logits, atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("padded", [False, True], ids=["unpadded", "left-padded"])
def test_generate_gives_transformers_tokens(padded: bool) -> None:
    ours, theirs = build("causal-lm", {**CONFIGS["untied-decoder"]})
    g = torch.Generator().manual_seed(4)
    ids = torch.randint(3, VOCAB, (2, 6), generator=g)
    kwargs = {"max_new_tokens": 10, "pad_token_id": PAD}
    if padded:
        ids[1, :2] = PAD
        kwargs["attention_mask"] = (ids != PAD).long()
    for options in (dict(do_sample=False), dict(num_beams=3, do_sample=False)):
        expected = theirs.generate(ids, **kwargs, **options)
        assert torch.equal(ours.generate(ids, **kwargs, **options), expected), options
        assert torch.equal(ours.generate(ids, use_cache=False, **kwargs, **options), expected), options


def test_lm_heads_tie_decoder_to_embeddings_and_bias() -> None:
    tied = modeling.RobertaForMaskedLM(RobertaConfig(**BASE))
    assert tied.lm_head.decoder.weight is tied.roberta.embeddings.word_embeddings.weight
    assert tied.lm_head.decoder.bias is tied.lm_head.bias
    untied = modeling.RobertaForCausalLM(RobertaConfig(**BASE, tie_word_embeddings=False, is_decoder=True))
    assert untied.lm_head.decoder.weight is not untied.roberta.embeddings.word_embeddings.weight
    assert untied.lm_head.decoder.bias is not untied.lm_head.bias


@pytest.mark.parametrize("safe", [True, False], ids=["safetensors", "bin"])
@pytest.mark.parametrize("name", CONFIGS)
@pytest.mark.parametrize("head", ["masked-lm", "causal-lm", "sequence-classification", "multiple-choice"])
def test_checkpoint_moves_between_libraries(head: str, name: str, safe: bool, tmp_path) -> None:
    _, theirs = build(head, CONFIGS[name])
    theirs.save_pretrained(tmp_path / "theirs", safe_serialization=safe)
    ours, info = getattr(modeling, HEADS[head]).from_pretrained(tmp_path / "theirs", output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"], info
    inputs = head_inputs(head, CONFIGS[name], labels=False)
    with torch.no_grad():
        assert_outputs_close(ours.eval()(**inputs), theirs(**inputs), f"{head}/{name} loaded from transformers")
    ours.save_pretrained(tmp_path / "ours", safe_serialization=safe)
    back = getattr(transformers, HEADS[head]).from_pretrained(tmp_path / "ours").eval()
    with torch.no_grad():
        assert_outputs_close(ours(**inputs), back(**inputs), f"{head}/{name} loaded by transformers")


def test_auto_classes_read_a_transformers_folder(tmp_path) -> None:
    _, theirs = build("masked-lm", CONFIGS["tied"])
    theirs.save_pretrained(tmp_path)
    assert type(AutoConfig.from_pretrained(tmp_path)).__name__ == "RobertaConfig"
    assert type(AutoModelForMaskedLM.from_pretrained(tmp_path)) is modeling.RobertaForMaskedLM
    base = AutoModel.from_pretrained(tmp_path)  # the encoder out of a head's checkpoint
    assert type(base) is modeling.RobertaModel and base.pooler is not None


def test_config_defaults_and_fields_match_transformers() -> None:
    ours = RobertaConfig().to_dict()
    theirs = transformers.RobertaConfig().to_dict()
    for key, value in theirs.items():
        if key in ours and not key.startswith("_") and key != "transformers_version":
            assert ours[key] == value, key
    fields = {k for k in transformers.RobertaConfig().to_diff_dict() if k != "transformers_version"}
    assert fields <= set(ours), fields - set(ours)
    with pytest.raises(ValueError, match="pad_token_id=None"):
        RobertaConfig(pad_token_id=None)
