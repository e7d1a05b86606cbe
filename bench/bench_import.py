"""Figure "import_resolve": the time to import the library and resolve BertModel, beyond
``import torch`` alone.

Each sample is a fresh interpreter (``python -c ...``), timed from the parent; the
median of the library's samples minus the median of ``python -c "import torch"``
samples, the two interleaved so that drift in machine load hits both alike. The value
is wall time; ``cpu_s`` is the same difference in CPU time (user + sys), steadier when
other processes share the machine. Run without --impl, the records also carry
``paired_s`` / ``paired_cpu_s``: the median over the rounds of (library - reference),
each round's two samples taken one after the other.

Figure "import_bare": ``import <library>`` alone, minus ``python -c pass``: what a
program pays that imports the library but touches no model.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

RESOLVE = {
    "plugformers": "import plugformers; plugformers.AutoModel; from plugformers import BertModel",
    "transformers": "import transformers; transformers.AutoModel; transformers.BertModel",
    "pytorch-transformers": "import pytorch_transformers; pytorch_transformers.AutoModel; pytorch_transformers.BertModel",
}
BARE = {
    "plugformers": "import plugformers",
    "transformers": "import transformers",
    "pytorch-transformers": "import pytorch_transformers",
}
TORCH = "import torch"
PASS = "pass"


def _interleaved(code: str, reference: str, repeats: int) -> dict[str, float]:
    """Median wall and CPU seconds of ``code`` and of ``reference``, fresh interpreters,
    alternating."""
    common.time_fresh_python(code)  # warm-up: .pyc files written, files in the page cache
    common.time_fresh_python(reference)
    mine, ref = [], []
    for _ in range(repeats):
        mine.append(common.time_fresh_python(code))
        ref.append(common.time_fresh_python(reference))
    med = common.median
    return {"wall": med(w for w, _ in mine), "cpu": med(c for _, c in mine),
            "ref_wall": med(w for w, _ in ref), "ref_cpu": med(c for _, c in ref)}


def measure(args) -> None:
    impl = args.impl
    m = _interleaved(RESOLVE[impl], TORCH, args.repeats)
    target = {"max": 0.15} if impl == "plugformers" else None
    common.emit("import_resolve", impl, round(m["wall"] - m["ref_wall"], 4), "s", better="lower",
                cpu_s=round(m["cpu"] - m["ref_cpu"], 4), total_s=round(m["wall"], 4),
                torch_s=round(m["ref_wall"], 4), repeats=args.repeats, code=RESOLVE[impl],
                **({"target": target} if target else {}))
    b = _interleaved(BARE[impl], PASS, args.bare_repeats)
    common.emit("import_bare", impl, round(b["wall"] - b["ref_wall"], 4), "s", better="lower",
                cpu_s=round(b["cpu"] - b["ref_cpu"], 4), total_s=round(b["wall"], 4),
                python_s=round(b["ref_wall"], 4), repeats=args.bare_repeats, code=BARE[impl])


def interleaved(args, impls: list[str]) -> list[dict]:
    """Every implementation and the references in turn, round after round: one shared
    ``import torch`` / ``pass`` baseline, and machine-load drift spread evenly."""
    med = common.median
    records = []
    for figure, codes, reference, repeats in (("import_resolve", RESOLVE, TORCH, args.repeats),
                                              ("import_bare", BARE, PASS, args.bare_repeats)):
        order = [reference] + [codes[i] for i in impls]
        for code in order:  # warm-up
            common.time_fresh_python(code)
        samples: dict[str, list[tuple[float, float]]] = {code: [] for code in order}
        for _ in range(repeats):
            for code in order:
                samples[code].append(common.time_fresh_python(code))
        ref_wall = med(w for w, _ in samples[reference])
        ref_cpu = med(c for _, c in samples[reference])
        for impl in impls:
            got = samples[codes[impl]]
            wall, cpu = med(w for w, _ in got), med(c for _, c in got)
            # The median of the per-round differences: steadier than the difference of the
            # medians when the machine's load drifts (each round's two samples are adjacent).
            paired = med(w - rw for (w, _), (rw, _) in zip(got, samples[reference], strict=True))
            paired_cpu = med(c - rc for (_, c), (_, rc) in zip(got, samples[reference], strict=True))
            extra = {"total_s": round(wall, 4), "repeats": repeats, "code": codes[impl],
                     "paired_s": round(paired, 4), "paired_cpu_s": round(paired_cpu, 4)}
            extra["torch_s" if reference == TORCH else "python_s"] = round(ref_wall, 4)
            if figure == "import_resolve" and impl == "plugformers":
                extra["target"] = {"max": 0.15}
            records.append(common.emit(figure, impl, round(wall - ref_wall, 4), "s", better="lower",
                                       cpu_s=round(cpu - ref_cpu, 4), interleaved=True, **extra))
    return records


def add_args(parser) -> None:
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--bare-repeats", type=int, default=3)


if __name__ == "__main__":
    common.main("import", measure, add_args=add_args, interleaved=interleaved)
