"""The `plugformers` command line.

    plugformers plugins [--json]   installed plugins, their types and heads, broken ones
"""

from __future__ import annotations

import argparse
import json
import sys

from .registry import _class_name, registry


def _plugins(args: argparse.Namespace) -> int:
    rows = []
    for info in registry.plugins():
        types = []
        for model_type in info.model_types:
            try:
                spec = registry.get(model_type)
                heads = {head: _class_name(t) for head, t in spec.heads.items()}
                conflict = None
            except Exception as e:  # noqa: BLE001 - shown, not raised
                heads, conflict = {}, str(e)
            types.append({"model_type": model_type, "heads": heads, **({"error": conflict} if conflict else {})})
        rows.append({"name": info.name, "distribution": info.distribution, "version": info.version,
                     "module": info.module, "model_types": types, "error": info.error})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no plugformers plugins installed (pip install plugformers-bert, for example)")
        return 0
    for row in rows:
        head = f"{row['name']}  {row['distribution'] or '?'} {row['version'] or ''}".rstrip()
        if row["error"]:
            print(f"{head}  BROKEN: {row['error']}")
            continue
        print(head)
        for t in row["model_types"]:
            if "error" in t:
                print(f"  {t['model_type']}: {t['error']}")
            else:
                print(f"  {t['model_type']}: {', '.join(t['heads'])}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="plugformers", description="Pretrained Transformers, every architecture a plugin.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("plugins", help="list installed plugins, their model types and heads")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_plugins)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
