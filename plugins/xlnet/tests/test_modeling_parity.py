"""XLNet against its oracle, transformers 5.x: the same weights and inputs give the same
outputs (within 1e-5) for every head, on padded batches with segments, with perm_mask
and target_mapping (the two-stream permutation LM), and with mems fed back over two
segments; checkpoints move both ways (safetensors and .bin); a pytorch-transformers 1.x
folder loads through AutoModel; bad inputs fail clearly."""

from __future__ import annotations

import json

import pytest
import torch

transformers = pytest.importorskip("transformers")

from plugformers import AutoModel, AutoModelForCausalLM  # noqa: E402
from plugformers.configuration_utils import ConfigError  # noqa: E402
from plugformers_xlnet import modeling  # noqa: E402
from plugformers_xlnet.configuration import XLNetConfig  # noqa: E402

pytestmark = pytest.mark.oracle

VOCAB = 99
BASE = dict(vocab_size=VOCAB, d_model=32, n_layer=2, n_head=4, d_inner=37)
# Between them every option of the encoder and of the heads' pooling.
CONFIGS = {
    "default": {},
    "uni-same-length-clamped-untied": dict(attn_type="uni", same_length=True, clamp_len=3, mem_len=4, untie_r=False,
                                           tie_word_embeddings=False, ff_activation="relu", summary_type="first",
                                           summary_activation="", n_layer=3),
    "bi-data-reuse-mean": dict(bi_data=True, reuse_len=3, mem_len=5, summary_type="mean", summary_use_proj=False,
                               num_labels=3, ff_activation="gelu_new", start_n_top=3, end_n_top=2),
    "cls-index-no-mem-limit": dict(summary_type="cls_index", clamp_len=2, mem_len=None, n_head=2, layer_norm_eps=1e-5,
                                   use_mems_eval=False),
}
HEADS = {
    "base": "XLNetModel",
    "causal-lm": "XLNetLMHeadModel",
    "sequence-classification": "XLNetForSequenceClassification",
    "token-classification": "XLNetForTokenClassification",
    "multiple-choice": "XLNetForMultipleChoice",
    "question-answering": "XLNetForQuestionAnsweringSimple",
    "question-answering-beam": "XLNetForQuestionAnswering",
}
BATCH, CHOICES, SEQ, PREDICT = 4, 2, 7, 2
ATOL = RTOL = 1e-5


def build(head: str, extra: dict, seed: int = 0):
    """(ours, theirs): transformers' model, seeded, and ours loaded from its state dict, strictly."""
    kwargs = {**BASE, **extra}
    if head == "question-answering":
        kwargs["num_labels"] = 2  # a start and an end score per token
    torch.manual_seed(seed)
    theirs = getattr(transformers, HEADS[head])(transformers.XLNetConfig(**kwargs)).eval()
    ours = getattr(modeling, HEADS[head])(XLNetConfig(**kwargs)).eval()
    assert list(ours.state_dict()) == list(theirs.state_dict()), f"{head}: state-dict keys differ"
    ours.load_state_dict(theirs.state_dict(), strict=True)
    return ours, theirs


def head_inputs(head: str, kind: str, num_labels: int, seed: int = 1, labels: bool = True) -> dict:
    """A batch of one of three kinds: "plain" (ids and segments), "padded" (left and right
    padding in the attention mask), "permuted" (perm_mask and target_mapping, padding as
    input_mask); plus the labels of the head's loss."""
    g = torch.Generator().manual_seed(seed)
    shape = (BATCH, CHOICES, SEQ) if head == "multiple-choice" else (BATCH, SEQ)
    flat = (BATCH * CHOICES, SEQ) if head == "multiple-choice" else (BATCH, SEQ)
    inputs = {"input_ids": torch.randint(0, VOCAB, shape, generator=g),
              "token_type_ids": torch.randint(0, 2, shape, generator=g)}
    if kind == "padded":
        mask = torch.ones(shape)
        mask[1, ..., :3] = 0
        mask[2, ..., SEQ - 2:] = 0
        inputs["attention_mask"] = mask
    elif kind == "permuted":
        pad = torch.zeros(shape)
        pad[3, ..., :2] = 1
        inputs["input_mask"] = pad
        inputs["perm_mask"] = (torch.rand(*flat, SEQ, generator=g) > 0.6).float()
        mapping = torch.zeros(flat[0], PREDICT, SEQ)
        mapping[:, 0, 2] = mapping[:, 1, SEQ - 1] = 1.0
        inputs["target_mapping"] = mapping
    if not labels:
        return inputs
    scored = PREDICT if kind == "permuted" else SEQ
    if head == "causal-lm":
        inputs["labels"] = torch.randint(0, VOCAB, (BATCH, scored), generator=g)
    elif head == "sequence-classification":
        inputs["labels"] = torch.randint(0, num_labels, (BATCH,), generator=g)
    elif head == "token-classification":
        inputs["labels"] = torch.randint(0, num_labels, (BATCH, scored), generator=g)
    elif head == "multiple-choice":
        inputs["labels"] = torch.randint(0, CHOICES, (BATCH,), generator=g)
    elif head in ("question-answering", "question-answering-beam"):
        inputs["start_positions"] = torch.randint(0, scored, (BATCH,), generator=g)
        inputs["end_positions"] = torch.randint(0, scored, (BATCH,), generator=g)
        if head == "question-answering-beam":
            inputs["cls_index"] = torch.randint(0, scored, (BATCH,), generator=g)
            inputs["is_impossible"] = torch.randint(0, 2, (BATCH,), generator=g).float()
    return inputs


def assert_same(ours, theirs, what: str) -> None:
    """Every field of our output equals transformers' (mems, hidden states and the
    attentions of both streams entry by entry)."""
    assert ours.keys() == [k for k in theirs.keys() if theirs[k] is not None], f"{what}: fields {ours.keys()}"
    for key in ours.keys():
        _assert_close(ours[key], theirs[key], f"{what}: {key}")


def _assert_close(a, b, what: str) -> None:
    if isinstance(a, torch.Tensor):
        assert torch.isfinite(a.float()).all(), f"{what} holds NaN or inf"
        torch.testing.assert_close(a, b, atol=ATOL, rtol=RTOL, msg=lambda m: f"{what}: {m}")
    else:
        assert isinstance(a, (tuple, list)) and len(a) == len(b) > 0, f"{what}: {len(a)} entries, transformers {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_close(x, y, f"{what}[{i}]")


def kinds_for(config_name: str) -> list[str]:
    # transformers' XLNet cannot combine attn_type="uni" with a padding or permutation mask
    # (an in-place broadcast fails), so the causal configs run unmasked there.
    return ["plain"] if CONFIGS[config_name].get("attn_type") == "uni" else ["plain", "padded", "permuted"]


# --------------------------------------------------------------------------- every head


@pytest.mark.parametrize("config_name", list(CONFIGS))
@pytest.mark.parametrize("head", list(HEADS))
def test_head_matches_transformers(head, config_name):
    ours, theirs = build(head, CONFIGS[config_name])
    n = ours.config.num_labels
    for kind in kinds_for(config_name):
        if head == "question-answering-beam" and kind == "permuted":
            continue  # the SQuAD head reads every position, not a prediction subset
        what = f"{head}/{config_name}/{kind}"
        inputs = head_inputs(head, kind, n)
        with torch.no_grad():
            assert_same(ours(**inputs), theirs(**inputs), what + " (with labels)")
            plain = {k: v for k, v in head_inputs(head, kind, n, labels=False).items()}
            assert_same(ours(**plain, output_hidden_states=True, output_attentions=True),
                        theirs(**plain, output_hidden_states=True, output_attentions=True), what)
            as_tuple = ours(**plain, return_dict=False)
            assert isinstance(as_tuple, tuple) and len(as_tuple) == len(theirs(**plain, return_dict=False))


@pytest.mark.parametrize("config_name", list(CONFIGS))
@pytest.mark.parametrize("head", ["base", "causal-lm", "token-classification", "question-answering-beam"])
def test_mems_over_two_segments_match_transformers(head, config_name):
    """Segment 1, then segment 2 with segment 1's mems (then segment 3 with those): the
    outputs and the mems each call returns equal transformers'."""
    ours, theirs = build(head, CONFIGS[config_name])
    g = torch.Generator().manual_seed(3)
    ours_mems = theirs_mems = None
    for segment in range(3):
        ids = torch.randint(0, VOCAB, (BATCH, SEQ - segment), generator=g)
        types = torch.randint(0, 2, ids.shape, generator=g)
        with torch.no_grad():
            a = ours(ids, token_type_ids=types, mems=ours_mems, use_mems=True)
            b = theirs(ids, token_type_ids=types, mems=theirs_mems, use_mems=True)
        assert_same(a, b, f"{head}/{config_name}/segment {segment}")
        assert len(a.mems) == ours.config.n_layer
        expected_len = min(x for x in (ours.config.mem_len or 99, (ours.config.reuse_len or 99) * (segment + 1),
                                       sum(SEQ - s for s in range(segment + 1))))
        assert a.mems[0].shape == (expected_len, BATCH, ours.config.d_model)
        ours_mems, theirs_mems = a.mems, b.mems


def test_mems_follow_use_mems_and_the_configs_train_eval_defaults():
    ours, _ = build("base", CONFIGS["default"])
    ids = torch.randint(0, VOCAB, (2, 5))
    with torch.no_grad():
        assert ours(ids).mems is not None  # use_mems_eval=True
        assert ours(ids, use_mems=False).mems is None
        assert ours(ids, use_cache=False).mems is None  # the generic name, when use_mems is not given
        ours.train()
        assert ours(ids).mems is None  # use_mems_train=False
        assert ours(ids, use_mems=True).mems[0].shape == (5, 2, 32)


def test_uni_attention_is_causal_and_masks_combine_with_it():
    """What transformers cannot run (causal attention with a padding or permutation mask):
    checked against its own definition. Right padding does not change the earlier
    positions of a causal model, and hiding a token with perm_mask from the positions
    after it equals what they see when it is absent from their view through the mask."""
    ours, theirs = build("base", CONFIGS["uni-same-length-clamped-untied"] | {"same_length": False})
    ids = torch.randint(0, VOCAB, (2, SEQ), generator=torch.Generator().manual_seed(4))
    mask = torch.ones(2, SEQ)
    mask[1, 5:] = 0
    with torch.no_grad():
        full = ours(ids).last_hidden_state
        torch.testing.assert_close(full, theirs(ids).last_hidden_state, atol=ATOL, rtol=RTOL)
        padded = ours(ids, attention_mask=mask).last_hidden_state
        torch.testing.assert_close(padded[:, :5], full[:, :5], atol=ATOL, rtol=RTOL)
        torch.testing.assert_close(padded[0], full[0], atol=ATOL, rtol=RTOL)
        prefix = ours(ids[:, :4]).last_hidden_state
        torch.testing.assert_close(full[:, :4], prefix, atol=ATOL, rtol=RTOL)


def test_inputs_embeds_and_input_mask_equal_their_counterparts():
    ours, theirs = build("causal-lm", CONFIGS["default"])
    inputs = head_inputs("causal-lm", "padded", 2, labels=False)
    embeds = ours.transformer.word_embedding(inputs["input_ids"])
    with torch.no_grad():
        a = ours(**inputs).logits
        b = ours(inputs_embeds=embeds, attention_mask=inputs["attention_mask"],
                 token_type_ids=inputs["token_type_ids"]).logits
        c = ours(inputs["input_ids"], input_mask=1 - inputs["attention_mask"],
                 token_type_ids=inputs["token_type_ids"]).logits
        d = theirs(inputs_embeds=embeds, attention_mask=inputs["attention_mask"],
                   token_type_ids=inputs["token_type_ids"]).logits
    for x in (b, c, d):
        torch.testing.assert_close(x, a, atol=ATOL, rtol=RTOL)


def test_logits_to_keep_scores_only_the_last_positions():
    ours, theirs = build("causal-lm", CONFIGS["default"])
    ids = torch.randint(0, VOCAB, (2, SEQ))
    with torch.no_grad():
        full = ours(ids).logits
        kept = ours(ids, logits_to_keep=1).logits
        torch.testing.assert_close(kept, theirs(ids, logits_to_keep=1).logits, atol=ATOL, rtol=RTOL)
    torch.testing.assert_close(kept, full[:, -1:], atol=ATOL, rtol=RTOL)


# --------------------------------------------------------------------------- checkpoints


@pytest.mark.parametrize("safe", [True, False])
@pytest.mark.parametrize("config_name", ["default", "uni-same-length-clamped-untied"])
def test_checkpoints_move_both_ways(tmp_path, safe, config_name):
    ours, theirs = build("causal-lm", CONFIGS[config_name])
    ids = torch.randint(0, VOCAB, (2, SEQ), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        expected = theirs(ids).logits
    tied = ours.config.tie_word_embeddings
    # ours -> transformers
    ours.save_pretrained(tmp_path / "ours", safe_serialization=safe)
    saved = {p.name for p in (tmp_path / "ours").iterdir()}
    assert ("model.safetensors" if safe else "pytorch_model.bin") in saved
    loaded = transformers.XLNetLMHeadModel.from_pretrained(tmp_path / "ours").eval()
    # theirs -> ours: transformers writes safetensors; a .bin is its state dict saved by torch
    theirs_dir = tmp_path / "theirs"
    theirs.save_pretrained(theirs_dir)
    if not safe:
        (theirs_dir / "model.safetensors").unlink()
        torch.save(theirs.state_dict(), theirs_dir / "pytorch_model.bin")
    back, info = modeling.XLNetLMHeadModel.from_pretrained(theirs_dir, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"], info
    assert (back.lm_loss.weight is back.transformer.word_embedding.weight) == tied
    if not tied:
        assert not torch.equal(back.lm_loss.weight, back.transformer.word_embedding.weight)
    with torch.no_grad():
        torch.testing.assert_close(loaded(ids).logits, expected, atol=ATOL, rtol=RTOL)
        torch.testing.assert_close(back(ids).logits, expected, atol=ATOL, rtol=RTOL)
    assert json.loads((tmp_path / "ours" / "config.json").read_text())["model_type"] == "xlnet"


def test_pytorch_transformers_1x_folder_loads_through_automodel(tmp_path):
    """pytorch-transformers 1.2.0 writes config.json without model_type and with n_token;
    the folder's name selects XLNet, and the outputs equal 1.x's own."""
    pt = pytest.importorskip("pytorch_transformers")
    config = pt.XLNetConfig(VOCAB, d_model=32, n_layer=2, n_head=4, d_inner=37)
    torch.manual_seed(0)
    legacy = pt.XLNetLMHeadModel(config).eval()
    folder = tmp_path / "my-xlnet-1x"
    folder.mkdir()
    legacy.save_pretrained(str(folder))
    stored = json.loads((folder / "config.json").read_text())
    assert "model_type" not in stored and stored["n_token"] == VOCAB
    ids = torch.randint(0, VOCAB, (2, SEQ), generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        expected_logits = legacy(ids)[0]
        expected_hidden = legacy.transformer(ids)[0]
    lm = AutoModelForCausalLM.from_pretrained(folder)
    base = AutoModel.from_pretrained(folder)
    assert isinstance(lm, modeling.XLNetLMHeadModel) and isinstance(base, modeling.XLNetModel)
    assert lm.config.vocab_size == VOCAB and lm.config.mem_len is None and lm.config.untie_r is True
    with torch.no_grad():
        torch.testing.assert_close(lm(ids).logits, expected_logits, atol=ATOL, rtol=RTOL)
        torch.testing.assert_close(base(ids).last_hidden_state, expected_hidden, atol=ATOL, rtol=RTOL)


def test_config_matches_transformers_fields_and_defaults():
    ours, theirs = XLNetConfig().to_dict(), transformers.XLNetConfig().to_dict()
    shared = set(theirs) - {"transformers_version", "_name_or_path"}
    assert shared <= set(ours)
    assert {k: ours[k] for k in shared} == {k: theirs[k] for k in shared}
    config = XLNetConfig(hidden_size=64, num_attention_heads=8, num_hidden_layers=3, n_token=50)
    assert (config.d_model, config.n_head, config.n_layer, config.vocab_size, config.d_head) == (64, 8, 3, 50, 8)
    assert config.max_position_embeddings == -1
    # what transformers reads back from our config.json
    theirs_back = transformers.XLNetConfig.from_dict(json.loads(config.to_json_string()))
    assert (theirs_back.d_model, theirs_back.d_head, theirs_back.vocab_size) == (64, 8, 50)


def test_config_rules_name_the_fields():
    with pytest.raises(ConfigError, match=r"d_model=30 is not a multiple of n_head=4"):
        XLNetConfig(d_model=30, n_head=4)
    with pytest.raises(ConfigError, match=r"attn_type='both' must be 'bi'"):
        XLNetConfig(attn_type="both")
    with pytest.raises(ConfigError, match=r"d_head=7 must equal d_model // n_head"):
        XLNetConfig(d_model=32, n_head=4, d_head=7)
    config = XLNetConfig(d_model=32, n_head=4, d_head=8)
    with pytest.raises(ConfigError, match="attn_type"):
        config.attn_type = "left"
    assert config.attn_type == "bi"


# --------------------------------------------------------------------------- bad input


def test_bad_inputs_name_the_argument_and_both_shapes():
    ours, _ = build("causal-lm", CONFIGS["default"])
    ids = torch.randint(0, VOCAB, (2, 5))
    with pytest.raises(ValueError, match=r"perm_mask has shape \(2, 5, 4\), but it needs \(batch, seq, seq\) = \(2, 5, 5\)"):
        ours(ids, perm_mask=torch.zeros(2, 5, 4))
    with pytest.raises(ValueError, match=r"target_mapping has shape \(2, 5\), but it needs "
                                         r"\(batch, num_predict, seq\) = \(2, num_predict, 5\)"):
        ours(ids, target_mapping=torch.zeros(2, 5))
    with pytest.raises(ValueError, match=r"target_mapping has shape \(3, 1, 5\)"):
        ours(ids, target_mapping=torch.zeros(3, 1, 5))
    mems = ours(ids).mems
    with pytest.raises(ValueError, match=r"mems\[0\] has shape \(5, 2, 32\), but it needs "
                                         r"\(mem_len, batch, d_model\) = \(5, 3, 32\)"):
        ours(torch.randint(0, VOCAB, (3, 4)), mems=mems)
    with pytest.raises(ValueError, match=r"mems\[1\] has shape \(5, 32\)"):
        ours(ids, mems=(mems[0], mems[1][:, 0]))
    with pytest.raises(ValueError, match=r"mems holds 1 tensors, but the model has 2 layers"):
        ours(ids, mems=mems[:1])
    with pytest.raises(ValueError, match=r"attention_mask has shape \(2, 4\), but it needs \(batch, seq\) = \(2, 5\)"):
        ours(ids, attention_mask=torch.ones(2, 4))
    with pytest.raises(ValueError, match="not both"):
        ours(ids, attention_mask=torch.ones(2, 5), input_mask=torch.zeros(2, 5))
    with pytest.raises(ValueError, match=r"id 99, outside the vocabulary"):
        ours(torch.tensor([[1, VOCAB]]))
    bi, _ = build("base", CONFIGS["bi-data-reuse-mean"])
    with pytest.raises(ValueError, match=r"bi_data=True .* 3 sequences"):
        bi(torch.randint(0, VOCAB, (3, 5)))


# --------------------------------------------------------------------------- training


def test_gradient_checkpointing_gives_the_same_gradients():
    ours, _ = build("causal-lm", dict(dropout=0.0, summary_last_dropout=0.0))
    inputs = head_inputs("causal-lm", "permuted", 2)
    ours.train()
    ours(**inputs).loss.backward()
    plain = [p.grad.clone() for p in ours.parameters()]
    ours.zero_grad()
    ours.gradient_checkpointing_enable()
    assert ours.is_gradient_checkpointing
    ours(**inputs).loss.backward()
    for a, p in zip(plain, ours.parameters(), strict=True):
        torch.testing.assert_close(p.grad, a, atol=1e-6, rtol=1e-6)


def test_training_losses_and_gradients_match_transformers_without_dropout():
    ours, theirs = build("question-answering-beam", dict(dropout=0.0, summary_last_dropout=0.0))
    ours.train()
    theirs.train()
    inputs = head_inputs("question-answering-beam", "padded", 2)
    a, b = ours(**inputs), theirs(**inputs)
    torch.testing.assert_close(a.loss, b.loss, atol=ATOL, rtol=RTOL)
    a.loss.backward()
    b.loss.backward()
    grads = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        torch.testing.assert_close(p.grad, grads[name].grad, atol=ATOL, rtol=1e-4, msg=name)
