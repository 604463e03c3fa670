"""What pinned numerics cost: pretraining and Pass@k sampling speed in each `numerics`
mode and unpinned, in one run (issue 25).

    python benchmarks/numerics.py [--config config/config.yaml] [--steps 60] [--problems 16] \\
        [--repeats 2] [--threads 2] [--data results/data/synthetic]

Each measurement is a fresh process (the pins must be set before torch loads) running
the rule's own stage: `pretrain_tiny` for `--steps` steps at the default's settings,
then `sample` for one AR and one arbitrary-order shard of `--problems` problems at the
default's Pass@k settings (on the model the portable pretraining wrote). The modes run
round-robin, `--repeats` times, and the script prints the median seconds of each (the
stage's own training / sampling time, without start-up) and its ratio to unpinned, with
the sha256 of what each wrote: equal within a mode, or the mode is not reproducible here.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))
from flextrap.job_settings import passk_job  # noqa: E402
from flextrap.numerics import child_environment  # noqa: E402

MODES = ("unpinned", "machine", "portable")


def stage(name: str, args: list[str], mode: str, numerics: dict, threads: int) -> None:
    env = child_environment(numerics, mode, threads, os.environ, str(ROOT / "workflow"))
    run = subprocess.run([sys.executable, "-m", f"flextrap.stages.{name}", *args, "--threads", str(threads)],
                         env=env, capture_output=True, text=True)
    if run.returncode:
        raise SystemExit(f"{name} ({mode}) failed:\n{run.stderr[-2000:]}")


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def pretrain(config, data: Path, out: Path, steps: int, mode: str, threads: int) -> tuple[float, str]:
    s = {**config["models"]["tiny"]["pretrain"], "steps": steps, "checkpoint_every": steps + 1}
    stage("pretrain_tiny", ["--train", str(data / "train.jsonl"), "--out", str(out), "--settings",
                            json.dumps(s)], mode, config["numerics"], threads)
    meta = json.loads((out / "provenance.json").read_text())
    return meta["train_seconds"], sha(out / "model.safetensors")


def sample(config, data: Path, model: Path, out: Path, order: str, problems: int, mode: str,
           threads: int) -> tuple[float, str]:
    s = {**passk_job(config, "synthetic", order), "max_problems": problems}
    stage("sample", ["--model", json.dumps({"path": str(model)}), "--data", str(data / "test.jsonl"),
                     "--task", "synthetic", "--settings", json.dumps(s), "--shard", "0", "--shards", "1",
                     "--out", str(out)], mode, config["numerics"], threads)
    meta = json.loads(Path(f"{out}.provenance.json").read_text())
    return meta["seconds"], sha(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=str(ROOT / "config/config.yaml"))
    ap.add_argument("--data", default=str(ROOT / "results/data/synthetic"))
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--problems", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    config, data = yaml.safe_load(Path(args.config).read_text()), Path(args.data)
    results = {(m, what): [] for m in MODES for what in ("pretrain", "sample ar", "sample arbitrary")}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for r in range(args.repeats):
            for mode in MODES:
                model = tmp / f"{mode}-{r}"
                results[mode, "pretrain"].append(pretrain(config, data, model, args.steps, mode, args.threads))
        model = tmp / "portable-0"
        for r in range(args.repeats):
            for mode in MODES:
                for order in ("ar", "arbitrary"):
                    out = tmp / f"{mode}-{order}-{r}.jsonl"
                    results[mode, f"sample {order}"].append(
                        sample(config, data, model, out, order, args.problems, mode, args.threads))
    print(f"{args.steps} pretraining steps; one shard of {args.problems} problems x "
          f"{config['passk']['n_samples']} samples per order; {args.threads} threads; median of {args.repeats}")
    print("what | mode | seconds | ratio to unpinned | sha256 of each repeat")
    for what in ("pretrain", "sample ar", "sample arbitrary"):
        base = statistics.median(s for s, _ in results["unpinned", what])
        for mode in MODES:
            runs = results[mode, what]
            seconds = statistics.median(s for s, _ in runs)
            print(f"{what} | {mode} | {seconds:.1f} | {seconds / base:.2f}x | {' '.join(h for _, h in runs)}")


if __name__ == "__main__":
    main()
