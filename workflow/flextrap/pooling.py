"""Tables over seeds: every seed's rows, and with several seeds one pooled row per cell.

A pooled row (seed "pooled") holds, for each value column v, the mean over the seeds
that have the cell (and a value for v) and a Student-t interval of that mean across seeds,
mean +- t_{(1+conf)/2, S-1} * sd / sqrt(S), in `v_low` / `v_high` (S >= 2 seeds; sd with
S - 1 degrees of freedom), with `seeds` = S. A seed's own rows keep their own
columns (for Pass@k, `ci_low` / `ci_high`: the bootstrap over problems of that seed).
Other columns (sizes, sampler settings) are the first seed's, except a seed's own
interval (`ci_low`, `ci_high`), empty in pooled rows.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .errors import FlextrapError

POOLED = "pooled"
SEED_ONLY = ["ci_low", "ci_high"]  # columns that describe one seed only (its bootstrap interval)

KINDS = {  # table kind -> (key columns, value columns)
    "passk": (["model", "task", "order", "k"], ["pass_at_k"]),
    "coverage": (["model", "task", "a", "b", "k"], ["only_a", "only_b", "both", "neither", "share_only_a",
                                                    "share_only_b", "share_both", "share_neither"]),
    "bypass": (["model", "task", "order", "word"], ["occurrences", "bypassed", "bypass_rate", "share_of_bypassed"]),
    "connective_entropy": (["model", "task", "order", "kind", "word"], ["count", "mean_entropy", "std_entropy"]),
    "accuracy": (["method", "source", "task", "gen_length"], ["accuracy"]),
    "general": (["method", "source", "task", "metric"], ["score"]),
    "parallel": (["method", "model", "task", "rule", "value", "proxy"],
                 ["accuracy", "nfe", "tokens_per_step", "seconds"]),
}
KINDS["sweep"] = KINDS["passk"]


def t_interval(values, confidence: float) -> tuple[float, float]:
    """Student-t interval of the mean of `values` (one per seed); NaN for fewer than two."""
    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        return float("nan"), float("nan")
    half = stats.t.ppf((1 + confidence) / 2, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v))
    return float(v.mean() - half), float(v.mean() + half)


def pooled_rows(per_seed: pd.DataFrame, keys: list[str], values: list[str], confidence: float) -> pd.DataFrame:
    rows = []
    for _, cell in per_seed.groupby(keys, sort=False, dropna=False):
        row = cell.iloc[0].to_dict() | {"seed": POOLED, "seeds": len(cell)}
        for v in values:  # over the seeds where the value is defined (an entropy of no token is not)
            present = cell[v].dropna()
            row[v] = float(present.mean()) if len(present) else float("nan")
            row[f"{v}_low"], row[f"{v}_high"] = t_interval(present, confidence)
        rows.append(row)
    out = pd.DataFrame(rows)
    out[[c for c in SEED_ONLY if c in out]] = np.nan  # one seed's interval does not describe the pool
    return out


def over_seeds(frames: dict, kind: str, confidence: float) -> pd.DataFrame:
    """The rows of every seed (column `seed` first) and, with two or more seeds, the pooled rows."""
    if not frames:
        raise FlextrapError(f"{kind}: no seed to pool")
    keys, values = KINDS[kind]
    tables = [df.assign(seed=str(seed)) for seed, df in frames.items() if len(df)]
    if not tables:
        return pd.DataFrame(columns=["seed"] + keys + values)
    per_seed = pd.concat(tables, ignore_index=True)
    per_seed = per_seed[["seed"] + [c for c in per_seed.columns if c != "seed"]]
    if len(frames) < 2:
        return per_seed
    return pd.concat([per_seed, pooled_rows(per_seed, keys, values, confidence)], ignore_index=True)


def seed_rows(df: pd.DataFrame) -> pd.DataFrame:
    return df[df.seed.astype(str) != POOLED]


def pooled(df: pd.DataFrame) -> pd.DataFrame | None:
    """The pooled rows of a table over seeds, or None with one seed."""
    rows = df[df.seed.astype(str) == POOLED]
    return rows if len(rows) else None
