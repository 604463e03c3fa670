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
