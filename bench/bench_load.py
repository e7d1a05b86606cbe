"""Figure "load": ``AutoModel.from_pretrained(folder)`` of a bert-base-sized checkpoint
(hidden 768, 12 layers, 12 heads, vocab 30522; 438 MB of fp32 weights) and of a
gpt2-124M-sized one (768 wide, 12 layers, 12 heads, vocab 50257; 498 MB), local, with the
file in the page cache. Both have random weights (bench/.cache, written once).

Every repeat is a fresh interpreter that first imports the library and resolves the
model's class (BertModel, GPT2Model), then times from_pretrained alone. The median over
the repeats is reported; ``cpu_s`` is the median CPU time (user + sys).

Figure "load_rss": memory held because of the model, as a multiple of the weights'
size: (VmRSS after load and one forward pass of 1 x 16 tokens, with every parameter
read once - minus VmRSS before from_pretrained) / weights bytes. Figure "load_peak_rss":
the same with the peak (VmHWM) in place of VmRSS after the forward pass.

plugformers and transformers read the safetensors checkpoints (bench/.cache/bert-base-random,
bench/.cache/gpt2-gpt2-124M-random, a GPT2LMHeadModel's save_pretrained: AutoModel takes
its base model); pytorch-transformers 1.2.0, which reads only pytorch_model.bin, reads the
same tensors from the -pt1 twins. Each record names its checkpoint in ``model``.

With the transfo-xl plugin installed, "transfo-xl-wt103-small" (common.TRANSFO_XL_MODELS: d_model
512, 8 layers, vocab 30000 with cutoffs [2000, 10000], div_val 4; a TransfoXLLMHeadModel
written by pytorch-transformers 1.2, AutoModel takes its TransfoXLModel) is timed against
pytorch-transformers 1.2.0 only, the one library that has Transformer-XL.

    python bench/bench_load.py                          # both sizes, all implementations
    python bench/bench_load.py --models gpt2-124M --repeats 3
"""

from __future__ import annotations

import gc
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

# Per checkpoint: the class each library resolves before timing, the folders.
MODELS = {
    "bert-base": dict(cls="BertModel", folder=lambda impl: common.CKPT_PT1 if impl == "pytorch-transformers"
                      else common.CKPT),
    "gpt2-124M": dict(cls="GPT2Model", folder=lambda impl: common.gpt2_checkpoint(
        "gpt2-124M", pt1=impl == "pytorch-transformers")),
    # Transformer-XL against pytorch-transformers 1.2.0 only (transformers 5 has none): the
    # TransfoXLLMHeadModel of common.TRANSFO_XL_MODELS (AutoModel takes its base model),
    # our safetensors against 1.2's own pytorch_model.bin of the same tensors.
    "transfo-xl-wt103-small": dict(cls="TransfoXLModel", folder=lambda impl: common.transfo_xl_checkpoint(
        "transfo-xl-wt103-small", pt1=impl == "pytorch-transformers"), impls=("plugformers", "pytorch-transformers"),
        vs="pytorch-transformers"),
}
PLUGIN = {"bert-base": "bert", "gpt2-124M": "gpt2", "transfo-xl-wt103-small": "transfo-xl"}
LIBRARY = {"plugformers": "plugformers", "transformers": "transformers", "pytorch-transformers": "pytorch_transformers"}


def _folder(impl: str, model: str) -> Path:
    return MODELS[model]["folder"](impl)


def _weights_file(impl: str, model: str) -> Path:
    name = "pytorch_model.bin" if impl == "pytorch-transformers" else "model.safetensors"
    return _folder(impl, model) / name


def _import(impl: str, model: str):
    """Import the library, resolve the model's class; return its AutoModel."""
    import importlib

    library = importlib.import_module(LIBRARY[impl])
    getattr(library, MODELS[model]["cls"])  # import the modeling module now, not inside the timing
    return library.AutoModel


def once(impl: str, model_name: str) -> None:
    """One repeat, in this (fresh) process: print one JSON line of raw numbers."""
    torch = common.setup_torch()
    auto = _import(impl, model_name)
    folder = str(_folder(impl, model_name))
    gc.collect()
    before = common.rss()
    t0, c0 = time.perf_counter(), time.process_time()
    model = auto.from_pretrained(folder)
    load_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    after_load = common.rss()
    model.eval()
    ids = torch.randint(1000, 2000, (1, 16), generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        out = model(ids)
        checksum = sum(float(p.double().sum()) if p.numel() < 1 << 16 else float(p.sum())
                       for p in model.parameters())  # read every weight once
    first = out[0] if isinstance(out, (tuple, list)) else out.last_hidden_state
    del out
    gc.collect()
    after_forward = common.rss()
    print(json.dumps({
        "load_s": load_s, "cpu_s": cpu_s, "before": before, "after_load": after_load, "after_forward": after_forward,
        "n_params": sum(p.numel() for p in model.parameters()), "checksum": checksum,
        "out_shape": list(first.shape), "model_class": type(model).__name__,
    }), flush=True)


def _one_repeat(impl: str, model: str) -> dict:
    proc = common.run_python([str(Path(__file__).resolve()), "--impl", impl, "--once", "--models", model], timeout=600)
    lines = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{impl}: a load repeat failed:\n{proc.stderr[-3000:]}")
    return lines[-1]


def _emit(impl: str, model: str, runs: list[dict], **extra) -> list[dict]:
    weights = common.weights_bytes(_folder("plugformers", model))
    extra["model"] = model
    med = common.median
    ratios = [(r["after_forward"]["VmRSS"] - r["before"]["VmRSS"]) / weights for r in runs]
    peaks = [(r["after_forward"]["VmHWM"] - r["before"]["VmRSS"]) / weights for r in runs]
    after_load = [(r["after_load"]["VmRSS"] - r["before"]["VmRSS"]) / weights for r in runs]
    anon = [(r["after_forward"]["RssAnon"] - r["before"]["RssAnon"]) / weights for r in runs]
    file_backed = [(r["after_forward"]["RssFile"] - r["before"]["RssFile"]) / weights for r in runs]
    return [
        common.emit(
            "load", impl, round(med(r["load_s"] for r in runs), 4), "s", better="lower", repeats=len(runs),
            samples=[round(r["load_s"], 4) for r in runs], cpu_s=round(med(r["cpu_s"] for r in runs), 4),
            weights_bytes=weights, file=str(_weights_file(impl, model).relative_to(common.REPO)),
            model_class=runs[-1]["model_class"],
            **({"target": {"max": 0.3, "vs": MODELS[model].get("vs", "transformers")}} if impl == "plugformers"
               else {}), **extra,
        ),
        common.emit(
            "load_rss", impl, round(med(ratios), 4), "x", better="lower",
            rss_after_load_x=round(med(after_load), 4), peak_x=round(med(peaks), 4),
            anon_x=round(med(anon), 4), file_backed_x=round(med(file_backed), 4),
            baseline_rss_mib=round(runs[-1]["before"]["VmRSS"] / 2**20, 1), weights_bytes=weights,
            **({"target": {"max": 1.25}} if impl == "plugformers" else {}), **extra,
        ),
        common.emit("load_peak_rss", impl, round(med(peaks), 4), "x", better="lower", weights_bytes=weights, **extra),
    ]


def _models(args) -> list[str]:
    if args.models:
        return args.models.split(",")
    plugins = common.installed_plugins()
    return [name for name in MODELS if PLUGIN[name] in plugins]


def measure(args) -> None:
    for model in _models(args):
        if args.impl not in MODELS[model].get("impls", common.IMPLS):
            continue
        common.warm_page_cache(_weights_file(args.impl, model))
        try:
            runs = [_one_repeat(args.impl, model) for _ in range(args.repeats)]
        except RuntimeError as e:
            raise SystemExit(str(e)) from None
        _emit(args.impl, model, runs)


def interleaved(args, impls: list[str]) -> list[dict]:
    """Per checkpoint, repeat after repeat, one fresh process per implementation in turn."""
    records = []
    all_impls = impls
    for model in _models(args):
        impls = [impl for impl in all_impls if impl in MODELS[model].get("impls", common.IMPLS)]
        for impl in impls:
            common.warm_page_cache(_weights_file(impl, model))
        runs: dict[str, list[dict]] = {impl: [] for impl in impls}
        errors: dict[str, str] = {}
        for round_ in range(args.repeats):
            for impl in common.rotated(impls, round_):
                if impl in errors:
                    continue
                try:
                    runs[impl].append(_one_repeat(impl, model))
                except RuntimeError as e:
                    errors[impl] = str(e).strip().splitlines()[-1][:300]
        for impl in impls:
            if impl in errors:
                records.append(common.emit("load", impl, None, "s", model=model, error=errors[impl]))
            else:
                records += _emit(impl, model, runs[impl], interleaved=True)
    return records


def prepare() -> None:
    common.ensure_checkpoint()
    common.ensure_gpt2_checkpoints()
    if "transfo-xl" in common.installed_plugins():
        common.ensure_transfo_xl_checkpoints()


def add_args(parser) -> None:
    parser.add_argument("--models", default="", help=f"comma-separated, of {', '.join(MODELS)} "
                                                     "(default: every installed one)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--once", action="store_true", help="internal: one repeat in this process, raw numbers")


if __name__ == "__main__":
    if "--once" in sys.argv and "--impl" in sys.argv:
        once(sys.argv[sys.argv.index("--impl") + 1], sys.argv[sys.argv.index("--models") + 1])
    else:
        common.main("load", measure, add_args=add_args, prepare=prepare, interleaved=interleaved)
