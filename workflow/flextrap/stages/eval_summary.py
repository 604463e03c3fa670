"""Rule `eval_summary`: one evaluation's summary from its shards (`flextrap.evaluate`).

    python -m flextrap.stages.eval_summary --shards '[{"summary": "results/seed0/eval/base/gsm8k/len256/shard0of8.json",
        "records": "results/seed0/eval/base/gsm8k/len256/shard0of8.jsonl"}, ...]' \\
        --out results/seed0/eval/base/gsm8k/len256.json

Accuracy and forward passes come from all shards' records, as if one job had evaluated
every problem; `seconds` adds the shards' times.
"""
from __future__ import annotations

import json

from flextrap.cli import cli_entry, parse_args
from flextrap.evaluate import merged_summary
from flextrap.jsonl import write_json


@cli_entry
def main(argv=None) -> None:
    args = parse_args(__doc__, ["shards", "out"], argv)
    summary = merged_summary(json.loads(args.shards))
    write_json(args.out, summary)
    print(f"{args.out}: accuracy {summary['accuracy']:.3f} over {summary['problems']} problems "
          f"({summary['protocol']['shards']} shards)")


if __name__ == "__main__":
    main()
