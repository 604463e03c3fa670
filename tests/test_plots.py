"""The figures draw the series of their tables: each line's points, each bar's height,
each axis's scale and labels, checked on small hand-made tables."""
from collections import defaultdict

import pandas as pd
import pytest

from flextrap import plots

COLORS = defaultdict(lambda: "#333333")  # any order's colour (the plan gives the registry's, tests/test_orders.py)


def lines_by_label(ax) -> dict:
    return {line.get_label(): (list(line.get_xdata()), list(line.get_ydata())) for line in ax.get_lines()}


def test_passk_curves_draw_each_sampled_order_per_task_on_a_log2_axis():
    df = pd.DataFrame([{"task": t, "order": o, "k": k, "pass_at_k": p, "ci_low": p - 0.1, "ci_high": p + 0.1}
                       for t in ("gsm8k", "mbpp") for o, base in (("ar", 0.3), ("arbitrary", 0.2), ("extra", 0.1))
                       for k, p in ((1, base), (2, base + 0.2), (4, base + 0.3))])
    fig = plots.passk_curves(df, {"colors": COLORS, "orders": ["ar", "arbitrary"]})
    assert [ax.get_title() for ax in fig.axes] == ["gsm8k", "mbpp"]
    for ax in fig.axes:
        drawn = lines_by_label(ax)
        assert set(drawn) == {"ar", "arbitrary"}  # an order not configured is left out
        assert drawn["ar"] == ([1, 2, 4], pytest.approx([0.3, 0.5, 0.6]))
        assert drawn["arbitrary"][1] == pytest.approx([0.2, 0.4, 0.5])
        assert ax.get_xscale() == "log" and ax.get_ylabel() == "Pass@k"
        assert len(ax.collections) == 2  # one bootstrap band per order


def test_coverage_bars_are_the_shares_in_percent():
    df = pd.DataFrame([{"task": "gsm8k", "a": "ar", "b": "arbitrary", "k": 16, "share_only_a": 0.1,
                        "share_only_b": 0.05, "share_both": 0.7}])
    ax = plots.coverage(df, {"colors": COLORS}).axes[0]
    assert [p.get_height() for p in ax.patches] == pytest.approx([10.0, 5.0, 70.0])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["only ar", "only arbitrary", "both"]
    assert ax.get_title() == "gsm8k (k = 16)"


def test_connective_entropy_bars_per_order_and_the_all_token_mean_dashed():
    rows = [("ar", "So", "connective", 1.5), ("ar", "Thus", "connective", 2.0), ("ar", "(all tokens)", "all", 0.4),
            ("arbitrary", "So", "connective", 0.5), ("arbitrary", "Thus", "connective", 0.8),
            ("arbitrary", "(all tokens)", "all", 0.45)]
    df = pd.DataFrame([{"task": "math500", "order": o, "word": w, "kind": k, "mean_entropy": e, "count": 3}
                       for o, w, k, e in rows])
    ax = plots.connective_entropy(df, {"colors": COLORS, "orders": ["ar", "arbitrary"]}).axes[0]
    assert [p.get_height() for p in ax.patches] == pytest.approx([1.5, 2.0, 0.5, 0.8])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["So", "Thus"]
    dashed = [line.get_ydata()[0] for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert dashed == pytest.approx([0.4, 0.45])


def test_bypassed_tokens_show_the_top_words_of_the_configured_order():
    df = pd.DataFrame([{"task": "t", "order": o, "word": w, "bypassed": n, "share_of_bypassed": n / 10,
                        "bypass_rate": 0.5} for o in ("arbitrary", "ar") for w, n in (("So", 6), ("x", 3), ("y", 1))])
    ax = plots.bypassed_tokens(df, {"colors": COLORS, "bypass_order": "arbitrary", "top_bypassed": 2}).axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["x", "So"]  # largest at the top
    assert [p.get_width() for p in ax.patches] == pytest.approx([30.0, 60.0])


def test_parallel_decoding_lines_run_along_tokens_per_step_per_method_and_rule():
    df = pd.DataFrame([{"task": "mbpp", "method": m, "rule": "eb", "value": v, "tokens_per_step": t,
                        "accuracy": a + gain} for m, gain in (("base", 0.0), ("JustGRPO", 10.0))
                       for v, t, a in ((1.0, 4.0, 30.0), (0.0, 1.0, 40.0))])
    ax = plots.parallel_decoding(df, {"colors": COLORS}).axes[0]
    drawn = lines_by_label(ax)
    assert drawn["base, eb"] == ([1.0, 4.0], [40.0, 30.0])
    assert drawn["JustGRPO, eb"] == ([1.0, 4.0], [50.0, 40.0])
    assert ax.get_xlabel() == "tokens per step"
    assert any("+10.0" in t.get_text() for t in ax.texts)  # the gap at one token per step


def test_training_efficiency_draws_accuracy_against_steps_and_minutes():
    df = pd.DataFrame({"run": ["gsm8k"] * 3, "step": [0, 5, 10], "train_seconds": [0.0, 60.0, 120.0],
                       "accuracy": [0.5, 0.6, 0.7]})
    by_step, by_time = plots.training_efficiency(df, {"colors": COLORS}).axes
    assert lines_by_label(by_step)["gsm8k"] == ([0, 5, 10], pytest.approx([50.0, 60.0, 70.0]))
    assert lines_by_label(by_time)["gsm8k"][0] == pytest.approx([0.0, 1.0, 2.0])


def test_over_seeds_the_pooled_curve_is_drawn_with_its_interval_and_each_seed_thin():
    from flextrap.pooling import over_seeds

    def seed_table(shift):
        return pd.DataFrame([{"model": "m", "task": "gsm8k", "order": o, "k": k, "pass_at_k": p + shift,
                              "ci_low": 0.0, "ci_high": 1.0} for o, base in (("ar", 0.3), ("arbitrary", 0.2))
                             for k, p in ((1, base), (4, base + 0.3))])
    df = over_seeds({0: seed_table(0.0), 1: seed_table(0.1)}, "passk", 0.95)
    ax = plots.passk_curves(df, {"colors": COLORS, "orders": ["ar", "arbitrary"]}).axes[0]
    drawn = lines_by_label(ax)
    assert drawn["ar"] == ([1, 4], pytest.approx([0.35, 0.65])) and drawn["arbitrary"][1] == pytest.approx([0.25, 0.55])
    thin = [line for line in ax.get_lines() if line.get_label().startswith("_")]
    assert sorted(tuple(round(y, 6) for y in line.get_ydata()) for line in thin) == [
        (0.2, 0.5), (0.3, 0.6), (0.3, 0.6), (0.4, 0.7)]  # each seed's curve of each order
    pooled = df[(df.seed == "pooled") & (df.order == "ar")]
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert min(band) == pytest.approx(pooled.pass_at_k_low.min()) and max(band) == pytest.approx(pooled.pass_at_k_high.max())


def test_passk_vs_block_length_draws_every_other_k_against_the_swept_block_lengths():
    df = pd.DataFrame([{"task": "gsm8k", "order": o, "block_length": b, "k": k, "pass_at_k": b / 100 + k / 10}
                       for o, b in (("ar", 1), ("block4", 4), ("arbitrary", 32), ("other", 8)) for k in (1, 2, 4)])
    ax = plots.passk_vs_block_length(df, {"colors": COLORS, "block_sweep": ["ar", "block4", "arbitrary"]}).axes[0]
    drawn = lines_by_label(ax)
    assert set(drawn) == {"k = 1", "k = 4"}  # k = 1, 4 of 1, 2, 4; the unswept order left out
    assert drawn["k = 4"] == ([1, 4, 32], pytest.approx([0.41, 0.44, 0.72]))
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "block length" and ax.get_title() == "gsm8k"


def test_passk_vs_temperature_draws_the_smallest_and_largest_k_of_each_order_against_temperature():
    df = pd.DataFrame([{"task": "t", "order": f"temperature-{o}-{tmp}", "base_order": o, "temperature": tmp, "k": k,
                        "pass_at_k": tmp / 10 + k / 100 + (0.5 if o == "ar" else 0)}
                       for o in ("ar", "arbitrary") for tmp in (1.0, 0.3) for k in (1, 2, 8)])
    ax = plots.passk_vs_temperature(df, {"colors": COLORS}).axes[0]
    drawn = lines_by_label(ax)
    assert set(drawn) == {"ar, k = 1", "ar, k = 8", "arbitrary, k = 1", "arbitrary, k = 8"}
    assert drawn["ar, k = 8"] == ([0.3, 1.0], pytest.approx([0.61, 0.68]))  # sorted by temperature
    assert drawn["arbitrary, k = 1"] == ([0.3, 1.0], pytest.approx([0.04, 0.11]))
    styles = {line.get_label(): line.get_linestyle() for line in ax.get_lines()}
    assert styles["ar, k = 1"] == "--" and styles["ar, k = 8"] == "-"
    assert ax.get_xlabel() == "temperature" and ax.get_ylabel() == "Pass@k"


def test_passk_by_remasking_draws_one_curve_per_proxy_beside_ar():
    rows = [("remasking-ar", "ar", 1, "low_confidence", 0.5), ("remasking-arbitrary-margin", "arbitrary", 8, "margin", 0.3),
            ("remasking-arbitrary-neg_entropy", "arbitrary", 8, "neg_entropy", 0.2)]
    df = pd.DataFrame([{"task": "t", "order": o, "base_order": b, "block_length": bl, "remasking": r, "k": k,
                        "pass_at_k": p * k, "ci_low": p * k - 0.05, "ci_high": p * k + 0.05}
                       for o, b, bl, r, p in rows for k in (1, 2)])
    ax = plots.passk_by_remasking(df, {"colors": COLORS}).axes[0]
    drawn = lines_by_label(ax)
    assert drawn == {"ar": ([1, 2], pytest.approx([0.5, 1.0])), "arbitrary, margin": ([1, 2], pytest.approx([0.3, 0.6])),
                     "arbitrary, neg_entropy": ([1, 2], pytest.approx([0.2, 0.4]))}
    assert len(ax.collections) == 3 and ax.get_xscale() == "log"  # a bootstrap band per curve


def test_reward_curve_draws_each_runs_rewards_running_mean_and_signal_share():
    df = pd.DataFrame([{"run": r, "step": s, "mean_reward": base + s / 10, "nonzero_adv_groups": 0.5}
                       for r, base in (("gsm8k", 0.2), ("gsm8k-random", 0.1)) for s in range(1, 11)])
    ax = plots.reward_curve(df, {"colors": COLORS}).axes[0]
    lines = ax.get_lines()
    assert len(lines) == 2 * 3  # points, running mean, signal share per run
    drawn = lines_by_label(ax)
    mean = drawn["gsm8k (running mean, 1 steps)"]
    assert mean == (list(range(1, 11)), pytest.approx([0.2 + s / 10 for s in range(1, 11)]))  # window 10 // 10
    dotted = [list(line.get_ydata()) for line in lines if line.get_linestyle() == ":"]
    assert dotted == [[0.5] * 10, [0.5] * 10]
    assert ax.get_xlabel() == "JustGRPO step"
