"""Every output path of the DAG, built in one place (the rules call these; so do tests).

A run of the DAG has one level per seed (config `seeds`): everything a seed's models
produce lives under `results/seed<seed>/`, with the same layout for every seed. What
does not depend on the seed stays at the top: the data, hub models' fetch and preflight
reports, and the products pooled across seeds (Pass@k, coverage, entropy and sweep
tables with per-seed rows, the accuracy, ablation and parallel tables, every figure).

Each function takes concrete values or Snakemake wildcards ("{seed}", "{model}", ...),
so one function gives a rule its output pattern and its consumers the concrete path.
"""
from __future__ import annotations

ROOT = "results"
SEEDED_STAGES = ("passk", "entropy", "sweeps")  # per-seed CSVs that rule pool_seeds pools


def _at(seed, *parts) -> str:
    """`results/seed<seed>/<parts>`, or `results/<parts>` when seed is None (pooled)."""
    return "/".join([ROOT] + ([f"seed{seed}"] if seed is not None else []) + [str(p) for p in parts])


def seed_tree(seed) -> str:
    """Everything one seed's models produce."""
    return _at(seed)


def data(task, split, suffix="jsonl") -> str:
    return _at(None, "data", task, f"{split}.{suffix}")


def model_dir(seed, model) -> str:
    """A model the DAG trains (pretrained here, or a JustGRPO run)."""
    return _at(seed, "models", model)


def fetched(model) -> str:
    """Marker of a hub model fetched into the cache (the weights do not depend on a seed)."""
    return _at(None, "models", f"{model}.fetched.json")


def preflight(model) -> str:
    return _at(None, "preflight", f"{model}.json")


def model_check(seed, model, task, suffix="json") -> str:
    return _at(seed, "model_check", model, f"{task}.{suffix}")


def general(seed, model, task, shard=None) -> str:
    """lm-eval's results of one task on one model (Table 6), or of shard (index, count)
    of its documents."""
    if shard is None:
        return _at(seed, "general", model, f"{task}.json")
    return _at(seed, "general", model, task, f"shard{shard[0]}of{shard[1]}.json")


def general_task(name) -> str:
    """The directory of a local lm-eval task the DAG writes (its YAML and JSONL)."""
    return _at(None, "general", "tasks", name)


def general_fetched(task) -> str:
    """Marker of an lm-eval task whose dataset is in the cache."""
    return _at(None, "general", "fetched", f"{task}.json")


def probe(seed, model, task) -> str:
    return _at(seed, "probe", model, f"{task}.json")


def shard(seed, model, task, order, index, count) -> str:
    return _at(seed, "samples", model, task, order, f"shard{index}of{count}.jsonl")


def analysis(seed, stage, model, task, name, suffix="csv") -> str:
    """A Sec. 3 table: stage passk (passk, coverage), entropy (bypass, connective_entropy)
    or sweeps (temperature, remasking, <sweep>.coverage); seed None: pooled over seeds."""
    return _at(seed, stage, model, task, f"{name}.{suffix}")


def evaluation(seed, kind, model, task, name, shard=None, suffix="json") -> str:
    """An evaluation summary (kind eval: Table 1, parallel: Sec. 5) at `name` (len<N> or a
    parallel setting), or one shard's summary / records (`suffix` jsonl) when `shard` is
    (index, count)."""
    if shard is None:
        return _at(seed, kind, model, task, f"{name}.{suffix}")
    return _at(seed, kind, model, task, name, f"shard{shard[0]}of{shard[1]}.{suffix}")


def table(name, suffix) -> str:
    """A Sec. 4-5 table over every seed (per-seed rows, pooled rows with several seeds)."""
    return _at(None, "tables", f"{name}.{suffix}")


def figure(folder, name, suffix) -> str:
    """A figure over every seed: folder is a model (Sec. 3), `justgrpo` or None (Sec. 5)."""
    return _at(None, "figures", *([folder] if folder else []), f"{name}.{suffix}")


def log(rule, *parts, seed=None) -> str:
    """A job's log: results/[seed<seed>/]logs/<rule>/<parts>.log."""
    return _at(seed, "logs", rule, *parts[:-1], f"{parts[-1]}.log")


def benchmark(rule, *parts, seed=None) -> str:
    """A job's time and memory (Snakemake `benchmark:`), beside its log."""
    return _at(seed, "benchmarks", rule, *parts[:-1], f"{parts[-1]}.tsv")
