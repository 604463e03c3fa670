"""`snakemake --profile slurm` for real: the whole DAG through `sbatch` on a one-node SLURM
cluster started on this machine (tests/slurm_cluster.py), checked against a local run of
the same config. `.ci/run` installs slurm-wlm and munge so that this runs in CI."""
import filecmp
import json
import re
import subprocess
import sys

import pandas as pd
import pytest
import yaml
from conftest import ROOT
from slurm_cluster import available, one_node_cluster

# Every rule of the DAG, at the smallest size that still exercises it (a few minutes).
SMALL = {
    # the local and the cluster run are compared file for file: portable numerics, the mode
    # that promises the same bits in every process (ci.yaml's machine mode does not)
    "numerics": {"mode": "portable"},
    "models": {"tiny": {"pretrain": {"steps": 60, "checkpoint_every": 30, "log_every": 10}}},
    "model_check": {"max_problems": 8, "n_samples": 2, "batch_size": 16},
    "slot_probe": {"max_problems": 8},
    # one shard per job kind (each job is a process start and an sbatch round trip; the merge
    # of shards is checked by the end-to-end test)
    "passk": {"n_samples": 4, "ks": [1, 2, 4], "max_problems": 6, "batch_size": 24, "shards": 1,
              "sweeps": {"temperature": {"values": [1.5], "n_samples": 2, "max_problems": 4},
                         "remasking": {"n_samples": 2, "max_problems": 4}}},
    "justgrpo": {"shared": {"steps": 2, "checkpoint_every": 1, "prompts_per_step": 2, "group_size": 2,
                            "heldout": {"every": 1, "max_problems": 4}}},
    "evaluation": {"gen_lengths": [48], "max_problems": 8, "shards": 1},
    "parallel": {"rules": {"eb": [1.0], "top_k": None, "threshold": None}, "max_problems": 8, "shards": 1},
    "general": {"tasks": {"synthetic_choice": {"shards": 1}}, "local": {"synthetic_choice": {"max_problems": 8}}},
}
# Files that must be identical between the two runs (timings excluded).
SAME_FILES = ["data/synthetic/test.jsonl", "seed0/models/tiny/model.safetensors", "seed0/models/tiny-justgrpo-synthetic/model.safetensors",
              "passk/tiny/synthetic/passk.csv", "passk/tiny/synthetic/coverage.csv",
              "entropy/tiny/synthetic/connective_entropy.csv", "passk/tiny-justgrpo-synthetic/synthetic/passk.csv",
              "tables/accuracy.csv"]
SUBMITTED = {"pretrain_tiny", "model_check", "slot_probe", "sample", "pass_at_k", "pass_at_k_sweep", "entropy_stats",
             "train_justgrpo", "eval_accuracy", "eval_parallel", "eval_general"}
# what the local run makes to compare with (the cluster run makes everything)
LOCAL_TARGETS = [name.removesuffix("/model.safetensors") for name in SAME_FILES] + [  # (a model is a directory)
    "seed0/probe/tiny-justgrpo-synthetic/synthetic.json", "tables/parallel.csv", "figures/parallel_decoding.pdf",
    "tables/general.csv"]

pytestmark = pytest.mark.skipif(available() is not None, reason=f"no SLURM test cluster: {available()}")


def snakemake(workdir, *args, env=None):
    return subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory",
                           str(workdir), "--configfile", str(ROOT / "config" / "ci.yaml"),
                           str(workdir.parent / "small.yaml"), *args],
                          cwd=ROOT, capture_output=True, text=True, env=env)


def submitted_rules(log: str) -> dict[str, int]:
    """rule -> jobs Snakemake submitted through sbatch, from its log."""
    rule_of_job, counts = {}, {}
    for block in log.split("\n\n"):
        m = re.search(r"^\s*(local)?rule (\w+):.*?jobid: (\d+)", block, re.S | re.M)
        if m:
            rule_of_job[m.group(3)] = m.group(2)
    for job in re.findall(r"Job (\d+) has been submitted with SLURM jobid", log):
        counts[rule_of_job[job]] = counts.get(rule_of_job[job], 0) + 1
    return counts


@pytest.mark.slow
def test_slurm_profile_runs_the_dag_like_a_local_run(tmp_path):
    (tmp_path / "small.yaml").write_text(yaml.safe_dump(SMALL))
    local, cluster = tmp_path / "local", tmp_path / "cluster"
    local.mkdir()
    cluster.mkdir()
    ran = snakemake(local, "--cores", "2", "--", *[f"results/{name}" for name in LOCAL_TARGETS])
    assert ran.returncode == 0, ran.stderr[-3000:]
    with one_node_cluster(tmp_path / "slurm") as env:
        ran = snakemake(cluster, "--profile", "slurm", "--slurm-status-command", "squeue",
                        "--slurm-init-seconds-before-status-checks", "1", "--seconds-between-status-checks", "2",
                        "--latency-wait", "5", env=env)
        assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    log = ran.stdout + ran.stderr
    counts = submitted_rules(log)
    print(counts)
    assert set(counts) == SUBMITTED  # tables, figures and data preparation ran locally
    # models x orders + sweep orders: one temperature x 2 orders, 3 proxies + AR (one shard)
    assert counts["sample"] == 2 * 2 + 1 * 2 + 4
    assert list((cluster / "results" / "logs" / "slurm").rglob("*.log"))  # SLURM's own log per job
    for name in SAME_FILES:
        assert filecmp.cmp(local / "results" / name, cluster / "results" / name, shallow=False), name
    probes = [json.loads((d / "results/seed0/probe/tiny-justgrpo-synthetic/synthetic.json").read_text()) for d in (local, cluster)]
    assert probes[0]["slots"] == probes[1]["slots"]  # (its protocol block has the time it was made)
    for name in ("tables/parallel.csv",):
        a, b = (pd.read_csv(d / "results" / name).drop(columns=["seconds"]) for d in (local, cluster))
        pd.testing.assert_frame_equal(a, b)
    general = [pd.read_csv(d / "results/tables/general.csv") for d in (local, cluster)]
    pd.testing.assert_frame_equal(*general)  # lm-eval's scores, through sbatch as here
    for run in (local, cluster):
        assert (run / "results" / "figures" / "parallel_decoding.pdf").stat().st_size > 1000
    trained = json.loads((cluster / "results" / "seed0" / "models" / "tiny-justgrpo-synthetic" / "provenance.json").read_text())
    assert trained["settings"]["steps"] == 2
    # the job's numerics as pinned through the SLURM job's shell (config `numerics`)
    pinned = trained["numerics"]
    assert pinned["mode"] != "unpinned" and pinned["deterministic_algorithms"] == "error"
    assert pinned["environment"]["CUBLAS_WORKSPACE_CONFIG"] and pinned["environment"]["MKL_DYNAMIC"] == "FALSE"


PAPER_GPU_TARGETS = {  # one job of every GPU rule of config/paper.yaml
    "sample": "results/seed0/samples/llada/gsm8k/ar/shard0of64.jsonl",
    "model_check": "results/seed0/model_check/llada/gsm8k.json",
    "eval_accuracy": "results/seed0/eval/llada/gsm8k/len256/shard0of8.json",
    "eval_parallel": "results/seed0/parallel/llada/gsm8k/eb-0.5/shard0of4.json",
    "train_justgrpo": "results/seed0/models/llada-justgrpo-gsm8k",
}


def test_paper_gpu_jobs_are_submitted_with_the_configured_resources(tmp_path):
    """The paper's GPU jobs cannot run here; what `sbatch` is asked for is recorded by a
    wrapper in front of the real one (which it then does not call)."""
    paper = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())
    work = tmp_path / "work"
    light = "results/figures/llada/passk_curves.pdf"  # a light rule: runs here (and fails on these files)
    tasks = list(paper["passk"]["template"])
    for name in ["data/gsm8k/train.jsonl", "data/gsm8k/test.jsonl", "models/llada.fetched.json",
                 "preflight/llada.json", *[f"passk/llada/{t}/{csv}.csv" for t in tasks for csv in ("passk", "coverage")]]:
        (work / "results" / name).parent.mkdir(parents=True, exist_ok=True)
        (work / "results" / name).write_text("{}\n")  # as if prepared and fetched
    wrappers, record = tmp_path / "bin", tmp_path / "sbatch_calls.jsonl"
    wrappers.mkdir()
    (wrappers / "sbatch").write_text(f"#!{sys.executable}\nimport json, sys\n"
                                     f"open({str(record)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
                                     "sys.exit('recorded, not submitted')\n")
    (wrappers / "sbatch").chmod(0o755)
    with one_node_cluster(tmp_path / "slurm", gpus=8, partitions={"cpu": True, "gpu": False}) as env:
        env = {**env, "PATH": f"{wrappers}:{env['PATH']}"}
        subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(work),
                        "--configfile", str(ROOT / "config" / "paper.yaml"), "--profile", "slurm", "--retries", "1",
                        "--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "1",
                        "--allowed-rules", *PAPER_GPU_TARGETS, "figure_passk_curves",  # not what makes the files above
                        "--", *PAPER_GPU_TARGETS.values(), light], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    calls = [json.loads(line) for line in record.read_text().splitlines()]
    by_rule = {}  # rule -> its sbatch calls, one per attempt (the profile retries; here once)
    for argv in calls:
        comment = argv[argv.index("--comment") + 1]
        by_rule.setdefault(next((r for r in PAPER_GPU_TARGETS if r in comment), comment), []).append(" ".join(argv))
    assert set(by_rule) == set(PAPER_GPU_TARGETS)  # and not the figure
    for rule, attempts in by_rule.items():
        job = {**paper["jobs"]["default"], **paper["jobs"][rule]}
        assert len(attempts) == 2, attempts
        for attempt, call in enumerate(attempts, 1):
            assert f"--gpus={job['gpu']}" in call, call
            assert f"-p {paper['cluster']['gpu_partition']}" in call, call
            assert f"--mem {job['mem_mb']}" in call and f"--cpus-per-task={job['threads']}" in call, call
            assert f"-t {job['runtime'] * attempt}" in call, call  # a retry gets more time
    assert (work / "results" / "logs" / "figures" / "llada" / "passk_curves.log").exists()  # it ran here

