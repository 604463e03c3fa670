"""The tables, from evaluation summaries (`results/<kind>/<model>/<task>/<name>.json`).

Accuracy tables: Table 1 (base and JustGRPO, each task's column from the run trained
on it) and the ablation table (base and each JustGRPO variant on one task), at paper
scale with the paper's reported rows beside ours (marked "reported"); a cell lists the
accuracy (%) at each generation length, e.g. "78.6 / 80.1 / 81.0". The
parallel-decoding table (Sec. 5, Fig. 8): one row per model, task and setting with
accuracy, forward passes (NFE), tokens per step (gen_length / NFE) and wall time.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .jsonl import write_text
from .reported import reported


def summaries(paths: list[str]):
    """(model, task, summary) of each evaluation summary, model and task from its path."""
    for path in paths:
        yield Path(path).parts[-3], Path(path).parts[-2], json.loads(Path(path).read_text())


def measured_rows(paths: list[str], s: dict) -> pd.DataFrame:
    rows = []
    for model, task, summary in summaries(paths):
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


def write_accuracy_table(paths: list[str], s: dict, out_markdown: str, out_latex: str, out_csv: str) -> str:
    """One accuracy table as CSV (long form), Markdown and LaTeX; returns the Markdown."""
    df = measured_rows(paths, s)
    if s["reported"]:
        df = pd.concat([reported_rows(s["reported"], s["tasks"], s["gen_lengths"]), df], ignore_index=True)
    write_text(out_csv, df.to_csv(index=False, float_format="%.2f"))
    header, body = ["method"] + s["tasks"], cells(df, s["tasks"], s["gen_lengths"])
    write_text(out_latex, latex(header, body))
    text = markdown(header, body, s["gen_lengths"])
    write_text(out_markdown, text)
    return text


def parallel_rows(paths: list[str], models: dict) -> pd.DataFrame:
    rows = []
    for model, task, summary in summaries(paths):
        sampler = summary["protocol"]["settings"]["sampler"]
        rows.append({"method": models[model], "model": model, "task": task, "rule": sampler["rule"],
                     "value": sampler["value"], "proxy": sampler["proxy"], "accuracy": 100 * summary["accuracy"],
                     "nfe": summary["nfe"], "tokens_per_step": summary["tokens_per_step"],
                     "seconds": summary["seconds"], "problems": summary["problems"]})
    return pd.DataFrame(rows).sort_values(["task", "method", "rule", "value"], ignore_index=True)
