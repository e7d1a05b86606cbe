"""Run every benchmark (bench/bench_*.py) and print a table of the medians and ratios.

    .venv/bin/python bench/run.py            # the table (markdown), machine facts, targets
    .venv/bin/python bench/run.py --json     # the raw JSON lines instead
    .venv/bin/python bench/run.py --only import,load
    .venv/bin/python bench/run.py --only forward --script-args forward="--models xlnet-base --repeats 5"

Each bench script runs every implementation in its own subprocess of the same Python
and prints one JSON line per measurement; this runner collects them. The raw lines and
the table are also written to bench/results/ (not committed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata as md
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

ORDER = ("import", "load", "forward", "tokenizers", "generate")  # the rest follow by name
# Generous: a busy shared machine (load 3-6 on 2 cores) doubles or triples the quiet run
# times (import ~100 s, load ~250 s, forward ~450 s, tokenizers ~100 s, generate ~200 s).
TIMEOUTS = {"import": 900, "load": 1200, "forward": 1800, "tokenizers": 900, "generate": 1800}
DEFAULT_TIMEOUT = 900
# bench_tokenizers.py defaults to 10 000 sentences; 5 000 per case keep it near 2 minutes.
ARGS = {"tokenizers": ["--sentences", "5000"]}
# Fields of a record that describe the run, not the measured figure.
_PARAM_KEYS = {"sentences", "batch_size", "median_of", "repeats", "batch", "seq", "warmup", "threads"}


def scripts(only: set[str] | None) -> list[Path]:
    found = {p.stem.removeprefix("bench_"): p for p in sorted(common.BENCH.glob("bench_*.py"))}
    names = [n for n in ORDER if n in found] + sorted(n for n in found if n not in ORDER)
    return [found[n] for n in names if only is None or n in only]


def normalise(record: dict) -> dict:
    """Give a record from a script that does not follow the value/unit/better protocol
    (bench_tokenizers.py prints e.g. "sentences_per_s") a value, unit and direction."""
    if "value" in record:
        record.setdefault("better", "lower")
        record.setdefault("unit", "")
        return record
    for key, value in record.items():
        if key in _PARAM_KEYS or key in ("figure", "impl") or isinstance(value, bool):
            continue
        if isinstance(value, (int, float)):
            higher = key.endswith(("_per_s", "per_second", "throughput")) or "per_s" in key
            record.update(value=value, unit=key, better="higher" if higher else "lower")
            return record
    record.update(value=None, unit="", better="lower", error=record.get("error", "no numeric field"))
    return record


def run_script(path: Path, echo: bool, extra: list[str] | None = None) -> tuple[list[dict], str]:
    name = path.stem.removeprefix("bench_")
    timeout = TIMEOUTS.get(name, DEFAULT_TIMEOUT)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([common.PY, str(path), *ARGS.get(name, []), *(extra or [])], capture_output=True, text=True, timeout=timeout,
                              env=common.bench_env(), cwd=common.REPO)
        out, err, rc = proc.stdout, proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        err, rc = f"timed out after {timeout} s", -1
    records = [normalise(r) for r in common.parse_json_lines(out)]
    if echo:
        for r in records:
            print(json.dumps(r), flush=True)
    note = f"{path.name}: {time.perf_counter() - t0:.0f} s"
    if rc != 0:
        tail = (err.strip().splitlines() or ["no stderr"])[-1]
        note += f", exit {rc}: {tail[:300]}"
    return records, note


def machine() -> dict:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kib = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
            mem = f"{kib / 2**20:.1f} GiB"
    except (OSError, StopIteration):
        pass

    def version(dist: str) -> str:
        try:
            return md.version(dist)
        except md.PackageNotFoundError:
            return "not installed"

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=common.REPO).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True,
                               cwd=common.REPO).stdout.strip()
        commit += " (+ uncommitted changes)" if dirty else ""
    except OSError:
        commit = "unknown"
    return {
        "cpu": cpu, "cores": os.cpu_count(), "memory": mem, "os": platform.platform(),
        "python": platform.python_version(),
        "torch": version("torch"), "transformers": version("transformers"),
        "pytorch-transformers": version("pytorch-transformers"), "plugformers": version("plugformers"),
        "plugformers-bert": version("plugformers-bert"), "plugformers-gpt2": version("plugformers-gpt2"),
        "plugformers-distilbert": version("plugformers-distilbert"),
        "plugformers-xlnet": version("plugformers-xlnet"), "plugformers-xlm": version("plugformers-xlm"),
        "plugformers-transfo-xl": version("plugformers-transfo-xl"),
        "plugformers-roberta": version("plugformers-roberta"),
        "plugformers-openai-gpt": version("plugformers-openai-gpt"), "tokenizers": version("tokenizers"),
        "torch threads": common.NUM_THREADS, "commit": commit,
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b in (None, 0):
        return None
    return a / b


_CASE_KEYS = ("model", "case", "batch", "seq")


def _row_label(record: dict, records: list[dict]) -> str:
    """The figure's name, plus the case fields (model, batch, ...) that differ between
    the records of that figure (bench_generate.py prints one per model and batch)."""
    same = [r for r in records if r["figure"] == record["figure"]]
    keys = [k for k in _CASE_KEYS if len({json.dumps(r.get(k)) for r in same}) > 1]
    label = record["figure"]
    if keys:
        label += " (" + ", ".join(f"{k} {record.get(k)}" for k in keys) + ")"
    return label + (" (cpu)" if record.get("cpu_twin") else "")


def table(records: list[dict]) -> tuple[str, list[str]]:
    """A markdown table: one row per figure; the verdicts on the targets."""
    figures: dict[str, dict[str, dict]] = {}
    expanded = []
    for r in records:
        expanded.append(r)
        if r.get("cpu_s") is not None and r.get("unit") == "s":  # the same figure in CPU time
            expanded.append({**r, "value": r["cpu_s"], "cpu_twin": True})
    for r in expanded:
        figures.setdefault(_row_label(r, expanded), {})[r["impl"]] = r
    impls = list(common.IMPLS)
    for rows in figures.values():
        impls += [i for i in rows if i not in impls]
    others = [i for i in impls if i != "plugformers"]
    head = ["figure", "better"] + impls + [f"plugformers / {o}" for o in others] + ["target", "met?"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    verdicts = []
    for figure, rows in figures.items():
        some = next(iter(rows.values()))
        unit, better = some.get("unit", ""), some.get("better", "lower")
        cells = [figure, better]
        for impl in impls:
            r = rows.get(impl)
            if r is None:
                cells.append("-")
            elif r.get("value") is None:
                cells.append("error")
            else:
                cells.append(common.fmt_value(r["value"], unit) if unit in ("s", "x", "bytes")
                             else f"{r['value']:.4g} {unit}")
        mine = rows.get("plugformers", {}).get("value")
        for o in others:
            q = _ratio(mine, rows.get(o, {}).get("value"))
            cells.append("-" if q is None else f"{q:.2f}")
        target = rows.get("plugformers", {}).get("target")
        if target:
            vs = target.get("vs")
            got = _ratio(mine, rows.get(vs, {}).get("value")) if vs else mine
            bound, is_max = (target["max"], True) if "max" in target else (target.get("min"), False)
            text = (f"plugformers/{vs} {'≤' if is_max else '≥'} {bound}" if vs
                    else f"{'≤' if is_max else '≥'} {common.fmt_value(bound, unit)}")
            if got is None or bound is None:
                ok = "?"
            else:
                ok = "met" if (got <= bound if is_max else got >= bound) else "**missed**"
            shown = f"{got:.2f}" if vs and got is not None else common.fmt_value(got, unit)
            verdicts.append(f"{figure}: {text} -> {shown}: {ok.strip('*')}")
            cells += [text, ok]
        else:
            cells += ["", ""]
        lines.append("| " + " | ".join(cells) + " |")
    for figure, rows in figures.items():
        for impl, r in rows.items():
            if r.get("error"):
                verdicts.append(f"{figure} / {impl}: ERROR {r['error']}")
    return "\n".join(lines), verdicts


class LoadSampler(threading.Thread):
    """The 1-minute load average every 15 s while the benchmarks run (other processes
    on a shared machine inflate wall times; the report says how busy it was)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.samples.append(os.getloadavg()[0])
            self.stop.wait(15)

    def summary(self) -> str:
        if not self.samples:
            return "n/a"
        return (f"min {min(self.samples):.2f}, median {statistics.median(self.samples):.2f}, "
                f"max {max(self.samples):.2f} ({len(self.samples)} samples, 1-minute average)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the raw JSON lines, no table")
    parser.add_argument("--only", help="comma-separated benchmark names (import,load,forward,tokenizers,...)")
    parser.add_argument("--skip", default="", help="comma-separated benchmark names to leave out")
    parser.add_argument("--script-args", action="append", default=[], metavar='NAME="ARGS"',
                        help='extra arguments for one benchmark script, e.g. forward="--models xlnet-base" '
                             "(repeatable; after ARGS' defaults, so they win)")
    args = parser.parse_args()
    extra: dict[str, list[str]] = {}
    for item in args.script_args:
        name, sep, rest = item.partition("=")
        if not sep:
            parser.error(f'--script-args {item!r}: expected NAME="ARGS", e.g. forward="--models xlnet-base"')
        extra.setdefault(name, []).extend(shlex.split(rest))
    only = set(args.only.split(",")) if args.only else None
    skip = set(filter(None, args.skip.split(",")))
    started = time.perf_counter()
    facts = machine()
    sampler = LoadSampler()
    sampler.start()
    common.ensure_checkpoint()
    records, notes = [], []
    for path in (p for p in scripts(only) if p.stem.removeprefix("bench_") not in skip):
        print(f"# running {path.name} ...", file=sys.stderr, flush=True)
        got, note = run_script(path, echo=args.json, extra=extra.get(path.stem.removeprefix("bench_")))
        records += got
        notes.append(note)
        print(f"# {note}", file=sys.stderr, flush=True)
    total = time.perf_counter() - started
    sampler.stop.set()
    facts["load average during the run"] = sampler.summary()
    text, verdicts = table(records)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    results = common.BENCH / "results"
    results.mkdir(exist_ok=True)
    report = "\n".join([
        f"Machine: {facts['cpu']}, {facts['cores']} cores, {facts['memory']}; {facts['os']}",
        "Versions: " + ", ".join(f"{k} {facts[k]}" for k in ("python", "torch", "transformers",
                                                               "pytorch-transformers", "plugformers",
                                                               "plugformers-bert", "plugformers-gpt2",
                                                               "plugformers-distilbert", "plugformers-xlnet",
                                                               "plugformers-xlm", "plugformers-transfo-xl",
                                                               "plugformers-roberta", "plugformers-openai-gpt",
                                                               "tokenizers")),
        f"Commit: {facts['commit']}; torch threads: {facts['torch threads']}; "
        f"load average at start: {facts['load average at start']}",
        f"Load average during the run: {facts['load average during the run']}",
        "",
        text,
        "",
        "Targets:",
        *(f"- {v}" for v in verdicts),
        "",
        f"Run time: {total:.0f} s ({'; '.join(notes)})",
    ])
    (results / f"{stamp}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    if only is None and not skip and not extra:  # a complete run
        (results / "latest.md").write_text(report + "\n")
        (results / "latest.json").write_text(json.dumps({"machine": facts, "records": records}, indent=1) + "\n")
    if not args.json:
        print(report)


if __name__ == "__main__":
    main()
