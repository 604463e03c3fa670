"""What every `python -m flextrap.stages.<rule>` entry point shares: arguments and error reporting."""
from __future__ import annotations

import argparse
import functools
import json
import sys

from .errors import FlextrapError


def parse_args(doc: str, required: list[str], argv=None, threads: bool = False) -> argparse.Namespace:
    """`--name VALUE` for every required name (JSON settings are passed as strings)."""
    ap = argparse.ArgumentParser(description=doc.strip().splitlines()[0])
    for name in required:
        ap.add_argument(f"--{name}", required=True)
    if threads:
        ap.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    return ap.parse_args(argv)


def cli_entry(main):
    """Wrap a command-line `main`: a FlextrapError prints `error: ...` and exits 1."""
    @functools.wraps(main)
    def wrapped(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except FlextrapError as err:
            print(f"error: {err}", file=sys.stderr)
            raise SystemExit(1) from None
    return wrapped


def table_command(doc: str, write_table, argv=None) -> None:
    """A table rule's entry point: `write_table(inputs, settings, out_markdown, out_latex,
    out_csv)` from `--inputs`, `--settings` (JSON) and the three output paths; prints the
    Markdown it returns."""
    args = parse_args(doc, ["inputs", "settings", "out-markdown", "out-latex", "out-csv"], argv)
    print(write_table(json.loads(args.inputs), json.loads(args.settings), args.out_markdown, args.out_latex,
                      args.out_csv))
