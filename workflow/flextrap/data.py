"""Data preparation: one normalized JSONL per task and split.

    python -m flextrap.data --task gsm8k --split test --spec '<json of config tasks.gsm8k>' \
        --out results/data/gsm8k/test.jsonl

Writes the records and `<out without .jsonl>.provenance.json` beside them.
"""
from __future__ import annotations

import argparse
import json

from . import provenance
from .errors import cli_entry
from .jsonl import write_jsonl
from .tasks import prepare


@cli_entry
def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", required=True)
    ap.add_argument("--split", required=True)
    ap.add_argument("--spec", required=True, help="JSON of config tasks.<task>")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    spec = json.loads(args.spec)
    records = prepare(args.task, args.split, spec)
    n = write_jsonl(args.out, records)
    provenance.write(args.out.removesuffix(".jsonl") + ".provenance.json", "prepare_data",
                     {"task": args.task, "split": args.split, **spec}, records=n)
    print(f"{args.task}/{args.split}: {n} records -> {args.out}")


if __name__ == "__main__":
    main()
