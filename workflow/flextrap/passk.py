"""Pass@k curves and coverage from sample shards (paper Sec. 3, Fig. 3-5, 10-11).

passk.csv: one row per order and k with the unbiased pass@k (mean over problems),
a percentile bootstrap interval over problems, and the order's sampler settings.
coverage.csv: for each configured pair of orders (A, B), the problems solved by at
least one of the n samples only under A, only under B, under both, under neither.
"""
from __future__ import annotations

from collections import defaultdict

import pandas as pd

from .errors import FlextrapError
from .jsonl import read_jsonl, write_text
from .metrics import coverage, mean_pass_at_k, pass_at_k_curve


def correct_counts(records, where: str = "the samples") -> dict[str, tuple[int, int]]:
    """(n, c) per problem id: its samples and how many the grader passed."""
    counts = defaultdict(lambda: [0, 0])
    for r in records:
        counts[r["id"]][0] += 1
        counts[r["id"]][1] += int(bool(r["verdict"]["correct"]))
    if not counts:
        raise FlextrapError(f"no samples in {where}")
    ns = {n for n, _ in counts.values()}
    if len(ns) > 1:
        raise FlextrapError(f"problems have different sample counts {sorted(ns)} in {where}")
    return {i: tuple(c) for i, c in counts.items()}


def pass1_card(samples: list[dict], examples: int = 5) -> dict:
    """A model's card from its graded samples: the unbiased Pass@1 (mean over problems of
    correct / n), the sizes, and the first `examples` samples."""
    counts = correct_counts(samples)
    return {"pass@1": round(mean_pass_at_k(list(counts.values()), 1), 4), "problems": len(counts),
            "samples_per_problem": next(iter(counts.values()))[0],
            "examples": [{k: r[k] for k in ("id", "sample", "text", "verdict")} for r in samples[:examples]]}


def counts_of(paths: list[str]) -> dict[str, tuple[int, int]]:
    """`correct_counts` over the records of all shards."""
    return correct_counts((r for path in paths for r in read_jsonl(path, required=("id", "verdict"))), str(paths))


def passk_table(counts: dict, s: dict) -> pd.DataFrame:
    rows = []
    for order, per_problem in counts.items():
        n = next(iter(per_problem.values()))[0]
        ks = [k for k in s["ks"] if k <= n]
        b = s["bootstrap"]
        for row in pass_at_k_curve(per_problem, ks, b["resamples"], b["confidence"], b["seed"]):
            rows.append({"model": s["model"], "task": s["task"], "order": order, **row,
                         "samples_per_problem": n, **s["orders"][order]})
    return pd.DataFrame(rows)


COVERAGE_COLUMNS = ["model", "task", "a", "b", "k", "problems", "only_a", "only_b", "both", "neither",
                    "share_only_a", "share_only_b", "share_both", "share_neither"]


def coverage_table(counts: dict, s: dict) -> pd.DataFrame:
    rows = []
    for a, b in s["coverage"]:
        if a not in counts or b not in counts:
            continue
        solved = {o: {i for i, (_, c) in counts[o].items() if c > 0} for o in (a, b)}
        problems = set(counts[a]) | set(counts[b])
        cov = coverage(solved[a], solved[b], problems)
        rows.append({"model": s["model"], "task": s["task"], "a": a, "b": b,
                     "k": next(iter(counts[a].values()))[0], "problems": len(problems), **cov,
                     **{f"share_{key}": v / len(problems) for key, v in cov.items()}})
    return pd.DataFrame(rows, columns=COVERAGE_COLUMNS)


def write_tables(shards: dict[str, list[str]], s: dict, out_passk: str, out_coverage: str) -> pd.DataFrame:
    """passk.csv and coverage.csv from each order's shards; returns the Pass@k table."""
    counts = {order: counts_of(paths) for order, paths in shards.items()}
    table = passk_table(counts, s)
    write_text(out_passk, table.to_csv(index=False, float_format="%.6g"))
    write_text(out_coverage, coverage_table(counts, s).to_csv(index=False, float_format="%.6g"))
    return table
