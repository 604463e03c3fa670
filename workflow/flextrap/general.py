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

    tasks = TaskManager().load_task_or_group([name])
    write_json(out, {"task": name, "subtasks": sorted(map(str, _leaves(tasks))),
                     "protocol": provenance.record("fetch_general", {"task": name})})


def _leaves(tasks) -> list:
    out = []
    for key, value in tasks.items():
        out += _leaves(value) if isinstance(value, dict) else [key]
    return out


def evaluate(model_spec: dict, task: str, include: str | None, s: dict, out: str, threads: int | None = None) -> dict:
    """lm-eval's `simple_evaluate` of one task on the model of `model_spec` through the
    adapter; writes lm-eval's results (its `results`, `n-samples`, `versions` and
    `configs`) and the provenance to `out`."""
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    from .lm_adapter import DiffusionLM
    from .models import load_model, set_threads

    set_threads(threads)
    model, tokenizer = load_model(model_spec, s.get("device", "auto"))
    manager = TaskManager(include_path=include) if include else TaskManager()
    result = simple_evaluate(model=DiffusionLM(model, tokenizer, s), tasks=[task], task_manager=manager,
                             num_fewshot=s["num_fewshot"], limit=s["limit"], random_seed=s["seed"],
                             numpy_random_seed=s["seed"], torch_random_seed=s["seed"], fewshot_random_seed=s["seed"],
                             log_samples=False)
    kept = {k: result[k] for k in ("results", "n-samples", "versions", "configs") if k in result}
    write_json(out, {**json.loads(json.dumps(kept, default=str)),
                     "protocol": provenance.record("eval_general", s, model=model_spec, task=task)})
    return kept["results"][task]
