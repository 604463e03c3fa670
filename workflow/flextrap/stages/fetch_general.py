"""Rule `fetch_general`: load an lm-eval task once on the submitting machine, its dataset
into the Hugging Face cache, so the GPU jobs of Table 6 evaluate it offline
(`flextrap.general.fetch_task`).

    python -m flextrap.stages.fetch_general --task mmlu --out results/general/fetched/mmlu.json
"""
from __future__ import annotations

from flextrap.cli import cli_entry, parse_args
from flextrap.general import fetch_task


@cli_entry
def main(argv=None) -> None:
    args = parse_args(__doc__, ["task", "out"], argv)
    fetch_task(args.task, args.out)


if __name__ == "__main__":
    main()
