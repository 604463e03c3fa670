"""Rule `eval_accuracy`: accuracy of a model on one shard of a task's test problems,
greedy with LLaDA's sampler at one generation length (Table 1; `flextrap.evaluate`).

    python -m flextrap.stages.eval_accuracy --model '<json model spec>' --data results/data/gsm8k/test.jsonl \\
        --task gsm8k --settings '<json>' --shard 0 --shards 8 \\
        --out results/seed0/eval/base/gsm8k/len256/shard0of8.jsonl --summary results/seed0/eval/base/gsm8k/len256/shard0of8.json

The per-problem records (text, verdict, trace) go to --out, resumable like any sample
shard (`flextrap.sample.run_shard`); the shard's summary holds its accuracy, forward
passes, time and protocol. Rule `eval_summary` merges the shards.
"""
from __future__ import annotations

import json

from flextrap import provenance
from flextrap.cli import cli_entry, parse_args
from flextrap.evaluate import summarize
from flextrap.jsonl import write_json
from flextrap.sample import sample_problems


@cli_entry
def main(argv=None) -> None:
    args = parse_args(__doc__, ["model", "data", "task", "settings", "shard", "shards", "out", "summary"], argv,
                      threads=True)
    s, spec, shard = json.loads(args.settings), json.loads(args.model), [int(args.shard), int(args.shards)]
    samples, seconds = sample_problems(spec, args.data, args.task, s, args.out, shard, args.threads)
    summary = {**summarize(samples, s["sampler"]), "seconds": round(seconds, 1), "shard": shard,
               "protocol": provenance.record("evaluate", s, model=spec, data=args.data, task=args.task)}
    write_json(args.summary, summary)
    print(f"{args.task} len {summary['gen_length']} shard {shard[0]}/{shard[1]}: accuracy "
          f"{summary['accuracy']:.3f} over {len(samples)} problems")


if __name__ == "__main__":
    main()
