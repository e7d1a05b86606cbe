"""Transformer-XL against pytorch-transformers 1.2.0: the same weights and inputs give the
same hidden states, mems, attentions, log-probabilities and NLLs over consecutive
segments; 1.x folders load here and our saves load there; bad input fails clearly."""

from __future__ import annotations

import json

import pytest
import torch

ptt = pytest.importorskip("pytorch_transformers")

from plugformers import AutoConfig, AutoModel, AutoModelForCausalLM  # noqa: E402
from plugformers_transfo_xl.configuration import TransfoXLConfig  # noqa: E402
from plugformers_transfo_xl.modeling import (  # noqa: E402
    TransfoXLForSequenceClassification,
    TransfoXLLMHeadModel,
    TransfoXLModel,
)

VOCAB = 60
# Two configs that between them flip every option the architecture has.
CONFIGS = {
    "div2-prenorm-shared-r": dict(
        cutoffs=[10, 30], div_val=2, d_model=16, d_embed=24, n_head=2, d_head=8, d_inner=32, n_layer=2,
        tgt_len=5, mem_len=8, clamp_len=6, same_length=True, pre_lnorm=True, untie_r=False,
        proj_share_all_but_first=True,
    ),
    "div1-postnorm-untied-r": dict(
        cutoffs=[20], div_val=1, d_model=16, d_embed=12, n_head=4, d_head=4, d_inner=24, n_layer=3,
        tgt_len=5, mem_len=6, clamp_len=-1, same_length=False, pre_lnorm=False, untie_r=True,
        proj_share_all_but_first=False,
    ),
    "no-clusters": dict(
        cutoffs=[], div_val=1, d_model=16, d_embed=16, n_head=2, d_head=8, d_inner=24, n_layer=2,
        tgt_len=5, mem_len=4, clamp_len=3, same_length=True, pre_lnorm=False, untie_r=True,
    ),
}


def oracle_pair(kind: str, head: str = "lm", **flags):
    """A 1.2.0 model with perturbed (distinct) weights, and ours with its state dict."""
    kw = CONFIGS[kind]
    torch.manual_seed(0)
    oc = ptt.TransfoXLConfig(vocab_size_or_config_json_file=VOCAB, **kw)
    for name, value in flags.items():
        setattr(oc, name, value)
    oracle = (ptt.TransfoXLLMHeadModel if head == "lm" else ptt.TransfoXLModel)(oc)
    with torch.no_grad():
        for p in oracle.parameters():
            p.add_(torch.randn(p.shape) * 0.1)
    oracle.eval()
    config = TransfoXLConfig(vocab_size=VOCAB, **kw, **flags)
    cls = TransfoXLLMHeadModel if head == "lm" else TransfoXLModel
    ours = cls(config)
    missing, unexpected = ours.load_state_dict(oracle.state_dict(), strict=False)
    assert not missing and not unexpected, (missing, unexpected)
    ours.tie_weights()
    return oracle, ours.eval()


def segments(n: int = 2, batch: int = 3, length: int = 5):
    g = torch.Generator().manual_seed(1)
    return [torch.randint(0, VOCAB, (batch, length), generator=g) for _ in range(n)]


def close(a, b, what):
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5, msg=what)


@pytest.mark.parametrize("kind", list(CONFIGS))
def test_state_dict_keys_are_1x_keys(kind):
    oracle, ours = oracle_pair(kind)
    assert set(ours.state_dict()) == set(oracle.state_dict())
    base_oracle, base = oracle_pair(kind, head="base")
    assert set(base.state_dict()) == set(base_oracle.state_dict())


@pytest.mark.parametrize("kind", list(CONFIGS))
def test_base_model_over_two_segments(kind):
    oracle, ours = oracle_pair(kind, head="base", output_hidden_states=True, output_attentions=True)
    # 1.x reads these flags when building its layers: rebuild with them set
    mems_o = mems_p = None
    for step, ids in enumerate(segments(3)):
        with torch.no_grad():
            expected = oracle(ids, mems=mems_o)
            got = ours(ids, mems=mems_p)
        close(got.last_hidden_state, expected[0], f"{kind} segment {step}: last_hidden_state")
        assert len(got.mems) == len(expected[1])
        for i, (a, b) in enumerate(zip(got.mems, expected[1])):
            close(a, b, f"{kind} segment {step}: mems[{i}]")
        assert len(got.hidden_states) == len(expected[2])
        for i, (a, b) in enumerate(zip(got.hidden_states, expected[2])):
            close(a, b, f"{kind} segment {step}: hidden_states[{i}]")
        for i, (a, b) in enumerate(zip(got.attentions, expected[3])):
            close(a, b, f"{kind} segment {step}: attentions[{i}]")
        mems_o, mems_p = expected[1], got.mems


@pytest.mark.parametrize("kind", list(CONFIGS))
def test_lm_head_log_probs_and_nll_over_two_segments(kind):
    oracle, ours = oracle_pair(kind)
    first, second = segments(2)
    with torch.no_grad():
        expected = oracle(first)
        got = ours(first)
        close(got.logits, expected[0], f"{kind}: log-probs, first segment")
        assert got.prediction_scores is got.logits and got[0] is got.logits
        close(got.logits.exp().sum(-1), torch.ones(3, 5), f"{kind}: probabilities sum to 1")
        labels = torch.roll(second, -1, dims=1)
        oracle.crit.keep_order = True  # 1.x groups the NLLs by cluster otherwise
        expected2 = oracle(second, labels=labels, mems=expected[1])
        got2 = ours(second, labels=labels, mems=got.mems)
        close(got2.losses, expected2[0], f"{kind}: per-token NLL, second segment")
        close(got2.loss, expected2[0].mean(), f"{kind}: mean loss")
        for a, b in zip(got2.mems, expected2[2]):
            close(a, b, f"{kind}: mems after the second segment")
        oracle.crit.keep_order = False
        grouped = oracle(second, labels=labels, mems=expected[1])[0]
        close(got2.losses.reshape(-1).sort().values, grouped.reshape(-1).sort().values, f"{kind}: 1.x's order")
        # the scores and the NLLs agree
        scores = ours(second, mems=got.mems).logits
        close(-scores.gather(-1, labels[..., None]).squeeze(-1), got2.losses, f"{kind}: NLL vs log-probs")


def test_ignored_labels_and_head_mask():
    oracle, ours = oracle_pair("div2-prenorm-shared-r")
    (ids,) = segments(1)
    labels = ids.clone()
    labels[0, :2] = -100
    with torch.no_grad():
        out = ours(ids, labels=labels)
        assert torch.all(out.losses[0, :2] == 0)
        close(out.loss, out.losses.sum() / 13, "mean over the labelled tokens")
        head_mask = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        close(ours(ids, head_mask=head_mask).logits, oracle(ids, head_mask=head_mask)[0], "head_mask")


def test_weight_tying_as_1x():
    oracle, ours = oracle_pair("div2-prenorm-shared-r")
    for i in range(3):
        assert ours.crit.out_layers[i].weight is ours.transformer.word_emb.emb_layers[i].weight
    assert ours.crit.out_projs[0] is not ours.transformer.word_emb.emb_projs[0]  # tie_projs[0] is False
    assert ours.crit.out_projs[1] is ours.transformer.word_emb.emb_projs[1]
    assert ours.transformer.layers[1].dec_attn.r_w_bias is ours.transformer.r_w_bias
    _, untied = oracle_pair("div1-postnorm-untied-r")
    assert untied.crit.out_layers[0].weight is untied.transformer.word_emb.emb_layers[0].weight
    assert untied.crit.out_projs[1] is not untied.transformer.word_emb.emb_projs[0]
    config = TransfoXLConfig(vocab_size=VOCAB, **CONFIGS["div1-postnorm-untied-r"], tie_weight=False,
                             tie_projs=[False, True])
    model = TransfoXLLMHeadModel(config)
    assert model.crit.out_layers[0].weight is not model.transformer.word_emb.emb_layers[0].weight
    assert model.crit.out_projs[1] is model.transformer.word_emb.emb_projs[0]


def oracle_folder(tmp_path, kind="div2-prenorm-shared-r"):
    oracle, _ = oracle_pair(kind)
    folder = tmp_path / "transfo-xl-tiny"
    folder.mkdir()
    oracle.save_pretrained(str(folder))
    assert "model_type" not in json.loads((folder / "config.json").read_text())
    return oracle, folder


def test_1x_folder_loads_by_name_and_through_the_class(tmp_path):
    oracle, folder = oracle_folder(tmp_path)
    (ids,) = segments(1)
    with torch.no_grad():
        expected = oracle(ids)
    config = AutoConfig.from_pretrained(folder)
    assert isinstance(config, TransfoXLConfig) and config.vocab_size == VOCAB and config.tie_projs == [False, True, True]
    for model in (AutoModelForCausalLM.from_pretrained(folder), TransfoXLLMHeadModel.from_pretrained(folder)):
        assert isinstance(model, TransfoXLLMHeadModel)
        with torch.no_grad():
            close(model(ids).logits, expected[0], "1.x folder")
    base = AutoModel.from_pretrained(folder)
    assert isinstance(base, TransfoXLModel)
    with torch.no_grad():
        close(base(ids).last_hidden_state, oracle.transformer(ids)[0], "1.x folder, base model")


@pytest.mark.parametrize("kind", ["div2-prenorm-shared-r", "div1-postnorm-untied-r"])
def test_our_saves_load_here_and_in_1x(tmp_path, kind):
    oracle, ours = oracle_pair(kind)
    (ids,) = segments(1)
    with torch.no_grad():
        expected = ours(ids).logits
    ours.save_pretrained(tmp_path / "safe")
    saved = json.loads((tmp_path / "safe" / "config.json").read_text())
    assert saved["model_type"] == "transfo-xl" and saved["vocab_size"] == saved["n_token"] == VOCAB
    assert (tmp_path / "safe" / "model.safetensors").exists()
    again, info = TransfoXLLMHeadModel.from_pretrained(tmp_path / "safe", output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    with torch.no_grad():
        close(again(ids).logits, expected, "safetensors round trip")
    folder = tmp_path / "transfo-xl-bin"
    ours.save_pretrained(folder, safe_serialization=False)
    assert (folder / "pytorch_model.bin").exists()
    in_1x = ptt.TransfoXLLMHeadModel.from_pretrained(str(folder)).eval()
    with torch.no_grad():
        close(in_1x(ids)[0], expected, "our .bin in pytorch-transformers 1.2.0")


def test_config_reads_1x_names_and_checks_fields():
    config = TransfoXLConfig(vocab_size_or_config_json_file=100, cutoffs=[10], tie_weight=False)
    assert config.vocab_size == config.n_token == 100 and config.tie_word_embeddings is False
    defaults = ptt.TransfoXLConfig()
    ours = TransfoXLConfig()
    for name in ("n_token", "cutoffs", "d_model", "d_embed", "n_head", "d_head", "d_inner", "div_val", "pre_lnorm",
                 "n_layer", "tgt_len", "ext_len", "mem_len", "clamp_len", "same_length", "attn_type",
                 "sample_softmax", "adaptive", "tie_weight", "dropout", "dropatt", "untie_r", "init", "init_range",
                 "proj_init_std", "init_std", "tie_projs"):
        assert getattr(ours, name) == getattr(defaults, name) or name == "tie_projs", name
    assert ours.projection_ties() == defaults.tie_projs
    with pytest.raises(ValueError, match="attn_type=2 is not supported"):
        TransfoXLConfig(attn_type=2)
    with pytest.raises(ValueError, match="strictly increasing"):
        TransfoXLConfig(vocab_size=100, cutoffs=[50, 20])
    with pytest.raises(ValueError, match="below vocab_size=100"):
        TransfoXLConfig(vocab_size=100, cutoffs=[20, 100])


def test_bad_mems_name_the_argument_and_shapes():
    _, ours = oracle_pair("div2-prenorm-shared-r")
    (ids,) = segments(1)
    mems = ours(ids).mems
    with pytest.raises(ValueError, match=r"mems must hold one tensor per layer \(2\), got 1 tensors"):
        ours(ids, mems=mems[:1])
    with pytest.raises(ValueError, match=r"mems\[0\] has shape \(8, 3, 15\).*d_model=16"):
        ours(ids, mems=[m[..., :15] for m in mems])
    with pytest.raises(ValueError, match=r"batch=2"):
        ours(ids[:2], mems=mems)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        ours(ids + VOCAB)


def test_sequence_classification_reads_the_last_real_token():
    config = TransfoXLConfig(vocab_size=VOCAB, **CONFIGS["div2-prenorm-shared-r"], num_labels=3, pad_token_id=1)
    torch.manual_seed(0)
    model = TransfoXLForSequenceClassification(config).eval()
    ids = torch.randint(2, VOCAB, (2, 6))
    ids[1, 4:] = 1  # right padding
    with torch.no_grad():
        hidden = model.transformer(ids).last_hidden_state
        out = model(ids, labels=torch.tensor([0, 2]))
        expected = torch.stack([model.score(hidden[0, 5]), model.score(hidden[1, 3])])
        close(out.logits, expected, "last non-padding token")
        mask = torch.ones_like(ids)
        mask[0, 3:] = 0
        by_mask = model(ids, attention_mask=mask).logits
        close(by_mask[0], model.score(hidden[0, 2]), "last token the attention_mask keeps")
    assert out.loss.dim() == 0 and out.mems is not None
