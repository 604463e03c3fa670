"""Rule `slot_probe`: what a model gets right in a synthetic-task solution, masked-token
accuracy by slot (`flextrap.slot_probe`).

    python -m flextrap.stages.slot_probe --model '{"path": "results/seed0/models/tiny"}' \\
        --data results/data/synthetic/test.jsonl --settings '<json>' --out results/seed0/probe/tiny/synthetic.json
"""
from __future__ import annotations

import json

from flextrap.cli import cli_entry, parse_args
from flextrap.slot_probe import run


@cli_entry
def main(argv=None) -> None:
    args = parse_args(__doc__, ["model", "data", "settings", "out"], argv, threads=True)
    result = run(json.loads(args.model), args.data, json.loads(args.settings), args.out, args.threads)
    print(" ".join(f"{k} {v['accuracy']}" for k, v in result["slots"].items()))


if __name__ == "__main__":
    main()
