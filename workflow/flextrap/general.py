"""General capability before and after JustGRPO (paper Table 6), through
lm-evaluation-harness with the project's adapter (`lm_adapter.DiffusionLM`).

At paper scale the tasks are lm-eval's own (MMLU, MMLU-Pro, HellaSwag, ARC-Challenge),
their datasets fetched once on the submitting machine (`fetch_task`). For the embedded
default the DAG writes a local multiple-choice task from a generated task's test split
(`write_choice_task`): each problem's gold solution among copies whose last step's
result and final value are wrong, so choosing needs the last step's arithmetic.
"""
from __future__ import annotations

import json
import random
from pathlib import Path

from . import provenance
from .errors import FlextrapError
from .jsonl import read_jsonl, write_json, write_jsonl, write_text


def wrong_endings(solution: str, modulus: int, n: int, rng: random.Random) -> list[str]:
    """`n` copies of a generated task's `solution` whose last step's result and final
    value (the words at -4 and -1 in both layouts) are the same other value mod `modulus`."""
    words = solution.split()
    values = rng.sample([v for v in range(modulus) if str(v) != words[-1]], n)
    return [" ".join(words[:-4] + [str(v)] + words[-3:-1] + [str(v)]) for v in values]


def choice_records(records: list[dict], modulus: int, choices: int, seed: int) -> list[dict]:
    """One multiple-choice problem per record: its prompt and `choices` solutions, the
    gold one at a seeded position (`label`)."""
    rng, out = random.Random(seed), []
    for r in records:
        options = wrong_endings(r["solution"], modulus, choices - 1, rng)
        label = rng.randrange(choices)
        options.insert(label, r["solution"])
        out.append({"id": r["id"], "question": r["prompts"]["plain"], "choices": options, "label": label})
    return out


TASK_YAML = """task: {name}
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: multiple_choice
doc_to_text: "{{{{question}}}}"
doc_to_choice: "{{{{choices}}}}"
doc_to_target: "{{{{label}}}}"
metric_list:
  - metric: acc
"""


def write_choice_task(data: str, name: str, s: dict, out_dir: str) -> Path:
    """`<out_dir>/<name>.jsonl` and the lm-eval task `<out_dir>/<name>.yaml` reading it,
    from the first `max_problems` records of `data` (settings `s`: modulus, choices,
    max_problems, seed)."""
    records = read_jsonl(data, required=("id", "prompts", "solution"))[: s["max_problems"]]
    out = Path(out_dir)
    rows = choice_records(records, s["modulus"], s["choices"], s["seed"])
    write_jsonl(out / f"{name}.jsonl", rows)
    write_text(out / f"{name}.yaml", TASK_YAML.format(name=name, data=(out / f"{name}.jsonl").resolve()))
    return out / f"{name}.yaml"


def fetch_task(name: str, out: str) -> None:
    """Load lm-eval task `name` once (its dataset into the Hugging Face cache), so that the
    GPU jobs evaluate it offline; writes what was fetched to `out`."""
    from lm_eval.tasks import TaskManager

    try:
        tasks = TaskManager().load([name])["tasks"]
    except (ConnectionError, OSError) as err:
        raise FlextrapError(f"lm-eval task {name!r}: its dataset could not be downloaded ({err}); "
                            "run this rule on a machine with network access to the Hugging Face Hub") from None
    write_json(out, {"task": name, "subtasks": sorted(tasks),
                     "protocol": provenance.record("fetch_general", {"task": name})})


def shard_samples(tasks: dict, shard: int, shards: int) -> dict[str, list[int]]:
    """lm-eval's `samples` for one shard of `tasks` ({name: Task}, the leaf tasks of a task
    or group): document `shard`, `shard + shards`, ... of each."""
    return {name: list(range(shard, len(task.eval_docs), shards)) for name, task in tasks.items()}


def merge_shards(results: list[dict], task: str, metric: str) -> dict:
    """One result from the shards' lm-eval results of `task`: each leaf task's `metric` as
    the mean over all its documents (the shards' means weighted by their document
    counts), and a group's as the mean over its leaves weighted by their sizes, lm-eval's
    `weight_by_size` aggregation (MMLU's and MMLU-Pro's). Only mean metrics merge so;
    another aggregation is an error."""
    if len(results) == 1:  # lm-eval's own result, its standard errors included
        return {k: results[0][k] for k in ("results", "n-samples", "versions", "configs")} | {"shards": 1}
    key, counts, sums = f"{metric},none", {}, {}
    for r in results:
        for leaf, n in r["n-samples"].items():
            aggregation = [m.get("aggregation", "mean") for m in r["configs"][leaf].get("metric_list", [])
                           if m["metric"] == metric]
            if aggregation and aggregation != ["mean"]:
                raise FlextrapError(f"{leaf}: {metric} aggregates by {aggregation[0]}; only mean metrics merge over shards")
            counts[leaf] = counts.get(leaf, 0) + n["effective"]
            sums[leaf] = sums.get(leaf, 0.0) + r["results"][leaf][key] * n["effective"]
    merged = {leaf: {key: sums[leaf] / counts[leaf]} for leaf in counts if counts[leaf]}
    if task not in merged:  # a group: its leaves weighted by size
        merged[task] = {key: sum(sums.values()) / sum(counts.values())}
    return {"results": merged, "n-samples": {leaf: {"effective": n} for leaf, n in counts.items()},
            "versions": results[0].get("versions", {}), "configs": results[0].get("configs", {}),
            "shards": len(results)}


def evaluate(model_spec: dict, task: str, include: str | None, s: dict, out: str, threads: int | None = None,
             shard: tuple[int, int] = (0, 1)) -> dict:
    """lm-eval's `simple_evaluate` of one task (shard `shard` = (index, count) of its
    documents) on the model of `model_spec` through the adapter; writes lm-eval's
    results (its `results`, `n-samples`, `versions` and `configs`) and the provenance to
    `out`."""
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    from .lm_adapter import DiffusionLM
    from .models import load_model, set_threads

    set_threads(threads)
    model, tokenizer = load_model(model_spec, s.get("device", "auto"))
    manager = TaskManager(include_path=include) if include else TaskManager()
    samples = None
    if shard[1] > 1:
        samples = shard_samples(manager.load([task])["tasks"], *shard)
        if s["limit"] is not None:
            samples = {name: docs[: s["limit"]] for name, docs in samples.items()}
    result = simple_evaluate(model=DiffusionLM(model, tokenizer, s), tasks=[task], task_manager=manager,
                             num_fewshot=s["num_fewshot"], limit=None if samples else s["limit"], samples=samples,
                             random_seed=s["seed"], numpy_random_seed=s["seed"], torch_random_seed=s["seed"],
                             fewshot_random_seed=s["seed"], log_samples=False)
    kept = {k: result[k] for k in ("results", "n-samples", "versions", "configs") if k in result}
    write_json(out, {**json.loads(json.dumps(kept, default=str)),
                     "protocol": provenance.record("eval_general", s, model=model_spec, task=task, shard=list(shard))})
    return kept["results"][task]


def merge_general(shard_paths: list[str], task: str, metric: str, out: str) -> dict:
    """Rule merge_general: the shards of one evaluation as one lm-eval-style result."""
    shards = [json.loads(Path(p).read_text()) for p in shard_paths]
    merged = merge_shards(shards, task, metric)
    write_json(out, {**merged, "protocol": provenance.record("merge_general", {"metric": metric}, task=task,
                                                             shards=[s["protocol"] for s in shards])})
    return merged["results"][task]
