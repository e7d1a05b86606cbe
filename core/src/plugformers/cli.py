"""The `plugformers` command line.

    plugformers run TASK --model M [TEXT ...]  run a pipeline on texts (arguments, else stdin,
                                               one per line) and print its results; --json
    plugformers info M                         a checkpoint (folder or Hub id): config summary,
                                               parameters by module, heads and tasks, files
    plugformers download M                     fill the Hub cache with the files from_pretrained
                                               reads (safetensors rather than .bin)
    plugformers plugins [--json] [--check]     installed plugins: distributions, model types,
                                               heads, conflicts, broken and disabled ones
    plugformers new-plugin NAME [--dir DIR]    scaffold a plugin package (see docs/plugins.md)
    plugformers convert-vocab PATH --allow-pickle [--output DIR]
                                               re-save a tokenizer whose vocabulary is a pickle
                                               (vocab.pkl, vocab.bin) in the safe format

``plugformers plugins`` reads entry points and imports each plugin's entry module only,
never torch; ``--check`` also imports every class each plugin names (and so torch) and
exits 1 if any plugin is broken, contested or names a class that does not resolve. The
other commands import what they need when they run, so ``--help`` stays fast.

A mistake the user can fix -- a repo id or revision that does not exist, an unknown task,
a model without the task's head, a bad option value -- prints one line on stderr,
``plugformers COMMAND: what is wrong and what to do``, and exits 1 (argparse's own usage
errors exit 2).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import textwrap
import warnings
from collections.abc import Iterator
from pathlib import Path

from .registry import PluginError, PluginWarning, registry


def _type_rows(info) -> list[dict]:
    """What one plugin registers, type by type, with who serves each contested type."""
    rows = []
    for model_type in info.model_types:
        claims = registry.claims(model_type)
        mine = next(r for r in claims if (r.plugin, r.distribution) == (info.name, info.distribution))
        spec = mine.spec
        row = {
            "model_type": model_type,
            "config": _target(spec.config),
            "tokenizer": _target(spec.tokenizer) if spec.tokenizer is not None else None,
            "heads": {head: _target(t) for head, t in spec.heads.items()},
            "status": "ok",
        }
        if len(claims) > 1:
            others = [r.source for r in claims if r is not mine]
            row["also_claimed_by"] = others
            try:
                served = registry.registration(model_type)
            except PluginError as e:
                row.update(status="conflict", error=str(e))
            else:
                row["status"] = "preferred" if served is mine else "passed-over"
        rows.append(row)
    return rows


def _target(target) -> str:
    return target if isinstance(target, str) else f"{target.__module__}:{target.__qualname__}"


def _check(row: dict) -> list[str]:
    """Import every class a type names; the ones that do not resolve, with the error."""
    problems = []
    model_type = row["model_type"]
    parts = [("the config class", row["config"])]
    if row["tokenizer"]:
        parts.append(("the tokenizer class", row["tokenizer"]))
    parts += [(f"the {head!r} head", target) for head, target in row["heads"].items()]
    for what, target in parts:
        try:
            registry.resolve(target, what=what, model_type=model_type)
        except Exception as e:  # noqa: BLE001 - reported, not raised
            problems.append(str(e))
    return problems


def _plugins(args: argparse.Namespace) -> int:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PluginWarning)
        infos = registry.plugins()
    notes = [str(w.message) for w in caught if issubclass(w.category, PluginWarning) and "is skipped" not in str(w.message)]
    rows, failed = [], False
    for info in infos:
        status = "disabled" if info.disabled else "broken" if info.error else "ok"
        row = {"name": info.name, "distribution": info.distribution, "version": info.version,
               "module": info.module, "status": status, "error": info.error, "model_types": _type_rows(info)}
        failed |= status == "broken" or any(t["status"] == "conflict" for t in row["model_types"])
        if args.check:
            for t in row["model_types"]:
                if t["status"] in ("ok", "preferred"):
                    t["problems"] = _check(t)
                    failed |= bool(t["problems"])
        rows.append(row)
    if args.json:
        print(json.dumps({"plugins": rows, "warnings": notes}, indent=2))
    else:
        _print_table(rows, notes)
    return 1 if args.check and failed else 0


def _print_table(rows: list[dict], notes: list[str]) -> None:
    if not rows:
        print("no plugformers plugins installed (pip install plugformers-bert, for example)")
    for row in rows:
        head = f"{row['name']}  {row['distribution'] or '?'} {row['version'] or ''}".rstrip()
        if row["status"] == "broken":
            print(f"{head}  BROKEN: {row['error']}")
            continue
        if row["status"] == "disabled":
            print(f"{head}  disabled (PLUGFORMERS_DISABLE)")
            continue
        print(head)
        for t in row["model_types"]:
            line = f"  {t['model_type']}: {', '.join(t['heads']) or 'no heads'}"
            if t["status"] == "conflict":
                line += f"\n    CONFLICT: {t['error']}"
            elif t["status"] in ("preferred", "passed-over"):
                line += f"  [{t['status']}; also claimed by {'; '.join(t['also_claimed_by'])}]"
            print(line)
            for problem in t.get("problems", ()):
                print(f"    DOES NOT RESOLVE: {problem}")
    for note in notes:
        print(f"warning: {note}", file=sys.stderr)


def _new_plugin(args: argparse.Namespace) -> int:
    from .scaffold import ScaffoldError, new_plugin

    try:
        folder = new_plugin(args.name, args.dir)
    except ScaffoldError as e:
        print(f"plugformers new-plugin: {e}", file=sys.stderr)
        return 2
    print(f"created {folder}")
    print(f"next: pip install -e {folder} && pytest {folder / 'tests'}")
    return 0


# ---------------------------------------------------------------------------- run


def _run(args: argparse.Namespace) -> int:
    from .pipelines import _task_class, pipeline

    cls = _task_class(args.task)  # an unknown task: the shortlist of known ones
    opts = _task_parser(args.task, cls).parse_args(args.args)
    params = _task_params(cls, opts)
    inputs, shown = _run_inputs(cls, opts)
    hub = {"cache_dir": opts.cache_dir} if opts.cache_dir else {}
    pipe = pipeline(args.task, model=opts.model, tokenizer=opts.tokenizer, device=_device(opts.device),
                    batch_size=opts.batch_size, torch_dtype=opts.dtype, revision=opts.revision,
                    model_kwargs=hub, **params)
    results = [_plain(r) for r in pipe(inputs)]
    if opts.json:  # JSON lines: one object per input, as the inputs came one per line
        for item, result in zip(inputs, results, strict=True):
            print(json.dumps({"input": item, "result": result}, ensure_ascii=False))
        return 0
    for n, (label, result) in enumerate(zip(shown, results, strict=True)):
        print(("\n" if n else "") + label)
        for line in _render(result):
            print("  " + line)
    return 0


def _task_parser(task: str, cls: type) -> argparse.ArgumentParser:
    """The options of ``plugformers run TASK``: the common ones, then the task's parameters."""
    qa = cls.task == "question-answering"
    p = argparse.ArgumentParser(
        prog=f"plugformers run {task}",
        description=f"Run the {cls.task} pipeline (the {cls.head!r} head) and print one result per input.",
        epilog="Values of task options and --option are read as JSON when they parse (3, true, null, "
               "[\"a\", \"b\"]), else taken as text.")
    p.add_argument("texts", nargs="*", metavar="TEXT",
                   help=("questions about --context" if qa else "the inputs") +
                        "; none: read standard input, one per line")
    p.add_argument("-m", "--model", required=True, help="a local folder or a Hub repo id")
    p.add_argument("--tokenizer", help="a tokenizer folder or repo id (default: the model's)")
    p.add_argument("--revision", help="the Hub branch, tag or commit (default: main)")
    p.add_argument("--cache-dir", help="the Hub cache folder (default: huggingface_hub's, under HF_HOME)")
    p.add_argument("--device", help="cpu, cuda, cuda:1, mps, or an index (-1 is the CPU)")
    p.add_argument("--dtype", help="load the weights as this dtype (float32, bfloat16, float16, auto)")
    p.add_argument("--batch-size", type=int, default=1, help="inputs per forward pass (default: 1)")
    p.add_argument("--json", action="store_true", help='print one JSON line per input: {"input": ..., "result": ...}')
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="any task parameter, KEY=VALUE with a JSON value (repeatable)")
    if qa:
        p.add_argument("--question", action="append", default=[], help="a question (repeatable)")
        p.add_argument("--context", help="the text that holds the answers")
    group = p.add_argument_group(f"{cls.task} options")
    for name, (default, is_bool) in _task_options(cls).items():
        flag = "--" + name.replace("_", "-")
        simple = isinstance(default, (bool, int, float, str, tuple, type(None)))
        shown = f"default: {default!r}" if simple else None
        if is_bool:
            group.add_argument(flag, dest="param:" + name, action=argparse.BooleanOptionalAction,
                               default=argparse.SUPPRESS, help=shown)
        else:
            group.add_argument(flag, dest="param:" + name, metavar="VALUE", default=argparse.SUPPRESS,
                               type=str if isinstance(default, str) else _json_value, help=shown)
    return p


def _task_options(cls: type) -> dict[str, tuple]:
    """{parameter: (default, takes no value)}: the task's parameters and, for a task that
    generates, every GenerationConfig field."""
    options = {name: (default, isinstance(default, bool)) for name, default in cls.parameters.items()}
    if getattr(cls, "_generate", None):
        from .generation import GenerationConfig

        for name, field in GenerationConfig.model_fields.items():
            options.setdefault(name, (field.default, field.annotation is bool))
    return options


def _task_params(cls: type, opts: argparse.Namespace) -> dict:
    params = {k.removeprefix("param:"): v for k, v in vars(opts).items() if k.startswith("param:")}
    accepted = set(_task_options(cls)) | set(getattr(cls, "_generate", ()))
    for item in opts.option:
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise ValueError(f"--option {item!r}: write KEY=VALUE, e.g. --option top_k=3.")
        if key not in accepted:
            import difflib

            close = difflib.get_close_matches(key, sorted(accepted), n=2, cutoff=0.6)
            hint = f"did you mean {' or '.join(map(repr, close))}?" if close else \
                f"it takes {', '.join(sorted(cls.parameters)) or 'none'}."
            raise ValueError(f"--option {item!r}: the {cls.task} task has no parameter {key!r}; {hint}")
        params[key] = _json_value(value)
    return params


def _json_value(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def _device(text: str | None):
    if text is not None and text.lstrip("-").isdigit():
        return int(text)
    return text


def _run_inputs(cls: type, opts: argparse.Namespace) -> tuple[list, list[str]]:
    """(the pipeline's inputs, how to show each one above its result)."""
    if cls.task == "question-answering":
        if opts.question and opts.texts:
            raise ValueError("give the questions once: as --question or as arguments, not both.")
        if opts.context is None:
            raise ValueError("question-answering needs --context TEXT (and questions: --question, arguments, "
                             "or standard input, one per line).")
        questions = opts.question or opts.texts or _stdin_lines("questions")
        return [{"question": q, "context": opts.context} for q in questions], [_clip(q) for q in questions]
    texts = opts.texts or _stdin_lines("texts")
    return texts, [_clip(t) for t in texts]


def _stdin_lines(what: str) -> list[str]:
    if sys.stdin is None or sys.stdin.isatty():
        raise ValueError(f"no input: give {what} as arguments, or pipe them in, one per line.")
    lines = [line.rstrip("\r\n") for line in sys.stdin]
    lines = [line for line in lines if line.strip()]
    if not lines:
        raise ValueError(f"no input: standard input held no {what} (one per line); give them as arguments.")
    return lines


def _clip(text: str, width: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _plain(value):
    """Results as JSON-ready values: tensors and numpy arrays become lists."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def _render(value) -> list[str]:
    """Readable lines for one result: records as a table, vectors as a preview."""
    if isinstance(value, dict):
        value = [value]
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return _table(value)
    if _shape(value) is not None:
        return [_numbers(value)]
    if isinstance(value, list):  # several results for one input (fill-mask with several masks)
        lines = []
        for n, part in enumerate(value, 1):
            lines += [f"[{n}]"] + ["  " + line for line in _render(part)]
        return lines
    return [str(value)]


def _table(rows: list[dict]) -> list[str]:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    if len(columns) == 1 and all(isinstance(row[columns[0]], str) for row in rows):  # generated texts, as they are
        texts = [row[columns[0]] for row in rows]
        if len(texts) > 1:
            texts = [f"[{n}] {text}" for n, text in enumerate(texts, 1)]
        return [line for text in texts for line in text.splitlines() or [""]]
    cells = [[_cell(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]

    def line(values: list[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    return [line(columns)] + [line(row) for row in cells]


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, list) and _shape(value) is not None:
        return _numbers(value)
    return value.replace("\n", "\\n") if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _shape(value) -> tuple[int, ...] | None:
    """The shape of a non-empty nested list of numbers, else None."""
    if isinstance(value, list) and value and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                 for v in value):
        return (len(value),)
    if isinstance(value, list) and value:
        inner = {_shape(v) for v in value}
        if len(inner) == 1 and None not in inner:
            return (len(value), *inner.pop())
    return None


def _numbers(value) -> str:
    shape = _shape(value)
    row = value
    while isinstance(row[0], list):
        row = row[0]
    items = [f"{x:.4f}" if isinstance(x, float) else str(x) for x in row]
    preview = ", ".join(items if len(items) <= 6 else [*items[:4], "...", *items[-2:]])
    if len(shape) == 1:
        norm = sum(x * x for x in row) ** 0.5
        return f"[{preview}]  ({len(row)} values, norm {norm:.4f})"
    return f"shape {shape}, first vector [{preview}]  (--json gives every value)"


# --------------------------------------------------------------------------- info


def _info(args: argparse.Namespace) -> int:
    from .auto import AutoConfig
    from .hub import HubOptions, is_local, resolve_file
    from .pipelines import TASKS

    name = args.model
    options = HubOptions(cache_dir=args.cache_dir, revision=args.revision)
    config_path = resolve_file(name, "config.json", options)  # a missing repo or revision: named here
    config = AutoConfig.from_pretrained(name, cache_dir=args.cache_dir, revision=args.revision)
    model_type = config.model_type
    spec = registry.get(model_type)
    own_head = _checkpoint_head(spec, config)
    head = args.head or own_head or "base"
    counts = _parameter_counts(model_type, head, config)
    if is_local(name):
        where, files = f"{os.path.abspath(name)}, a local folder", _folder_files(Path(name))
    else:
        where, files = _hub_files(name, options, Path(config_path).parent)
    for f in files:
        if f["path"].endswith(".safetensors") and f.get("local"):
            f["weights"] = _weights_summary(f["local"])
    summary, other_keys = _config_summary(config)
    info = {
        "model": name, "where": where, "model_type": model_type,
        "plugin": registry.registration(model_type).source,
        "architectures": config.architectures, "checkpoint_head": own_head,
        "config": summary, "other_config_keys": other_keys,
        "parameters": counts, "heads": list(spec.heads),
        "tasks": [task for task, c in TASKS.items() if c.head in spec.heads],
        "files": [{k: v for k, v in f.items() if k != "local"} for f in files],
    }
    if args.json:
        print(json.dumps(info, indent=2, ensure_ascii=False))
    else:
        _print_info(info)
    return 0


def _checkpoint_head(spec, config) -> str | None:
    """The head key whose class the checkpoint was saved from (config.architectures)."""
    names = set(config.architectures or ())
    for head, target in spec.heads.items():
        if _target(target).rpartition(":")[2].rpartition(".")[2] in names:
            return head
    return None


def _parameter_counts(model_type: str, head: str, config) -> dict:
    """Parameters by module of the head's model, built on the meta device (nothing
    allocated, no weights read); the base model's parts are shown one level down."""
    from .modeling_utils import _parameters_on_meta

    cls = registry.head_class(model_type, head)
    with _parameters_on_meta():
        model = cls(config)
    prefix = getattr(model, "base_model_prefix", "")
    modules: dict[str, int] = {}
    for name, param in model.named_parameters():  # a tied parameter once, under its first name
        parts = name.split(".")
        key = ".".join(parts[:2]) if parts[0] == prefix and len(parts) > 2 else parts[0]
        modules[key] = modules.get(key, 0) + param.numel()
    total = sum(modules.values())
    every = sum(p.numel() for _, p in model.named_parameters(remove_duplicate=False))
    return {"class": cls.__name__, "head": head, "total": total, "tied": every - total, "by_module": modules}


def _config_summary(config) -> tuple[dict, list[str]]:
    """(the config class's fields as config.json gives them: the architecture's own, then
    the shared ones that differ from their defaults; the other keys the file holds)."""
    from .configuration_utils import PretrainedConfig

    shared = PretrainedConfig.model_fields
    known = type(config).model_fields
    diff = config.to_diff_dict()
    own = {k: v for k, v in diff.items() if k in known and k not in shared}
    changed = {k: v for k, v in diff.items() if k in shared and k not in ("architectures", "label2id")
               and v != shared[k].get_default(call_default_factory=True)}
    return {**own, **changed}, sorted(k for k in diff if k not in known and k != "model_type")


def _folder_files(folder: Path) -> list[dict]:
    files = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts[:-1]):
            files.append({"path": relative.as_posix(), "size": path.stat().st_size, "local": str(path)})
    return files


def _hub_files(name: str, options, snapshot: Path) -> tuple[str, list[dict]]:
    """(where the checkpoint is, its files): the Hub's listing with what is cached, or
    the cached snapshot alone when offline or when the Hub does not answer."""
    from huggingface_hub import constants

    repo_id = registry.legacy_repo_id(name)
    shown = repo_id if repo_id == name else f"{name} (Hub repo {repo_id})"
    cached = {f["path"]: f for f in _folder_files(snapshot)}
    for f in cached.values():
        f["cached"] = True
    if constants.HF_HUB_OFFLINE:
        return f"{shown}, the cached files at {snapshot} (HF_HUB_OFFLINE: the Hub is not asked)", \
            list(cached.values())
    try:
        sha, listing = _hub_listing(repo_id, options.revision)
    except Exception as e:  # noqa: BLE001 - the listing is extra: the cache still answers
        return f"{shown}, the cached files at {snapshot} (the Hub's listing failed: {type(e).__name__})", \
            list(cached.values())
    files = [cached.get(path) or {"path": path, "size": size, "cached": False} for path, size in listing]
    return f"{shown} at {options.revision or 'main'} (commit {sha[:12]}), cached in {snapshot}", files


def _hub_listing(repo_id: str, revision: str | None) -> tuple[str, list[tuple[str, int | None]]]:
    """(the commit, [(path, size)]) of a Hub repo at a revision."""
    from huggingface_hub import HfApi

    api = HfApi(endpoint=os.environ.get("HF_ENDPOINT") or None, library_name="plugformers")
    found = api.model_info(repo_id, revision=revision, files_metadata=True)
    return found.sha or "", sorted((s.rfilename, s.size) for s in found.siblings or ())


def _weights_summary(path: str) -> dict:
    """Tensors, parameters and dtypes a safetensors file holds, from its header alone."""
    from .serialization import WeightsFile

    header = WeightsFile(path)._safe_header()
    return {"tensors": len(header), "parameters": sum(math.prod(e["shape"]) for e in header.values()),
            "dtypes": sorted({e["dtype"] for e in header.values()})}


def _print_info(info: dict) -> None:
    print(info["where"])
    print(f"model type: {info['model_type']}, served by {info['plugin']}")
    arch = ", ".join(info["architectures"] or ["not recorded"])
    head = info["checkpoint_head"]
    print(f"saved as: {arch}" + (f" (the {head!r} head)" if head else ""))
    items = [f"{k}={_short(v)}" for k, v in info["config"].items()]
    print("config:")
    print(textwrap.fill("  ".join(items), width=96, initial_indent="  ", subsequent_indent="  ",
                        break_on_hyphens=False))
    if info["other_config_keys"]:
        print(f"  also kept: {', '.join(info['other_config_keys'])}")
    counts = info["parameters"]
    tied = f"; {counts['tied']:,} more are tied to these" if counts["tied"] else ""
    print(f"parameters: {counts['total']:,} in {counts['class']} (built on the meta device{tied})")
    width = max(map(len, counts["by_module"]), default=0)
    for module, n in counts["by_module"].items():
        share = 100 * n / counts["total"] if counts["total"] else 0
        print(f"  {module.ljust(width)}  {n:>14,}  {share:5.1f}%")
    heads = ", ".join(f"{h} (saved)" if h == head else h for h in info["heads"])
    print(textwrap.fill(f"heads: {heads}", width=96, subsequent_indent="  ", break_on_hyphens=False))
    tasks = ", ".join(info["tasks"]) or "none: no pipeline uses these heads"
    print(textwrap.fill(f"tasks: {tasks}", width=96, subsequent_indent="  ", break_on_hyphens=False))
    files = info["files"]
    known = [f["size"] for f in files if f["size"] is not None]
    print(f"files: {len(files)}, {_size(sum(known))}")
    width = max((len(f["path"]) for f in files), default=0)
    for f in files:
        notes = []
        if f.get("cached") is False:
            notes.append("not cached")
        if "weights" in f:
            w = f["weights"]
            notes.append(f"{w['tensors']} tensors, {w['parameters']:,} parameters, {'/'.join(w['dtypes'])}")
        print(f"  {f['path'].ljust(width)}  {_size(f['size']):>9}" + (f"  {'; '.join(notes)}" if notes else ""))


def _short(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _size(n: float | None) -> str:
    if n is None:
        return "?"
    if n < 1000:
        return f"{n} B"
    for unit in ("kB", "MB", "GB", "TB"):
        n /= 1000
        if n < 1000 or unit == "TB":
            break
    return f"{n:.1f} {unit}"


# ----------------------------------------------------------------------- download

# What from_pretrained reads: configs, indexes and tokenizer files, plus one weights format.
_READ_PATTERNS = ("*.json", "*.txt", "*.model")


def _download(args: argparse.Namespace) -> int:
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.utils import filter_repo_objects

    from .hub import HubOptions, is_local, resolve_file

    name = args.model
    if is_local(name):
        print(f"{name} is a local folder: nothing to download (from_pretrained reads it as it is).")
        return 0
    repo_id = registry.legacy_repo_id(name)
    shown = repo_id if repo_id == name else f"{name} (Hub repo {repo_id})"
    options = HubOptions(cache_dir=args.cache_dir, revision=args.revision, force_download=args.force_download)
    config_path = resolve_file(name, "config.json", options)  # a missing repo, revision or file: named here
    snapshot = Path(config_path).parent
    if constants.HF_HUB_OFFLINE:
        files = _folder_files(snapshot)
        print(f"HF_HUB_OFFLINE is set: nothing downloaded; {shown} is cached in {snapshot} "
              f"({len(files)} files, {_size(sum(f['size'] for f in files))}).")
        return 0
    with _transfer(f"{shown}: listing the repo's files failed", "try again"):
        sha, listing = _hub_listing(repo_id, args.revision)
    tokenizer_files, pickled = _tokenizer_files(config_path, name, listing)
    patterns = [*_READ_PATTERNS, *_weights_patterns(p for p, _ in listing), *tokenizer_files, *args.include]
    wanted = list(filter_repo_objects(listing, allow_patterns=patterns, key=lambda file: file[0]))  # as the
    skipped = [file for file in listing if file not in wanted]  # download filters them
    with _transfer(f"{shown}: the download failed", "files already complete stay cached; run the command "
                                                     "again to fetch the rest"):
        folder = snapshot_download(repo_id, revision=args.revision, cache_dir=args.cache_dir,
                                   allow_patterns=patterns, force_download=args.force_download,
                                   library_name="plugformers", endpoint=os.environ.get("HF_ENDPOINT") or None)
    if args.json:
        print(json.dumps({"repo_id": repo_id, "revision": args.revision or "main", "commit": sha, "path": folder,
                          "files": [{"path": p, "size": s} for p, s in wanted],
                          "skipped": [{"path": p, "size": s} for p, s in skipped], "pickled": pickled}, indent=2))
        return 0
    print(f"{shown} at {args.revision or 'main'} (commit {sha[:12]}): {len(wanted)} files, "
          f"{_size(sum(s or 0 for _, s in wanted))}, in {folder}")
    _print_files(wanted)
    if pickled:
        print(f"{' and '.join(pickled)}: the vocabulary as a pickle, which can run code when loaded; the "
              f"tokenizer reads it only with allow_pickle=True. Convert it once to the safe format: "
              f"plugformers convert-vocab {name} --allow-pickle --output DIR")
    if skipped:
        print("skipped, as from_pretrained does not read them (--include PATTERN fetches them too):")
        _print_files(skipped)
    return 0


@contextlib.contextmanager
def _transfer(what: str, fix: str) -> Iterator[None]:
    """Errors of the HTTP stack and the Hub become a DownloadError saying ``what`` failed
    and the ``fix``; any other error is a bug, raised as it is."""
    from .hub import _NETWORK_MODULES, DownloadError

    try:
        yield
    except Exception as e:
        if not isinstance(e, OSError) and type(e).__module__.split(".")[0] not in _NETWORK_MODULES:
            raise
        raise DownloadError(f"{what} ({type(e).__name__}: {_one_line(e)}); {fix}.") from e


def _weights_patterns(paths) -> list[str]:
    """safetensors when the repo has them, else the .bin weights (pytorch_model*.bin)."""
    paths = list(paths)
    return ["*.safetensors"] if any(p.endswith(".safetensors") for p in paths) else ["pytorch_model*.bin"]


def _tokenizer_files(config_path: str, name: str, listing: list[tuple[str, int | None]]) -> tuple[list[str], list[str]]:
    """The architecture's own tokenizer files (vocab.txt, ...) when its plugin is installed,
    and, when the repo has none of them and no tokenizer.json, the pickled vocabularies its
    tokenizer class lists in ``pickled_vocab_files`` (from_pretrained reads those only with
    allow_pickle=True). Returns (patterns, pickled files among them)."""
    try:
        model_type = json.loads(Path(config_path).read_text(encoding="utf-8")).get("model_type") \
            or registry.type_for_name(name)
        tokenizer = registry.tokenizer_class(model_type) if model_type else None
    except (ValueError, OSError, PluginError, ImportError, AttributeError):
        tokenizer = None  # no plugin for the type here: the generic patterns still cover the common files
    if tokenizer is None:
        return [], []
    files = list(getattr(tokenizer, "vocab_files_names", {}).values())
    present = {path for path, _ in listing}
    pickled = []
    if not present & {*files, "tokenizer.json"}:
        pickled = [file for file in getattr(tokenizer, "pickled_vocab_files", ()) if file in present]
    return files + pickled, pickled


def _print_files(files: list[tuple[str, int | None]]) -> None:
    width = max((len(p) for p, _ in files), default=0)
    for path, size in files:
        print(f"  {path.ljust(width)}  {_size(size):>9}")


# ------------------------------------------------------------------ convert-vocab


def _convert_vocab(args: argparse.Namespace) -> int:
    """Load a tokenizer with the pickle opt-in, save it in the safe format (tokenizer.json and
    the architecture's own text files), and check that the result loads without the opt-in."""
    from .auto import AutoTokenizer
    from .hub import is_local

    output = args.output
    if output is None:
        if not is_local(args.path):
            raise ValueError(f"{args.path!r} is not a local folder: give --output DIR for the converted files.")
        output = args.path
    tokenizer = AutoTokenizer.from_pretrained(args.path, allow_pickle=True, cache_dir=args.cache_dir,
                                              revision=args.revision)
    written = tokenizer.save_pretrained(output)
    reloaded = type(tokenizer).from_pretrained(output)  # without allow_pickle: the safe files alone
    if reloaded.get_vocab() != tokenizer.get_vocab():
        raise ValueError(f"{output}: the saved vocabulary does not load back the same; the files are kept for "
                         "inspection. Please report this.")
    print(f"{args.path}: {type(tokenizer).__name__}, {len(tokenizer)} tokens, saved to {output}:")
    for path in written:
        print(f"  {os.path.basename(path)}")
    print("It loads without allow_pickle now; the pickled files are no longer read (delete them if you like).")
    return 0


# ---------------------------------------------------------------------------- main


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="plugformers", description="Pretrained Transformers, every architecture a plugin.")
    sub = parser.add_subparsers(dest="command", required=True)
    if argv[:1] == ["run"]:  # the task list needs the pipelines (and torch): only for `run`
        from .pipelines import TASK_ALIASES, TASKS

        tasks = ", ".join([*TASKS, *(f"{a} ({t})" for a, t in TASK_ALIASES.items())])
    else:
        tasks = "see `plugformers run --help`"
    epilog = f"TASK is one of: {tasks}. `plugformers run TASK --help` lists the task's options."
    r = sub.add_parser("run", help="run a pipeline on texts and print the results",
                       description="Run a pipeline: `plugformers run TASK --model M [TEXT ...] [options]`.\n"
                                   "Texts come from the arguments, else from standard input, one per line.",
                       epilog=textwrap.fill(epilog, width=80, break_on_hyphens=False),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("task", help="the pipeline task (fill-mask, feature-extraction, ...)")
    r.add_argument("args", nargs=argparse.REMAINDER, metavar="OPTIONS",
                   help="--model M, the texts and the task's options")
    r.set_defaults(func=_run)
    i = sub.add_parser("info", help="a checkpoint's config, parameters by module, heads and files")
    i.add_argument("model", help="a local folder or a Hub repo id")
    i.add_argument("--revision", help="the Hub branch, tag or commit (default: main)")
    i.add_argument("--cache-dir", help="the Hub cache folder (default: huggingface_hub's, under HF_HOME)")
    i.add_argument("--head", help="count the parameters of this head (default: the one the checkpoint was saved "
                                  "with, else base)")
    i.add_argument("--json", action="store_true", help="machine-readable output")
    i.set_defaults(func=_info)
    d = sub.add_parser("download", help="fill the Hub cache with a checkpoint's files",
                       description="Download what from_pretrained reads: configs, tokenizer files and the "
                                   "weights, safetensors when the repo has them (then .bin weights are skipped). "
                                   "HF_HUB_OFFLINE=1 downloads nothing and says what is cached.")
    d.add_argument("model", help="a Hub repo id (or a legacy short name such as bert-base-uncased)")
    d.add_argument("--revision", help="the branch, tag or commit (default: main)")
    d.add_argument("--cache-dir", help="the Hub cache folder (default: huggingface_hub's, under HF_HOME)")
    d.add_argument("--include", action="append", default=[], metavar="PATTERN",
                   help="also fetch files matching this pattern ('*.bin', 'README.md', '*'); repeatable")
    d.add_argument("--force-download", action="store_true", help="fetch again what is cached")
    d.add_argument("--json", action="store_true", help="machine-readable output")
    d.set_defaults(func=_download)
    p = sub.add_parser("plugins", help="list installed plugins, their model types and heads, and broken ones")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--check", action="store_true",
                   help="also import every registered class (imports torch); exit 1 on any problem")
    p.set_defaults(func=_plugins)
    n = sub.add_parser("new-plugin", help="scaffold a plugin package: pyproject, entry point, config, model, "
                                          "tokenizer, tests")
    n.add_argument("name", help="the plugin's name and model_type, lower-case (e.g. 'tinyformer')")
    n.add_argument("--dir", default=None, help="where to create it (default: ./plugformers-NAME)")
    n.set_defaults(func=_new_plugin)
    c = sub.add_parser("convert-vocab", help="re-save a tokenizer with a pickled vocabulary in the safe format",
                       description="Load the tokenizer of PATH with allow_pickle=True (a pickled vocabulary such "
                                   "as vocab.pkl or vocab.bin: loading it can run code, so only for a trusted "
                                   "source) and save it as tokenizer.json plus the architecture's text files, "
                                   "which load without the opt-in.")
    c.add_argument("path", help="a local folder or a Hub repo id")
    c.add_argument("--output", metavar="DIR", help="where to write the safe files (default: PATH, a local folder)")
    c.add_argument("--allow-pickle", action="store_true", required=True,
                   help="required: you trust PATH's pickle files enough to let them be loaded once")
    c.add_argument("--revision", help="the Hub branch, tag or commit (default: main)")
    c.add_argument("--cache-dir", help="the Hub cache folder (default: huggingface_hub's, under HF_HOME)")
    c.set_defaults(func=_convert_vocab)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _parser(argv).parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # `plugformers plugins | head`
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - no flush error at exit
        return 0
    except KeyboardInterrupt:
        return 130
    except (ValueError, OSError, PluginError) as e:  # what the user can fix: one line, no traceback
        print(f"plugformers {args.command}: {_one_line(e)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
