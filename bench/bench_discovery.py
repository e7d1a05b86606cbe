"""Figures "discovery_*": what installed plugins cost a program that does not use them.

Generates 20 throwaway plugin distributions (``pfbench-01`` ... ``pfbench-20``: an entry
module, a config module, a modeling module that imports torch), and two virtualenvs
layered on this environment (plugformers.testing.venv): one with 1 of them installed,
one with all 20. Both also see this environment's own plugins. Each sample is a fresh
interpreter of one venv, timed from here, the two venvs taking turns:

- ``discovery_import_1`` / ``_20``: ``import plugformers``, nothing else;
- ``discovery_1`` / ``_20``: ``import plugformers`` and ``registry.model_types()`` (every
  entry module imported, every hook run);
- ``discovery_20_vs_1``: the ratio of the two ``discovery`` medians, CPU time (steadier
  than wall time on a shared machine; target: at most 1.1);
- ``plugins_cli``: ``python -m plugformers.cli plugins``, with 20 (target: under 0.5 s,
  interpreter start included);
- ``discovery_resolve_imports``: after resolving one type's config and base head classes,
  the modules of *other* plugins beyond their entry modules in ``sys.modules`` (target 0).

Every time includes the interpreter's start (``python -c pass``: about 15 ms here).

    .venv/bin/python bench/bench_discovery.py              # JSON lines + a summary
    .venv/bin/python bench/bench_discovery.py --repeats 21
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

from plugformers.testing.venv import LayeredVenv, write_plugin_package  # noqa: E402  (imports no torch)

N_PLUGINS = 20
ENTRY = """
from plugformers import ModelType, hookimpl

@hookimpl
def register_model_types(register):
    register(ModelType(model_type="{t}", config="{pkg}.configuration:Config{i}",
                       heads={{"base": "{pkg}.modeling:Model{i}"}}, name_patterns=("{t}",)))
"""
CONFIG = """
from typing import ClassVar
from plugformers.configuration_utils import PretrainedConfig

class Config{i}(PretrainedConfig):
    model_type: ClassVar[str] = "{t}"
    hidden_size: int = 8
"""
MODELING = """
import torch
from plugformers.modeling_utils import PreTrainedModel
from .configuration import Config{i}

class Model{i}(PreTrainedModel):
    config_class = Config{i}

    def __init__(self, config):
        super().__init__(config)
        self.linear = torch.nn.Linear(config.hidden_size, config.hidden_size)
        self.post_init()
"""
BARE = "import plugformers"
DISCOVER = "import plugformers; plugformers.registry.model_types()"
RESOLVE = """
import json, sys, plugformers
reg = plugformers.registry
reg.config_class("pfbench-07"); reg.head_class("pfbench-07", "base")
bench = [m for m in sys.modules if m.startswith("pfbench_")]
others = [m for m in bench if not m.startswith("pfbench_07") and "." in m and not m.endswith(".plugin")]
print(json.dumps({"others": sorted(others), "own": sorted(m for m in bench if m.startswith("pfbench_07"))}))
"""


def build(root: Path) -> dict[int, LayeredVenv]:
    packages = []
    for i in range(1, N_PLUGINS + 1):
        dist, t = f"pfbench-{i:02d}", f"pfbench-{i:02d}"
        pkg = dist.replace("-", "_")
        fmt = dict(i=i, t=t, pkg=pkg)
        packages.append(write_plugin_package(root / "src" / dist, dist, f"bench{i:02d}", ENTRY.format(**fmt),
                                             {"configuration.py": CONFIG.format(**fmt),
                                              "modeling.py": MODELING.format(**fmt)}))
    venvs = {}
    for n in (1, N_PLUGINS):
        venv = LayeredVenv.create(root / f"venv{n}")
        venv.install(*packages[6:7] if n == 1 else packages)  # pfbench-07 in both
        venvs[n] = venv
    return venvs


def env_for(venv: LayeredVenv) -> dict[str, str]:
    env = {k: v for k, v in common.bench_env().items() if not k.startswith("PLUGFORMERS_")}
    env["PATH"] = f"{venv.bin}{os.pathsep}{env.get('PATH', '')}"
    return env


def sample(venv: LayeredVenv, args: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one fresh interpreter of ``venv`` running ``args``."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([str(venv.executable), *args], stdout=subprocess.DEVNULL, stderr=err,
                                env=env_for(venv), cwd=common.REPO)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - t0
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            raise RuntimeError(f"{args} failed:\n{err.read().decode(errors='replace')[-2000:]}")
    return elapsed, usage.ru_utime + usage.ru_stime


def measure(args: argparse.Namespace) -> list[dict]:
    records = []
    with tempfile.TemporaryDirectory(prefix="bench-discovery-") as tmp:
        t0 = time.perf_counter()
        venvs = build(Path(tmp))
        setup_s = time.perf_counter() - t0
        cases = {"discovery_import": ["-c", BARE], "discovery": ["-c", DISCOVER]}
        runs = [(name, n) for name in cases for n in venvs]
        for name, n in runs:  # warm-up: page cache, .pyc files
            sample(venvs[n], cases[name])
        samples: dict[tuple[str, int], list[tuple[float, float]]] = {run: [] for run in runs}
        for _ in range(args.repeats):
            for name, n in runs:
                samples[name, n].append(sample(venvs[n], cases[name]))
        med = common.median
        cpu_medians = {}
        for (name, n), got in samples.items():
            wall, cpu = med(w for w, _ in got), med(c for _, c in got)
            cpu_medians[name, n] = cpu
            records.append(common.emit(f"{name}_{n}", "plugformers", round(wall, 4), "s", plugins=n,
                                       cpu_s=round(cpu, 4), repeats=args.repeats, code=cases[name][1],
                                       setup_s=round(setup_s, 1)))
        one, twenty = cpu_medians["discovery", 1], cpu_medians["discovery", N_PLUGINS]
        records.append(common.emit("discovery_20_vs_1", "plugformers", round(twenty / one, 3), "x",
                                   target={"max": 1.1}, cpu_with_1_s=round(one, 4), cpu_with_20_s=round(twenty, 4),
                                   per_extra_plugin_ms=round((twenty - one) / (N_PLUGINS - 1) * 1e3, 2)))
        cli = [sample(venvs[N_PLUGINS], ["-m", "plugformers.cli", "plugins"]) for _ in range(args.repeats)]
        records.append(common.emit("plugins_cli", "plugformers", round(med(w for w, _ in cli), 4), "s",
                                   target={"max": 0.5}, plugins=N_PLUGINS, cpu_s=round(med(c for _, c in cli), 4),
                                   code="python -m plugformers.cli plugins", repeats=args.repeats))
        out = venvs[N_PLUGINS].python("-c", RESOLVE).stdout
        found = json.loads(out.strip().splitlines()[-1])
        records.append(common.emit("discovery_resolve_imports", "plugformers", len(found["others"]), "modules",
                                   target={"max": 0}, other_plugins_modules=found["others"],
                                   own_modules=found["own"], plugins=N_PLUGINS))
    return records


def summary(records: list[dict]) -> None:
    by = {r["figure"]: r for r in records}
    one, twenty = by["discovery_1"], by[f"discovery_{N_PLUGINS}"]
    bare1, bare20 = by["discovery_import_1"], by[f"discovery_import_{N_PLUGINS}"]
    ratio = by["discovery_20_vs_1"]

    def ms(r: dict) -> str:
        return f"{r['value'] * 1e3:.0f} ms (cpu {r['cpu_s'] * 1e3:.0f} ms)"

    print(f"# import plugformers: {ms(bare1)} with 1 plugin, {ms(bare20)} with {N_PLUGINS}")
    print(f"# import + discovery: {ms(one)} with 1 plugin, {ms(twenty)} with {N_PLUGINS}; cpu ratio "
          f"{ratio['value']:.3f}, {ratio['per_extra_plugin_ms']:.2f} ms per extra plugin")
    print(f"# plugformers plugins ({N_PLUGINS} plugins): {ms(by['plugins_cli'])}")
    r = by["discovery_resolve_imports"]
    print(f"# resolving pfbench-07 imported {r['value']} modules of other plugins beyond their entry modules; "
          f"its own: {', '.join(r['own_modules'])}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="benchmark: plugin discovery with 1 and 20 installed plugins")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--impl", choices=["plugformers"], help="accepted for bench/run.py; plugformers only")
    summary(measure(parser.parse_known_args()[0]))
