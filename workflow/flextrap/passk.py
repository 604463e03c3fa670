"""Pass@k curves and coverage from sample shards (paper Sec. 3, Fig. 3-5).

    python -m flextrap.passk --samples '{"ar": [shard, ...], "arbitrary": [...]}' \\
        --settings '<json>' --out-passk results/passk/tiny/synthetic/passk.csv \\
        --out-coverage results/passk/tiny/synthetic/coverage.csv

passk.csv: one row per order and k with the unbiased pass@k (mean over problems),
a percentile bootstrap interval over problems, and the order's sampler settings.
coverage.csv: for each configured pair of orders (A, B), the problems solved by at
least one of the n samples only under A, only under B, under both, under neither.
"""
from __future__ import annotations

import json
from collections import defaultdict

import pandas as pd

from .cli import cli_entry, parse_args
from .errors import FlextrapError
from .jsonl import read_jsonl, write_text
from .metrics import coverage, pass_at_k_curve


def counts_of(paths: list[str]) -> dict[str, tuple[int, int]]:
    """(n, c) per problem id over the records of all shards."""
    counts = defaultdict(lambda: [0, 0])
    for path in paths:
        for r in read_jsonl(path, required=("id", "verdict")):
            counts[r["id"]][0] += 1
            counts[r["id"]][1] += int(bool(r["verdict"]["correct"]))
    if not counts:
        raise FlextrapError(f"no samples in {paths}")
    ns = {n for n, _ in counts.values()}
    if len(ns) > 1:
        raise FlextrapError(f"problems have different sample counts {sorted(ns)} in {paths}")
    return {i: tuple(c) for i, c in counts.items()}


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


@cli_entry
def main(argv=None) -> None:
    args = parse_args(__doc__, ["samples", "settings", "out-passk", "out-coverage"], argv)
    shards, s = json.loads(args.samples), json.loads(args.settings)
    counts = {order: counts_of(paths) for order, paths in shards.items()}
    table = passk_table(counts, s)
    write_text(args.out_passk, table.to_csv(index=False, float_format="%.6g"))
    write_text(args.out_coverage, coverage_table(counts, s).to_csv(index=False, float_format="%.6g"))
    for order, rows in table.groupby("order", sort=False):
        first, last = rows.iloc[0], rows.iloc[-1]
        print(f"{s['task']} {order}: pass@{first.k} = {first.pass_at_k:.3f}, "
              f"pass@{last.k} = {last.pass_at_k:.3f} ({first.problems} problems)")


if __name__ == "__main__":
    main()
