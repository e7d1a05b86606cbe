"""OpenAI GPT against transformers 5.x: the same weights and inputs give the same outputs
(within 1e-5) for every head and its losses, on padded batches; checkpoints move both
ways, tied and untied; a pytorch-transformers 1.2.0 folder (no model_type) loads by name
and gives 1.x's outputs; bad inputs fail clearly."""

from __future__ import annotations

import json
import warnings

import pytest
import torch
import transformers

from plugformers import AutoModel, AutoModelForCausalLM
from plugformers_openai_gpt import modeling
from plugformers_openai_gpt.configuration import OpenAIGPTConfig

pytestmark = pytest.mark.oracle
transformers.logging.set_verbosity_error()

VOCAB, PAD = 99, 0
BASE = dict(vocab_size=VOCAB, n_positions=24, n_embd=32, n_layer=2, n_head=4, pad_token_id=PAD)
CONFIGS = {
    "default": {},
    "relu-untied-3-layers": dict(afn="relu", tie_word_embeddings=False, n_layer=3, n_head=2, num_labels=3,
                                 summary_activation="tanh", summary_first_dropout=0.0),
    "silu-eps-1e-6": dict(afn="silu", layer_norm_epsilon=1e-6, initializer_range=0.1),
}
HEADS = {
    "base": "OpenAIGPTModel",
    "causal-lm": "OpenAIGPTLMHeadModel",
    "double-heads": "OpenAIGPTDoubleHeadsModel",
    "sequence-classification": "OpenAIGPTForSequenceClassification",
}
BATCH, CHOICES, SEQ = 3, 2, 9
ATOL = RTOL = 1e-5


def build(head: str, extra: dict, seed: int = 0):
    """(ours, theirs): transformers' model, seeded, and ours loaded from its state dict, strictly."""
    kwargs = {**BASE, **extra}
    torch.manual_seed(seed)
    theirs = getattr(transformers, HEADS[head])(transformers.OpenAIGPTConfig(**kwargs)).eval()
    ours = getattr(modeling, HEADS[head])(OpenAIGPTConfig(**kwargs)).eval()
    assert list(ours.state_dict()) == list(theirs.state_dict()), f"{head}: state-dict keys differ"
    ours.load_state_dict(theirs.state_dict(), strict=True)
    return ours, theirs


def padded_inputs(head: str, padding: str, num_labels: int, seed: int = 1) -> dict:
    """A batch whose rows have 0, 3 and 1 padding tokens on the left or the right, plus
    every label the head's losses take."""
    g = torch.Generator().manual_seed(seed)
    shape = (BATCH, CHOICES, SEQ) if head == "double-heads" else (BATCH, SEQ)
    ids = torch.randint(1, VOCAB, shape, generator=g)
    mask = torch.ones(shape, dtype=torch.long)
    for row, pads in ((1, 3), (2, 1)):
        if padding == "left":
            mask[row, ..., :pads] = 0
        elif padding == "right":
            mask[row, ..., SEQ - pads:] = 0
    ids[mask == 0] = PAD
    inputs = {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.randint(1, VOCAB, shape, generator=g)}
    if head in ("causal-lm", "double-heads"):
        inputs["labels"] = ids.masked_fill(mask == 0, -100)
    if head == "double-heads":
        inputs["mc_token_ids"] = mask.sum(-1) - 1 if padding == "right" else torch.full(shape[:2], SEQ - 1)
        inputs["mc_labels"] = torch.randint(0, CHOICES, (BATCH,), generator=g)
    elif head == "sequence-classification":
        inputs["labels"] = torch.randint(0, num_labels, (BATCH,), generator=g)
    return inputs


def theirs_inputs(inputs: dict) -> dict:
    """transformers' OpenAI GPT adds a (batch, seq) mask only: a (batch, choices, seq) one
    goes in folded the way the ids are (ours takes either)."""
    mask = inputs["attention_mask"]
    return {**inputs, "attention_mask": mask.reshape(-1, mask.shape[-1])}


def assert_outputs_equal(ours, theirs, what: str) -> None:
    """Every tensor of our output equals transformers' (hidden states and attentions
    compared at our shapes)."""
    assert sorted(ours.keys()) == sorted(k for k in theirs.keys() if theirs[k] is not None), what
    for key in ours.keys():
        a, b = ours[key], theirs[key]
        if isinstance(a, torch.Tensor):
            assert torch.isfinite(a).all(), f"{what}: {key} holds NaN or inf"
            torch.testing.assert_close(a, b, atol=ATOL, rtol=RTOL, msg=lambda m: f"{what}: {key}: {m}")
        else:
            assert len(a) == len(b) > 0, f"{what}: {key} has {len(a)} entries, transformers {len(b)}"
            for i, (x, y) in enumerate(zip(a, b)):
                torch.testing.assert_close(x, y.reshape(x.shape), atol=ATOL, rtol=RTOL,
                                           msg=lambda m, i=i: f"{what}: {key}[{i}]: {m}")


# --------------------------------------------------------------------------- every head


@pytest.mark.parametrize("config_name", list(CONFIGS))
@pytest.mark.parametrize("head", list(HEADS))
def test_head_and_losses_match_transformers(head, config_name):
    ours, theirs = build(head, CONFIGS[config_name])
    for padding in ("none", "right", "left"):
        inputs = padded_inputs(head, padding, ours.config.num_labels)
        what = f"{head}/{config_name}/{padding} padding"
        with torch.no_grad():
            out = ours(**inputs, output_hidden_states=True, output_attentions=True)
            assert_outputs_equal(out, theirs(**theirs_inputs(inputs), output_hidden_states=True,
                                             output_attentions=True), what)
            # the fused path (no probabilities asked for) gives the same numbers
            plain = ours(**inputs)
        for key in plain.keys():
            torch.testing.assert_close(plain[key], out[key], atol=ATOL, rtol=RTOL)
        if head in ("causal-lm", "double-heads", "sequence-classification"):
            assert out.loss is not None and torch.isfinite(out.loss)
        if head == "double-heads":
            assert tuple(out.mc_logits.shape) == (BATCH, CHOICES) and out.mc_loss is not None


@pytest.mark.parametrize("summary", [dict(summary_type="mean"), dict(summary_type="first", summary_activation="tanh"),
                                     dict(summary_type="last", summary_use_proj=False),
                                     dict(summary_type="cls_index", summary_proj_to_labels=False)])
def test_double_heads_summary_types_match_transformers(summary):
    """"mean", "first" and "last" pool dimension 1 of (batch, choices, seq, hidden), the
    choices, as transformers does."""
    ours, theirs = build("double-heads", summary)
    inputs = padded_inputs("double-heads", "none", 1)
    inputs.pop("mc_labels")
    with torch.no_grad():
        assert_outputs_equal(ours(**inputs), theirs(**theirs_inputs(inputs)), f"double-heads/{summary}")


@pytest.mark.parametrize("labels", ["regression", "multi-label"])
def test_sequence_classification_losses_match_transformers(labels):
    num_labels = 1 if labels == "regression" else 3
    ours, theirs = build("sequence-classification", dict(num_labels=num_labels))
    inputs = padded_inputs("sequence-classification", "right", num_labels)
    g = torch.Generator().manual_seed(4)
    inputs["labels"] = (torch.randn(BATCH, generator=g) if labels == "regression"
                        else torch.randint(0, 2, (BATCH, num_labels), generator=g).float())
    with torch.no_grad():
        assert_outputs_equal(ours(**inputs), theirs(**inputs), f"sequence-classification/{labels}")
    assert ours.config.problem_type == theirs.config.problem_type


def test_sequence_classification_pools_the_last_non_pad_token():
    ours, theirs = build("sequence-classification", CONFIGS["default"])
    ids = torch.randint(1, VOCAB, (3, 7), generator=torch.Generator().manual_seed(2))
    ids[0, 5:] = PAD  # right padding
    ids[1, :2] = PAD  # left padding
    with torch.no_grad():
        logits = ours(ids).logits
        torch.testing.assert_close(logits, theirs(ids).logits, atol=ATOL, rtol=RTOL)
        alone = ours(ids[0:1, :5]).logits
    torch.testing.assert_close(logits[0:1], alone, atol=ATOL, rtol=RTOL)
    ours.config.pad_token_id = None
    with pytest.raises(ValueError, match="pad_token_id"):
        ours(ids)


@pytest.mark.parametrize("keep", [1, 3, "tensor"])
def test_logits_to_keep_matches_transformers(keep):
    ours, theirs = build("causal-lm", CONFIGS["relu-untied-3-layers"])
    inputs = padded_inputs("causal-lm", "left", 2)
    ids, mask = inputs["input_ids"], inputs["attention_mask"]
    keep = torch.tensor([0, 4, SEQ - 1]) if keep == "tensor" else keep
    with torch.no_grad():
        kept = ours(ids, attention_mask=mask, logits_to_keep=keep).logits
        torch.testing.assert_close(kept, theirs(ids, attention_mask=mask, logits_to_keep=keep).logits,
                                   atol=ATOL, rtol=RTOL)


def test_position_ids_and_inputs_embeds_match_transformers():
    ours, theirs = build("base", CONFIGS["default"])
    ids = torch.randint(1, VOCAB, (2, 8), generator=torch.Generator().manual_seed(5))
    positions = torch.arange(8).flip(0)[None]
    with torch.no_grad():
        torch.testing.assert_close(ours(ids, position_ids=positions).last_hidden_state,
                                   theirs(ids, position_ids=positions).last_hidden_state, atol=ATOL, rtol=RTOL)
        embeds = theirs.tokens_embed(ids)
        torch.testing.assert_close(ours(inputs_embeds=embeds).last_hidden_state,
                                   theirs(inputs_embeds=embeds).last_hidden_state, atol=ATOL, rtol=RTOL)


# --------------------------------------------------------------------------- checkpoints


@pytest.mark.parametrize("head", list(HEADS))
def test_checkpoints_move_both_ways_key_for_key(head, tmp_path):
    """transformers' folder loads here with nothing missing or unused, ours loads in
    transformers, and both libraries store the same keys with the same tensors (tied
    heads store the shared weight once, under the same name)."""
    from safetensors.torch import load_file

    _, theirs = build(head, CONFIGS["default"])
    theirs.save_pretrained(tmp_path / "theirs")
    cls = getattr(modeling, HEADS[head])
    ours, info = cls.from_pretrained(tmp_path / "theirs", output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"], info
    if head in ("causal-lm", "double-heads"):
        assert ours.lm_head.weight is ours.transformer.tokens_embed.weight
    ours.save_pretrained(tmp_path / "ours")
    want = load_file(str(tmp_path / "theirs" / "model.safetensors"))
    got = load_file(str(tmp_path / "ours" / "model.safetensors"))
    assert sorted(got) == sorted(want)
    for key in want:
        assert torch.equal(got[key], want[key]), key
    back = getattr(transformers, HEADS[head]).from_pretrained(tmp_path / "ours").eval()
    inputs = padded_inputs(head, "right", ours.config.num_labels)
    with torch.no_grad():
        assert_outputs_equal(ours(**inputs), theirs(**theirs_inputs(inputs)), f"{head}: loaded from transformers")
        assert_outputs_equal(ours(**inputs), back(**theirs_inputs(inputs)), f"{head}: back in transformers")


@pytest.mark.parametrize("head", ["causal-lm", "double-heads"])
def test_untied_lm_head_round_trips_key_for_key(head, tmp_path):
    from safetensors.torch import load_file

    ours, theirs = build(head, dict(tie_word_embeddings=False))
    with torch.no_grad():
        theirs.lm_head.weight.add_(torch.randn_like(theirs.lm_head.weight))  # unlike the embeddings
    theirs.save_pretrained(tmp_path / "theirs")
    loaded, info = getattr(modeling, HEADS[head]).from_pretrained(tmp_path / "theirs", output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"], info
    assert loaded.lm_head.weight is not loaded.transformer.tokens_embed.weight
    inputs = padded_inputs(head, "none", loaded.config.num_labels)
    with torch.no_grad():
        assert_outputs_equal(loaded(**inputs), theirs(**theirs_inputs(inputs)), f"{head}/untied")
    loaded.save_pretrained(tmp_path / "ours")
    want = load_file(str(tmp_path / "theirs" / "model.safetensors"))
    got = load_file(str(tmp_path / "ours" / "model.safetensors"))
    assert sorted(got) == sorted(want) and {"lm_head.weight", "transformer.tokens_embed.weight"} <= set(got)
    for key in want:
        assert torch.equal(got[key], want[key]), key
    back = getattr(transformers, HEADS[head]).from_pretrained(tmp_path / "ours").eval()
    with torch.no_grad():
        assert_outputs_equal(loaded(**inputs), back(**theirs_inputs(inputs)), f"{head}/untied, back in transformers")


@pytest.mark.parametrize("source", ["base", "causal-lm"])
def test_double_heads_takes_the_embeddings_of_an_lm_or_base_checkpoint(source, tmp_path):
    """The double-heads model ties its embeddings to lm_head.weight (transformers' way
    round); a checkpoint that stores only the embeddings still gives it their values."""
    _, theirs = build(source, CONFIGS["default"])
    theirs.save_pretrained(tmp_path)
    ours = modeling.OpenAIGPTDoubleHeadsModel.from_pretrained(tmp_path)
    reference = transformers.OpenAIGPTDoubleHeadsModel.from_pretrained(tmp_path)
    embeddings = theirs.get_input_embeddings().weight
    assert torch.equal(ours.lm_head.weight, embeddings) and ours.lm_head.weight is ours.transformer.tokens_embed.weight
    assert torch.equal(reference.lm_head.weight, embeddings)


def test_pytorch_transformers_1x_folder_loads_by_name(tmp_path):
    """A folder pytorch-transformers 1.2.0 saved (config.json without model_type, 1.x
    keys such as n_ctx, the causal-mask buffers h.N.attn.bias, both tied keys) loads
    through the Auto classes because its path names openai-gpt, with 1.x's outputs."""
    pt = pytest.importorskip("pytorch_transformers")
    config = pt.OpenAIGPTConfig(vocab_size_or_config_json_file=VOCAB, n_positions=24, n_ctx=24, n_embd=32,
                                n_layer=2, n_head=4)
    torch.manual_seed(3)
    legacy = pt.OpenAIGPTLMHeadModel(config).eval()
    folder = tmp_path / "openai-gpt-finetuned"
    folder.mkdir()
    legacy.save_pretrained(str(folder))
    saved = json.loads((folder / "config.json").read_text())
    assert "model_type" not in saved and saved["n_ctx"] == 24
    ids = torch.randint(0, VOCAB, (2, 11), generator=torch.Generator().manual_seed(8))
    with torch.no_grad():
        want_logits, want_hidden = legacy(ids)[0], legacy.transformer(ids)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the 1.x keys are kept without a near-miss warning
        lm, info = AutoModelForCausalLM.from_pretrained(folder, output_loading_info=True)
    assert isinstance(lm, modeling.OpenAIGPTLMHeadModel)
    assert not info["missing_keys"] and not info["unexpected_keys"], info
    assert lm.config.model_extra["n_ctx"] == 24 and lm.lm_head.weight is lm.transformer.tokens_embed.weight
    base = AutoModel.from_pretrained(folder)
    assert isinstance(base, modeling.OpenAIGPTModel)
    with torch.no_grad():
        torch.testing.assert_close(lm(ids).logits, want_logits, atol=ATOL, rtol=RTOL)
        torch.testing.assert_close(base(ids).last_hidden_state, want_hidden, atol=ATOL, rtol=RTOL)


def test_config_matches_transformers_fields_and_defaults():
    ours, theirs = OpenAIGPTConfig().to_dict(), transformers.OpenAIGPTConfig().to_dict()
    shared = set(theirs) - {"transformers_version", "_name_or_path"}
    assert shared <= set(ours)
    assert {k: ours[k] for k in shared} == {k: theirs[k] for k in shared}
    config = OpenAIGPTConfig(hidden_size=64, num_attention_heads=8, num_hidden_layers=3, max_position_embeddings=128)
    assert (config.n_embd, config.n_head, config.n_layer, config.n_positions) == (64, 8, 3, 128)
    with pytest.raises(ValueError, match=r"n_embd=30 is not a multiple of n_head=4"):
        OpenAIGPTConfig(n_embd=30, n_head=4)
    with pytest.raises(ValueError, match=r"afn='gelu_new' is not an OpenAI GPT activation"):
        OpenAIGPTConfig(afn="gelu_new")


# --------------------------------------------------------------------------- bad input


def test_bad_inputs_fail_clearly():
    ours, _ = build("causal-lm", CONFIGS["default"])
    with pytest.raises(ValueError, match=r"id 99, outside the vocabulary"):
        ours(torch.tensor([[1, 2, VOCAB]]))
    with pytest.raises(ValueError, match=r"sequence length 25, longer than the model's 24 positions"):
        ours(torch.ones(1, 25, dtype=torch.long))
    with pytest.raises(ValueError, match="position_ids holds 40"):
        ours(torch.ones(1, 2, dtype=torch.long), position_ids=torch.tensor([[0, 40]]))
    with pytest.raises(ValueError, match=r"attention_mask has shape \(1, 3\)"):
        ours(torch.ones(1, 2, dtype=torch.long), attention_mask=torch.ones(1, 3))
    with pytest.raises(ValueError, match="exactly one of input_ids and inputs_embeds"):
        ours()
