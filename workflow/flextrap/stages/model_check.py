"""Rule `model_check`: a base model's Pass@1 on a task's test split under one Pass@k
order (its model card), from `n_samples` graded samples per problem (`flextrap.sample`).

    python -m flextrap.stages.model_check --model '<json model spec>' --data results/data/synthetic/test.jsonl \\
        --task synthetic --settings '<json>' --samples results/seed0/model_check/tiny/synthetic.jsonl \\
        --out results/seed0/model_check/tiny/synthetic.json

Pass@1 is the unbiased estimate: the mean over problems of (correct samples / n).
"""
from __future__ import annotations

import json

from flextrap import provenance
from flextrap.cli import cli_entry, parse_args
from flextrap.jsonl import write_json
from flextrap.passk import pass1_card
from flextrap.sample import sample_problems


@cli_entry
def main(argv=None) -> None:
    args = parse_args(__doc__, ["model", "data", "task", "settings", "samples", "out"], argv, threads=True)
    s, spec = json.loads(args.settings), json.loads(args.model)
    samples, seconds = sample_problems(spec, args.data, args.task, s, args.samples, threads=args.threads)
    card = pass1_card(samples)
    write_json(args.out, {**card, "seconds": round(seconds, 1), "protocol": provenance.record(
        "model_check", s, model=spec, data=args.data, task=args.task)})
    print(f"{args.task}: pass@1 = {card['pass@1']:.3f} over {card['problems']} problems "
          f"x {card['samples_per_problem']} samples ({seconds:.0f} s)")


if __name__ == "__main__":
    main()
