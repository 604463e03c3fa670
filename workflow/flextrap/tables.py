"""Accuracy tables from eval summaries: Table 1 (base and JustGRPO, each task's column
from the run trained on it) and the ablation table (base and each JustGRPO variant on
one task); at paper scale the paper's reported rows beside ours (marked "reported").

    python -m flextrap.tables --inputs '["results/eval/tiny/synthetic/len40.json", ...]' \\
        --settings '<json>' --out-markdown results/tables/accuracy.md \\
        --out-latex results/tables/accuracy.tex --out-csv results/tables/accuracy.csv

A cell lists the accuracy (%) at each generation length, e.g. "78.6 / 80.1 / 81.0".
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .cli import cli_entry, parse_args
from .jsonl import write_text
from .reported import reported


def measured_rows(paths: list[str], s: dict) -> pd.DataFrame:
    rows = []
    for path in paths:
        summary = json.loads(Path(path).read_text())
        model, task = Path(path).parts[-3], Path(path).parts[-2]
        rows.append({"method": s["models"][model], "source": "measured", "task": task,
                     "gen_length": summary["gen_length"], "accuracy": 100 * summary["accuracy"],
                     "problems": summary["problems"]})
    return pd.DataFrame(rows)


def reported_rows(table: str, tasks: list[str], lengths: list[int]) -> pd.DataFrame:
    rows = []
    for method, per_task in reported(table).items():
        for task in tasks:
            for length, acc in per_task.get(task, {}).items():
                if length in lengths:
                    rows.append({"method": method, "source": "reported", "task": task, "gen_length": length,
                                 "accuracy": acc, "problems": None})
    return pd.DataFrame(rows)


def cells(df: pd.DataFrame, tasks: list[str], lengths: list[int]) -> list[list[str]]:
    out = []
    for (method, source), rows in df.groupby(["method", "source"], sort=False):
        row = [method + (" (reported)" if source == "reported" else "")]
        for task in tasks:
            acc = rows[rows.task == task].set_index("gen_length").accuracy
            row.append(" / ".join(f"{acc[n]:.1f}" if n in acc else "-" for n in lengths))
        out.append(row)
    return out


def markdown(header: list[str], body: list[list[str]], lengths: list[int]) -> str:
    lines = [f"Accuracy (%) at generation lengths {' / '.join(map(str, lengths))}.", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in body]) + "\n"


def latex(header: list[str], body: list[list[str]]) -> str:
    esc = lambda t: t.replace("%", r"\%").replace("_", r"\_")  # noqa: E731
    lines = [r"\begin{tabular}{l" + "c" * (len(header) - 1) + "}", r"\toprule",
             " & ".join(map(esc, header)) + r" \\", r"\midrule"]
    lines += [" & ".join(map(esc, r)) + r" \\" for r in body]
    return "\n".join(lines + [r"\bottomrule", r"\end{tabular}"]) + "\n"


@cli_entry
def main(argv=None) -> None:
    args = parse_args(__doc__, ["inputs", "settings", "out-markdown", "out-latex", "out-csv"], argv)
    s = json.loads(args.settings)
    df = measured_rows(json.loads(args.inputs), s)
    if s["reported"]:
        df = pd.concat([reported_rows(s["reported"], s["tasks"], s["gen_lengths"]), df], ignore_index=True)
    write_text(args.out_csv, df.to_csv(index=False, float_format="%.2f"))
    header = ["method"] + s["tasks"]
    body = cells(df, s["tasks"], s["gen_lengths"])
    write_text(args.out_markdown, markdown(header, body, s["gen_lengths"]))
    write_text(args.out_latex, latex(header, body))
    print(markdown(header, body, s["gen_lengths"]))


if __name__ == "__main__":
    main()
