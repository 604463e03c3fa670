"""Rule `eval_general`: one lm-eval task (one shard of its documents) on one model
through the project's adapter (`flextrap.general.evaluate`, `flextrap.lm_adapter`):
lm-eval's results and the provenance (Table 6). Rule `merge_general` joins the shards.

    python -m flextrap.stages.eval_general --model '{"path": "results/seed0/models/tiny", "kind": "saved"}' \\
        --task synthetic_choice --include results/general/tasks/synthetic_choice --settings '<json>' \\
        --shard 0 --shards 1 --out results/seed0/general/tiny/synthetic_choice/shard0of1.json

`--include ''`: one of lm-eval's own tasks (its dataset fetched by rule fetch_general).
"""
from __future__ import annotations

import json

from flextrap.cli import cli_entry, parse_args
from flextrap.general import evaluate


@cli_entry
def main(argv=None) -> None:
    args = parse_args(__doc__, ["model", "task", "include", "settings", "shard", "shards", "out"], argv, threads=True)
    result = evaluate(json.loads(args.model), args.task, args.include or None, json.loads(args.settings),
                      args.out, args.threads, (int(args.shard), int(args.shards)))
    print(args.task, {k: v for k, v in result.items() if isinstance(v, float)})


if __name__ == "__main__":
    main()
