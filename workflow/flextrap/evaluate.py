"""Accuracy of a model on a task's test split with one sampler: paper Table 1 (greedy,
one token per step, semi-AR blocks) and Sec. 5 (a parallel rule, `sampling.generate_parallel`;
the summary then also gives forward passes (NFE) and tokens per step).

    python -m flextrap.evaluate --model '<json model spec>' --data results/data/gsm8k/test.jsonl \\
        --task gsm8k --settings '<json>' --shard 0 --shards 8 \\
        --out results/eval/base/gsm8k/len256/shard0of8.jsonl --summary results/eval/base/gsm8k/len256/shard0of8.json

One job evaluates one shard of the test problems (`sample.shard_of`, as Pass@k sampling
does), so a preempted job loses one shard's work at most. The per-problem records (text,
verdict, trace) go to --out, resumable like any sample shard (`flextrap.sample`); the
shard's summary (`summarize`) holds its accuracy, time and protocol; `flextrap.eval_summary`
merges the shards.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from . import provenance
from .cli import cli_entry, parse_args
from .jsonl import read_jsonl, write_json
from .models import load_model, set_threads
from .sample import run_shard, shard_of


def summarize(samples: list, sampler: dict) -> dict:
    """Accuracy and cost of one sample per problem: mean forward passes (NFE), tokens per
    step = gen_length / NFE, and the passes the sampler takes without early exit."""
    nfe = sum(r["nfe"] for r in samples) / len(samples)
    return {"accuracy": round(sum(r["verdict"]["correct"] for r in samples) / len(samples), 4),
            "problems": len(samples), "gen_length": sampler["gen_length"], "nfe": round(nfe, 2),
            "tokens_per_step": round(sampler["gen_length"] / nfe, 3),
            "nfe_without_early_exit": sampler.get("steps")}


@cli_entry
def main(argv=None) -> None:
    args = parse_args(__doc__, ["model", "data", "task", "settings", "shard", "shards", "out", "summary"], argv,
                      threads=True)
    s, spec = json.loads(args.settings), json.loads(args.model)
    set_threads(args.threads)
    shard = [int(args.shard), int(args.shards)]
    records = shard_of(read_jsonl(args.data, required=("id", "prompts"))[: s["max_problems"]], *shard)
    model, tokenizer = load_model(spec, s.get("device", "auto"))
    t0 = time.time()
    samples = run_shard(model, tokenizer, records, args.task, s, Path(args.out))
    summary = {**summarize(samples, s["sampler"]), "seconds": round(time.time() - t0, 1), "shard": shard,
               "protocol": provenance.record("evaluate", s, model=spec, data=args.data, task=args.task)}
    write_json(args.summary, summary)
    print(f"{args.task} len {summary['gen_length']} shard {shard[0]}/{shard[1]}: accuracy "
          f"{summary['accuracy']:.3f} over {len(samples)} problems")


if __name__ == "__main__":
    main()
