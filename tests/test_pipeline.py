"""One real end-to-end run of the embedded default as a user runs it, at CI size
(config/ci.yaml on top of config/config.yaml: every rule, fewer problems and steps)."""
import json
import re
import shutil
import subprocess
import sys

import pandas as pd
import pytest
from conftest import ROOT

from flextrap import seed_trees
from flextrap.tasks import forks


def snakemake(workdir, *args, overlay=()):
    return subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"),
                           "--directory", str(workdir), "--configfile", str(ROOT / "config" / "ci.yaml"),
                           *map(str, overlay), *args], capture_output=True, text=True)


@pytest.mark.slow
def test_tiny_pipeline_end_to_end(tmp_path):
    result = snakemake(tmp_path, "--cores", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    results = tmp_path / "results"
    for split in ("train", "test"):
        assert (results / "data" / "synthetic" / f"{split}.jsonl").stat().st_size > 0
        meta = json.loads((results / "data" / "synthetic" / f"{split}.provenance.json").read_text())
        assert meta["packages"]["torch"] and meta["settings"]["generator"]["seed"] == 1234
    model = results / "seed0" / "models" / "tiny"
    assert (model / "config.json").exists() and (model / "tokenizer.json").exists()
    trained = json.loads((model / "provenance.json").read_text())
    card = json.loads((results / "seed0" / "model_check" / "tiny" / "synthetic.json").read_text())
    print(f"tiny model: {trained['parameters']} parameters, trained in {trained['train_seconds']} s; "
          f"pass@1 = {card['pass@1']}")
    assert card["problems"] == 200 and card["samples_per_problem"] == 4
    assert card["protocol"]["settings"]["sampler"] == {"gen_length": 48, "steps": 48, "block_length": 8,
                                                       "temperature": 0.6, "remasking": "low_confidence"}
    # Issue 2's target was Pass@1 in [0.15, 0.7] at T=0.6, arbitrary order. On the balanced
    # task (no constant-answer shortcut) the tiny model measures about 0.09-0.15, below it
    # (docs/results.md, "The tiny model, measured"); this bound checks that pretraining works at all
    # (an untrained model scores 0: it does not even write "answer <value>"). Measured at CI size on
    # the development machine: 0.135 after 1000 steps, 0.1225 after 2000.
    assert 0.05 <= card["pass@1"] <= 0.7
    assert (results / "seed0" / "logs" / "pretrain_tiny" / "tiny.log").exists()
    # Sec. 3 analyses from real samples of the tiny model, both orders.
    passk = pd.read_csv(results / "passk" / "tiny" / "synthetic" / "passk.csv")
    assert set(passk.order) == {"ar", "arbitrary"} and set(passk.problems) == {16}
    for order, rows in passk.groupby("order"):
        assert rows.pass_at_k.is_monotonic_increasing and (rows.ci_low <= rows.pass_at_k).all()
        print(f"{order}: " + ", ".join(f"pass@{r.k} = {r.pass_at_k:.3f}" for r in rows.itertuples()))
    entropy = pd.read_csv(results / "entropy" / "tiny" / "synthetic" / "connective_entropy.csv")
    print(entropy[["order", "word", "count", "mean_entropy"]].to_string(index=False))
    bypass = pd.read_csv(results / "entropy" / "tiny" / "synthetic" / "bypass.csv")
    assert bypass[bypass.order == "ar"].bypassed.sum() == 0 < bypass[bypass.order == "arbitrary"].bypassed.sum()
    for fig in ("passk_curves", "coverage", "bypassed_tokens", "connective_entropy"):
        for ext in ("png", "pdf"):
            assert (results / "figures" / "tiny" / f"{fig}.{ext}").stat().st_size > 1000
    # JustGRPO: two runs (AR and the Random ablation), saved like any model, evaluated beside the base.
    for run in ("synthetic", "synthetic-random"):
        trained = results / "seed0" / "models" / f"tiny-justgrpo-{run}"
        log = pd.read_csv(trained / "train_log.csv")
        assert list(log.step) == [1, 2, 3, 4] and log.grad_norm.notna().all() and set(log.run) == {run}
        print(log.to_string(index=False))
        heldout = pd.read_csv(trained / "heldout_log.csv")  # ci.yaml: every 2 steps, 16 problems
        assert list(heldout.step) == [0, 2, 4] and set(heldout.problems) == {16}
        assert heldout.train_seconds.is_monotonic_increasing and heldout.train_seconds.iloc[0] == 0
        print(heldout.to_string(index=False))
        assert not (results / "seed0" / "models" / f"tiny-justgrpo-{run}.ckpt").exists()  # removed once training ends
    assert json.loads((results / "seed0" / "models" / "tiny-justgrpo-synthetic-random" / "provenance.json").read_text()
                      )["settings"]["order"] == "random"
    table = pd.read_csv(results / "tables" / "accuracy.csv")
    assert set(table.method) == {"base", "JustGRPO"} and set(table.source) == {"measured"}
    print((results / "tables" / "accuracy.md").read_text())
    ablation = pd.read_csv(results / "tables" / "ablation.csv")
    assert set(ablation.method) == {"base", "JustGRPO", "JustGRPO-Random"}
    print((results / "tables" / "ablation.md").read_text())
    jg = table[table.method == "JustGRPO"].accuracy.tolist()
    assert jg == ablation[ablation.method == "JustGRPO"].accuracy.tolist()  # the same evaluation of one model
    assert (results / "passk" / "tiny-justgrpo-synthetic" / "synthetic" / "passk.csv").exists()
    for fig in ("reward_curve", "training_efficiency"):
        assert (results / "figures" / "justgrpo" / f"{fig}.pdf").stat().st_size > 1000
    # Fig. 10-11: the sweeps, each order at its own settings (ci.yaml: 8 problems x 4 samples).
    temperature = pd.read_csv(results / "sweeps" / "tiny" / "synthetic" / "temperature.csv")
    assert set(zip(temperature.base_order, temperature.temperature)) == {
        (o, t) for o in ("ar", "arbitrary") for t in (0.3, 1.5)}
    assert set(temperature.problems) == {8} and set(temperature.samples_per_problem) == {4}
    remasking = pd.read_csv(results / "sweeps" / "tiny" / "synthetic" / "remasking.csv")
    assert set(zip(remasking.base_order, remasking.remasking)) == {
        ("arbitrary", "low_confidence"), ("arbitrary", "neg_entropy"), ("arbitrary", "margin"), ("ar", "low_confidence")}
    print(temperature[temperature.k == 4][["order", "pass_at_k"]].to_string(index=False))
    for fig in ("passk_vs_temperature", "passk_by_remasking"):
        assert (results / "figures" / "tiny" / f"{fig}.pdf").stat().st_size > 1000
    # Sec. 5: parallel decoding of both models (config/ci.yaml: eb 0 and 1, top-k 4, threshold 0.7).
    parallel = pd.read_csv(results / "tables" / "parallel.csv")
    print(parallel.to_string(index=False))
    assert len(parallel) == 2 * 4 and set(parallel.method) == {"base", "JustGRPO"}
    assert (parallel[(parallel.rule == "eb") & (parallel.value == 0)].tokens_per_step == 1).all()
    assert (parallel[parallel.rule == "top_k"].tokens_per_step == 4).all()
    assert (results / "figures" / "parallel_decoding.pdf").stat().st_size > 1000
    # Table 6 through lm-eval: the local multiple-choice task on both models (ci.yaml: 50 problems).
    general = pd.read_csv(results / "tables" / "general.csv")
    print((results / "tables" / "general.md").read_text())
    assert set(general.method) == {"base", "JustGRPO"} and set(general.task) == {"synthetic_choice"}
    assert set(general.problems) == {50} and general.score.between(0, 100).all()
    lm_eval = json.loads((results / "seed0" / "general" / "tiny" / "synthetic_choice.json").read_text())
    assert lm_eval["results"]["synthetic_choice"]["acc,none"] * 100 == pytest.approx(
        general[general.method == "base"].score.item(), abs=0.005)
    # What each model gets right, slot by slot (docs/results.md, "The tiny model, measured").
    for model in ("tiny", "tiny-justgrpo-synthetic"):
        probe = json.loads((results / "seed0" / "probe" / model / "synthetic.json").read_text())
        print(model, {k: v["accuracy"] for k, v in probe["slots"].items()})
        assert probe["problems"] == 200 and probe["slots"]["op"]["masked"] > 0
    # A user reruns one stage: deleting a figure redraws only that figure.
    (results / "figures" / "tiny" / "coverage.pdf").unlink()
    redo = snakemake(tmp_path, "-n", "--cores", "2")
    assert "figure_coverage" in redo.stdout and "sample " not in redo.stdout
    assert snakemake(tmp_path, "--cores", "2").returncode == 0
    # Nothing left to do: a second run is a no-op.
    again = snakemake(tmp_path, "-n", "--cores", "2")
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
    # The whole story in one file: every figure and table, each with its caption.
    report = tmp_path / "report.html"
    made = snakemake(tmp_path, "--report", str(report))
    assert made.returncode == 0, made.stderr[-3000:]
    html = report.read_text()
    for name in ["passk_curves.png", "coverage.png", "bypassed_tokens.png", "connective_entropy.png",
                 "reward_curve.png", "training_efficiency.png", "passk_vs_temperature.png",
                 "passk_by_remasking.png", "ablation.csv", "temperature.csv", "parallel_decoding.png", "passk.csv", "coverage.csv", "bypass.csv",
                 "connective_entropy.csv", "accuracy.csv", "parallel.csv", "general.csv"]:
        assert f'"filename": "{name}"' in html, name
    assert "only under one order" in html  # a caption, rendered with the model and task filled in


# What the early-exit check reruns: both orders' Pass@k samples of the base model (with
# their entropy traces) and every evaluation of Table 1 (the sweeps, the model card and
# the trained model's Pass@k take the same sampler code with other settings).
def early_exit_same(task):
    return [f"passk/tiny/{task}/passk.csv", f"passk/tiny/{task}/coverage.csv", f"entropy/tiny/{task}/bypass.csv",
            "tables/accuracy.csv"]


def assert_early_exit_changes_no_result(workdir, task, *overlays):
    """The same run (config/ci.yaml and `overlays`) with `early_exit: false` (every row
    decoded for all its steps) in a copy of `workdir`: Snakemake reruns the sampling and
    evaluation jobs these tables need, and every sample text and table is the same;
    entropies agree to rounding."""
    full = workdir.parent / "no_early_exit"
    shutil.copytree(workdir, full, ignore=shutil.ignore_patterns("report.html"))  # (keeps mtimes)
    (full / "no_early_exit_started").touch()
    overlay = workdir.parent / "no_early_exit.yaml"
    overlay.write_text("passk: {early_exit: false}\nevaluation: {early_exit: false}\n")
    same = early_exit_same(task)
    targets = [f"results/{name}" for name in same + [f"entropy/tiny/{task}/connective_entropy.csv"]]
    rerun = snakemake(full, "--cores", "2", "--", *targets, overlay=[*overlays, overlay])
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    log = rerun.stdout + rerun.stderr
    assert "rule sample:" in log and "rule eval_accuracy:" in log and "rule pretrain_tiny:" not in log
    for name in same:
        assert (workdir / "results" / name).read_text() == (full / "results" / name).read_text(), name
    rerun_shards = {p.relative_to(full) for p in (full / "results").rglob("shard*.json*")
                    if p.stat().st_mtime > (full / "no_early_exit_started").stat().st_mtime}
    sampled = {p.relative_to(workdir) for seed in workdir.glob("results/seed*") for order in ("ar", "arbitrary")
               for p in (seed / "samples" / "tiny" / task / order).rglob("shard*.jsonl")}  # not the sweeps
    evaluated = {p.relative_to(workdir) for seed in workdir.glob("results/seed*")
                 for m in ("tiny", f"tiny-justgrpo-{task}")  # Table 1's models
                 for p in (seed / "eval" / m).rglob("shard*.json*")}
    assert sampled and evaluated and sampled | evaluated <= rerun_shards  # both orders' samples, every evaluation
    for shard in sorted(workdir / s for s in rerun_shards if s.suffix == ".jsonl"):
        fast = [json.loads(line) for line in shard.read_text().splitlines()]
        slow = [json.loads(line) for line in (full / shard.relative_to(workdir)).read_text().splitlines()]
        assert [(r["id"], r["sample"], r["text"], r["verdict"]) for r in fast] == \
            [(r["id"], r["sample"], r["text"], r["verdict"]) for r in slow], shard
        assert all(a["nfe"] <= b["nfe"] for a, b in zip(fast, slow))
    entropy = [pd.read_csv(d / f"results/entropy/tiny/{task}/connective_entropy.csv") for d in (workdir, full)]
    pd.testing.assert_frame_equal(*entropy, atol=1e-4)  # BLAS rounds by the batch's rows (docs/design.md)


FORKS_TWO_SEEDS = {  # config/forks.yaml on config/ci.yaml, two seeds, smaller still: every stage
    # runs on the forks task, and the pooling over seeds is checked; not the science
    "seeds": {"values": [0, 1]},
    "models": {"tiny": {"pretrain": {"steps": 300, "checkpoint_every": 100}}},
    "model_check": {"max_problems": 16},
    "slot_probe": {"max_problems": 32},
    "passk": {"n_samples": 4, "ks": [1, 2, 4], "max_problems": 8, "shards": 1,
              "sweeps": {"temperature": {"n_samples": 2, "max_problems": 4},
                         "remasking": {"n_samples": 2, "max_problems": 4}}},
    "justgrpo": {"shared": {"steps": 2, "heldout": {"every": 2, "max_problems": 8}}},
    "evaluation": {"max_problems": 16, "shards": 1},
    "parallel": {"rules": {"eb": [0.0, 1.0], "top_k": None, "threshold": None}, "max_problems": 8, "shards": 1},
    "general": {"local": {"forks_choice": {"max_problems": 16}}},
}
POOLED = {"passk/tiny/forks/passk.csv": (["order", "k"], ["pass_at_k"]),
          "passk/tiny/forks/coverage.csv": (["a", "b"], ["only_a", "both", "share_neither"]),
          "entropy/tiny/forks/connective_entropy.csv": (["order", "word"], ["count", "mean_entropy"]),
          "tables/accuracy.csv": (["method", "gen_length"], ["accuracy"]),
          "tables/ablation.csv": (["method", "gen_length"], ["accuracy"]),
          "tables/general.csv": (["method", "task"], ["score"])}
T_975_1 = 12.706204736  # Student t quantile 0.975, 1 degree of freedom
SEED_FIGURES = ["tiny/passk_curves", "tiny/coverage", "tiny/connective_entropy", "tiny/bypassed_tokens",
                "tiny/passk_vs_temperature", "tiny/passk_by_remasking", "justgrpo/reward_curve", "parallel_decoding"]


@pytest.mark.slow
def test_the_forks_task_over_two_seeds_runs_the_whole_dag_and_pools_rows_as_by_hand(tmp_path):
    """config/forks.yaml at a small size with two seeds, the whole DAG: every stage on the
    forks task, per-seed rows and pooled rows by hand, the figures; then the same run
    without early exit gives the same samples and tables."""
    overlay = tmp_path / "forks_two_seeds.yaml"
    overlay.write_text(json.dumps(FORKS_TWO_SEEDS))
    work = tmp_path / "work"
    overlays = [ROOT / "config" / "forks.yaml", overlay]
    run = snakemake(work, "--cores", "2", overlay=overlays)
    assert run.returncode == 0, run.stderr[-3000:]
    results = work / "results"
    assert_forks_ran_every_stage(results)
    settings = [json.loads((results / f"seed{s}" / "models" / "tiny" / "provenance.json").read_text())["settings"]
                for s in (0, 1)]
    assert [s["seed"] for s in settings] == [0, 1]  # seed 1 pretrains its own model
    for name, (keys, values) in POOLED.items():
        assert_pooled_as_by_hand(results, name, keys, values)
    for figure in SEED_FIGURES:  # drawn from the tables over both seeds
        assert (results / "figures" / f"{figure}.pdf").stat().st_size > 1000, figure
    print(pd.read_csv(results / "passk/tiny/forks/passk.csv").to_string(index=False))
    assert_a_packed_seed_pools_without_rerunning(work, overlays)
    assert_early_exit_changes_no_result(work, "forks", *overlays)


def assert_a_packed_seed_pools_without_rerunning(workdir, overlays):
    """Both seeds as if run elsewhere: packed without their large files, unpacked into a
    new directory that holds only the inputs the seeds share (README, "Seeds").
    Snakemake runs only what pools the seeds, and the pooled tables are the run's."""
    carried = workdir.parent / "carried"
    shared = snakemake(carried, "--cores", "2", "--", "shared_inputs", overlay=overlays)
    assert shared.returncode == 0, shared.stderr[-3000:]
    for seed in (0, 1):
        packed = workdir.parent / f"seed{seed}_packed"
        made = subprocess.run([sys.executable, "-m", "flextrap.seed_trees", "pack", "--results",
                               str(workdir / "results"), "--seed", str(seed), "--max-bytes", "200000", str(packed)],
                              capture_output=True, text=True)
        assert made.returncode == 0, made.stderr
        assert seed_trees.unpack(packed, carried / "results")
    plan = snakemake(carried, "-n", "--cores", "2", overlay=overlays)
    outputs = re.findall(r"^\s+output: (.*)$", plan.stdout, flags=re.M)
    assert plan.returncode == 0 and outputs and not [o for o in outputs if o.startswith("results/seed")], outputs
    assert re.search(r"^(local)?rule pool_seeds:", plan.stdout, flags=re.M)
    assert snakemake(carried, "--cores", "2", overlay=overlays).returncode == 0
    for name in POOLED:
        assert (carried / "results" / name).read_text() == (workdir / "results" / name).read_text(), name


def assert_forks_ran_every_stage(results):
    assert not [p for p in results.rglob("*synthetic*")]  # nothing of the default's task
    test = [json.loads(line) for line in (results / "data" / "forks" / "test.jsonl").read_text().splitlines()]
    assert len(test) == 200 and {"moves", "start", "steps", "n_right_paths"} <= set(test[0])
    passk = pd.read_csv(results / "passk" / "tiny" / "forks" / "passk.csv")
    assert set(passk.order) == {"ar", "arbitrary"}
    entropy = pd.read_csv(results / "entropy" / "tiny" / "forks" / "connective_entropy.csv")
    print(entropy.to_string(index=False))
    forks_seen = set(entropy[entropy.kind == "connective"].word)  # the task's fork tokens: its move words
    assert forks_seen and forks_seen <= {move for r in test for move in r["moves"]}
    written = {name for r in test for name in forks.slot_names(r["solution"]) if name}  # the config's step style
    for seed in (0, 1):
        for model in ("tiny", "tiny-justgrpo-forks"):
            probe = json.loads((results / f"seed{seed}" / "probe" / model / "forks.json").read_text())
            assert set(probe["slots"]) == written and probe["slots"]["move"]["masked"] > 0
    ablation = pd.read_csv(results / "tables" / "ablation.csv")
    assert set(ablation.method) == {"base", "JustGRPO", "JustGRPO-Random"} and set(ablation.task) == {"forks"}
    print((results / "tables" / "ablation.md").read_text())
    general = pd.read_csv(results / "tables" / "general.csv")
    assert set(general.task) == {"forks_choice"} and set(general.method) == {"base", "JustGRPO"}
    assert set(pd.read_csv(results / "tables" / "parallel.csv").method) == {"base", "JustGRPO"}


def assert_pooled_as_by_hand(results, name, keys, values):
    """`name`'s per-seed rows are each seed's own table; its pooled rows are the mean and
    the t interval of the two seeds' values, computed here by hand."""
    table = pd.read_csv(results / name, dtype={"seed": str})
    seeds = table[table.seed != "pooled"]
    assert set(seeds.seed) == {"0", "1"}, name
    if name.startswith(("passk", "entropy")):  # each seed's rows are that seed's own table
        for s in ("0", "1"):
            own = pd.read_csv(results / f"seed{s}" / name)
            mine = seeds[seeds.seed == s].drop(columns="seed").reset_index(drop=True)
            pd.testing.assert_frame_equal(mine[own.columns], own, check_dtype=False)
    pooled = table[table.seed == "pooled"].set_index(keys)
    by_hand = seeds.groupby(keys)
    assert len(pooled) == by_hand.ngroups, name
    tol = 0.01 if name.startswith("tables") else 1e-4  # the tables keep 2 decimals, the others 6 digits
    for key, cell in by_hand:
        for v in values:
            row = pooled.loc[key]
            assert row["seeds"] == 2
            present = cell[v].dropna().tolist()  # an entropy of a word one seed never wrote is not a value
            if len(present) < 2:
                assert row[v] == pytest.approx(present[0]) if present else pd.isna(row[v]), (name, key, v)
                assert pd.isna(row[f"{v}_low"]) and pd.isna(row[f"{v}_high"]), (name, key, v)
                continue
            a, b = present
            mean, half = (a + b) / 2, T_975_1 * abs(a - b) / 2  # sd = |a - b| / sqrt 2; / sqrt 2 again
            assert row[v] == pytest.approx(mean, rel=1e-4, abs=tol), (name, key, v)
            assert (row[f"{v}_low"], row[f"{v}_high"]) == pytest.approx((mean - half, mean + half), rel=1e-4,
                                                                        abs=T_975_1 * tol), (name, key, v)
