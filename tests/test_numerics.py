"""Pinned numerics (flextrap.numerics): the settings each mode gives a job, that they win
over the caller's environment, that MKL takes them, and (slow) that a short pretraining,
one JustGRPO step and one sampling shard give the same bits whatever the caller's CPU
settings or the load beside them."""
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

from flextrap import numerics

CONFIG = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def settings(mode):
    return numerics.job_numerics({**CONFIG["numerics"], "mode": mode}, default_threads=1)


def test_portable_pins_the_kernels_and_machine_leaves_them_to_the_cpu():
    portable, machine = settings("portable"), settings("machine")
    assert portable["set"]["ATEN_CPU_CAPABILITY"] == "avx2" and portable["set"]["MKL_CBWR"] == "COMPATIBLE"
    assert portable["set"]["ONEDNN_MAX_CPU_ISA"] == "AVX2"
    assert machine["set"]["MKL_CBWR"] == "AUTO"
    for s in (portable, machine):
        assert s["set"]["MKL_DYNAMIC"] == s["set"]["OMP_DYNAMIC"] == "FALSE"
        assert s["deterministic_algorithms"] == "error" and s["float32_matmul_precision"] == "highest"
        assert "MKL_ENABLE_INSTRUCTIONS" in s["clear"]
    # what portable pins, machine removes from the caller's environment (the CPU's best kernels)
    assert {"ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA"} <= set(machine["clear"])
    assert not set(portable["clear"]) & set(portable["set"])


def test_paper_jobs_get_deterministic_gpu_settings():
    paper = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())["numerics"]
    job = numerics.job_numerics(paper, default_threads=4)
    assert job["set"]["CUBLAS_WORKSPACE_CONFIG"] in (":4096:8", ":16:8")  # cuBLAS's deterministic workspaces
    assert job["deterministic_algorithms"] in ("error", "warn") and job["float32_matmul_precision"] == "highest"


def test_the_pins_win_over_the_callers_environment():
    caller = {"ATEN_CPU_CAPABILITY": "avx512", "MKL_CBWR": "AVX512", "MKL_ENABLE_INSTRUCTIONS": "AVX2",
              "OMP_NUM_THREADS": "16", "OMP_DYNAMIC": "TRUE", "HOME": "/home/me"}
    env = dict(caller)
    numerics.pin_environment(settings("portable"), env, threads=2)
    assert env["ATEN_CPU_CAPABILITY"] == "avx2" and env["MKL_CBWR"] == "COMPATIBLE"
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "2" and env["OMP_DYNAMIC"] == "FALSE"
    assert "MKL_ENABLE_INSTRUCTIONS" not in env and env["HOME"] == "/home/me"
    env = dict(caller)
    numerics.pin_environment(settings("machine"), env, threads=1)
    assert "ATEN_CPU_CAPABILITY" not in env and env["MKL_CBWR"] == "AUTO"


def test_threads_come_from_the_job_and_are_shared_by_its_processes():
    assert numerics.job_threads(["-m", "x", "--threads", "8"], {}, default=1) == 8
    assert numerics.job_threads(["--threads", "8"], {"WORLD_SIZE": "4"}, default=1) == 2
    assert numerics.job_threads(["--threads", "2"], {"WORLD_SIZE": "4"}, default=1) == 1
    assert numerics.job_threads(["--out", "x"], {}, default=3) == 3


def test_pinning_after_torch_is_loaded_is_refused():
    import torch  # noqa: F401  (loaded, as in any process that computed already)

    env = {numerics.ENV_VAR: json.dumps(settings("portable"))}
    with pytest.raises(numerics.NumericsError, match="before the numerics were pinned"):
        numerics.pin_from_environment(argv=[], environ=env)
    assert numerics.pin_from_environment(argv=[], environ={}) is None


def snakemake(workdir, *args, env=None):
    """The DAG in `workdir`, as a user runs it (a fresh process per job)."""
    return subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory",
                           str(workdir), *args], capture_output=True, text=True, env=env)


def fresh_python(code, env):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "workflow"), **env}, timeout=300)


MATMUL = ("import flextrap.stages, torch, json; from flextrap import numerics\n"
          "a = torch.ones(64, 64); a @ a\n"
          "print(json.dumps(numerics.in_effect()))")


@pytest.mark.parametrize("mode, branch", [("portable", "CNR:COMPATIBLE"), ("machine", "CNR:AUTO")])
def test_mkl_takes_the_mode(mode, branch):
    """MKL_VERBOSE prints the branch MKL runs each call in: the pin reached MKL."""
    export = {numerics.ENV_VAR: json.dumps(settings(mode)), "MKL_VERBOSE": "1",
              "ATEN_CPU_CAPABILITY": "avx512", "MKL_CBWR": "AVX512", "MKL_DYNAMIC": "TRUE"}
    run = fresh_python(MATMUL, export)
    assert run.returncode == 0, run.stderr[-2000:]
    calls = [line for line in run.stdout.splitlines() if line.startswith("MKL_VERBOSE SGEMM")]
    assert calls and all(branch in c and "Dyn:0" in c for c in calls), calls
    effect = json.loads(run.stdout.splitlines()[-1])
    assert effect["mode"] == mode and effect["deterministic_algorithms"] == "error"
    assert effect["float32_matmul_precision"] == "highest" and effect["threads"] == 1
    assert effect["environment"]["MKL_CBWR"] == branch.split(":")[1]
    assert effect["torch"] and effect["mkl"] and effect["cpu"]
    if mode == "portable":  # torch runs AVX2 kernels only where the CPU has AVX2
        assert effect["cpu_capability"] == "AVX2" and "avx2" in effect["cpu_flags"]


def test_the_cpu_is_named_by_its_first_processor_and_its_vector_flags(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\ncpu family\t: 25\nmodel\t\t: 17\nmodel name\t: AMD EPYC\n"
                       "flags\t\t: fpu sse4_2 avx2 fma avx512f avx512_vnni avx512_bf16 rdrand\n\n"
                       "processor\t: 1\nmodel name\t: Other\nflags\t\t: amx_tile\n")
    assert numerics.cpu_identity(cpuinfo) == {
        "cpu": "AMD EPYC", "cpu_family": "25", "cpu_model_number": "17",
        "cpu_flags": ["sse4_2", "avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni"]}
    missing = numerics.cpu_identity(tmp_path / "none")
    assert missing["cpu"] and missing["cpu_flags"] == [] and missing["cpu_family"] is None


def test_a_rule_pins_the_numerics_over_the_callers_and_records_them(tmp_path):
    """Through Snakemake's shell prefix: the data's provenance records the pinned numerics."""
    run = snakemake(tmp_path, "--cores", "1", "results/data/synthetic/test.jsonl",
                    env={**os.environ, "ATEN_CPU_CAPABILITY": "avx512", "MKL_CBWR": "AVX512"})
    assert run.returncode == 0, run.stderr[-2000:]
    meta = json.loads((tmp_path / "results/data/synthetic/test.provenance.json").read_text())
    effect = meta["numerics"]
    assert effect["mode"] == CONFIG["numerics"]["mode"] == "portable"
    assert effect["environment"]["ATEN_CPU_CAPABILITY"] == "avx2" and effect["cpu_capability"] == "AVX2"
    assert effect["environment"]["MKL_CBWR"] == "COMPATIBLE" and effect["deterministic_algorithms"] == "error"


# --- the same bits: a short pretraining, one JustGRPO step, one sampling shard ------------

SMALL = {"models": {"tiny": {"pretrain": {"steps": 20, "batch_size": 16, "checkpoint_every": 1000}}},
         "justgrpo": {"shared": {"steps": 1, "prompts_per_step": 2, "group_size": 4,
                                 "heldout": {"every": 1, "max_problems": 4}}},
         "passk": {"n_samples": 4, "ks": [1, 2, 4], "max_problems": 4, "batch_size": 16}}
TARGETS = ("results/seed0/models/tiny-justgrpo-synthetic", "results/seed0/samples/tiny/synthetic/ar/shard0of2.jsonl")
OUTPUTS = ("results/seed0/models/tiny/model.safetensors", "results/seed0/models/tiny-justgrpo-synthetic/model.safetensors",
           "results/seed0/samples/tiny/synthetic/ar/shard0of2.jsonl")
CALLERS = {"plain": {}, "avx512": {"ATEN_CPU_CAPABILITY": "avx512"}, "avx2": {"ATEN_CPU_CAPABILITY": "avx2"},
           "default": {"ATEN_CPU_CAPABILITY": "default"}, "mkl-avx2": {"MKL_ENABLE_INSTRUCTIONS": "AVX2"},
           "busy": {}}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cpu_hogs(n):
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def small_run(workdir: Path, mode: str, caller: str, data: Path) -> dict:
    """The three outputs' sha256 from a fresh DAG at SMALL size (shared prepared data)."""
    workdir.mkdir()
    (workdir / "results").mkdir()
    (workdir / "results" / "data").symlink_to(data)
    overlay = workdir / "overlay.yaml"
    overlay.write_text(yaml.safe_dump({**SMALL, "numerics": {"mode": mode}}))
    env = {k: v for k, v in os.environ.items() if k not in ("ATEN_CPU_CAPABILITY", "MKL_ENABLE_INSTRUCTIONS")}
    hogs = cpu_hogs(2 if caller == "busy" else 0)
    try:
        run = snakemake(workdir, "--configfile", str(ROOT / "config" / "ci.yaml"), str(overlay),
                        "--cores", "2", "--", *TARGETS, env={**env, **CALLERS[caller]})
    finally:
        for hog in hogs:
            hog.kill()
    assert run.returncode == 0, run.stderr[-3000:]
    return {out: sha256(workdir / out) for out in OUTPUTS}


@pytest.fixture(scope="module")
def prepared_data(tmp_path_factory):
    work = tmp_path_factory.mktemp("data")
    run = snakemake(work, "--cores", "2", "results/data/synthetic/train.jsonl", "results/data/synthetic/test.jsonl")
    assert run.returncode == 0, run.stderr[-2000:]
    return work / "results" / "data"


@pytest.mark.slow
def test_portable_gives_the_same_bits_whatever_the_caller_and_the_load(tmp_path, prepared_data):
    """`machine` mode is not held to this: MKL's vectorized branches gave other weights in
    some fresh processes here (docs/numerics.md), so only `portable` promises bits."""
    hashes = {caller: small_run(tmp_path / caller, "portable", caller, prepared_data) for caller in CALLERS}
    for caller, got in hashes.items():
        assert got == hashes["plain"], f"portable mode, caller {caller}: {got} != {hashes['plain']}"


@pytest.mark.slow
def test_unpinned_kernels_do_change_the_bits(tmp_path, prepared_data):
    """The control: without the pins, torch's AVX2 and scalar kernels give other weights,
    so the equal hashes above come from the pins, not from a test that cannot differ."""
    s = {**CONFIG["models"]["tiny"]["pretrain"], **SMALL["models"]["tiny"]["pretrain"]}
    hashes = {}
    for capability in ("default", "avx2"):
        out = tmp_path / capability
        env = numerics.child_environment(CONFIG["numerics"], "unpinned", 2, os.environ, str(ROOT / "workflow"))
        run = subprocess.run([sys.executable, "-m", "flextrap.stages.pretrain_tiny", "--train",
                              str(prepared_data / "synthetic" / "train.jsonl"), "--out", str(out),
                              "--settings", json.dumps(s), "--threads", "2"], capture_output=True, text=True,
                             env={**env, "ATEN_CPU_CAPABILITY": capability})
        assert run.returncode == 0, run.stderr[-2000:]
        hashes[capability] = sha256(out / "model.safetensors")
    assert hashes["default"] != hashes["avx2"]


def test_the_shell_line_hands_the_settings_over_and_drops_a_callers_world_size():
    job = settings("portable")
    line = numerics.shell_export(job)
    run = subprocess.run(["bash", "-c", line + 'echo "$FLEXTRAP_NUMERICS"; echo "ws=${WORLD_SIZE:-none}"'],
                         capture_output=True, text=True, env={**os.environ, "WORLD_SIZE": "4"})
    printed, world = run.stdout.splitlines()
    assert json.loads(printed) == job and world == "ws=none"
