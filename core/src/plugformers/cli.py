"""The `plugformers` command line.

    plugformers plugins [--json] [--check]   installed plugins: distributions, model types,
                                             heads, conflicts, broken and disabled ones
    plugformers new-plugin NAME [--dir DIR]  scaffold a plugin package (see docs/plugins.md)

``plugformers plugins`` reads entry points and imports each plugin's entry module only,
never torch; ``--check`` also imports every class each plugin names (and so torch) and
exits 1 if any plugin is broken, contested or names a class that does not resolve.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="plugformers", description="Pretrained Transformers, every architecture a plugin.")
    sub = parser.add_subparsers(dest="command", required=True)
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
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # `plugformers plugins | head`
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - no flush error at exit
        return 0


if __name__ == "__main__":
    sys.exit(main())
