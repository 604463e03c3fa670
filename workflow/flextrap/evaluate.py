"""Accuracy of a model on a task's test split with one sampler, one sample per problem:
Table 1 (greedy, one token per step, semi-AR blocks) and Sec. 5 (a parallel rule,
`sampling.generate_parallel`; the summary then also gives forward passes (NFE) and
tokens per step). A job evaluates one shard of the problems; `merged_summary` joins the
shards' records as if one job had evaluated every problem.
"""
from __future__ import annotations

import json
from pathlib import Path

from .errors import FlextrapError
from .jsonl import read_jsonl


def summarize(samples: list, sampler: dict) -> dict:
    """Accuracy and cost of one sample per problem: mean forward passes (NFE), tokens per
    step = gen_length / NFE, and the passes the sampler takes without early exit."""
    nfe = sum(r["nfe"] for r in samples) / len(samples)
    return {"accuracy": round(sum(r["verdict"]["correct"] for r in samples) / len(samples), 4),
            "problems": len(samples), "gen_length": sampler["gen_length"], "nfe": round(nfe, 2),
            "tokens_per_step": round(sampler["gen_length"] / nfe, 3),
            "nfe_without_early_exit": sampler.get("steps")}


def merged_summary(shard_paths: list[dict]) -> dict:
    """One evaluation's summary from its shards, each {"summary": path, "records": path};
    `seconds` adds the shards' times (GPU-seconds when shards run side by side); the
    protocol is shard 0's, with the shard count."""
    shards = [json.loads(Path(p["summary"]).read_text()) for p in shard_paths]
    counts = {s["shard"][1] for s in shards}
    if counts != {len(shards)} or sorted(s["shard"][0] for s in shards) != list(range(len(shards))):
        raise FlextrapError(f"expected shards 0..{len(shards) - 1} of {len(shards)}, got {[s['shard'] for s in shards]}")
    samples = [r for p in shard_paths for r in read_jsonl(p["records"])]
    protocol = {**shards[0]["protocol"], "shards": len(shards)}
    return {**summarize(samples, protocol["settings"]["sampler"]),
            "seconds": round(sum(s["seconds"] for s in shards), 1), "protocol": protocol}
