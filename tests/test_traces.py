"""Bypass and decode-entropy statistics from traces, against hand computations."""
import numpy as np
import pytest

from flextrap.traces import ALL_CONNECTIVES, ALL_TOKENS, TokenStats, bypassed, tables, text_length

EOS = 9


def test_bypassed_means_a_position_to_the_right_was_committed_earlier():
    assert not bypassed(np.array([0, 1, 2, 3])).any()  # AR order
    assert bypassed(np.array([2, 0, 1])).tolist() == [True, False, False]
    assert bypassed(np.array([1, 2, 0])).tolist() == [True, True, False]
    assert bypassed(np.array([3, 1, 2, 0])).tolist() == [True, True, True, False]


def test_text_ends_at_the_first_eos():
    assert text_length([5, 6, EOS, 7, EOS], EOS) == 2 and text_length([5, 6], EOS) == 2


def record(tokens, steps, entropies):
    return {"token_ids": tokens, "trace": {"step": steps, "entropy": entropies}}


def test_tables_match_a_hand_computation():
    words = {1: "so", 2: "x", 3: "So", EOS: "[EOS]"}
    stats = {"arbitrary": TokenStats(flush_every=3)}  # several flushes
    stats["arbitrary"].add(record([1, 2, 3, EOS], [2, 0, 1, 3], [0.2, 1.0, 0.4, 9.0]), EOS)
    stats["arbitrary"].add(record([2, 1, EOS, EOS], [1, 0, 2, 3], [0.6, 0.8, 9.0, 9.0]), EOS)
    s = {"model": "m", "task": "t", "connectives": ["So", "Thus"], "min_occurrences": 1}
    bypass, entropy = tables(stats, words.get, s)
    by_word = bypass.set_index("word")
    # record 1: "so"(step 2) has "x"(0) and "So"(1) to its right committed earlier; "x" has "So"? no (1 > 0)
    # record 2: "x"(step 1) has "so"(0) to its right: bypassed
    assert by_word.loc["so"].tolist()[3:6] == [2, 1, 0.5]
    assert by_word.loc["x"].tolist()[3:6] == [2, 1, 0.5]
    assert "[EOS]" not in by_word.index  # only text tokens count
    e = entropy.set_index("word")
    assert e.loc["So", "count"] == 3  # case-insensitive: "so" twice and "So" once
    assert e.loc["So", "mean_entropy"] == pytest.approx((0.2 + 0.4 + 0.8) / 3)
    assert e.loc["Thus", "count"] == 0
    assert e.loc[ALL_CONNECTIVES, "mean_entropy"] == pytest.approx((0.2 + 0.4 + 0.8) / 3)
    assert e.loc[ALL_TOKENS, "mean_entropy"] == pytest.approx((0.2 + 1.0 + 0.4 + 0.6 + 0.8) / 5)
    assert e.loc[ALL_TOKENS, "std_entropy"] == pytest.approx(np.std([0.2, 1.0, 0.4, 0.6, 0.8]))
