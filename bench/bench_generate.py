"""Figure "generate_tokens_per_s": greedy generation throughput, new tokens per second.

Cases: a gpt2-124M-sized random GPT-2 (12 layers, 768 wide, 12 heads, vocab 50257,
fp32) and a tiny one (2 layers, 64 wide, vocab 1000), where the per-step overhead of the
generation loop dominates; batch 1 and 8; 64 new tokens after a 16-token prompt,
min_new_tokens = max_new_tokens and no eos token, so every run makes all 64 steps.
torch.set_num_threads(2), torch.inference_mode inside generate, one warm-up run, then
the median of 3 (gpt2-124M) or 7 (tiny) runs; each library runs in its own subprocess,
in alternating rounds (3 by default), and the value is the median over the rounds. Both libraries load the same checkpoints
(bench/.cache/gpt2-*-random, written once by plugformers' save_pretrained) and must
generate the same tokens (checked).

Figure "generate_bandwidth_fraction" (plugformers only): batch-1 decoding of a model
this size is bound by reading every weight once per token. The time to read all the
weights once (a sum over every parameter, median of 5) gives the memory bandwidth and
the implied maximum tokens/s at batch 1; the value is plugformers' batch-1 tokens/s as a
fraction of that bound.

    python bench/bench_generate.py                       # both, alternating subprocesses, 3 rounds
    python bench/bench_generate.py --impl plugformers    # one, in-process
    options: --models gpt2-124M,tiny --batches 1,8 --repeats N --threads 2 --rounds 3
"""

from __future__ import annotations

import hashlib
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

IMPLS = ("plugformers", "transformers")
MODELS = {
    "gpt2-124M": dict(vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12, n_head=12),
    "tiny": dict(vocab_size=1000, n_positions=128, n_embd=64, n_layer=2, n_head=2),
}
PROMPT_LEN, NEW_TOKENS = 16, 64
REPEATS = {"gpt2-124M": 3, "tiny": 7}
# Targets: plugformers / transformers tokens per second.
TARGETS = {("gpt2-124M", 1): 1.1, ("gpt2-124M", 8): 1.2, ("tiny", 1): 2.0, ("tiny", 8): 2.0}


def _checkpoint(model: str) -> Path:
    return common.CACHE / f"gpt2-{model}-random"


def make_checkpoints() -> None:
    """Write the random checkpoints once (in a child process: the parent stays light)."""
    torch = common.setup_torch()
    from plugformers import GPT2Config, GPT2LMHeadModel

    for i, (name, values) in enumerate(MODELS.items()):
        folder = _checkpoint(name)
        if (folder / ".complete").exists():
            continue
        torch.manual_seed(i)
        GPT2LMHeadModel(GPT2Config(**values, bos_token_id=None, eos_token_id=None)).save_pretrained(folder)
        (folder / ".complete").touch()


def prepare() -> None:
    if all((_checkpoint(m) / ".complete").exists() for m in MODELS):
        return
    proc = common.run_python([str(Path(__file__).resolve()), "--make-checkpoints"], timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"making the benchmark checkpoints failed:\n{proc.stderr[-3000:]}")


def _load(impl: str, model: str):
    folder = str(_checkpoint(model))
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


def measure(args) -> None:
    torch = common.setup_torch(args.threads)
    impl = args.impl
    for name in args.models.split(","):
        model = _load(impl, name)
        vocab = MODELS[name]["vocab_size"]
        tokens_b1 = None
        for batch in (int(b) for b in args.batches.split(",")):
            ids = torch.randint(0, vocab, (batch, PROMPT_LEN), generator=torch.Generator().manual_seed(batch))
            kwargs = dict(attention_mask=torch.ones_like(ids), max_new_tokens=NEW_TOKENS,
                          min_new_tokens=NEW_TOKENS, eos_token_id=None, pad_token_id=None, do_sample=False)
            out = model.generate(ids, **kwargs)  # warm-up
            assert out.shape == (batch, PROMPT_LEN + NEW_TOKENS), out.shape
            times, cpu = [], []
            for _ in range(args.repeats or REPEATS[name]):
                t0, c0 = time.perf_counter(), time.process_time()
                model.generate(ids, **kwargs)
                times.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
            value = batch * NEW_TOKENS / statistics.median(times)
            if batch == 1:
                tokens_b1 = value
            target = TARGETS.get((name, batch))
            common.emit(
                "generate_tokens_per_s", impl, round(value, 2), "tokens/s", better="higher", model=name, batch=batch,
                prompt=PROMPT_LEN, new_tokens=NEW_TOKENS, repeats=len(times),
                min_s=round(min(times), 4), max_s=round(max(times), 4), cpu_s=round(statistics.median(cpu), 4),
                best_tokens_per_s=round(batch * NEW_TOKENS / min(times), 2), threads=torch.get_num_threads(),
                tokens_sha1=hashlib.sha1(out.numpy().tobytes()).hexdigest()[:12],
                **({"target": {"min": target, "vs": "transformers"}} if impl == "plugformers" and target else {}),
            )
        if impl == "plugformers" and name == "gpt2-124M" and tokens_b1:
            seconds, nbytes = _read_all_weights(torch, model)
            bound = 1.0 / seconds
            common.emit(
                "generate_bandwidth_fraction", impl, round(tokens_b1 / bound, 3), "x", better="higher", model=name,
                batch=1, weights_bytes=nbytes, read_s=round(seconds, 5), gb_per_s=round(nbytes / seconds / 1e9, 2),
                max_tokens_per_s=round(bound, 2), tokens_per_s=round(tokens_b1, 2),
            )
        del model


def add_args(parser) -> None:
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--batches", default="1,8")
    parser.add_argument("--repeats", type=int, default=0, help="runs per case (default: 3 for gpt2-124M, 7 tiny)")
    parser.add_argument("--threads", type=int, default=common.NUM_THREADS, help="torch threads (default 2)")


def summary(records: list[dict]) -> None:
    speed = {(r["impl"], r.get("model"), r.get("batch")): r for r in records
             if r.get("figure") == "generate_tokens_per_s" and r.get("value")}
    for name in MODELS:
        for batch in (1, 8):
            ours, theirs = speed.get(("plugformers", name, batch)), speed.get(("transformers", name, batch))
            if ours and theirs:
                ratio = ours["value"] / theirs["value"]
                best = ours.get("best_tokens_per_s", 0) / (theirs.get("best_tokens_per_s") or 1)
                target = TARGETS.get((name, batch))
                verdict = f"; target >= {target}: {'met' if ratio >= target else 'MISSED'}" if target else ""
                print(f"# generate {name} batch {batch}: plugformers {ours['value']:.1f} tokens/s, transformers "
                      f"{theirs['value']:.1f} tokens/s, ratio {ratio:.2f} (best runs: {best:.2f}){verdict}",
                      flush=True)
    for r in records:
        if r.get("figure") == "generate_bandwidth_fraction":
            print(f"# weights read at {r['gb_per_s']} GB/s: at most {r['max_tokens_per_s']} tokens/s at batch 1; "
                  f"plugformers reaches {r['tokens_per_s']} = {r['value']:.0%} of it", flush=True)
        if r.get("error"):
            print(f"# {r['impl']}: ERROR {r['error']}", flush=True)


def run_all(argv: list[str]) -> None:
    """Both libraries, alternating: round r runs one subprocess per library (the order
    flips every round), each measuring every case; a case's value is the median over
    the rounds. On a shared machine whose load drifts, alternating keeps the comparison
    fair where one long run per library would not."""
    import argparse

    parser = argparse.ArgumentParser(description="benchmark: generate")
    parser.add_argument("--impls", default=",".join(IMPLS))
    parser.add_argument("--rounds", type=int, default=3)
    args, passthrough = parser.parse_known_args(argv)
    prepare()
    impls = args.impls.split(",")
    rounds: dict[tuple, list[dict]] = {}
    errors = []
    for r in range(args.rounds):
        for impl in impls if r % 2 == 0 else impls[::-1]:
            for record in common.run_impl(__file__, impl, passthrough, timeout=1800):
                if record.get("error"):
                    errors.append(record)
                    continue
                rounds.setdefault((record["figure"], impl, record.get("model"), record.get("batch")), []).append(record)
    records = []
    for runs in rounds.values():
        final = dict(runs[-1])
        final["value"] = round(statistics.median(x["value"] for x in runs), 3)
        final["rounds"] = [x["value"] for x in runs]
        if "best_tokens_per_s" in final:  # the least disturbed run of all rounds
            final["best_tokens_per_s"] = max(x["best_tokens_per_s"] for x in runs)
        for key in ("gb_per_s", "max_tokens_per_s", "tokens_per_s", "cpu_s"):
            if key in final:
                final[key] = round(statistics.median(x[key] for x in runs), 3)
        final.pop("loadavg_1m", None)
        final["loadavg_1m"] = [x.get("loadavg_1m") for x in runs]
        records.append(final)
    records += errors
    for record in records:
        print(json.dumps(record), flush=True)
    summary(records)


if __name__ == "__main__":
    if "--make-checkpoints" in sys.argv:
        make_checkpoints()
    elif any(a == "--impl" or a.startswith("--impl=") for a in sys.argv[1:]):
        common.main("generate", measure, add_args=add_args)
    else:
        run_all(sys.argv[1:])
