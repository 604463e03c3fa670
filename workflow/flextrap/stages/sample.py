"""Rule `sample`: n samples per problem under one decoding order, for one shard of the
problems (`flextrap.sample`); the Pass@k and entropy analyses start from these records.

    python -m flextrap.stages.sample --model '<json model spec>' --data results/data/synthetic/test.jsonl \\
        --task synthetic --settings '<json>' --shard 0 --shards 4 \\
        --out results/seed0/samples/tiny/synthetic/ar/shard0of4.jsonl

Beside the shard, `<out>.provenance.json` holds the settings, the time and the
forward passes per sample with and without early exit.
"""
from __future__ import annotations

import json

from flextrap import provenance
from flextrap.cli import cli_entry, parse_args
from flextrap.sample import forward_counts, sample_problems


@cli_entry
def main(argv=None) -> None:
    args = parse_args(__doc__, ["model", "data", "task", "settings", "shard", "shards", "out"], argv,
                      threads=True)
    s, spec, shard = json.loads(args.settings), json.loads(args.model), [int(args.shard), int(args.shards)]
    samples, seconds = sample_problems(spec, args.data, args.task, s, args.out, shard, args.threads)
    forwards = forward_counts(samples, s["sampler"])
    provenance.write(f"{args.out}.provenance.json", "sample", s, model=spec, data=args.data,
                     task=args.task, shard=shard, seconds=round(seconds, 1), **forwards)
    correct = sum(r["verdict"]["correct"] for r in samples)
    print(f"{args.task} shard {shard[0]}/{shard[1]}: {len(samples)} samples of {len({r['id'] for r in samples})} "
          f"problems, {correct} correct ({seconds:.0f} s); row-forward passes per sample "
          f"{forwards['row_forwards_per_sample']} (without early exit {forwards['row_forwards_per_sample_no_exit']})")


if __name__ == "__main__":
    main()
