"""GPT-2 against transformers 5.x: the same weights and inputs give the same outputs
(within 1e-5) for every head, on padded batches, with and without the cache; transformers'
folders and the original gpt2 checkpoint layout load; bad inputs fail clearly."""

from __future__ import annotations

import json
import math
import warnings

import pytest
import torch
import transformers

from plugformers import AutoModelForCausalLM
from plugformers.cache import KVCache
from plugformers_gpt2 import modeling
from plugformers_gpt2.configuration import GPT2Config

pytestmark = pytest.mark.oracle
transformers.logging.set_verbosity_error()

VOCAB, PAD = 99, 0
BASE = dict(vocab_size=VOCAB, n_positions=32, n_embd=32, n_layer=2, n_head=4, bos_token_id=98,
            eos_token_id=98, pad_token_id=PAD)
# At least three configs per head; between them every option the attention and the MLP have.
CONFIGS = {
    "default": {},
    "layer-scaled-upcast-relu-untied": dict(scale_attn_by_inverse_layer_idx=True, reorder_and_upcast_attn=True,
                                            n_inner=48, activation_function="relu", tie_word_embeddings=False),
    "gelu-unscaled-3-layers": dict(activation_function="gelu", scale_attn_weights=False, n_layer=3, n_head=2,
                                   n_inner=20, num_labels=3, summary_activation="tanh",
                                   summary_first_dropout=0.0),
}
HEADS = {
    "base": "GPT2Model",
    "causal-lm": "GPT2LMHeadModel",
    "double-heads": "GPT2DoubleHeadsModel",
    "sequence-classification": "GPT2ForSequenceClassification",
    "token-classification": "GPT2ForTokenClassification",
    "question-answering": "GPT2ForQuestionAnswering",
}
BATCH, CHOICES, SEQ = 3, 2, 9
ATOL = RTOL = 1e-5


def build(head: str, extra: dict, seed: int = 0):
    """(ours, theirs): transformers' model, seeded, and ours loaded from its state dict, strictly."""
    kwargs = {**BASE, **extra}
    torch.manual_seed(seed)
    theirs = getattr(transformers, HEADS[head])(transformers.GPT2Config(**kwargs)).eval()
    ours = getattr(modeling, HEADS[head])(GPT2Config(**kwargs)).eval()
    assert list(ours.state_dict()) == list(theirs.state_dict()), f"{head}: state-dict keys differ"
    ours.load_state_dict(theirs.state_dict(), strict=True)
    return ours, theirs


def padded_inputs(head: str, padding: str, num_labels: int, seed: int = 1) -> dict:
    """A batch whose rows have 0, 3 and 1 padding tokens, on the left or the right, plus
    every label the head's losses take."""
    g = torch.Generator().manual_seed(seed)
    shape = (BATCH, CHOICES, SEQ) if head == "double-heads" else (BATCH, SEQ)
    ids = torch.randint(1, VOCAB - 1, shape, generator=g)
    mask = torch.ones(shape, dtype=torch.long)
    for row, pads in ((1, 3), (2, 1)):
        if padding == "left":
            mask[row, ..., :pads] = 0
        elif padding == "right":
            mask[row, ..., SEQ - pads:] = 0
    ids[mask == 0] = PAD
    inputs = {"input_ids": ids, "attention_mask": mask}
    if head in ("causal-lm", "double-heads"):
        inputs["labels"] = ids.masked_fill(mask == 0, -100)
    if head == "double-heads":
        inputs["mc_token_ids"] = mask.sum(-1) - 1 if padding == "right" else torch.full(shape[:2], SEQ - 1)
        inputs["mc_labels"] = torch.randint(0, CHOICES, (BATCH,), generator=g)
    elif head == "sequence-classification":
        inputs["labels"] = torch.randint(0, num_labels, (BATCH,), generator=g)
    elif head == "token-classification":
        inputs["labels"] = torch.randint(0, num_labels, shape, generator=g).masked_fill(mask == 0, -100)
    elif head == "question-answering":
        inputs["start_positions"] = torch.randint(0, SEQ, (BATCH,), generator=g)
        inputs["end_positions"] = torch.randint(0, SEQ, (BATCH,), generator=g)
    return inputs


def assert_outputs_equal(ours, theirs, what: str) -> None:
    """Every tensor of our output equals transformers' (hidden states and attentions
    compared at our shapes; caches layer by layer)."""
    for key in ours.keys():
        a, b = ours[key], theirs[key]
        if isinstance(a, torch.Tensor):
            assert torch.isfinite(a).all(), f"{what}: {key} holds NaN or inf"
            torch.testing.assert_close(a, b, atol=ATOL, rtol=RTOL, msg=lambda m: f"{what}: {key}: {m}")
        elif isinstance(a, KVCache):
            assert len(a) == len(b.layers), f"{what}: cache has {len(a)} layers, transformers {len(b.layers)}"
            for i, (k, v) in enumerate(a):
                torch.testing.assert_close(k, b.layers[i].keys, atol=ATOL, rtol=RTOL)
                torch.testing.assert_close(v, b.layers[i].values, atol=ATOL, rtol=RTOL)
        elif isinstance(a, tuple):
            assert len(a) == len(b) > 0, f"{what}: {key} has {len(a)} entries, transformers {len(b)}"
            for i, (x, y) in enumerate(zip(a, b)):
                assert torch.isfinite(x).all(), f"{what}: {key}[{i}] holds NaN or inf"
                torch.testing.assert_close(x, y.reshape(x.shape), atol=ATOL, rtol=RTOL,
                                           msg=lambda m, i=i: f"{what}: {key}[{i}]: {m}")


# --------------------------------------------------------------------------- every head


@pytest.mark.parametrize("config_name", list(CONFIGS))
@pytest.mark.parametrize("head", list(HEADS))
def test_head_matches_transformers(head, config_name):
    ours, theirs = build(head, CONFIGS[config_name])
    for padding in ("none", "right", "left"):
        inputs = padded_inputs(head, padding, ours.config.num_labels)
        what = f"{head}/{config_name}/{padding} padding"
        with torch.no_grad():
            # transformers' default (SDPA) attention: a fully masked query row gives zeros, as ours
            assert_outputs_equal(ours(**inputs, output_hidden_states=True),
                                 theirs(**inputs, output_hidden_states=True), what)
            # attention probabilities come from transformers' eager attention
            theirs.set_attn_implementation("eager")
            try:
                assert_outputs_equal(ours(**inputs, output_attentions=True),
                                     theirs(**inputs, output_attentions=True), what + " (attentions)")
            finally:
                theirs.set_attn_implementation("sdpa")


@pytest.mark.parametrize("config_name", list(CONFIGS))
@pytest.mark.parametrize("padding", ["none", "left"])
def test_incremental_decoding_matches_full_pass(config_name, padding):
    ours, theirs = build("causal-lm", CONFIGS[config_name])
    inputs = padded_inputs("causal-lm", padding, 2)
    ids, mask = inputs["input_ids"], inputs["attention_mask"]
    with torch.no_grad():
        full = ours(ids, attention_mask=mask).logits
        torch.testing.assert_close(full, theirs(ids, attention_mask=mask).logits, atol=ATOL, rtol=RTOL)
        out = ours(ids[:, :4], attention_mask=mask[:, :4], use_cache=True)  # the prompt
        steps, past = [out.logits], out.past_key_values
        out = ours(ids[:, 4:6], past_key_values=past, attention_mask=mask[:, :6])  # two tokens at once after a past
        steps.append(out.logits)
        past = out.past_key_values
        for i in range(6, SEQ):  # then token by token, the mask growing; once through a legacy tuple
            given = past.to_legacy() if i == 7 else past
            out = ours(ids[:, i:i + 1], past_key_values=given, attention_mask=mask[:, :i + 1])
            steps.append(out.logits)
            past = out.past_key_values
        assert isinstance(past, KVCache) and past.get_seq_length() == SEQ
    incremental = torch.cat(steps, dim=1)
    assert torch.isfinite(incremental).all()
    torch.testing.assert_close(incremental, full, atol=ATOL, rtol=RTOL)


def test_incremental_decoding_without_mask_and_with_legacy_cache_matches_transformers():
    ours, theirs = build("causal-lm", CONFIGS["default"])
    ids = torch.randint(1, VOCAB, (2, 8), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        ref = theirs(ids).logits
        out = ours(ids[:, :5])
        past = tuple((k.clone(), v.clone()) for k, v in out.past_key_values)  # pytorch-transformers' layout
        steps = [out.logits]
        for i in range(5, 8):
            out = ours(ids[:, i:i + 1], past_key_values=past)
            steps.append(out.logits)
            past = out.past_key_values
    torch.testing.assert_close(torch.cat(steps, 1), ref, atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("keep", [1, 4, "tensor"])
def test_logits_to_keep_scores_only_those_positions_of_the_full_pass(keep):
    """What generation asks for (logits_to_keep=1): the full pass's logits at the kept
    positions, as transformers gives them."""
    ours, theirs = build("causal-lm", CONFIGS["layer-scaled-upcast-relu-untied"])
    inputs = padded_inputs("causal-lm", "left", 2)
    ids, mask = inputs["input_ids"], inputs["attention_mask"]
    keep = torch.tensor([0, 4, SEQ - 1]) if keep == "tensor" else keep
    with torch.no_grad():
        full = ours(ids, attention_mask=mask).logits  # (batch, seq, vocab)
        kept = ours(ids, attention_mask=mask, logits_to_keep=keep).logits
        reference = theirs(ids, attention_mask=mask, logits_to_keep=keep).logits
    expected = full[:, -keep:] if isinstance(keep, int) else full[:, keep]
    assert kept.shape == expected.shape == reference.shape and kept.is_contiguous()
    torch.testing.assert_close(kept, expected, atol=ATOL, rtol=RTOL)
    torch.testing.assert_close(kept, reference, atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("rows", [1, 2, 8, 65])
def test_vocab_projection_equals_a_linear_layer(rows, monkeypatch):
    """The LM head's weight-major product (taken here for any weight size) gives
    F.linear's logits (contiguous, same shape) and gradients, with and without a bias."""
    monkeypatch.setattr(modeling.GPT2VocabProjection, "weight_major_min_elements", 0)
    for bias in (False, True):
        torch.manual_seed(rows)
        head = modeling.GPT2VocabProjection(32, VOCAB, bias=bias)
        x = torch.randn(rows, 3, 32, requires_grad=True)  # (rows, seq, hidden)
        out = head(x)
        expected = torch.nn.functional.linear(x, head.weight, head.bias)
        assert out.shape == expected.shape == (rows, 3, VOCAB) and out.is_contiguous()
        torch.testing.assert_close(out, expected, atol=ATOL, rtol=RTOL)
        upstream = torch.randn_like(out)
        grads = torch.autograd.grad((out * upstream).sum(), [x, head.weight])
        expected_grads = torch.autograd.grad((expected * upstream).sum(), [x, head.weight])
        for got, want in zip(grads, expected_grads, strict=True):
            torch.testing.assert_close(got, want, atol=ATOL, rtol=RTOL)


def test_position_ids_from_the_mask_make_left_padding_transparent():
    """Positions counted over real tokens (what generation passes) give a left-padded row the
    outputs it has unpadded, in both libraries."""
    ours, theirs = build("causal-lm", CONFIGS["layer-scaled-upcast-relu-untied"])
    inputs = padded_inputs("causal-lm", "left", 2)
    ids, mask = inputs["input_ids"], inputs["attention_mask"]
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    with torch.no_grad():
        padded = ours(ids, attention_mask=mask, position_ids=positions).logits
        torch.testing.assert_close(padded, theirs(ids, attention_mask=mask, position_ids=positions).logits,
                                   atol=ATOL, rtol=RTOL)
        alone = ours(ids[1:2, 3:]).logits
    torch.testing.assert_close(padded[1:2, 3:], alone, atol=ATOL, rtol=RTOL)


def test_upcast_attention_in_bfloat16_matches_transformers_eager():
    ours, theirs = build("causal-lm", dict(reorder_and_upcast_attn=True, scale_attn_by_inverse_layer_idx=True))
    ours.to(torch.bfloat16)
    theirs.to(torch.bfloat16).set_attn_implementation("eager")
    inputs = padded_inputs("causal-lm", "right", 2)
    with torch.no_grad():
        a = ours(inputs["input_ids"], attention_mask=inputs["attention_mask"], output_attentions=True)
        b = theirs(inputs["input_ids"], attention_mask=inputs["attention_mask"], output_attentions=True)
    torch.testing.assert_close(a.logits, b.logits, atol=1e-2, rtol=1e-2)
    for x, y in zip(a.attentions, b.attentions):
        assert x.dtype == torch.bfloat16
        torch.testing.assert_close(x, y, atol=1e-2, rtol=1e-2)


# --------------------------------------------------------------------------- sequence classification


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


def test_sequence_classification_without_pad_token():
    ours, theirs = build("sequence-classification", dict(pad_token_id=None))
    ids = torch.randint(1, VOCAB, (2, 6), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():  # one sequence works: its last token is pooled
        torch.testing.assert_close(ours(ids[:1]).logits, theirs(ids[:1]).logits, atol=ATOL, rtol=RTOL)
    with pytest.raises(ValueError, match="pad_token_id"):
        ours(ids)


# --------------------------------------------------------------------------- checkpoints


def test_from_pretrained_reads_a_transformers_folder(tmp_path):
    _, theirs = build("causal-lm", CONFIGS["default"])
    theirs.save_pretrained(tmp_path)
    ours, info = modeling.GPT2LMHeadModel.from_pretrained(tmp_path, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"], info
    assert ours.lm_head.weight is ours.transformer.wte.weight
    ids = torch.randint(1, VOCAB, (2, 9), generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        torch.testing.assert_close(ours(ids).logits, theirs(ids).logits, atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("head", ["causal-lm", "double-heads"])
def test_untied_lm_head_matches_transformers_and_round_trips_key_for_key(head, tmp_path):
    from safetensors.torch import load_file

    extra = dict(tie_word_embeddings=False)
    ours, theirs = build(head, extra)
    with torch.no_grad():
        theirs.lm_head.weight.add_(torch.randn_like(theirs.lm_head.weight))  # unlike the embeddings
    theirs.save_pretrained(tmp_path / "theirs")
    loaded, info = getattr(modeling, HEADS[head]).from_pretrained(tmp_path / "theirs", output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"], info
    assert loaded.lm_head.weight is not loaded.transformer.wte.weight
    inputs = padded_inputs(head, "right", loaded.config.num_labels)
    with torch.no_grad():
        assert_outputs_equal(loaded(**inputs), theirs(**inputs), f"{head}/untied")
    loaded.save_pretrained(tmp_path / "ours")
    want = load_file(str(tmp_path / "theirs" / "model.safetensors"))
    got = load_file(str(tmp_path / "ours" / "model.safetensors"))
    assert sorted(got) == sorted(want) and "lm_head.weight" in got
    for key in want:
        assert torch.equal(got[key], want[key]), key
    back = getattr(transformers, HEADS[head]).from_pretrained(tmp_path / "ours").eval()
    with torch.no_grad():
        assert_outputs_equal(loaded(**inputs), back(**inputs), f"{head}/untied, back in transformers")


@pytest.mark.parametrize("summary", [dict(summary_type="mean"), dict(summary_type="first", summary_activation="tanh"),
                                     dict(summary_type="last"), dict(summary_type="cls_index")])
def test_double_heads_summary_types_match_transformers(summary):
    """summary types "mean", "first" and "last" work on dimension 1 of (batch, choices,
    seq, hidden), the choices, as transformers does: mc_logits are (batch, seq);
    "cls_index" gives (batch, choices)."""
    ours, theirs = build("double-heads", summary)
    inputs = padded_inputs("double-heads", "right", 1)
    inputs["mc_labels"] = torch.randint(0, CHOICES, (BATCH,), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        out = ours(**inputs)
        assert_outputs_equal(out, theirs(**inputs), f"double-heads/{summary}")
    want = (BATCH, CHOICES) if summary["summary_type"] == "cls_index" else (BATCH, SEQ)
    assert tuple(out.mc_logits.shape) == want
    assert out.mc_loss is not None and torch.isfinite(out.mc_loss)


def test_original_gpt2_layout_loads(tmp_path):
    """gpt2's own checkpoint: keys without `transformer.`, the causal-mask buffers
    `h.N.attn.bias` / `h.N.attn.masked_bias`, no lm_head (tied), a 1.x config.json."""
    _, theirs = build("causal-lm", CONFIGS["default"])
    n = BASE["n_positions"]
    state = {k.removeprefix("transformer."): v.clone() for k, v in theirs.state_dict().items() if k != "lm_head.weight"}
    for i in range(BASE["n_layer"]):
        state[f"h.{i}.attn.bias"] = torch.tril(torch.ones(n, n)).view(1, 1, n, n)
        state[f"h.{i}.attn.masked_bias"] = torch.tensor(-1e4)
    folder = tmp_path / "gpt2-original"
    folder.mkdir()
    torch.save(state, folder / "pytorch_model.bin")
    legacy = {"vocab_size": VOCAB, "n_ctx": n, "n_positions": n, "n_embd": BASE["n_embd"], "n_layer": BASE["n_layer"],
              "n_head": BASE["n_head"], "layer_norm_epsilon": 1e-5, "initializer_range": 0.02, "output_past": True,
              "num_labels": 1, "summary_type": "cls_index", "torchscript": False, "output_attentions": False}
    (folder / "config.json").write_text(json.dumps(legacy))
    ids = torch.randint(1, VOCAB, (2, 9), generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        expected = theirs(ids).logits
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the 1.x keys are kept without a near-miss warning
        ours, info = modeling.GPT2LMHeadModel.from_pretrained(folder, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"], info
    assert ours.config.model_extra["n_ctx"] == n
    auto = AutoModelForCausalLM.from_pretrained(folder)  # no model_type: found by the name pattern
    assert isinstance(auto, modeling.GPT2LMHeadModel)
    with torch.no_grad():
        torch.testing.assert_close(ours(ids).logits, expected, atol=ATOL, rtol=RTOL)
        torch.testing.assert_close(auto(ids).logits, expected, atol=ATOL, rtol=RTOL)


def test_config_matches_transformers_fields_and_defaults():
    ours, theirs = GPT2Config().to_dict(), transformers.GPT2Config().to_dict()
    shared = set(theirs) - {"transformers_version", "_name_or_path"}
    assert shared <= set(ours)
    assert {k: ours[k] for k in shared} == {k: theirs[k] for k in shared}
    config = GPT2Config(hidden_size=64, num_attention_heads=8, num_hidden_layers=3, max_position_embeddings=128)
    assert (config.n_embd, config.n_head, config.n_layer, config.n_positions) == (64, 8, 3, 128)
    with pytest.raises(ValueError, match=r"n_embd=30 .* n_head=4"):
        GPT2Config(n_embd=30, n_head=4)


def test_init_scales_residual_projections():
    torch.manual_seed(0)
    model = modeling.GPT2Model(GPT2Config(n_embd=256, n_layer=8, n_head=4, vocab_size=50, n_positions=16))
    block = model.h[0]
    assert abs(block.attn.c_attn.weight.std().item() - 0.02) < 2e-3
    for proj in (block.attn.c_proj, block.mlp.c_proj):
        assert abs(proj.weight.std().item() - 0.02 / math.sqrt(16)) < 1e-3
        assert proj.bias.abs().sum() == 0


# --------------------------------------------------------------------------- bad input


def test_bad_inputs_fail_clearly():
    ours, _ = build("causal-lm", CONFIGS["default"])
    with pytest.raises(ValueError, match=r"id 99, outside the vocabulary"):
        ours(torch.tensor([[1, 2, VOCAB]]))
    with pytest.raises(ValueError, match=r"sequence length 33, longer than the model's 32 positions"):
        ours(torch.ones(1, 33, dtype=torch.long))
    past = ours(torch.ones(1, 30, dtype=torch.long)).past_key_values
    with pytest.raises(ValueError, match=r"sequence length 33"):
        ours(torch.ones(1, 3, dtype=torch.long), past_key_values=past)
    assert past.get_seq_length() == 30  # a failed call leaves the cache as it was
    with pytest.raises(ValueError, match=r"attention_mask has shape \(1, 1\), expected \(1, 31\)"):
        ours(torch.ones(1, 1, dtype=torch.long), past_key_values=past, attention_mask=torch.ones(1, 1))
    with pytest.raises(ValueError, match="position_ids holds 40"):
        ours(torch.ones(1, 2, dtype=torch.long), position_ids=torch.tensor([[0, 40]]))


def test_gradient_checkpointing_gives_the_same_gradients():
    ours, _ = build("causal-lm", dict(resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0))
    ids = torch.randint(1, VOCAB, (2, 9), generator=torch.Generator().manual_seed(8))
    ours.train()
    ours(ids, labels=ids).loss.backward()
    plain = [p.grad.clone() for p in ours.parameters()]
    ours.zero_grad()
    ours.gradient_checkpointing_enable()
    out = ours(ids, labels=ids)
    assert out.past_key_values is None
    out.loss.backward()
    for a, p in zip(plain, ours.parameters()):
        torch.testing.assert_close(p.grad, a, atol=1e-6, rtol=1e-6)
