"""Rule `merge_general`: the shards of one lm-eval evaluation as one result
(`flextrap.general.merge_general`: each task's mean metric over all its documents, a
group's weighted by its tasks' sizes; one shard is kept as lm-eval wrote it).

    python -m flextrap.stages.merge_general \\
        --inputs '["results/seed0/general/llada/mmlu/shard0of8.json", ...]' --task mmlu \\
        --settings '{"metric": "acc"}' --out results/seed0/general/llada/mmlu.json
"""
from __future__ import annotations

import json

from flextrap.cli import cli_entry, parse_args
from flextrap.general import merge_general


@cli_entry
def main(argv=None) -> None:
    args = parse_args(__doc__, ["inputs", "task", "settings", "out"], argv)
    score = merge_general(json.loads(args.inputs), args.task, json.loads(args.settings)["metric"], args.out)
    print(args.task, score)


if __name__ == "__main__":
    main()
