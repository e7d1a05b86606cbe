"""Figure "forward": the base model's forward latency, for every installed architecture
the benchmark knows (ARCHS): bert-base (BertModel), gpt2-124M (GPT2Model),
distilbert-base (DistilBertModel: 6 layers, 768 wide; the example plugin) and xlnet-base
(XLNetModel: 12 layers, d_model 768, d_inner 3072, vocab 32000, mem_len None), xlm-base
(XLMModel: emb_dim 1024, 12 layers, 8 heads, vocab 30000), roberta-base (RobertaModel: 768,
12 layers, vocab 50265), openai-gpt (OpenAIGPTModel: 768, 12 layers, vocab 40478, 512
positions) and transfo-xl-wt103-small (TransfoXLModel: d_model 512, 8 layers, 8 heads,
d_head 64, d_inner 2048, cutoffs [2000, 10000], div_val 4, vocab 30000, mem_len 128; a
batch of 4 x 128 timed with the mems of a first segment), from cached
random checkpoints that give every implementation the same weights; eval mode,
torch.inference_mode, a batch of 8 x 128 tokens with an all-ones attention mask, fp32,
torch.set_num_threads(2) (pytorch-transformers' GPT2Model takes no mask and gets none).
3 warm-up passes, then the median of 10.

Run without --impl, the three implementations are separate processes that take their
passes in turn (round after round), so that other load on the machine hits all of them
alike; --sequential runs them one after another. ``cpu_s`` is the median CPU time of a
pass divided by the thread count. Each record names its architecture in ``model``.

    python bench/bench_forward.py                          # every installed architecture
    python bench/bench_forward.py --models gpt2-124M       # one
    python bench/bench_forward.py --impl plugformers --models bert-base
"""

from __future__ import annotations

import contextlib
import inspect
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

# Per architecture: the plugformers plugin (entry-point name) it needs, the base-model
# class of each implementation, and the checkpoint folder each one loads.
ARCHS = {
    "bert-base": dict(plugin="bert", cls="BertModel", folder=lambda impl: common.CKPT_PT1
                      if impl == "pytorch-transformers" else common.CKPT),
    "gpt2-124M": dict(plugin="gpt2", cls="GPT2Model", folder=lambda impl: common.gpt2_checkpoint(
        "gpt2-124M", pt1=impl == "pytorch-transformers")),
    "distilbert-base": dict(plugin="distilbert", cls="DistilBertModel", folder=lambda impl: common.DISTILBERT_CKPT_PT1
                            if impl == "pytorch-transformers" else common.DISTILBERT_CKPT),
    "xlnet-base": dict(plugin="xlnet", cls="XLNetModel", folder=lambda impl: common.XLNET_CKPT_PT1
                       if impl == "pytorch-transformers" else common.XLNET_CKPT),
    # The architectures below run against their oracle only (``impls``; the target is
    # against ``vs``): transformers for XLM, RoBERTa and OpenAI GPT, pytorch-transformers
    # 1.2.0 for Transformer-XL, which transformers 5 no longer has.
    "xlm-base": dict(plugin="xlm", cls="XLMModel", folder=lambda impl: common.XLM_CKPT,
                     impls=("plugformers", "transformers")),
    "roberta-base": dict(plugin="roberta", cls="RobertaModel", folder=lambda impl: common.ROBERTA_CKPT,
                         impls=("plugformers", "transformers")),
    "openai-gpt": dict(plugin="openai-gpt", cls="OpenAIGPTModel", folder=lambda impl: common.OPENAI_GPT_CKPT,
                       impls=("plugformers", "transformers")),
    # A 4 x 128 segment timed after a first segment whose mems it attends to (klen 256);
    # no attention mask (Transformer-XL has none).
    "transfo-xl-wt103-small": dict(plugin="transfo-xl", cls="TransfoXLModel", folder=lambda impl: common.transfo_xl_checkpoint(
        "transfo-xl-wt103-small", pt1=impl == "pytorch-transformers"), impls=("plugformers", "pytorch-transformers"),
        vs="pytorch-transformers", batch=4, mems=True),
}


def installed_archs() -> list[str]:
    """The ARCHS whose plugformers plugin is installed (read from entry points: no import)."""
    plugins = common.installed_plugins()
    return [name for name, arch in ARCHS.items() if arch["plugin"] in plugins]


def _model(impl: str, arch: str):
    spec = ARCHS[arch]
    if impl == "plugformers":
        import plugformers as library
    elif impl == "transformers":
        import transformers as library
    else:
        import pytorch_transformers as library
    return getattr(library, spec["cls"]).from_pretrained(str(spec["folder"](impl)))


def _setup(impl: str, arch: str, args):
    torch = common.setup_torch()
    model = _model(impl, arch).eval()
    spec = ARCHS[arch]
    gen = torch.Generator().manual_seed(0)
    batch = spec.get("batch", args.batch)
    ids = torch.randint(1000, 30000, (batch, args.seq), generator=gen)  # inside every vocabulary
    # pytorch-transformers 1.2's GPT2Model takes no attention mask (all ones here anyway).
    kwargs = {"attention_mask": torch.ones_like(ids)} if "attention_mask" in inspect.signature(model.forward).parameters \
        and not spec.get("mems") else {}
    if spec.get("mems"):  # the mems of a first segment, outside the timing
        with torch.inference_mode():
            first = model(torch.randint(1000, 30000, (batch, args.seq), generator=gen))
        kwargs["mems"] = first[1] if isinstance(first, (tuple, list)) else first.mems

    def one_pass() -> tuple[float, float, object]:
        with torch.inference_mode():
            t0, c0 = time.perf_counter(), time.process_time()
            out = model(ids, **kwargs)
            return time.perf_counter() - t0, time.process_time() - c0, out

    return torch, one_pass


def _checksum(out) -> float:
    hidden = out[0] if isinstance(out, (tuple, list)) else out.last_hidden_state
    return round(float(hidden.double().abs().mean()), 6)


def _emit(impl: str, arch: str, args, times: list[float], cpus: list[float], checksum: float, **extra) -> dict:
    spec = ARCHS[arch]
    vs = spec.get("vs", "transformers")
    return common.emit(
        "forward", impl, round(statistics.median(times), 5), "s", better="lower", model=arch,
        batch=spec.get("batch", args.batch), seq=args.seq, **({"with_mems": True} if spec.get("mems") else {}), warmup=args.warmup, repeats=len(times),
        cpu_s=round(statistics.median(cpus) / common.NUM_THREADS, 5),
        min_s=round(min(times), 5), max_s=round(max(times), 5), threads=common.NUM_THREADS,
        checksum=checksum, **({"target": {"max": 1.0, "vs": vs}} if impl == "plugformers" else {}),
        **extra,
    )


def _models(args) -> list[str]:
    return args.models.split(",") if args.models else installed_archs()


def measure(args) -> None:
    if args.serve:  # one architecture: the parent starts a server per architecture
        return _serve(_setup(args.impl, args.models, args)[1])
    for arch in _models(args):
        if args.impl not in ARCHS[arch].get("impls", common.IMPLS):
            continue
        _, one_pass = _setup(args.impl, arch, args)
        times, cpus = [], []
        for i in range(args.warmup + args.repeats):
            wall, cpu, out = one_pass()
            if i >= args.warmup:
                times.append(wall)
                cpus.append(cpu)
        _emit(args.impl, arch, args, times, cpus, _checksum(out))


def _serve(one_pass) -> None:
    """Lock-step mode for interleaved(): one pass per line read from stdin."""
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if line.strip() != "run":
            break
        wall, cpu, out = one_pass()
        print(json.dumps({"wall": wall, "cpu": cpu, "checksum": _checksum(out)}), flush=True)


def interleaved(args, impls: list[str]) -> list[dict]:
    """Per architecture, one server process per implementation, each holding its model;
    the parent asks them for one pass in turn (the others wait, idle), round after round."""
    records = []
    for arch in _models(args):
        records += _interleaved_arch(args, impls, arch)
    return records


def _interleaved_arch(args, impls: list[str], arch: str) -> list[dict]:
    script = str(Path(__file__).resolve())
    impls = [impl for impl in impls if impl in ARCHS[arch].get("impls", common.IMPLS)]
    forwarded = [f"--batch={args.batch}", f"--seq={args.seq}", f"--models={arch}"]
    servers, errors = {}, {}
    for impl in impls:  # started one at a time, so that loading does not overlap
        proc = subprocess.Popen([common.PY, script, "--impl", impl, "--serve", *forwarded], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                env=common.bench_env(), cwd=common.REPO)
        line = proc.stdout.readline()
        if not line.startswith("{"):
            proc.kill()
            errors[impl] = f"server did not start (exit {proc.wait()})"
            continue
        servers[impl] = proc
    samples = {impl: ([], [], None) for impl in servers}
    try:
        for round_ in range(args.warmup + args.repeats):
            for impl in common.rotated(list(servers), round_):
                proc = servers[impl]
                proc.stdin.write("run\n")
                proc.stdin.flush()
                reply = json.loads(proc.stdout.readline())
                if round_ >= args.warmup:
                    samples[impl][0].append(reply["wall"])
                    samples[impl][1].append(reply["cpu"])
                samples[impl] = (samples[impl][0], samples[impl][1], reply["checksum"])
    finally:
        for proc in servers.values():
            with contextlib.suppress(OSError):
                proc.stdin.close()
            proc.wait(timeout=60)
    records = []
    for impl in impls:
        if impl in errors:
            records.append(common.emit("forward", impl, None, "s", model=arch, error=errors[impl]))
        else:
            times, cpus, checksum = samples[impl]
            records.append(_emit(impl, arch, args, times, cpus, checksum, interleaved=True))
    return records


def prepare() -> None:
    installed = installed_archs()
    if "bert-base" in installed:
        common.ensure_checkpoint()
    if "gpt2-124M" in installed:
        common.ensure_gpt2_checkpoints()
    if "distilbert-base" in installed:
        common.ensure_distilbert_checkpoint()
    if "xlnet-base" in installed:
        common.ensure_xlnet_checkpoints()
    if "xlm-base" in installed:
        common.ensure_xlm_checkpoints()
    if "roberta-base" in installed or "openai-gpt" in installed:
        common.ensure_roberta_openai_gpt_checkpoints()
    if "transfo-xl-wt103-small" in installed:
        common.ensure_transfo_xl_checkpoints()


def add_args(parser) -> None:
    parser.add_argument("--models", default="", help=f"comma-separated, of {', '.join(ARCHS)} "
                                                     "(default: every installed one)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--serve", action="store_true", help="internal: lock-step server for the interleaved run")


if __name__ == "__main__":
    common.main("forward", measure, add_args=add_args, prepare=prepare, interleaved=interleaved)
