"""Pass@k sampling with and without early exit and continuous batching (issue 17).

    python benchmarks/early_exit.py [--config config/config.yaml] [--model results/seed0/models/tiny] \\
        [--data results/data/synthetic/test.jsonl] [--orders ar,arbitrary] [--threads 2]

One Pass@k shard of the embedded default (its model, task, sizes and sampler settings,
from `flextrap.job_settings`, as rule `sample` gets them) is sampled twice per order with `flextrap.sample.run_shard`:
every row decoded for all `steps` passes in planned batches, and with `early_exit`
(a row leaves once its text is fixed, its slot takes the next sample). Prints the
row-forward passes per sample (one row in one forward pass) and the wall time per
sample of each, their ratios, and checks that the samples agree: texts, verdicts,
answer ids and commit steps up to each row's exit exactly, entropies to 2e-5 (the
records keep 5 decimals; BLAS rounds a product differently by its number of rows).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))
from flextrap.job_settings import passk_job  # noqa: E402
from flextrap.jsonl import read_jsonl  # noqa: E402
from flextrap.models import load_model, set_threads  # noqa: E402
from flextrap.sample import run_shard, shard_of  # noqa: E402


def truncated(record: dict, mask_id: int) -> tuple:
    """What early exit keeps of a record: ids and commit steps before its exit pass."""
    kept = [0 <= s < record["nfe"] for s in record["trace"]["step"]]
    return (record["text"], record["verdict"]["correct"],
            [t if k else mask_id for t, k in zip(record["token_ids"], kept)],
            [s if k else -1 for s, k in zip(record["trace"]["step"], kept)])


def compare(full: list, fast: list, mask_id: int) -> float:
    """Largest entropy difference at committed positions; raises if anything else differs."""
    worst = 0.0
    for a, b in zip(full, fast):
        if truncated({**a, "nfe": b["nfe"]}, mask_id) != truncated(b, mask_id):
            raise SystemExit(f"samples differ: problem {a['id']} sample {a['sample']}")
        worst = max([worst] + [abs(x - y) for x, y, s in zip(a["trace"]["entropy"], b["trace"]["entropy"],
                                                               b["trace"]["step"]) if s >= 0])
    if len(full) != len(fast) or worst > 2e-5:
        raise SystemExit(f"samples differ (entropy by {worst:.1e})")
    return worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=str(ROOT / "config/config.yaml"))
    ap.add_argument("--model", default=str(ROOT / "results/seed0/models/tiny"))
    ap.add_argument("--data", default=str(ROOT / "results/data/synthetic/test.jsonl"))
    ap.add_argument("--task", default="synthetic")
    ap.add_argument("--orders", default="ar,arbitrary")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    config = yaml.safe_load(Path(args.config).read_text())
    set_threads(args.threads)
    model, tokenizer = load_model({"path": args.model}, "cpu")
    p = config["passk"]
    records = shard_of(read_jsonl(args.data)[: p["max_problems"]], 0, p["shards"])
    print(f"{len(records)} problems x {p['n_samples']} samples (shard 0 of {p['shards']}), "
          f"batch {p['batch_size']}, {p['gen_length']} tokens in {p['steps']} steps, T {p['temperature']}")
    print("order | row-forwards/sample full, early exit, ratio | seconds/sample full, early exit, ratio")
    for order in args.orders.split(","):
        s = passk_job(config, args.task, order)  # what rule `sample` hands a shard
        with tempfile.TemporaryDirectory() as tmp:
            out = {}
            for name, early in (("full", False), ("early exit", True)):
                t0 = time.perf_counter()
                samples = run_shard(model, tokenizer, records, args.task, {**s, "early_exit": early},
                                    Path(tmp) / f"{early}.jsonl")
                out[name] = (samples, (time.perf_counter() - t0) / len(samples))
        (full, t_full), (fast, t_fast) = out["full"], out["early exit"]
        worst = compare(full, fast, tokenizer.mask_token_id)
        nfe_full = sum(r["nfe"] for r in full) / len(full)
        nfe_fast = sum(r["nfe"] for r in fast) / len(fast)
        print(f"{order} | {nfe_full:.2f}, {nfe_fast:.2f}, {nfe_full / nfe_fast:.2f}x | "
              f"{t_full:.4f}, {t_fast:.4f}, {t_full / t_fast:.2f}x | {len(full)} samples equal "
              f"(entropy within {worst:.1e})")


if __name__ == "__main__":
    main()
