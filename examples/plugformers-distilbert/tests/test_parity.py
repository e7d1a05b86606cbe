"""DistilBERT against transformers: a checkpoint transformers writes, loaded through
plugformers' Auto classes (so through this plugin's entry point), gives the same numbers.

For every head this plugin ships and two tiny configs: transformers builds a random
model and saves it; ``AutoModelFor...from_pretrained`` loads the folder; logits, losses,
every hidden state and every attention probability agree within 1e-5 on a right-padded
batch. Then the other direction: what plugformers saves, transformers loads.
"""

from __future__ import annotations

import warnings

import pytest
import torch

transformers = pytest.importorskip("transformers")

import plugformers  # noqa: E402

pytestmark = pytest.mark.oracle

ATOL = RTOL = 1e-5

# head key -> (plugformers Auto class, transformers class)
HEADS = {
    "base": ("AutoModel", "DistilBertModel"),
    "masked-lm": ("AutoModelForMaskedLM", "DistilBertForMaskedLM"),
    "sequence-classification": ("AutoModelForSequenceClassification", "DistilBertForSequenceClassification"),
    "token-classification": ("AutoModelForTokenClassification", "DistilBertForTokenClassification"),
    "question-answering": ("AutoModelForQuestionAnswering", "DistilBertForQuestionAnswering"),
    "multiple-choice": ("AutoModelForMultipleChoice", "DistilBertForMultipleChoice"),
}

CONFIGS = {
    "2x32-4heads": dict(vocab_size=99, dim=32, n_layers=2, n_heads=4, hidden_dim=37, max_position_embeddings=64,
                        num_labels=3),
    "1x24-2heads-relu-sinusoidal": dict(vocab_size=53, dim=24, n_layers=1, n_heads=2, hidden_dim=50,
                                        max_position_embeddings=20, activation="relu", sinusoidal_pos_embds=True,
                                        pad_token_id=None, num_labels=1),
}
BATCH, SEQ, CHOICES, LENGTHS = 3, 10, 2, (10, 7, 4)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: threads cost more than they save
    yield
    torch.set_num_threads(threads)


def _inputs(config: dict, head: str, *, labels: bool) -> dict:
    g = torch.Generator().manual_seed(7)
    shape = (BATCH, CHOICES, SEQ) if head == "multiple-choice" else (BATCH, SEQ)
    input_ids = torch.randint(1, config["vocab_size"], shape, generator=g)
    mask = torch.zeros(shape, dtype=torch.long)
    for row, length in enumerate(LENGTHS):
        mask[row, ..., :length] = 1
    inputs = {"input_ids": input_ids, "attention_mask": mask}
    if not labels:
        return inputs
    n = config["num_labels"]
    if head == "masked-lm":
        inputs["labels"] = torch.where(torch.rand(shape, generator=g) < 0.3, input_ids, -100)
    elif head == "sequence-classification":
        inputs["labels"] = torch.randint(0, n, (BATCH,), generator=g) if n > 1 else torch.randn(BATCH, generator=g)
    elif head == "token-classification":
        inputs["labels"] = torch.randint(0, n, (BATCH, SEQ), generator=g)
    elif head == "multiple-choice":
        inputs["labels"] = torch.randint(0, CHOICES, (BATCH,), generator=g)
    elif head == "question-answering":
        inputs["start_positions"] = torch.tensor([1, 3, SEQ + 5])  # the last one is outside: ignored
        inputs["end_positions"] = torch.tensor([4, 6, 2])
    return inputs


def _oracle(head: str, config: dict, folder, attn: str = "sdpa"):
    kwargs = dict(config)
    if head == "question-answering":
        kwargs["num_labels"] = 2
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cfg = transformers.DistilBertConfig(**kwargs, attn_implementation=attn)
        model = getattr(transformers, HEADS[head][1])(cfg).eval()
        with torch.no_grad():  # non-trivial LayerNorm and bias values
            for name, p in model.named_parameters():
                if "LayerNorm" in name or "layer_norm" in name or name.endswith("bias"):
                    p.add_(torch.randn_like(p) * 0.1)
        model.save_pretrained(folder)
    return model


def _compare(ours, theirs, what: str) -> None:
    for key in ("loss", "logits", "start_logits", "end_logits", "last_hidden_state"):
        a, b = getattr(ours, key, None), getattr(theirs, key, None)
        if b is None:
            continue
        assert a is not None, f"{what}: {key} missing"
        torch.testing.assert_close(a, b, atol=ATOL, rtol=RTOL, msg=f"{what}: {key} differs")
    for key in ("hidden_states", "attentions"):
        b = getattr(theirs, key, None)
        if b:
            a = getattr(ours, key)
            assert len(a) == len(b), f"{what}: {len(a)} {key}, transformers has {len(b)}"
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                torch.testing.assert_close(x, y, atol=ATOL, rtol=RTOL, msg=f"{what}: {key}[{i}] differs")


@pytest.mark.parametrize("config_name", list(CONFIGS))
@pytest.mark.parametrize("head", list(HEADS))
def test_outputs_match_transformers(head, config_name, tmp_path):
    config = CONFIGS[config_name]
    theirs = _oracle(head, config, tmp_path)
    auto = getattr(plugformers, HEADS[head][0])
    ours, info = auto.from_pretrained(tmp_path, output_loading_info=True)
    assert type(ours).__module__ == "plugformers_distilbert.modeling"
    assert not info["missing_keys"] and not info["unexpected_keys"], info
    ours.eval()
    for labels in (False, True):
        inputs = _inputs(config, head, labels=labels)
        with torch.no_grad():
            got = ours(**inputs, output_hidden_states=True)
            want = theirs(**inputs, output_hidden_states=True)
        _compare(got, want, f"{head} [{config_name}] labels={labels}")


@pytest.mark.parametrize("head", ["base", "sequence-classification"])
def test_attention_probabilities_match_eager(head, tmp_path):
    config = CONFIGS["2x32-4heads"]
    theirs = _oracle(head, config, tmp_path, attn="eager")
    ours = getattr(plugformers, HEADS[head][0]).from_pretrained(tmp_path).eval()
    inputs = _inputs(config, head, labels=False)
    with torch.no_grad():
        got = ours(**inputs, output_attentions=True)
        want = theirs(**inputs, output_attentions=True)
    assert len(got.attentions) == config["n_layers"]
    _compare(got, want, f"{head} attentions")


@pytest.mark.parametrize("head", ["masked-lm", "question-answering"])
def test_transformers_loads_what_plugformers_saves(head, tmp_path):
    config = dict(CONFIGS["2x32-4heads"])
    if head == "question-answering":
        config["num_labels"] = 2
    ours = plugformers.registry.head_class("distilbert", head)(
        plugformers.AutoConfig.for_model("distilbert", **config)
    ).eval()
    ours.save_pretrained(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = getattr(transformers, HEADS[head][1]).from_pretrained(tmp_path).eval()
    inputs = _inputs(config, head, labels=True)
    with torch.no_grad():
        _compare(ours(**inputs), theirs(**inputs), f"{head} saved by plugformers")


def test_sinusoidal_init_matches():
    config = dict(CONFIGS["1x24-2heads-relu-sinusoidal"])
    ours = plugformers.AutoModel.from_config(plugformers.AutoConfig.for_model("distilbert", **config))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = transformers.DistilBertModel(transformers.DistilBertConfig(**config))
    table = ours.embeddings.position_embeddings.weight
    assert not table.requires_grad
    torch.testing.assert_close(table, theirs.embeddings.position_embeddings.weight, atol=1e-6, rtol=0)


def test_config_json_round_trips_through_transformers(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        transformers.DistilBertConfig(dim=64, n_heads=8, n_layers=3, num_labels=4).save_pretrained(tmp_path)
    config = plugformers.AutoConfig.from_pretrained(tmp_path)
    assert type(config).__name__ == "DistilBertConfig"
    assert (config.hidden_size, config.num_attention_heads, config.num_hidden_layers, config.num_labels) == (64, 8, 3, 4)
    config.save_pretrained(tmp_path / "ours")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        back = transformers.DistilBertConfig.from_pretrained(tmp_path / "ours")
    assert (back.dim, back.n_heads, back.n_layers, back.num_labels) == (64, 8, 3, 4)
