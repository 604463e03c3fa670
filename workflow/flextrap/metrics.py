"""Pass@k and friends (paper Sec. 3)."""
from __future__ import annotations

import numpy as np


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for one problem (Chen et al., 2021): 1 - C(n-c, k) / C(n, k),
    in the stable product form 1 - prod_{i=n-c+1}^{n} (1 - k / i)."""
    if k > n:
        raise ValueError(f"k={k} exceeds the number of samples n={n}")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def mean_pass_at_k(counts: list[tuple[int, int]], k: int) -> float:
    """Mean over problems of pass@k; `counts` holds (n, c) per problem."""
    return float(np.mean([pass_at_k(n, c, k) for n, c in counts]))


def bootstrap_interval(values: np.ndarray, resamples: int, confidence: float, seed: int) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of per-problem `values` (problems are
    resampled with replacement)."""
    values = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(resamples, len(values)))].mean(1)
    alpha = (1 - confidence) / 2
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def pass_at_k_curve(counts: dict[str, tuple[int, int]], ks: list[int], resamples: int,
                    confidence: float, seed: int) -> list[dict]:
    """Pass@k for each k with a bootstrap interval over problems; `counts` maps a problem
    id to (n, c). Problems are in sorted-id order, so the interval is reproducible."""
    ids = sorted(counts)
    rows = []
    for k in ks:
        per_problem = np.array([pass_at_k(*counts[i], k) for i in ids])
        lo, hi = bootstrap_interval(per_problem, resamples, confidence, seed)
        rows.append({"k": k, "pass_at_k": float(per_problem.mean()), "ci_low": lo, "ci_high": hi,
                     "problems": len(ids)})
    return rows


def coverage(solved_a: set, solved_b: set, problems: set) -> dict[str, int]:
    """How many problems are solved (by at least one sample) only by A, only by B, by both, by neither."""
    return {"only_a": len(solved_a - solved_b), "only_b": len(solved_b - solved_a),
            "both": len(solved_a & solved_b), "neither": len(problems - solved_a - solved_b)}
