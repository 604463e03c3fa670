"""JustGRPO training loop: data order, a real update, and kill-and-resume equals an
uninterrupted run (tiny random model, fixed seeds)."""
import pytest
import torch

import flextrap.train as train_mod
from flextrap.jsonl import write_jsonl
from flextrap.models import build_tiny_model, build_word_tokenizer
from flextrap.tasks import prepare
from flextrap.train import step_prompts, train

SPEC = {"splits": ["train"], "templates": ["plain"],
        "generator": {"seed": 3, "n_train": 12, "n_test": 0, "n_leaves": 3, "n_defs": 4, "steps": [2, 3],
                      "modulus": 10, "ops": ["+", "-"]}}
SETTINGS = {"task": "synthetic", "template": "plain", "rollout_temperature": 1.0, "gen_length": 8,
            "group_size": 4, "prompts_per_step": 2, "steps": 3, "lr": 1e-3, "weight_decay": 0.0,
            "betas": [0.9, 0.999], "grad_clip": 1.0, "clip_eps": 0.2, "adv_eps": 1e-4, "seed": 0,
            "micro_batch": 3, "logprob_chunk": 16, "checkpoint_every": 1, "order": "ar",
            "top_entropy_fraction": 1.0, "activation_checkpointing": False, "device": "cpu",
            "code_limits": {}}
HELDOUT = {"every": 2, "max_problems": 5, "gen_length": 8, "batch_size": 4, "task": "synthetic", "template": "plain",
           "sampler": {"gen_length": 8, "steps": 8, "block_length": 4, "temperature": 0.0,
                       "remasking": "low_confidence"}}


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    root = tmp_path_factory.mktemp("base")
    records = prepare("synthetic", "train", SPEC)
    write_jsonl(root / "train.jsonl", records)
    tok = build_word_tokenizer([r["prompts"]["plain"] + " " + r["solution"] for r in records])
    torch.manual_seed(0)
    model = build_tiny_model({"hidden_size": 32, "num_layers": 2, "num_heads": 2, "intermediate_size": 64},
                             tok, max_length=96)
    model.save_pretrained(root / "model")
    tok.save_pretrained(root / "model")
    return {"path": str(root / "model")}, str(root / "train.jsonl"), model


@pytest.fixture(autouse=True)
def varied_reward(monkeypatch):
    """A random model never answers right; reward the parity of the text's length so the
    advantages are non-zero and every step really updates the model."""
    monkeypatch.setattr(train_mod, "reward", lambda task, verdict: float(len(verdict.extracted or "x") % 2))
    monkeypatch.setattr(train_mod, "grade", lambda task, record, text, limits: type(
        "V", (), {"extracted": text})())


def test_data_order_covers_each_epoch_once():
    records = list(range(10))
    epoch = [x for step in range(5) for x in step_prompts(records, step, 2, seed=1)]
    assert sorted(epoch) == records and step_prompts(records, 5, 2, 1) != step_prompts(records, 0, 2, 1)


def parameters(path):
    from transformers import AutoModelForMaskedLM
    return AutoModelForMaskedLM.from_pretrained(path).state_dict()


def test_kill_and_resume_gives_the_parameters_of_an_uninterrupted_run(base, tmp_path):
    spec, data, initial = base
    full_log = train(spec, data, "synthetic", SETTINGS, str(tmp_path / "full"))
    assert [r["step"] for r in full_log] == [1, 2, 3]
    assert any(r["grad_norm"] > 0 for r in full_log)
    part = train(spec, data, "synthetic", SETTINGS, str(tmp_path / "killed"), stop_after=2)  # "killed" after 2
    assert len(part) == 2 and not (tmp_path / "killed").exists()
    assert (tmp_path / "killed.ckpt").exists()
    resumed_log = train(spec, data, "synthetic", SETTINGS, str(tmp_path / "killed"))
    assert [r["step"] for r in resumed_log] == [1, 2, 3]  # step 3 run once, after the resume
    full, resumed = parameters(tmp_path / "full"), parameters(tmp_path / "killed")
    assert all(torch.equal(full[k], resumed[k]) for k in full)
    changed = [k for k, v in initial.state_dict().items() if not torch.equal(v, full[k])]
    assert changed  # training moved the weights
    assert not (tmp_path / "killed.ckpt").exists()


def test_length_batches_and_common_padding_by_hand():
    from flextrap.sample import length_batches
    from flextrap.train import without_common_padding

    assert length_batches([5, 3, 5, 4, 3], 5, mixed=True) == [[0, 1, 2, 3, 4]]
    assert length_batches([5, 3, 5, 4, 3], 5, mixed=False) == [[0, 2], [1, 4], [3]]
    assert length_batches([5, 3, 5, 4, 3], 2, mixed=True) == [[0, 1], [2, 3], [4]]
    ids = torch.tensor([[0, 0, 7, 8, 9], [0, 0, 0, 8, 9]])
    mask = (ids != 0).long()
    trimmed, trimmed_mask = without_common_padding(ids, mask)
    assert trimmed.tolist() == [[7, 8, 9], [0, 8, 9]] and trimmed_mask.tolist() == [[1, 1, 1], [0, 1, 1]]
    trimmed, trimmed_mask = without_common_padding(ids[1:], mask[1:])
    assert trimmed.tolist() == [[8, 9]] and trimmed_mask is None


@pytest.fixture(scope="module")
def llada_replica(tmp_path_factory):
    from replica_hub import replica_hub

    root = tmp_path_factory.mktemp("llada")
    torch.manual_seed(0)
    spec = replica_hub(root / "new", "llada")
    old = replica_hub(root / "old", "llada", honour_mask=False)
    records = prepare("synthetic", "train", SPEC)
    for i, r in enumerate(records):  # prompts of 3 lengths, so that padding matters
        r["prompts"]["plain"] = " ".join(r["prompts"]["plain"].split()[:20 + 5 * (i % 3)])
    write_jsonl(root / "train.jsonl", records)
    return [{"path": s["hf_id"], "trust_remote_code": True} for s in (spec, old)], str(root / "train.jsonl")


def test_length_grouped_training_gives_the_parameters_of_padded_batches(llada_replica, base, tmp_path, monkeypatch):
    """On a model that honours the mask, grouping prompts by length (what a model that
    ignores it gets) changes no sample and no gradient."""
    from flextrap.models import load_model

    spec, data = llada_replica[0][0], llada_replica[1]
    settings = {**SETTINGS, "steps": 2}
    train(spec, data, "synthetic", settings, str(tmp_path / "padded"))
    monkeypatch.setattr(train_mod, "honours_padding", lambda *a: False)
    train(spec, data, "synthetic", settings, str(tmp_path / "grouped"))
    padded = load_model({**spec, "path": str(tmp_path / "padded")}, "cpu")[0].state_dict()
    grouped = load_model({**spec, "path": str(tmp_path / "grouped")}, "cpu")[0].state_dict()
    initial = load_model(spec, "cpu")[0].state_dict()
    assert all(torch.allclose(padded[k], grouped[k], atol=1e-6) for k in padded)
    assert any(not torch.equal(padded[k], initial[k]) for k in padded)


def test_a_model_that_ignores_the_mask_trains_on_length_groups_with_a_warning(llada_replica, base, tmp_path, capsys):
    log = train(llada_replica[0][1], llada_replica[1], "synthetic", {**SETTINGS, "steps": 1}, str(tmp_path / "old"))
    assert len(log) == 1 and "ignores attention_mask" in capsys.readouterr().out


def test_heldout_accuracy_is_logged_during_training_and_equals_evaluating_the_saved_model(base, tmp_path,
                                                                                         monkeypatch):
    """Steps 0, every `heldout.every`, and the last; the last accuracy is that of the saved
    model evaluated on its own (flextrap.sample.run_shard, greedy); a resumed run logs the same."""
    import sys
    from pathlib import Path

    import pandas as pd

    import flextrap.sample as sample_mod
    from flextrap.models import load_model

    sys.path.insert(0, str(Path(__file__).parent))
    from multiprocess_train import parity_verdict

    monkeypatch.setattr(sample_mod, "grade", parity_verdict)
    spec, data, _ = base
    settings = {**SETTINGS, "heldout": HELDOUT}
    train(spec, data, "synthetic", settings, str(tmp_path / "full"), heldout=data)
    log = pd.read_csv(tmp_path / "full" / "heldout_log.csv")
    assert list(log.step) == [0, 2, 3] and set(log.problems) == {5}
    assert log.train_seconds.iloc[0] == 0 and log.train_seconds.is_monotonic_increasing
    model, tokenizer = load_model({"path": str(tmp_path / "full")}, "cpu")
    from flextrap.jsonl import read_jsonl
    records = read_jsonl(data)[:5]
    alone = sample_mod.run_shard(model, tokenizer, records, "synthetic",
                                 {"template": "plain", "decoder": "llada", "n_samples": 1, "seed": 0, "batch_size": 4, "code_limits": {}, "early_exit": True,
                                  "sampler": HELDOUT["sampler"]}, tmp_path / "alone.jsonl")
    assert log.accuracy.iloc[-1] == pytest.approx(sum(r["verdict"]["correct"] for r in alone) / 5)
    assert 0 < log.accuracy.sum()  # the parity grade makes accuracy informative, not always 0
    train(spec, data, "synthetic", settings, str(tmp_path / "killed"), stop_after=2, heldout=data)
    train(spec, data, "synthetic", settings, str(tmp_path / "killed"), heldout=data)
    resumed = pd.read_csv(tmp_path / "killed" / "heldout_log.csv")
    assert list(resumed.step) == [0, 2, 3] and list(resumed.accuracy) == list(log.accuracy)


def launch(processes: int, spec: dict, data: str, settings: dict, out, stop_after: int | None = None,
           config_file=None):
    """tests/multiprocess_train.py as `processes` CPU processes under `accelerate launch`
    (gloo; DDP, or what `config_file` says), or as one plain process; its per-rank event log."""
    import json
    import os
    import socket
    import subprocess
    import sys
    from pathlib import Path

    script = str(Path(__file__).with_name("multiprocess_train.py"))
    args = ["--model", json.dumps(spec), "--data", data, "--task", "synthetic", "--settings", json.dumps(settings),
            "--out", str(out)]
    if processes == 1:
        argv = [sys.executable, script, *args]
    else:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        how = ["--config_file", str(config_file)] if config_file else [
            "--multi_gpu", "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]
        argv = [sys.executable, "-m", "accelerate.commands.launch", *how, "--num_processes", str(processes),
                "--main_process_port", str(port), script, *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    if stop_after:
        env["FLEXTRAP_STOP_AFTER"] = str(stop_after)
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for rank in range(processes) if Path(f"{out}.rank{rank}.jsonl").exists()
            for line in Path(f"{out}.rank{rank}.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_two_processes_train_like_one_split_the_data_and_resume(base, tmp_path):
    """JustGRPO under `accelerate launch` with 2 CPU processes: the parameters of one
    process with the same global batch (float tolerance), the step's prompts split
    between the ranks without overlap, files written by rank 0 only, and a run killed
    after step 1 resumes to the parameters of an uninterrupted one."""
    import pandas as pd

    spec, data, _ = base
    settings = {**SETTINGS, "steps": 2, "checkpoint_every": 1, "heldout": {**HELDOUT, "every": 1}}
    one = launch(1, spec, data, settings, tmp_path / "one")
    two = launch(2, spec, data, settings, tmp_path / "two")
    single, double = parameters(tmp_path / "one"), parameters(tmp_path / "two")
    assert all(torch.allclose(single[k], double[k], atol=1e-4) for k in single)
    # held-out evaluations split the problems between the ranks and add them up
    logs = [pd.read_csv(tmp_path / run / "heldout_log.csv") for run in ("one", "two")]
    assert [list(log.step) for log in logs] == [[0, 1, 2]] * 2 and set(logs[1].problems) == {5}
    assert logs[0].accuracy.iloc[0] == logs[1].accuracy.iloc[0]  # the same initial model
    for step in (0, 1):
        ranks = [e["prompts"] for e in two if e["event"] == "rollouts" and e["step"] == step]
        alone = next(e["prompts"] for e in one if e["event"] == "rollouts" and e["step"] == step)
        assert len(ranks) == 2 and not set(ranks[0]) & set(ranks[1]) and sorted(ranks[0] + ranks[1]) == sorted(alone)
    assert {e["rank"] for e in two if e["event"] == "write"} == {0}
    launch(2, spec, data, settings, tmp_path / "killed", stop_after=1)
    assert not (tmp_path / "killed").exists()
    resumed = launch(2, spec, data, settings, tmp_path / "killed")
    assert sorted((e["rank"], e["step"]) for e in resumed if e["event"] == "rollouts") == [(0, 0), (0, 1), (1, 0), (1, 1)]
    again = parameters(tmp_path / "killed")
    assert all(torch.equal(double[k], again[k]) for k in double)


def cpu_variant_of_the_fsdp_config(path) -> None:
    """envs/accelerate_fsdp.yaml as a CPU run can take it: on the CPU, without bf16, the
    tiny BERT's block as the wrap unit, and without sync_module_states and
    cpu_ram_efficient_loading, which accelerate refuses on a CPU (those two stay untested)."""
    import yaml

    from conftest import ROOT

    config = yaml.safe_load((ROOT / "envs" / "accelerate_fsdp.yaml").read_text())
    assert config["distributed_type"] == "FSDP" and config["fsdp_config"]["fsdp_sharding_strategy"] == "FULL_SHARD"
    config.update(use_cpu=True, mixed_precision="no")
    config["fsdp_config"].update(fsdp_transformer_layer_cls_to_wrap="BertLayer", fsdp_sync_module_states=False,
                                 fsdp_cpu_ram_efficient_loading=False)
    path.write_text(yaml.safe_dump(config))


@pytest.mark.slow
def test_the_fsdp_config_trains_like_one_process_and_resumes_on_cpu(base, tmp_path):
    """The FSDP launch of train_justgrpo (full sharding, full state dict for the saved
    model), as far as a CPU allows: 2 processes give the parameters of one, only rank 0
    writes, and a run killed after step 1 resumes to the same parameters."""
    spec, data, _ = base
    fsdp = tmp_path / "fsdp.yaml"
    cpu_variant_of_the_fsdp_config(fsdp)
    settings = {**SETTINGS, "steps": 2, "checkpoint_every": 1}
    launch(1, spec, data, settings, tmp_path / "one")
    sharded = launch(2, spec, data, settings, tmp_path / "fsdp", config_file=fsdp)
    single, double = parameters(tmp_path / "one"), parameters(tmp_path / "fsdp")
    assert all(torch.allclose(single[k], double[k], atol=1e-4) for k in single)
    assert {e["rank"] for e in sharded if e["event"] == "write"} == {0}
    launch(2, spec, data, settings, tmp_path / "killed", stop_after=1, config_file=fsdp)
    assert not (tmp_path / "killed").exists()
    launch(2, spec, data, settings, tmp_path / "killed", config_file=fsdp)
    again = parameters(tmp_path / "killed")
    assert all(torch.equal(double[k], again[k]) for k in double)
