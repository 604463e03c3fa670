"""Rule `prepare_data`: one normalized JSONL per task and split (`flextrap.tasks`).

    python -m flextrap.stages.prepare_data --task gsm8k --split test --spec '<json of config tasks.gsm8k>' \\
        --out results/data/gsm8k/test.jsonl

Writes the records and `<out without .jsonl>.provenance.json` beside them.
"""
from __future__ import annotations

import json

from flextrap import provenance
from flextrap.cli import cli_entry, parse_args
from flextrap.jsonl import write_jsonl
from flextrap.tasks import prepare


@cli_entry
def main(argv=None) -> None:
    args = parse_args(__doc__, ["task", "split", "spec", "out"], argv)
    spec = json.loads(args.spec)
    records = prepare(args.task, args.split, spec)
    n = write_jsonl(args.out, records)
    provenance.write(args.out.removesuffix(".jsonl") + ".provenance.json", "prepare_data",
                     {"task": args.task, "split": args.split, **spec}, records=n)
    print(f"{args.task}/{args.split}: {n} records -> {args.out}")


if __name__ == "__main__":
    main()
