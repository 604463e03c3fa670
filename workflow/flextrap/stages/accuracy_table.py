"""Rule `accuracy_table`: Table 1, the accuracy of the base model and of JustGRPO on
every task at every generation length, each task's column from the run trained on that
task (`flextrap.tables`); at paper scale the paper's reported rows are beside ours.

    python -m flextrap.stages.accuracy_table --inputs '[{"seed": 0, "model": "tiny", "task": "synthetic",
        "path": "results/seed0/eval/tiny/synthetic/len40.json"}, ...]' \\
        --settings '<json>' --out-markdown results/tables/accuracy.md \\
        --out-latex results/tables/accuracy.tex --out-csv results/tables/accuracy.csv
"""
from __future__ import annotations

from flextrap.cli import cli_entry, table_command
from flextrap.tables import write_accuracy_table


@cli_entry
def main(argv=None) -> None:
    table_command(__doc__, write_accuracy_table, argv)


if __name__ == "__main__":
    main()
