"""Rule `general_task`: a local lm-eval multiple-choice task from a generated task's test
split, each problem's gold solution among copies with a wrong last step
(`flextrap.general.write_choice_task`), so Table 6 runs offline for the tiny model.

    python -m flextrap.stages.general_task --data results/data/synthetic/test.jsonl --name synthetic_choice \\
        --settings '<json>' --out-dir results/general/tasks/synthetic_choice
"""
from __future__ import annotations

import json

from flextrap.cli import cli_entry, parse_args
from flextrap.general import write_choice_task


@cli_entry
def main(argv=None) -> None:
    args = parse_args(__doc__, ["data", "name", "settings", "out-dir"], argv)
    print(write_choice_task(args.data, args.name, json.loads(args.settings), args.out_dir))


if __name__ == "__main__":
    main()
