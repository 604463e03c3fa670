"""flextrap.plan: what each model is, and the settings the rules hand their stages, built
from the shipped configs (the rule files only pass wildcards to these)."""
import copy

import pytest
import yaml
from conftest import ROOT

from flextrap.config import with_default
from flextrap.plan import Plan

CONFIGS = {name: with_default(yaml.safe_load((ROOT / "config" / f"{name}.yaml").read_text()),
                              ROOT / "config" / "config.yaml") for name in ("config", "paper", "seeds")}


def plan(name="config", **changes) -> Plan:
    config = copy.deepcopy(CONFIGS[name])
    for section, values in changes.items():
        config[section] = {**config[section], **values}
    return Plan(config)


def test_each_model_has_one_kind_and_a_derived_model_keeps_its_bases_kind():
    tiny = plan()
    assert {m: tiny.model_kind(m) for m in ["tiny", "tiny-justgrpo-synthetic", "tiny-justgrpo-synthetic-random"]} == {
        "tiny": "pretrained", "tiny-justgrpo-synthetic": "trained", "tiny-justgrpo-synthetic-random": "trained"}
    assert tiny.model_spec("tiny-justgrpo-synthetic", 2) == {"path": "results/seed2/models/tiny-justgrpo-synthetic",
                                                             "kind": "saved"}
    assert tiny.model_input("tiny", 1) == ["results/seed1/models/tiny"]
    config = copy.deepcopy(CONFIGS["paper"])
    config["justgrpo"]["runs"]["math"]["source"] = "released"  # its published checkpoint instead of training
    paper = Plan(config)
    base = paper.config["models"]["llada"]
    assert paper.model_kind("llada") == "hub" and paper.model_kind("llada-justgrpo-gsm8k") == "trained"
    assert paper.model_kind("llada-justgrpo-math") == "released" and "llada-justgrpo-math" in paper.hub_models
    assert "llada-justgrpo-math" not in paper.trained
    for derived in [paper.model_spec("llada-justgrpo-gsm8k", 0), paper.model_spec("llada-justgrpo-math", 0)]:
        # a run trained here and a released run inherit the same keys of the base (dtype included)
        assert {k: derived[k] for k in ("family", "mask_token_id", "trust_remote_code", "dtype") if k in base} == \
            {k: base[k] for k in ("family", "mask_token_id", "trust_remote_code", "dtype") if k in base}
    assert paper.model_spec("llada", None)["local_files_only"] is True
    assert paper.model_spec("llada", None)["kind"] == "hub" and paper.model_spec("llada-justgrpo-gsm8k", 0)["kind"] == "saved"
    assert paper.model_input("llada", 0) == ["results/preflight/llada.json"]


def test_settings_follow_the_seed_and_the_config():
    p = plan("seeds")
    assert [p.sample_settings(s, "synthetic", "ar")["seed"] for s in p.seeds] == [0, 1, 2]
    assert [p.pretrain_settings(s, "tiny")["seed"] for s in p.seeds] == [0, 1, 2]
    assert p.train_settings(2, "synthetic-random")["seed"] == p.config["justgrpo"]["shared"]["seed"] + 2
    assert p.train_settings(0, "synthetic-random")["order"] == "random"
    heldout = p.train_settings(0, "synthetic")["heldout"]
    assert heldout["sampler"]["temperature"] == p.config["evaluation"]["temperature"] and heldout["task"] == "synthetic"
    assert p.evaluation_settings(1, "synthetic", "56")["sampler"]["gen_length"] == 56
    par = p.parallel_settings(0, "synthetic", "eb-1e-05")  # a value holding "-"
    assert par["sampler"]["rule"] == "eb" and par["sampler"]["value"] == 1e-05 and par["early_exit"] is False


def test_sweep_settings_label_each_order_with_its_base_order_and_setting():
    s = plan().sweep_settings("tiny", "synthetic", "remasking")
    assert {o: (d["base_order"], d["remasking"]) for o, d in s["orders"].items()} == {
        "remasking-arbitrary-low_confidence": ("arbitrary", "low_confidence"),
        "remasking-arbitrary-neg_entropy": ("arbitrary", "neg_entropy"),
        "remasking-arbitrary-margin": ("arbitrary", "margin"), "remasking-ar": ("ar", "low_confidence")}
    assert {d["swept"] for d in s["orders"].values()} == {"remasking"} and s["coverage"] == []


def test_shards_and_evaluation_inputs_cover_every_seed():
    p = plan("seeds", passk={**CONFIGS["seeds"]["passk"], "shards": 3})
    assert p.shard_paths(1, "tiny", "synthetic", "ar") == [
        f"results/seed1/samples/tiny/synthetic/ar/shard{i}of3.jsonl" for i in range(3)]
    assert len(p.sample_paths(0, "tiny", "synthetic")) == 3 * len(p.orders_for("synthetic"))
    accuracy, settings = p.tables()["accuracy"]
    assert {(i["seed"], i["model"]) for i in accuracy} == {
        (s, m) for s in (0, 1, 2) for m in ("tiny", "tiny-justgrpo-synthetic")}
    assert settings["models"] == {"tiny": "base", "tiny-justgrpo-synthetic": "JustGRPO"}
    assert len(p.parallel_summaries()) == 3 * 2 * len(p.parallel_names())


@pytest.mark.parametrize("reported", [True, False])
def test_the_papers_rows_are_switched_by_a_setting(reported):
    p = plan("paper", evaluation={"reported": reported})
    tables = p.tables()
    assert tables["accuracy"][1]["reported"] == ("table1" if reported else None)
    assert tables["ablation"][1]["reported"] == ("ablation" if reported else None)


def test_job_resources_grow_with_the_attempt_and_name_the_gpu_partition():
    p = plan("paper")
    r = p.resources("train_justgrpo")
    assert r["runtime"](None, 2) == 2 * p.job("train_justgrpo")["runtime"]
    assert r["gpu"] == p.job("train_justgrpo")["gpu"]
    assert r["slurm_partition"] == p.config["cluster"]["gpu_partition"]
    assert p.resources("pass_at_k")["slurm_partition"] == p.config["cluster"]["partition"]
    assert p.train_launcher("/w").startswith("accelerate launch --config_file /w/envs/accelerate_fsdp.yaml") \
        if r["gpu"] > 1 else p.train_launcher("/w") == "python"
    assert plan().train_launcher("/w") == "python"


def test_the_shared_inputs_are_what_seeds_read_and_no_seed_makes():
    tiny = plan()
    assert tiny.shared_inputs() == ["results/data/synthetic/train.jsonl", "results/data/synthetic/test.jsonl",
                                    "results/general/tasks/synthetic_choice"]
    paper = plan("paper")
    shared = paper.shared_inputs()
    assert {f"results/preflight/{m}.json" for m in paper.hub_models} <= set(shared)
    assert "results/general/fetched/hellaswag.json" in shared
    assert not [p for p in shared if p.startswith("results/seed")]
