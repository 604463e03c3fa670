"""Rule `general_table`: Table 6, each lm-eval task's score for the base model and the
JustGRPO runs (`flextrap.tables`); at paper scale the paper's reported numbers beside ours.

    python -m flextrap.stages.general_table --inputs '[{"seed": 0, "model": "tiny", "task": "synthetic_choice",
        "path": "results/seed0/general/tiny/synthetic_choice.json"}, ...]' --settings '<json>' \\
        --out-markdown results/tables/general.md --out-latex results/tables/general.tex \\
        --out-csv results/tables/general.csv
"""
from __future__ import annotations

from flextrap.cli import cli_entry, table_command
from flextrap.tables import write_general_table


@cli_entry
def main(argv=None) -> None:
    table_command(__doc__, write_general_table, argv)


if __name__ == "__main__":
    main()
