"""Accuracy of a model on a task's test split with one sampler: paper Table 1 (greedy,
one token per step, semi-AR blocks) and Sec. 5 (a parallel rule, `sampling.generate_parallel`;
the summary then also gives forward passes (NFE) and tokens per step).

    python -m flextrap.evaluate --model '<json model spec>' --data results/data/gsm8k/test.jsonl \\
        --task gsm8k --settings '<json>' --out results/eval/base/gsm8k/len256.jsonl \\
        --summary results/eval/base/gsm8k/len256.json

The per-problem records (text, verdict, trace) go to --out, resumable like any sample
shard (`flextrap.sample`); the summary holds the accuracy and the protocol.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from . import provenance
from .cli import cli_entry, parse_args
from .jsonl import read_jsonl, write_json
from .models import load_model, set_threads
from .sample import run_shard


@cli_entry
def main(argv=None) -> None:
    args = parse_args(__doc__, ["model", "data", "task", "settings", "out", "summary"], argv, threads=True)
    s, spec = json.loads(args.settings), json.loads(args.model)
    set_threads(args.threads)
    records = read_jsonl(args.data, required=("id", "prompts"))[: s["max_problems"]]
    model, tokenizer = load_model(spec, s.get("device", "auto"))
    t0 = time.time()
    samples = run_shard(model, tokenizer, records, args.task, s, Path(args.out))
    accuracy = sum(r["verdict"]["correct"] for r in samples) / len(samples)
    gen_length = s["sampler"]["gen_length"]
    nfe = sum(r["nfe"] for r in samples) / len(samples)
    summary = {"accuracy": round(accuracy, 4), "problems": len(samples), "gen_length": gen_length,
               "nfe": round(nfe, 2), "tokens_per_step": round(gen_length / nfe, 3),
               "nfe_without_early_exit": s["sampler"].get("steps"),
               "seconds": round(time.time() - t0, 1),
               "protocol": provenance.record("eval_accuracy", s, model=spec, data=args.data, task=args.task)}
    write_json(args.summary, summary)
    print(f"{args.task} len {summary['gen_length']}: accuracy {accuracy:.3f} over {len(samples)} problems")


if __name__ == "__main__":
    main()
