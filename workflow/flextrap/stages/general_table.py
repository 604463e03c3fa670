"""Rule `general_table`: Table 6, each lm-eval task's score for the base model and the
JustGRPO runs (`flextrap.tables`); at paper scale the paper's reported numbers beside ours.

    python -m flextrap.stages.general_table --inputs '[{"seed": 0, "model": "tiny", "task": "synthetic_choice",
        "path": "results/seed0/general/tiny/synthetic_choice.json"}, ...]' --settings '<json>' \\
        --out-markdown results/tables/general.md --out-latex results/tables/general.tex \\
        --out-csv results/tables/general.csv
"""
from __future__ import annotations

import json

from flextrap.cli import cli_entry, parse_args
from flextrap.tables import write_general_table


@cli_entry
def main(argv=None) -> None:
    args = parse_args(__doc__, ["inputs", "settings", "out-markdown", "out-latex", "out-csv"], argv)
    print(write_general_table(json.loads(args.inputs), json.loads(args.settings), args.out_markdown,
                              args.out_latex, args.out_csv))


if __name__ == "__main__":
    main()
