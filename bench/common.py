"""Shared helpers of the benchmarks in bench/.

Every bench_X.py follows one protocol:

* ``python bench/bench_X.py`` runs every implementation, each in its own subprocess
  (``python bench/bench_X.py --impl NAME``, same interpreter), and prints their JSON lines
  plus a human-readable summary line (starting with ``#``).
* ``python bench/bench_X.py --impl NAME`` measures only NAME, in-process, and prints JSON
  lines such as ``{"figure": "forward", "impl": "plugformers", "value": 0.123, "unit":
  "s", "better": "lower", ...}``.

A line may carry a ``target``: ``{"max": 0.15}`` (an absolute bound on plugformers'
value) or ``{"max": 0.3, "vs": "transformers"}`` (a bound on the ratio plugformers / vs);
bench/run.py reports whether each target is met.

This module imports no torch and no library under test, so a parent process stays light.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

PY = sys.executable
BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
CACHE = BENCH / ".cache"
CKPT = CACHE / "bert-base-random"  # transformers' save_pretrained: config.json + model.safetensors
CKPT_PT1 = CACHE / "bert-base-random-pt1"  # pytorch-transformers 1.x: config.json + pytorch_model.bin

IMPLS = ("plugformers", "transformers", "pytorch-transformers")
NUM_THREADS = 2

# GPT-2 checkpoints (random weights, written once by plugformers' save_pretrained): the
# gpt2-124M size and a tiny one. bench_generate.py uses both, bench_forward.py the first,
# with a pytorch-transformers 1.x twin (pytorch_model.bin, 1.x config.json).
GPT2_MODELS = {
    "gpt2-124M": dict(vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12, n_head=12),
    "tiny": dict(vocab_size=1000, n_positions=128, n_embd=64, n_layer=2, n_head=2),
}

BERT_BASE = dict(
    vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
    intermediate_size=3072, hidden_act="gelu", hidden_dropout_prob=0.1,
    attention_probs_dropout_prob=0.1, max_position_embeddings=512, type_vocab_size=2,
    initializer_range=0.02, layer_norm_eps=1e-12,
)

# DistilBERT (the example plugin in examples/plugformers-distilbert), distilbert-base-sized.
DISTILBERT_BASE = dict(vocab_size=30522, max_position_embeddings=512, sinusoidal_pos_embds=False, n_layers=6,
                       n_heads=12, dim=768, hidden_dim=3072, dropout=0.1, attention_dropout=0.1,
                       activation="gelu", initializer_range=0.02)
DISTILBERT_CKPT = CACHE / "distilbert-base-random"
DISTILBERT_CKPT_PT1 = CACHE / "distilbert-base-random-pt1"

# XLNet (the plugins/xlnet plugin): an xlnet-base-sized base model for bench_forward.py (with
# a pytorch-transformers 1.x twin) and a small LM-head model for bench_generate.py. mem_len is
# None, as in xlnet-base-cased's config; the rest is transformers' XLNetConfig defaults.
XLNET_BASE = dict(vocab_size=32000, d_model=768, n_layer=12, n_head=12, d_inner=3072, ff_activation="gelu",
                  untie_r=True, attn_type="bi", mem_len=None, dropout=0.1, layer_norm_eps=1e-12)
XLNET_MODELS = {"xlnet-small": dict(vocab_size=1000, d_model=256, n_layer=4, n_head=4, d_inner=1024, mem_len=None)}
XLNET_CKPT = CACHE / "xlnet-base-random"
XLNET_CKPT_PT1 = CACHE / "xlnet-base-random-pt1"


def xlnet_checkpoint(name: str) -> Path:
    """bench/.cache/NAME-random, for a model of XLNET_MODELS or XLM_MODELS."""
    return CACHE / f"{name}-random"

# XLM (plugins/xlm; oracle transformers): an xlm-mlm-en-2048-shaped but smaller base model
# for bench_forward.py (emb_dim 1024 instead of 2048, 8 heads, vocab 30000; the rest is
# transformers' XLMConfig defaults: 12 layers, GELU, learned positions, one language) and a
# small causal LM-head model for bench_generate.py.
XLM_BASE = dict(vocab_size=30000, emb_dim=1024, n_layers=12, n_heads=8, max_position_embeddings=512)
XLM_MODELS = {"xlm-small": dict(vocab_size=1000, emb_dim=256, n_layers=4, n_heads=4, causal=True,
                                max_position_embeddings=128)}
XLM_CKPT = CACHE / "xlm-base-random"

# RoBERTa and OpenAI GPT (plugins/roberta, plugins/openai_gpt; oracle transformers): base
# models of roberta-base and openai-gpt size for bench_forward.py.
ROBERTA_BASE = dict(vocab_size=50265, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                    intermediate_size=3072, max_position_embeddings=514, type_vocab_size=1, pad_token_id=1,
                    bos_token_id=0, eos_token_id=2, layer_norm_eps=1e-5)
ROBERTA_CKPT = CACHE / "roberta-base-random"
OPENAI_GPT_BASE = dict(vocab_size=40478, n_positions=512, n_embd=768, n_layer=12, n_head=12)
OPENAI_GPT_CKPT = CACHE / "openai-gpt-random"

# Transformer-XL (plugins/transfo_xl; oracle pytorch-transformers 1.2.0, the one library that
# still has it): a wt103-shaped but smaller TransfoXLLMHeadModel (wt103: d_model 1024, 18
# layers, 16 heads, vocab 267735, cutoffs [20000, 40000, 200000], mem_len 1600), for
# bench_load.py and bench_forward.py (AutoModel / TransfoXLModel take its base model), and a
# small one for bench_generate.py. Built and saved by pytorch-transformers 1.2
# (config.json with n_token + pytorch_model.bin: the -pt1 folder), then loaded by plugformers
# and saved again as safetensors: the same tensors in both folders. The rest is 1.2's
# defaults (wt103's: div_val 4, clamp_len 1000, same_length, untie_r, adaptive, tie_weight).
TRANSFO_XL_MODELS = {
    "transfo-xl-wt103-small": dict(vocab_size=30000, cutoffs=[2000, 10000], d_model=512, d_embed=512, n_head=8,
                                   d_head=64, d_inner=2048, div_val=4, n_layer=8, tgt_len=128, mem_len=128),
    "transfo-xl-small": dict(vocab_size=1000, cutoffs=[200, 500], d_model=256, d_embed=256, n_head=4, d_head=64,
                             d_inner=1024, div_val=2, n_layer=4, tgt_len=128, mem_len=128),
}


def transfo_xl_checkpoint(name: str, pt1: bool = False) -> Path:
    """bench/.cache/NAME-random (plugformers' safetensors) or its 1.2 original (``pt1``)."""
    return CACHE / f"{name}-random{'-pt1' if pt1 else ''}"


# ---------------------------------------------------------------------- environment


def bench_env() -> dict[str, str]:
    """The environment of every child process: fixed thread counts, no telemetry, offline."""
    env = dict(os.environ)
    # Bytecode caching as a user has it (pip writes .pyc at install; this sandbox sets
    # PYTHONDONTWRITEBYTECODE, and editable installs have no .pyc): cached .pyc of every
    # library go under bench/.cache/pycache, so that no implementation pays compiling.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(CACHE / "pycache")
    env.update(
        OMP_NUM_THREADS=str(NUM_THREADS), MKL_NUM_THREADS=str(NUM_THREADS),
        TOKENIZERS_PARALLELISM="false", HF_HUB_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1",
        TRANSFORMERS_NO_ADVISORY_WARNINGS="1", TRANSFORMERS_VERBOSITY="error",
        PYTHONWARNINGS="ignore",
    )
    return env


def setup_torch(threads: int = NUM_THREADS):
    """Import torch with a fixed number of threads; returns the torch module."""
    import torch

    torch.set_num_threads(threads)
    return torch


# ---------------------------------------------------------------------- output


def emit(figure: str, impl: str, value: float | None, unit: str, *, better: str = "lower", **extra: Any) -> dict:
    """Print one measurement as a JSON line (flushed at once) and return it."""
    record = {"figure": figure, "impl": impl, "value": value, "unit": unit, "better": better, **extra,
              "loadavg_1m": round(os.getloadavg()[0], 2)}
    print(json.dumps(record), flush=True)
    return record


def parse_json_lines(text: str) -> list[dict]:
    """The JSON objects among the lines of ``text`` that describe a measurement."""
    records = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and "figure" in record and "impl" in record:
            records.append(record)
    return records


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def fmt_value(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "s":
        return f"{value * 1e3:.1f} ms" if value < 1 else f"{value:.3f} s"
    if unit == "x":
        return f"{value:.3f}x"
    if unit == "bytes":
        return f"{value / 2**20:.1f} MiB"
    return f"{value:.4g} {unit}"


# ---------------------------------------------------------------------- processes


def run_python(args: list[str], *, timeout: float = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([PY, *args], capture_output=True, text=True, timeout=timeout,
                          env=env or bench_env(), cwd=REPO)


def time_fresh_python(code: str, *, env: dict | None = None) -> tuple[float, float]:
    """Wall time and CPU time (user + sys) of a fresh ``python -c code``, interpreter
    start included. CPU time is less disturbed by other processes on a busy machine."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([PY, "-c", code], stdout=subprocess.DEVNULL, stderr=err,
                                env=env or bench_env(), cwd=REPO)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"python -c {code!r} failed:\n{err.read().decode(errors='replace')[-2000:]}")
    return elapsed, usage.ru_utime + usage.ru_stime


def installed_plugins() -> set[str]:
    """The names of the installed plugformers plugins (entry points: nothing imported)."""
    import importlib.metadata as md

    return {ep.name for ep in md.entry_points(group="plugformers")}


def rotated(items: list[str], round_: int) -> list[str]:
    """``items`` starting at position ``round_`` (mod len): who goes first changes by round."""
    k = round_ % len(items) if items else 0
    return items[k:] + items[:k]


def run_impl(script: str | Path, impl: str, extra_args: list[str] | None = None, *, timeout: float = 600) -> list[dict]:
    """Run ``script --impl impl`` in a fresh interpreter; its measurements, or one error record."""
    script = Path(script)
    figure = script.stem.removeprefix("bench_")
    try:
        proc = run_python([str(script), "--impl", impl, *(extra_args or [])], timeout=timeout)
    except subprocess.TimeoutExpired:
        return [{"figure": figure, "impl": impl, "value": None, "unit": "", "error": f"timed out after {timeout:.0f} s"}]
    records = parse_json_lines(proc.stdout)
    if proc.returncode != 0 or not records:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        records.append({"figure": figure, "impl": impl, "value": None, "unit": "",
                        "error": f"exit {proc.returncode}: {tail[:300]}"})
    return records


def rss() -> dict[str, int]:
    """This process's memory from /proc/self/status, in bytes: VmRSS (now), VmHWM (peak),
    RssAnon and RssFile (the file-backed part, e.g. mmapped weights)."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                out[key] = int(rest.split()[0]) * 1024
    return out


def warm_page_cache(path: str | Path) -> int:
    """Read a file once (and discard it) so that it sits in the page cache; its size."""
    size = 0
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(1 << 24):
            size += len(chunk)
    return size


# ---------------------------------------------------------------------- checkpoint


def _done(folder: Path) -> bool:
    return (folder / ".complete").exists()


def _ensure(maker: str, folders: list[Path], what: str) -> None:
    """Unless every folder is complete, run this file's ``--make-MAKER`` in a child
    interpreter (so that the caller need not import torch or transformers)."""
    if not all(_done(folder) for folder in folders):
        proc = run_python([str(Path(__file__).resolve()), f"--make-{maker}"], timeout=900)
        if proc.returncode != 0:
            raise RuntimeError(f"making {what} failed:\n{proc.stderr[-3000:]}")


@contextlib.contextmanager
def _cache_locked():
    """Hold bench/.cache's lock (one maker at a time, across processes); yields torch."""
    import fcntl

    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield setup_torch()


def _save_once(folder: Path, seed: int, build: Callable[[], Any]) -> None:
    """Seed torch, build a model and save it to ``folder`` as safetensors, unless done."""
    if _done(folder):
        return
    import torch

    torch.manual_seed(seed)
    build().save_pretrained(folder, safe_serialization=True)
    (folder / ".complete").touch()


def ensure_checkpoint() -> Path:
    """bench/.cache/bert-base-random (transformers' save_pretrained) and its
    pytorch-transformers twin, once."""
    _ensure("checkpoint", [CKPT, CKPT_PT1], "the benchmark checkpoint")
    return CKPT


def _make_checkpoint() -> None:
    with _cache_locked():
        import transformers

        _save_once(CKPT, 0, lambda: transformers.BertModel(transformers.BertConfig(**BERT_BASE)))
        if not _done(CKPT_PT1):
            _write_pt1_twin(CKPT, CKPT_PT1, BERT_BASE)


def gpt2_checkpoint(name: str, pt1: bool = False) -> Path:
    """bench/.cache/gpt2-NAME-random, or its pytorch-transformers twin (``pt1``)."""
    return CACHE / f"gpt2-{name}-random{'-pt1' if pt1 else ''}"


def ensure_gpt2_checkpoints() -> None:
    """The GPT2_MODELS checkpoints (plugformers' save_pretrained) and the gpt2-124M
    pytorch-transformers twin, once."""
    needed = [gpt2_checkpoint(name) for name in GPT2_MODELS] + [gpt2_checkpoint("gpt2-124M", pt1=True)]
    _ensure("gpt2-checkpoints", needed, "the GPT-2 benchmark checkpoints")


def _make_gpt2_checkpoints() -> None:
    with _cache_locked():
        from plugformers import GPT2Config, GPT2LMHeadModel

        for i, (name, values) in enumerate(GPT2_MODELS.items()):
            _save_once(gpt2_checkpoint(name), i,
                       lambda values=values: GPT2LMHeadModel(GPT2Config(**values, bos_token_id=None, eos_token_id=None)))
        twin = gpt2_checkpoint("gpt2-124M", pt1=True)
        if not _done(twin):
            # pytorch-transformers strips the "transformer." prefix itself; its config wants n_ctx.
            values = GPT2_MODELS["gpt2-124M"]
            _write_pt1_twin(gpt2_checkpoint("gpt2-124M"), twin, {**values, "n_ctx": values["n_positions"]})


def ensure_distilbert_checkpoint() -> None:
    """bench/.cache/distilbert-base-random (transformers' save_pretrained) and its
    pytorch-transformers twin, once."""
    _ensure("distilbert-checkpoint", [DISTILBERT_CKPT, DISTILBERT_CKPT_PT1], "the DistilBERT benchmark checkpoint")


def _make_distilbert_checkpoint() -> None:
    with _cache_locked():
        import transformers

        _save_once(DISTILBERT_CKPT, 2,
                   lambda: transformers.DistilBertModel(transformers.DistilBertConfig(**DISTILBERT_BASE)))
        if not _done(DISTILBERT_CKPT_PT1):
            _write_pt1_twin(DISTILBERT_CKPT, DISTILBERT_CKPT_PT1, DISTILBERT_BASE)


def ensure_xlnet_checkpoints() -> None:
    """bench/.cache/xlnet-base-random (XLNetModel, transformers' save_pretrained), its
    pytorch-transformers twin, and the XLNET_MODELS (XLNetLMHeadModel), once."""
    needed = [XLNET_CKPT, XLNET_CKPT_PT1] + [xlnet_checkpoint(name) for name in XLNET_MODELS]
    _ensure("xlnet-checkpoints", needed, "the XLNet benchmark checkpoints")


def _make_xlnet_checkpoints() -> None:
    with _cache_locked():
        import transformers

        _save_once(XLNET_CKPT, 3, lambda: transformers.XLNetModel(transformers.XLNetConfig(**XLNET_BASE)))
        if not _done(XLNET_CKPT_PT1):
            # 1.2's XLNetConfig keeps the vocabulary size in n_token (vocab_size is a property over it)
            _write_pt1_twin(XLNET_CKPT, XLNET_CKPT_PT1, {**XLNET_BASE, "n_token": XLNET_BASE["vocab_size"]})
        for i, (name, values) in enumerate(XLNET_MODELS.items()):
            _save_once(xlnet_checkpoint(name), 4 + i, lambda values=values: transformers.XLNetLMHeadModel(
                transformers.XLNetConfig(**values, bos_token_id=None, eos_token_id=None, pad_token_id=None)))


def ensure_xlm_checkpoints() -> None:
    """bench/.cache/xlm-base-random (XLMModel) and the XLM_MODELS (XLMWithLMHeadModel,
    causal), transformers' save_pretrained, once."""
    _ensure("xlm-checkpoints", [XLM_CKPT] + [xlnet_checkpoint(name) for name in XLM_MODELS],
            "the XLM benchmark checkpoints")


def _make_xlm_checkpoints() -> None:
    with _cache_locked():
        import transformers

        _save_once(XLM_CKPT, 6, lambda: transformers.XLMModel(transformers.XLMConfig(**XLM_BASE)))
        for i, (name, values) in enumerate(XLM_MODELS.items()):
            # XLM's special ids stay (its lengths come from pad_index); generate gets eos None
            _save_once(xlnet_checkpoint(name), 7 + i,
                       lambda values=values: transformers.XLMWithLMHeadModel(transformers.XLMConfig(**values)))


def ensure_roberta_openai_gpt_checkpoints() -> None:
    """bench/.cache/roberta-base-random and openai-gpt-random (base models, transformers'
    save_pretrained), once."""
    _ensure("roberta-openai-gpt-checkpoints", [ROBERTA_CKPT, OPENAI_GPT_CKPT], "the RoBERTa / OpenAI GPT checkpoints")


def _make_roberta_openai_gpt_checkpoints() -> None:
    with _cache_locked():
        import transformers

        _save_once(ROBERTA_CKPT, 9, lambda: transformers.RobertaModel(transformers.RobertaConfig(**ROBERTA_BASE)))
        _save_once(OPENAI_GPT_CKPT, 10,
                   lambda: transformers.OpenAIGPTModel(transformers.OpenAIGPTConfig(**OPENAI_GPT_BASE)))


def ensure_transfo_xl_checkpoints() -> None:
    """The TRANSFO_XL_MODELS, each as a 1.2 folder and a plugformers safetensors folder of
    the same tensors, once."""
    _ensure("transfo-xl-checkpoints", [transfo_xl_checkpoint(n, pt1) for n in TRANSFO_XL_MODELS for pt1 in (False, True)],
            "the Transformer-XL checkpoints")


def _make_transfo_xl_checkpoints() -> None:
    with _cache_locked() as torch:
        import plugformers
        import pytorch_transformers as ptt

        for i, (name, values) in enumerate(TRANSFO_XL_MODELS.items()):
            pt1, ours = transfo_xl_checkpoint(name, pt1=True), transfo_xl_checkpoint(name)
            if not _done(pt1):
                torch.manual_seed(11 + i)
                rest = {k: v for k, v in values.items() if k != "vocab_size"}
                model = ptt.TransfoXLLMHeadModel(ptt.TransfoXLConfig(vocab_size_or_config_json_file=values["vocab_size"],
                                                                     **rest))
                pt1.mkdir(parents=True, exist_ok=True)
                model.save_pretrained(str(pt1))  # config.json (n_token, no model_type) + pytorch_model.bin
                (pt1 / ".complete").touch()
            _save_once(ours, 0, lambda pt1=pt1: plugformers.TransfoXLLMHeadModel.from_pretrained(str(pt1)))


def _write_pt1_twin(source: Path, twin: Path, config: dict) -> None:
    """The same tensors for pytorch-transformers 1.2: a plain state dict in
    pytorch_model.bin and a 1.x-style config.json (no model_type)."""
    import torch
    from safetensors.torch import load_file

    twin.mkdir(parents=True, exist_ok=True)
    torch.save(load_file(source / "model.safetensors"), twin / "pytorch_model.bin")
    (twin / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (twin / ".complete").touch()


def weights_bytes(folder: Path = CKPT) -> int:
    """Bytes of tensor data in a safetensors checkpoint (from its header)."""
    with open(folder / "model.safetensors", "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    header.pop("__metadata__", None)
    return sum(v["data_offsets"][1] - v["data_offsets"][0] for v in header.values())


# ---------------------------------------------------------------------- script driver


def main(figure: str, measure: Callable[[argparse.Namespace], None], *,
         add_args: Callable[[argparse.ArgumentParser], None] | None = None,
         prepare: Callable[[], None] | None = None, timeout: float = 600,
         summary: Callable[[list[dict]], None] | None = None,
         interleaved: Callable[[argparse.Namespace, list[str]], list[dict]] | None = None) -> None:
    """The command line every bench script shares (see the module docstring).

    ``interleaved(args, impls)``, when given, replaces the one-subprocess-after-another
    default: it still runs every implementation in its own subprocess, but takes the
    samples of the implementations in turn, so that a change in machine load during
    the run (other processes) hits every implementation alike. It returns the records
    (already printed). ``--sequential`` restores the default."""
    parser = argparse.ArgumentParser(description=f"benchmark: {figure}")
    parser.add_argument("--impl", choices=IMPLS, help="measure only this implementation, in-process")
    parser.add_argument("--impls", default=",".join(IMPLS), help="comma-separated implementations to run")
    parser.add_argument("--sequential", action="store_true",
                        help="run the implementations one after another, not taking samples in turn")
    if add_args:
        add_args(parser)
    args, _ = parser.parse_known_args()
    if args.impl:
        measure(args)
        return
    if prepare:
        prepare()
    if interleaved and not args.sequential:
        (summary or default_summary)(interleaved(args, args.impls.split(",")))
        return
    script = sys.argv[0]
    passthrough = sys.argv[1:]
    drop_next = False
    forwarded = []
    for arg in passthrough:  # forward options, except --impls
        if drop_next:
            drop_next = False
            continue
        if arg == "--impls":
            drop_next = True
            continue
        if arg.startswith("--impls="):
            continue
        forwarded.append(arg)
    records: list[dict] = []
    for impl in args.impls.split(","):
        for record in run_impl(script, impl, forwarded, timeout=timeout):
            print(json.dumps(record), flush=True)
            records.append(record)
    (summary or default_summary)(records)


def default_summary(records: list[dict]) -> None:
    by_figure: dict[str, dict[str, dict]] = {}
    for r in records:  # one line per figure, and per model where records name one
        label = f"{r['figure']} ({r['model']})" if r.get("model") else r["figure"]
        by_figure.setdefault(label, {})[r["impl"]] = r
    for figure, rows in by_figure.items():
        parts = []
        base = rows.get("plugformers", {}).get("value")
        for impl, r in rows.items():
            text = f"{impl} {fmt_value(r.get('value'), r.get('unit', ''))}" if r.get("value") is not None \
                else f"{impl} ERROR ({r.get('error', '?')})"
            v = r.get("value")
            if impl != "plugformers" and base is not None and v:
                text += f" (plugformers/{impl} = {base / v:.2f})"
            parts.append(text)
        print(f"# {figure}: " + "; ".join(parts), flush=True)


MAKERS = {
    "checkpoint": _make_checkpoint,
    "gpt2-checkpoints": _make_gpt2_checkpoints,
    "distilbert-checkpoint": _make_distilbert_checkpoint,
    "xlnet-checkpoints": _make_xlnet_checkpoints,
    "xlm-checkpoints": _make_xlm_checkpoints,
    "roberta-openai-gpt-checkpoints": _make_roberta_openai_gpt_checkpoints,
    "transfo-xl-checkpoints": _make_transfo_xl_checkpoints,
}  # run by _ensure as ``common.py --make-NAME``

if __name__ == "__main__":
    makers = [make for name, make in MAKERS.items() if f"--make-{name}" in sys.argv]
    for make in makers:
        make()
    if not makers:
        print(__doc__)
