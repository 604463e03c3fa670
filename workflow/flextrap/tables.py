"""The tables, from evaluation summaries (`results/seed<s>/<kind>/<model>/<task>/<name>.json`),
each input given with its seed, model and task ({"seed", "model", "task", "path"}).

Accuracy tables: Table 1 (base and JustGRPO, each task's column from the run trained
on it) and the ablation table (base and each JustGRPO variant on one task), at paper
scale with the paper's reported rows beside ours (marked "reported"); a cell lists the
accuracy (%) at each generation length, e.g. "78.6 / 80.1 / 81.0". The
parallel-decoding table (Sec. 5, Fig. 8): one row per model, task and setting with
accuracy, forward passes (NFE), tokens per step (gen_length / NFE) and wall time.
The general-capability table (Table 6): each lm-eval task's score (%) per model.
Every table has one row per seed (column `seed`) and, over several seeds, pooled rows
(`flextrap.pooling`); the Markdown and LaTeX tables label a seed's rows "(seed s)" and
the pooled ones "(mean of S seeds)", each pooled value followed by its interval across
seeds, e.g. "32.0 [6.6, 57.4]".
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .jsonl import write_text
from .pooling import POOLED, over_seeds
from .reported import TABLE6, reported


def summaries(inputs: list[dict]):
    """(input, summary) of each evaluation summary: input = {"seed", "model", "task", "path"}."""
    for item in inputs:
        yield item, json.loads(Path(item["path"]).read_text())


def by_seed(rows: list[dict], kind: str, confidence: float) -> pd.DataFrame:
    """Rows of several seeds (each with key `seed`) as a table over seeds."""
    frames = {}
    for row in rows:
        frames.setdefault(row.pop("seed"), []).append(row)
    return over_seeds({seed: pd.DataFrame(r) for seed, r in frames.items()}, kind, confidence)


def measured_rows(inputs: list[dict], s: dict) -> pd.DataFrame:
    rows = []
    for item, summary in summaries(inputs):
        rows.append({"seed": item["seed"], "method": s["models"][item["model"]], "source": "measured",
                     "task": item["task"], "gen_length": summary["gen_length"],
                     "accuracy": 100 * summary["accuracy"], "problems": summary["problems"]})
    return by_seed(rows, "accuracy", s["confidence"])


def reported_rows(table: str, tasks: list[str], lengths: list[int]) -> pd.DataFrame:
    rows = []
    for method, per_task in reported(table).items():
        for task in tasks:
            for length, acc in per_task.get(task, {}).items():
                if length in lengths:
                    rows.append({"seed": None, "method": method, "source": "reported", "task": task, "gen_length": length,
                                 "accuracy": acc, "problems": None})
    return pd.DataFrame(rows)


def label(method: str, source: str, seed, rows: pd.DataFrame, seeds: int) -> str:
    if source == "reported":
        return f"{method} (reported)"
    if seed == POOLED:
        return f"{method} (mean of {int(rows.seeds.iloc[0])} seeds)"
    return f"{method} (seed {seed})" if seeds > 1 else method


def value(row: pd.Series, column: str) -> str:
    """A table cell: the value, and its interval across seeds where it has one (pooled rows)."""
    low, high = row.get(f"{column}_low"), row.get(f"{column}_high")
    if pd.isna(low):
        return f"{row[column]:.1f}"
    return f"{row[column]:.1f} [{low:.1f}, {high:.1f}]"


def cells(df: pd.DataFrame, tasks: list[str], lengths: list[int]) -> list[list[str]]:
    out = []
    seeds = df[df.source == "measured"].seed.astype(str).drop_duplicates().ne(POOLED).sum()
    groups = list(df.groupby(["method", "source", "seed"], sort=False, dropna=False))
    first = {m: i for i, m in enumerate(dict.fromkeys(zip(df.method, df.source)))}
    for (method, source, seed), rows in sorted(groups, key=lambda g: first[g[0][:2]]):  # seeds stay in order
        row = [label(method, source, seed, rows, seeds)]
        for task in tasks:
            acc = rows[rows.task == task].set_index("gen_length")
            row.append(" / ".join(value(acc.loc[n], "accuracy") if n in acc.index else "-" for n in lengths))
        out.append(row)
    return out


def markdown(caption: str, header: list[str], body: list[list[str]]) -> str:
    lines = [caption, "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
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
    text = markdown(f"Accuracy (%) at generation lengths {' / '.join(map(str, s['gen_lengths']))}.", header, body)
    write_text(out_markdown, text)
    return text


def parallel_rows(inputs: list[dict], models: dict, confidence: float) -> pd.DataFrame:
    rows = []
    for item, summary in summaries(inputs):
        sampler = summary["protocol"]["settings"]["sampler"]
        model = item["model"]
        rows.append({"seed": item["seed"], "method": models[model], "model": model, "task": item["task"],
                     "rule": sampler["rule"],
                     "value": sampler["value"], "proxy": sampler["proxy"], "accuracy": 100 * summary["accuracy"],
                     "nfe": summary["nfe"], "tokens_per_step": summary["tokens_per_step"],
                     "seconds": summary["seconds"], "problems": summary["problems"]})
    rows = sorted(rows, key=lambda r: (r["task"], r["method"], r["rule"], r["value"]))
    return by_seed(rows, "parallel", confidence)


def general_rows(inputs: list[dict], s: dict) -> pd.DataFrame:
    """One row per seed, model and lm-eval task: its metric (`s["metrics"][task]`) in %."""
    rows = []
    for item, result in summaries(inputs):
        metric = s["metrics"][item["task"]]
        value = result["results"][item["task"]][f"{metric},none"]
        rows.append({"seed": item["seed"], "method": s["models"][item["model"]], "source": "measured",
                     "task": item["task"], "metric": metric, "score": 100 * value,
                     # documents of the task, or of a group's tasks (lm-eval counts only those)
                     "problems": sum(n["effective"] for n in result["n-samples"].values())})
    df = by_seed(rows, "general", s["confidence"])
    if s["reported"]:
        df = pd.concat([pd.DataFrame([{"seed": None, "method": m, "source": "reported", "task": t,
                                       "metric": s["metrics"].get(t), "score": v}
                                      for m, per_task in TABLE6.items() for t, v in per_task.items()
                                      if t in s["metrics"]]), df], ignore_index=True)
    return df


def write_general_table(inputs: list[dict], s: dict, out_markdown: str, out_latex: str, out_csv: str) -> str:
    """Table 6 as CSV (long form), Markdown and LaTeX; returns the Markdown."""
    df = general_rows(inputs, s)
    write_text(out_csv, df.to_csv(index=False, float_format="%.2f"))
    seeds = df[df.source == "measured"].seed.astype(str).drop_duplicates().ne(POOLED).sum()
    body = []
    for (method, source, seed), rows in df.groupby(["method", "source", "seed"], sort=False, dropna=False):
        scores = rows.set_index("task")
        body.append([label(method, source, seed, rows, seeds)] +
                    [value(scores.loc[t], "score") if t in scores.index else "-" for t in s["metrics"]])
    header = ["method"] + list(s["metrics"])
    write_text(out_latex, latex(header, body))
    text = markdown("Score (%) of each lm-evaluation-harness task (its metric in the CSV).", header, body)
    write_text(out_markdown, text)
    return text
