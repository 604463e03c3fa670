"""A base model's Pass@1 on a task's test split under one sampler (its model card).

    python -m flextrap.model_check --model '<json model spec>' --data results/data/synthetic/test.jsonl \
        --task synthetic --settings '<json>' --out results/models/tiny/pass1.json

Pass@1 is the unbiased estimate: the mean over problems of (correct samples / n).
"""
from __future__ import annotations

import json
import time
from collections import defaultdict

from tqdm import tqdm

from . import provenance
from .cli import cli_entry, parse_args
from .jsonl import read_jsonl, write_json
from .metrics import mean_pass_at_k
from .models import load_model, set_threads
from .sample import batches_for, draw, graded_records, make_jobs


def sample_and_grade(model, tokenizer, records, task, s) -> list[dict]:
    """n samples per record (each with its own seed), graded."""
    jobs = make_jobs(tokenizer, records, s["template"], s["n_samples"], s["seed"])
    out = []
    bar = tqdm(total=len(jobs), desc="sampling", unit="sample", mininterval=10)
    for batch in batches_for(model, tokenizer, jobs, s["batch_size"]):
        gen = draw(model, tokenizer, batch, s["sampler"], trace=False)
        out += graded_records(batch, gen, tokenizer, task, s["code_limits"])
        bar.update(len(batch))
    bar.close()
    return out


@cli_entry
def main(argv=None) -> None:
    args = parse_args(__doc__, ["model", "data", "task", "settings", "out"], argv, threads=True)
    s, spec = json.loads(args.settings), json.loads(args.model)
    set_threads(args.threads)
    model, tokenizer = load_model(spec, s.get("device", "auto"))
    records = read_jsonl(args.data, required=("id", "prompts"))[: s["max_problems"]]
    t0 = time.time()
    samples = sample_and_grade(model, tokenizer, records, args.task, s)
    seconds = time.time() - t0
    counts = defaultdict(lambda: [0, 0])
    for sample in samples:
        counts[sample["id"]][0] += 1
        counts[sample["id"]][1] += sample["verdict"]["correct"]
    result = {"pass@1": round(mean_pass_at_k([tuple(c) for c in counts.values()], 1), 4),
              "problems": len(counts), "samples_per_problem": s["n_samples"],
              "seconds": round(seconds, 1), "examples": [{k: r[k] for k in ("id", "sample", "text", "verdict")} for r in samples[:5]],
              "protocol": provenance.record("model_check", s, model=spec, data=args.data, task=args.task)}
    write_json(args.out, result)
    print(f"{args.task}: pass@1 = {result['pass@1']:.3f} over {len(counts)} problems "
          f"x {s['n_samples']} samples ({seconds:.0f} s)")


if __name__ == "__main__":
    main()
