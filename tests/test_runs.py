"""JustGRPO runs (shared settings + per-run overrides, released checkpoints) and the
Pass@k sweeps' derived orders, against hand-written expectations."""
import yaml
from conftest import ROOT

from flextrap.runs import heldout_task, released_models, run_model, run_settings, trained_runs
from flextrap.sweeps import derived_orders, sweep_of

JUSTGRPO = {"shared": {"task": "gsm8k", "lr": 5e-6, "order": "ar", "heldout": {"every": 25, "max_problems": 256}},
            "runs": {"gsm8k": {"source": "train", "released": {"hf_id": "org/GSM8K", "revision": "a" * 40}},
                     "code": {"task": "acecode", "heldout": {"task": "mbpp"}, "source": "released",
                              "released": {"hf_id": "org/Code", "revision": "b" * 40}},
                     "gsm8k-random": {"order": "random"}}}


def test_a_run_is_the_shared_block_with_its_overrides():
    assert run_settings(JUSTGRPO, "gsm8k") == JUSTGRPO["shared"]  # source/released are not settings
    code = run_settings(JUSTGRPO, "code")
    assert code["task"] == "acecode" and code["lr"] == 5e-6
    assert code["heldout"] == {"every": 25, "max_problems": 256, "task": "mbpp"}  # nested keys merge
    assert heldout_task(code) == "mbpp" and heldout_task(run_settings(JUSTGRPO, "gsm8k")) == "gsm8k"
    assert run_settings(JUSTGRPO, "gsm8k-random")["order"] == "random"
    assert JUSTGRPO["shared"]["order"] == "ar" and "task" not in JUSTGRPO["shared"]["heldout"]  # not mutated


def test_released_runs_become_hub_models_of_the_base_family():
    config = {"base_model": "llada", "justgrpo": JUSTGRPO,
              "models": {"llada": {"hf_id": "GSAI-ML/LLaDA-8B-Instruct", "family": "llada", "revision": "c" * 40,
                                   "trust_remote_code": True, "dtype": "bfloat16", "mask_token_id": 126336}}}
    assert trained_runs(JUSTGRPO) == ["gsm8k", "gsm8k-random"]
    assert released_models(config) == {run_model("llada", "code"): {
        "hf_id": "org/Code", "revision": "b" * 40, "family": "llada", "trust_remote_code": True,
        "dtype": "bfloat16", "mask_token_id": 126336}}
    assert run_model("llada", "code") == "llada-justgrpo-code"


def test_sweep_orders_by_hand():
    passk = {"orders": {"ar": {"block_length": 1, "remasking": "low_confidence"},
                        "arbitrary": {"block_length": 8, "remasking": "low_confidence", "tasks": ["x"]}},
             "sweeps": {"temperature": {"values": [0.3, 1.5], "orders": ["ar", "arbitrary"]},
                        "remasking": {"values": ["margin"], "orders": ["arbitrary"], "baseline": ["ar"]}}}
    orders = derived_orders(passk)
    assert list(orders) == ["temperature-ar-0.3", "temperature-ar-1.5", "temperature-arbitrary-0.3",
                            "temperature-arbitrary-1.5", "remasking-arbitrary-margin", "remasking-ar"]
    assert orders["temperature-arbitrary-1.5"]["spec"] == {"block_length": 8, "remasking": "low_confidence",
                                                           "tasks": ["x"], "temperature": 1.5}
    assert orders["remasking-arbitrary-margin"]["spec"]["remasking"] == "margin"
    assert orders["remasking-ar"] == {"sweep": "remasking", "order": "ar", "value": None,
                                      "spec": {"block_length": 1, "remasking": "low_confidence"}}
    assert list(sweep_of(passk, "remasking")) == ["remasking-arbitrary-margin", "remasking-ar"]
    assert derived_orders({"orders": passk["orders"]}) == {}


def test_each_shipped_config_trains_what_it_says():
    paper = yaml.safe_load((ROOT / "config/paper.yaml").read_text())
    assert trained_runs(paper["justgrpo"]) == ["gsm8k", "math", "code", "gsm8k-random", "gsm8k-fast"]
    assert run_settings(paper["justgrpo"], "gsm8k-fast")["top_entropy_fraction"] == 0.25
    assert run_settings(paper["justgrpo"], "math")["task"] == "math500"
