"""The settings each sampling stage is handed, built from the config in one place: the
DAG's plan (`flextrap.plan`, which the rules call) and the benchmarks call these, so a sampler is set up the
same way wherever it runs.

A sampler is what `sampling.generate` (or `generate_parallel`) takes; a job is what
`sample.sample_problems` takes: the `decoder` (`llada` or `parallel`, a key of
`sample.DECODERS`) and its sampler, the prompt template, the sizes, the run seed, early
exit and the code-grading limits.
"""
from __future__ import annotations

from .sweeps import derived_orders


def passk_sampler(config: dict, order: str) -> dict:
    """The sampler of Pass@k order `order` (a key of `passk.orders` or a sweep's derived
    order). An order's `tasks:` limit says where the DAG samples it, so it is not a
    sampler setting."""
    p, sweeps = config["passk"], derived_orders(config["passk"])
    spec = sweeps[order]["spec"] if order in sweeps else p["orders"][order]
    spec = {k: v for k, v in spec.items() if k != "tasks"}
    return {"gen_length": p["gen_length"], "steps": p["steps"], "temperature": p["temperature"], **spec}


def passk_sizes(config: dict, order: str) -> dict:
    """n_samples, max_problems and shards of an order: its sweep's own, else passk's."""
    p, sweeps = config["passk"], derived_orders(config["passk"])
    own = p["sweeps"][sweeps[order]["sweep"]] if order in sweeps else {}
    return {k: own.get(k, p[k]) for k in ("n_samples", "max_problems", "shards")}


def greedy_sampler(config: dict, gen_length: int) -> dict:
    """Table 1's sampler at one generation length: the `evaluation` block length,
    temperature and remasking, one token per step."""
    e = config["evaluation"]
    return {"gen_length": gen_length, "steps": gen_length, "block_length": e["block_length"],
            "temperature": e["temperature"], "remasking": e["remasking"]}


def parallel_sampler(config: dict, rule: str, value: float) -> dict:
    """Sec. 5's sampler: parallel rule `rule` (eb, top_k, threshold) at `value`."""
    p = config["parallel"]
    return {"gen_length": p["gen_length"], "block_length": p["block_length"], "temperature": p["temperature"],
            "proxy": p["proxy"], "rule": rule, "value": float(value)}


def sampling_job(config: dict, template: str, sampler: dict, n_samples: int, max_problems: int, batch_size: int,
                 seed: int, early_exit: bool, decoder: str = "llada") -> dict:
    return {"template": template, "device": config["device"], "decoder": decoder, "n_samples": n_samples,
            "max_problems": max_problems, "batch_size": batch_size, "early_exit": early_exit, "seed": seed,
            "code_limits": config["grading"]["code"], "sampler": sampler}


def passk_job(config: dict, task: str, order: str) -> dict:
    """Rule `sample`: n samples per problem of `task` under `order`."""
    p, sizes = config["passk"], passk_sizes(config, order)
    return sampling_job(config, p["template"][task], passk_sampler(config, order), sizes["n_samples"],
                        sizes["max_problems"], p["batch_size"], p["seed"], p["early_exit"])


def model_check_job(config: dict, task: str) -> dict:
    """Rule `model_check`: a few samples per problem under the Pass@k order `model_check.order`."""
    p, mc = config["passk"], config["model_check"]
    return sampling_job(config, p["template"][task], passk_sampler(config, mc["order"]), mc["n_samples"],
                        mc["max_problems"], mc["batch_size"], mc["seed"], p["early_exit"])


def evaluation_job(config: dict, task: str, gen_length: int) -> dict:
    """Rule `eval_accuracy`: one greedy answer per test problem at `gen_length`."""
    e = config["evaluation"]
    return sampling_job(config, e["template"][task], greedy_sampler(config, gen_length), 1, e["max_problems"],
                        e["batch_size"], e["seed"], e["early_exit"])


def parallel_job(config: dict, task: str, rule: str, value: float) -> dict:
    """Rule `eval_parallel`: one answer per test problem under a parallel rule (its rows
    leave the batch when complete, so there is no separate early exit)."""
    p = config["parallel"]
    return sampling_job(config, p["template"][task], parallel_sampler(config, rule, value), 1, p["max_problems"],
                        p["batch_size"], p["seed"], early_exit=False, decoder="parallel")
