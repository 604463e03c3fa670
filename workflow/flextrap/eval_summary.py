"""One evaluation's summary from its shards (`flextrap.evaluate` writes one per shard).

    python -m flextrap.eval_summary --shards '["results/eval/base/gsm8k/len256/shard0of8.json", ...]' \\
        --out results/eval/base/gsm8k/len256.json

Accuracy and forward passes come from all shards' records (beside each shard summary,
`.jsonl`), as if one job had evaluated every problem; `seconds` adds the shards' times
(GPU-seconds when shards run side by side); the protocol is shard 0's, with the count.
"""
from __future__ import annotations

import json
from pathlib import Path

from .cli import cli_entry, parse_args
from .errors import FlextrapError
from .evaluate import summarize
from .jsonl import read_jsonl, write_json


def merged_summary(shard_paths: list[str]) -> dict:
    shards = [json.loads(Path(p).read_text()) for p in shard_paths]
    counts = {s["shard"][1] for s in shards}
    if counts != {len(shards)} or sorted(s["shard"][0] for s in shards) != list(range(len(shards))):
        raise FlextrapError(f"expected shards 0..{len(shards) - 1} of {len(shards)}, got {[s['shard'] for s in shards]}")
    samples = [r for p in shard_paths for r in read_jsonl(Path(p).with_suffix(".jsonl"))]
    protocol = {**shards[0]["protocol"], "shards": len(shards)}
    return {**summarize(samples, protocol["settings"]["sampler"]),
            "seconds": round(sum(s["seconds"] for s in shards), 1), "protocol": protocol}


@cli_entry
def main(argv=None) -> None:
    args = parse_args(__doc__, ["shards", "out"], argv)
    summary = merged_summary(json.loads(args.shards))
    write_json(args.out, summary)
    print(f"{args.out}: accuracy {summary['accuracy']:.3f} over {summary['problems']} problems "
          f"({summary['protocol']['shards']} shards)")


if __name__ == "__main__":
    main()
