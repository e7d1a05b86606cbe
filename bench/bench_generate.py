"""Figure "generate_tokens_per_s": greedy generation throughput, new tokens per second.

Cases: a gpt2-124M-sized random GPT-2 (12 layers, 768 wide, 12 heads, vocab 50257,
fp32) and a tiny one (2 layers, 64 wide, vocab 1000), where the per-step overhead of the
generation loop dominates; batch 1 and 8; and, with the xlnet plugin installed, a small
random XLNetLMHeadModel ("xlnet-small": d_model 256, 4 layers, 4 heads, d_inner 1024,
vocab 1000, mem_len None; bench/.cache/xlnet-small-random, transformers' save_pretrained)
at batch 1 only, through each library's XLNet generation (a dummy target token appended,
perm_mask / target_mapping, the mems as cache); with the xlm plugin, a small causal
XLMWithLMHeadModel ("xlm-small": emb_dim 256, 4 layers, 4 heads, vocab 1000, causal=True;
bench/.cache/xlm-small-random, transformers' save_pretrained) at batch 1; with the
transfo-xl plugin, a small TransfoXLLMHeadModel ("transfo-xl-small": d_model 256, 4 layers,
4 heads, d_head 64, d_inner 1024, vocab 1000 with cutoffs [200, 500], div_val 2, mem_len 128;
written by pytorch-transformers 1.2) at batch 1, plugformers' generate() with the mems as its
cache against pytorch-transformers 1.2.0's step loop (the prompt from empty mems, then one
token a step with the mems, argmax; 1.2 has no generate); 64 new tokens after a 16-token prompt,
min_new_tokens = max_new_tokens and no eos token, so every run makes all 64 steps.
torch.set_num_threads(2), torch.inference_mode inside generate. Both libraries load the
same checkpoints (bench/.cache/gpt2-*-random, written once by plugformers'
save_pretrained) and must generate the same tokens (checked).

Run without --impl, each library is a server subprocess holding its models, and the
runs are taken in turn: per case one warm-up run each, then rounds of one run per
library (who goes first alternates), 6 rounds for gpt2-124M and 15 for tiny by default.
On a shared machine whose load drifts from second to second, this keeps the
comparison fair where one long run per library would not. The value is batch x 64 /
the median wall time; "paired" is the median over the rounds of the per-round ratio.

Figure "generate_tokens_per_cpu_s": the same, per second of CPU time (user + sys, both
threads), which other processes disturb less than wall time.

Figure "generate_bandwidth_fraction" (plugformers only): batch-1 decoding of a model
this size is bound by reading every weight once per token. The time to read all the
weights once (a sum over every parameter, median of 5) gives the memory bandwidth and
the implied maximum tokens/s at batch 1; the value is plugformers' batch-1 tokens/s as a
fraction of that bound.

    python bench/bench_generate.py                       # both libraries, runs in turn
    python bench/bench_generate.py --impl plugformers    # one, in-process
    options: --models gpt2-124M,tiny,xlnet-small --batches 1,8 --repeats N --threads 2
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

IMPLS = ("plugformers", "transformers", "pytorch-transformers")
TRANSFO_XL_MODELS = {"transfo-xl-small": common.TRANSFO_XL_MODELS["transfo-xl-small"]}
MODELS = {**common.GPT2_MODELS, **common.XLNET_MODELS, **common.XLM_MODELS, **TRANSFO_XL_MODELS}
XLNET = set(common.XLNET_MODELS)  # XLNetLMHeadModel cases (need the xlnet plugin)
XLM = set(common.XLM_MODELS)  # causal XLMWithLMHeadModel cases (need the xlm plugin)
TRANSFO_XL = set(TRANSFO_XL_MODELS)  # TransfoXLLMHeadModel cases (need the transfo-xl plugin)
PLUGIN = {**{name: "xlnet" for name in XLNET}, **{name: "xlm" for name in XLM},
          **{name: "transfo-xl" for name in TRANSFO_XL}}  # GPT-2 otherwise
# The library each model is compared with: transformers, except for Transformer-XL, which
# only pytorch-transformers 1.2.0 has (and it has no generate(): see _Pt1TransfoXLLoop).
ORACLE = {name: "pytorch-transformers" for name in TRANSFO_XL}
PROMPT_LEN, NEW_TOKENS = 16, 64
REPEATS = {"gpt2-124M": 6, "tiny": 15, "xlnet-small": 8, "xlm-small": 8, "transfo-xl-small": 8}
# the batches a model is run at, of --batches (default: all)
BATCHES = {"xlnet-small": (1,), "xlm-small": (1,), "transfo-xl-small": (1,)}
# Targets: plugformers / oracle tokens per second.
TARGETS = {("gpt2-124M", 1): 1.1, ("gpt2-124M", 8): 1.2, ("tiny", 1): 2.0, ("tiny", 8): 2.0,
           ("xlnet-small", 1): 1.5, ("xlm-small", 1): 1.5, ("transfo-xl-small", 1): 2.0}


def oracle(name: str) -> str:
    return ORACLE.get(name, "transformers")
# Target: gpt2-124M batch-1 tokens/s at least this fraction of the memory-bandwidth bound.
BANDWIDTH_TARGET = 0.85


def default_models() -> str:
    """The GPT-2 models, and those of the other installed plugins (PLUGIN)."""
    plugins = common.installed_plugins()
    return ",".join(name for name in MODELS if PLUGIN.get(name, "gpt2") in plugins)


def _batches(args, name: str) -> list[int]:
    return [b for b in (int(b) for b in args.batches.split(",")) if b in BATCHES.get(name, (b,))]


class _Pt1TransfoXLLoop:
    """pytorch-transformers 1.2.0 has no generate(): greedy decoding as a user writes it
    there (and as plugins/transfo_xl/tests/test_generation.py's oracle does): the prompt
    from empty mems, then one token a step with the mems of the step before, argmax of the
    last position's log-probabilities."""

    def __init__(self, model) -> None:
        self.model = model

    def generate(self, ids, *, max_new_tokens: int, **_):
        import torch

        config = self.model.config
        mems = [torch.zeros(0, ids.shape[0], config.d_model) for _ in range(config.n_layer)]
        feed = ids
        with torch.inference_mode():
            for _ in range(max_new_tokens):
                out = self.model(feed, mems=mems)
                feed, mems = out[0][:, -1].argmax(-1, keepdim=True), out[1]
                ids = torch.cat([ids, feed], dim=1)
        return ids


def _load(impl: str, model: str):
    if model in TRANSFO_XL:
        folder = str(common.transfo_xl_checkpoint(model, pt1=impl == "pytorch-transformers"))
    elif model in XLNET or model in XLM:
        folder = str(common.xlnet_checkpoint(model))
    else:
        folder = str(common.gpt2_checkpoint(model))
    if impl == "pytorch-transformers":
        import pytorch_transformers

        return _Pt1TransfoXLLoop(pytorch_transformers.TransfoXLLMHeadModel.from_pretrained(folder).eval())
    if impl == "plugformers":
        from plugformers import AutoModelForCausalLM
    else:
        from transformers import AutoModelForCausalLM
    return AutoModelForCausalLM.from_pretrained(folder).eval()


def _read_all_weights(torch, model) -> tuple[float, int]:
    """Median seconds to read every (distinct) parameter once, and their bytes."""
    params = list({p.data_ptr(): p for p in model.parameters()}.values())
    nbytes = sum(p.numel() * p.element_size() for p in params)
    times = []
    with torch.inference_mode():
        for _ in range(6):
            t0 = time.perf_counter()
            for p in params:
                p.sum()
            times.append(time.perf_counter() - t0)
    return statistics.median(times[1:]), nbytes


def _inputs(torch, name: str, batch: int):
    ids = torch.randint(0, MODELS[name]["vocab_size"], (batch, PROMPT_LEN), generator=torch.Generator().manual_seed(batch))
    kwargs = dict(attention_mask=torch.ones_like(ids), max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS,
                  eos_token_id=None, pad_token_id=None, do_sample=False)
    return ids, kwargs


def _one_run(model, ids, kwargs) -> tuple[float, float, object]:
    """(wall s, CPU s, tokens) of one generate() call."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = model.generate(ids, **kwargs)
    return time.perf_counter() - t0, time.process_time() - c0, out


def _sha(out) -> str:
    return hashlib.sha1(out.numpy().tobytes()).hexdigest()[:12]


def _case_records(impl: str, name: str, batch: int, times: list[float], cpu: list[float], sha: str,
                  **extra) -> list[dict]:
    """The two records of one case: tokens per second of wall time, and of CPU time."""
    tokens = batch * NEW_TOKENS
    target = TARGETS.get((name, batch))
    load = round(os.getloadavg()[0], 2)
    return [
        {"figure": "generate_tokens_per_s", "impl": impl, "value": round(tokens / statistics.median(times), 2),
         "unit": "tokens/s", "better": "higher", "model": name, "batch": batch, "prompt": PROMPT_LEN,
         "new_tokens": NEW_TOKENS, "repeats": len(times), "min_s": round(min(times), 4),
         "max_s": round(max(times), 4), "cpu_s": round(statistics.median(cpu), 4),
         "best_tokens_per_s": round(tokens / min(times), 2), "threads": common.NUM_THREADS, "tokens_sha1": sha,
         **({"target": {"min": target, "vs": oracle(name)}} if impl == "plugformers" and target else {}),
         **extra, "loadavg_1m": load},
        {"figure": "generate_tokens_per_cpu_s", "impl": impl, "value": round(tokens / statistics.median(cpu), 2),
         "unit": "tokens/s", "better": "higher", "model": name, "batch": batch, "repeats": len(cpu),
         "loadavg_1m": load},
    ]


def _emit_bandwidth(torch, model, tokens_b1: float) -> None:
    seconds, nbytes = _read_all_weights(torch, model)
    bound = 1.0 / seconds
    common.emit(
        "generate_bandwidth_fraction", "plugformers", round(tokens_b1 / bound, 3), "x", better="higher",
        model="gpt2-124M", batch=1, weights_bytes=nbytes, read_s=round(seconds, 5),
        gb_per_s=round(nbytes / seconds / 1e9, 2), max_tokens_per_s=round(bound, 2), tokens_per_s=round(tokens_b1, 2),
        target={"min": BANDWIDTH_TARGET},
    )


def measure(args) -> None:
    torch = common.setup_torch(args.threads)
    if args.serve:
        return _serve(torch, args)
    impl = args.impl
    for name in _served(impl, args.models):
        model = _load(impl, name)
        tokens_b1 = None
        for batch in _batches(args, name):
            ids, kwargs = _inputs(torch, name, batch)
            out = model.generate(ids, **kwargs)  # warm-up
            assert out.shape == (batch, PROMPT_LEN + NEW_TOKENS), out.shape
            times, cpu = [], []
            for _ in range(args.repeats or REPEATS[name]):
                wall, used, _ = _one_run(model, ids, kwargs)
                times.append(wall)
                cpu.append(used)
            if batch == 1:
                tokens_b1 = NEW_TOKENS / statistics.median(times)
            for record in _case_records(impl, name, batch, times, cpu, _sha(out)):
                print(json.dumps(record), flush=True)
        if impl == "plugformers" and name == "gpt2-124M" and tokens_b1:
            _emit_bandwidth(torch, model, tokens_b1)
        del model


def _serve(torch, args) -> None:
    """Lock-step mode for run_all(): the models stay loaded; each request line (JSON:
    {"model", "batch"}, or {"bandwidth": tokens_per_s}) runs one generate() call (or
    the weight read) and answers with one JSON line (for the weight read, its record)."""
    models = {name: _load(args.impl, name) for name in _served(args.impl, args.models)}
    inputs = {}
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        if "bandwidth" in request:
            _emit_bandwidth(torch, models["gpt2-124M"], request["bandwidth"])
            continue
        key = (request["model"], request["batch"])
        if key not in inputs:
            inputs[key] = _inputs(torch, *key)
        wall, cpu, out = _one_run(models[key[0]], *inputs[key])
        print(json.dumps({"wall": wall, "cpu": cpu, "sha": _sha(out), "shape": list(out.shape)}), flush=True)


def _served(impl: str, models: str) -> list[str]:
    """The models of ``models`` (comma-separated) that ``impl`` runs: plugformers all of
    them, an oracle those it is the oracle of."""
    return [name for name in models.split(",") if name and impl in ("plugformers", oracle(name))]


def add_args(parser) -> None:
    parser.add_argument("--models", default=default_models())
    parser.add_argument("--batches", default="1,8")
    parser.add_argument("--repeats", type=int, default=0,
                        help="runs (rounds) per case (default: 6 for gpt2-124M, 15 for tiny)")
    parser.add_argument("--threads", type=int, default=common.NUM_THREADS, help="torch threads (default 2)")
    parser.add_argument("--serve", action="store_true", help="internal: lock-step server for the interleaved run")


def summary(records: list[dict]) -> None:
    speed = {(r["figure"], r["impl"], r.get("model"), r.get("batch")): r for r in records if r.get("value")}
    for name in MODELS:
        for batch in (1, 8):
            ours = speed.get(("generate_tokens_per_s", "plugformers", name, batch))
            theirs = speed.get(("generate_tokens_per_s", oracle(name), name, batch))
            if not (ours and theirs):
                continue
            ratio = ours["value"] / theirs["value"]
            cpu = [speed.get(("generate_tokens_per_cpu_s", impl, name, batch)) for impl in ("plugformers", oracle(name))]
            cpu_ratio = f", per CPU second {cpu[0]['value'] / cpu[1]['value']:.2f}" if all(cpu) else ""
            paired = f", paired {ours['paired_ratio']:.2f}" if "paired_ratio" in ours else ""
            best = ours.get("best_tokens_per_s", 0) / (theirs.get("best_tokens_per_s") or 1)
            target = TARGETS.get((name, batch))
            verdict = f"; target >= {target}: {'met' if ratio >= target else 'MISSED'}" if target else ""
            print(f"# generate {name} batch {batch}: plugformers {ours['value']:.1f} tokens/s, {oracle(name)} "
                  f"{theirs['value']:.1f} tokens/s, ratio {ratio:.2f}{paired}{cpu_ratio} (best runs: {best:.2f})"
                  f"{verdict}", flush=True)
    for r in records:
        if r.get("figure") == "generate_bandwidth_fraction":
            print(f"# weights read at {r['gb_per_s']} GB/s: at most {r['max_tokens_per_s']} tokens/s at batch 1; "
                  f"plugformers reaches {r['tokens_per_s']} = {r['value']:.0%} of it (target >= "
                  f"{BANDWIDTH_TARGET:.0%}: {'met' if r['value'] >= BANDWIDTH_TARGET else 'MISSED'})", flush=True)
        if r.get("error"):
            print(f"# {r['impl']}: ERROR {r['error']}", flush=True)


class _Server:
    """One implementation's --serve subprocess (its stderr goes to a temporary file, so
    that a chatty library cannot fill a pipe and stall)."""

    def __init__(self, impl: str, args) -> None:
        self.impl = impl
        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [common.PY, str(Path(__file__).resolve()), "--impl", impl, "--serve", f"--models={args.models}",
             f"--threads={args.threads}"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, text=True,
            env=common.bench_env(), cwd=common.REPO,
        )
        if not self.proc.stdout.readline().startswith("{"):
            self.fail("did not start")

    def ask(self, request: dict) -> dict:
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line.startswith("{"):
            self.fail("stopped answering")
        return json.loads(line)

    def fail(self, what: str) -> None:
        self.proc.kill()
        code = self.proc.wait()
        self.stderr.seek(0)
        raise RuntimeError(f"{self.impl} server {what} (exit {code}): {self.stderr.read()[-2000:]}")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        self.proc.wait(timeout=120)
        self.stderr.close()


def run_all(argv: list[str]) -> None:
    """Both libraries in turn, run by run (see the module docstring); prints the records
    and the summary."""
    import argparse

    parser = argparse.ArgumentParser(description="benchmark: generate")
    parser.add_argument("--impls", default=",".join(IMPLS))
    add_args(parser)
    args = parser.parse_args(argv)
    common.ensure_gpt2_checkpoints()
    if XLNET & set(args.models.split(",")):
        common.ensure_xlnet_checkpoints()
    if XLM & set(args.models.split(",")):
        common.ensure_xlm_checkpoints()
    if TRANSFO_XL & set(args.models.split(",")):
        common.ensure_transfo_xl_checkpoints()
    all_impls = args.impls.split(",")
    servers: dict[str, _Server] = {}
    records: list[dict] = []
    try:
        for impl in all_impls:  # started one at a time, so that loading does not overlap
            if _served(impl, args.models):
                servers[impl] = _Server(impl, args)
        tokens_b1 = None
        for name in args.models.split(","):
            impls = [impl for impl in all_impls if impl in servers and impl in ("plugformers", oracle(name))]
            for batch in _batches(args, name):
                case = {"model": name, "batch": batch}
                shas = {impl: servers[impl].ask(case)["sha"] for impl in impls}  # warm-up
                samples: dict[str, tuple[list[float], list[float]]] = {impl: ([], []) for impl in impls}
                for round_ in range(args.repeats or REPEATS[name]):
                    for impl in impls if round_ % 2 == 0 else impls[::-1]:
                        reply = servers[impl].ask(case)
                        assert reply["shape"] == [batch, PROMPT_LEN + NEW_TOKENS], reply
                        samples[impl][0].append(reply["wall"])
                        samples[impl][1].append(reply["cpu"])
                same = len(set(shas.values())) == 1
                for impl in impls:
                    times, cpu = samples[impl]
                    extra = {"same_tokens": same}
                    if impl == "plugformers" and oracle(name) in samples:
                        extra["paired_ratio"] = round(statistics.median(
                            theirs / ours for ours, theirs in zip(times, samples[oracle(name)][0], strict=True)), 3)
                    records += _case_records(impl, name, batch, times, cpu, shas[impl], interleaved=True, **extra)
                    if impl == "plugformers" and name == "gpt2-124M" and batch == 1:
                        tokens_b1 = NEW_TOKENS / statistics.median(times)
                if not same:
                    records.append({"figure": "generate_tokens_per_s", "impl": oracle(name), "value": None,
                                    "unit": "", "model": name, "batch": batch,
                                    "error": f"different tokens: {shas}"})
        if tokens_b1 and "plugformers" in servers:
            records.append(servers["plugformers"].ask({"bandwidth": tokens_b1}))
    finally:
        for server in servers.values():
            server.close()
    for record in records:
        print(json.dumps(record), flush=True)
    summary(records)


if __name__ == "__main__":
    if any(a == "--impl" or a.startswith("--impl=") for a in sys.argv[1:]):
        common.main("generate", measure, add_args=add_args)
    else:
        run_all(sys.argv[1:])
