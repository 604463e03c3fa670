"""Seeds as a dimension of the DAG: what each seed's config moves, where its outputs
go, and the tables over seeds (per-seed rows, pooled mean and t-interval) against
hand computations."""
import math

import pandas as pd
import pytest
import yaml
from conftest import ROOT

from flextrap import paths
from flextrap.pooling import POOLED, over_seeds, t_interval
from flextrap.seeds import config_for_seed

DEFAULT = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def test_seed_zero_is_the_config_and_seed_s_moves_every_run_seed_by_s():
    assert config_for_seed(DEFAULT, 0) == DEFAULT
    moved = config_for_seed(DEFAULT, 2)
    assert moved["models"]["tiny"]["pretrain"]["seed"] == DEFAULT["models"]["tiny"]["pretrain"]["seed"] + 2
    for section in ("passk", "model_check", "slot_probe", "evaluation", "parallel"):
        assert moved[section]["seed"] == DEFAULT[section]["seed"] + 2, section
    assert moved["justgrpo"]["shared"]["seed"] == DEFAULT["justgrpo"]["shared"]["seed"] + 2
    # The problems and the bootstrap are the same in every seed.
    assert moved["tasks"] == DEFAULT["tasks"] and moved["passk"]["bootstrap"] == DEFAULT["passk"]["bootstrap"]
    assert moved["preflight"] == DEFAULT["preflight"]
    assert DEFAULT["models"]["tiny"]["pretrain"]["seed"] == 0  # the caller's config is not changed


def test_a_run_that_sets_its_own_seed_moves_too():
    config = {"justgrpo": {"shared": {"seed": 0}, "runs": {"a": {}, "b": {"seed": 7}}}}
    assert config_for_seed(config, 1)["justgrpo"] == {"shared": {"seed": 1}, "runs": {"a": {}, "b": {"seed": 8}}}


def test_seeded_outputs_have_one_level_per_seed_and_pooled_ones_none():
    assert paths.model_dir(1, "tiny") == "results/seed1/models/tiny"
    assert paths.shard(0, "tiny", "synthetic", "ar", 1, 2) == "results/seed0/samples/tiny/synthetic/ar/shard1of2.jsonl"
    assert paths.analysis(2, "passk", "tiny", "synthetic", "passk") == "results/seed2/passk/tiny/synthetic/passk.csv"
    assert paths.analysis(None, "passk", "tiny", "synthetic", "passk") == "results/passk/tiny/synthetic/passk.csv"
    assert paths.evaluation(0, "eval", "tiny", "gsm8k", "len256", (3, 8), "jsonl") == \
        "results/seed0/eval/tiny/gsm8k/len256/shard3of8.jsonl"
    assert paths.log("sample", "tiny", "shard0of2", seed="{seed}") == "results/seed{seed}/logs/sample/tiny/shard0of2.log"
    assert paths.data("gsm8k", "test") == "results/data/gsm8k/test.jsonl"  # shared by every seed
    assert paths.preflight("llada") == "results/preflight/llada.json"


def test_t_interval_is_the_student_t_interval_of_the_mean():
    # values 1, 2, 3: mean 2, sd 1, t_{0.975, 2} = 4.302653: half-width 4.302653 / sqrt(3)
    lo, hi = t_interval([1.0, 2.0, 3.0], 0.95)
    assert (lo, hi) == pytest.approx((2 - 4.302653 / math.sqrt(3), 2 + 4.302653 / math.sqrt(3)), rel=1e-6)
    assert all(math.isnan(v) for v in t_interval([0.5], 0.95))


def passk_rows(values):
    return pd.DataFrame([{"model": "tiny", "task": "synthetic", "order": o, "k": k, "pass_at_k": v,
                          "ci_low": v - 0.1, "ci_high": v + 0.1, "problems": 64}
                         for (o, k), v in values.items()])


def test_pooled_rows_are_the_mean_and_t_interval_of_the_seed_rows():
    frames = {0: passk_rows({("ar", 1): 0.2, ("ar", 4): 0.5}), 1: passk_rows({("ar", 1): 0.4, ("ar", 4): 0.7})}
    table = over_seeds(frames, "passk", 0.95)
    assert list(table.seed) == ["0", "0", "1", "1", POOLED, POOLED] and table.columns[0] == "seed"
    pooled = table[table.seed == POOLED].set_index("k")
    assert pooled.pass_at_k.tolist() == pytest.approx([0.3, 0.6])
    # two seeds: mean +- t_{0.975, 1} * sd / sqrt(2), sd = 0.1 * sqrt(2), t = 12.7062
    half = 12.7062047 * 0.1 * math.sqrt(2) / math.sqrt(2)
    assert pooled.pass_at_k_low.tolist() == pytest.approx([0.3 - half, 0.6 - half])
    assert pooled.pass_at_k_high.tolist() == pytest.approx([0.3 + half, 0.6 + half])
    assert pooled.ci_low.isna().all() and set(pooled.seeds) == {2} and set(pooled.problems) == {64}


def test_one_seed_gives_its_rows_only_and_a_cell_missing_in_a_seed_pools_the_others():
    one = over_seeds({0: passk_rows({("ar", 1): 0.2})}, "passk", 0.95)
    assert list(one.seed) == ["0"] and "pass_at_k_low" not in one
    frames = {0: passk_rows({("ar", 1): 0.2, ("arbitrary", 1): 0.1}), 1: passk_rows({("ar", 1): 0.4})}
    pooled = over_seeds(frames, "passk", 0.95).query("seed == 'pooled'").set_index("order")
    assert pooled.loc["ar", "seeds"] == 2 and pooled.loc["arbitrary", "seeds"] == 1
    assert pooled.loc["arbitrary", "pass_at_k"] == pytest.approx(0.1)
    assert math.isnan(pooled.loc["arbitrary", "pass_at_k_low"])  # no interval from one seed
