"""Config checking: JSON-schema validation (draft 2020-12) plus the cross-field rules
a schema cannot say. Every failure is one line naming the key."""
from __future__ import annotations

from pathlib import Path

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from .errors import FlextrapError
from .merge import deep_merge
from .orders import PROXIES, RANKINGS
from .runs import RUN_ONLY_KEYS, heldout_task, run_model, run_settings
from .tasks import TASKS, needs_hub, slot_layout


def _key(path) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def schema_error(config: dict, schema: dict) -> str | None:
    """The most relevant schema violation as 'key: message', or None."""
    error = best_match(Draft202012Validator(schema).iter_errors(config))
    if error is None:
        return None
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return f"{_key(list(error.absolute_path) + extra[:1])}: unknown key"
    if error.validator == "propertyNames":
        return f"{_key(error.absolute_path)}: unknown name {error.instance!r}"
    if error.validator == "oneOf":
        return f"{_key(error.absolute_path)}: {error.schema.get('description', 'does not match any allowed form')}"
    return f"{_key(error.absolute_path)}: {error.message}"


def _divides(where: str, gen_length: int, block_length: int, steps: int | None) -> list[str]:
    if gen_length % block_length:
        return [f"{where}: block_length {block_length} does not divide gen_length {gen_length}"]
    if steps is not None and steps % (gen_length // block_length):
        return [f"{where}: steps {steps} is not a multiple of the number of blocks "
                f"({gen_length // block_length})"]
    return []


def _task_errors(name: str, task: dict, used_templates: set[str]) -> list[str]:
    errors = [f"tasks.{name}.templates: misses {t!r}, used by passk/evaluation/justgrpo"
              for t in sorted(used_templates - set(task["templates"]))]
    if needs_hub(name):
        errors += [f"tasks.{name}.sources.{split}: missing (split {split} is listed)"
                   for split in task["splits"] if split not in task.get("sources", {})]
    gen = task.get("generator")
    if name == "synthetic" and not gen["steps"][0] <= gen["steps"][1] <= gen["n_defs"]:
        errors.append(f"tasks.{name}.generator.steps: need min <= max <= n_defs")
    if name == "forks" and not gen["moves"] < gen["modulus"]:
        errors.append(f"tasks.{name}.generator.moves: need fewer moves than modulus (distinct non-zero constants)")
    return errors


def semantic_errors(c: dict) -> list[str]:
    """Cross-field rules, each reported as 'key: message'."""
    p, e, mc = c["passk"], c["evaluation"], c["model_check"]
    runs = {r: run_settings(c["justgrpo"], r) for r in c["justgrpo"]["runs"]}
    errors = []
    if c["base_model"] not in c["models"]:
        errors.append(f"base_model: {c['base_model']!r} is not a key of models")
    for name, order in p["orders"].items():
        errors += _divides(f"passk.orders.{name}.block_length", p["gen_length"], order["block_length"], p["steps"])
    if max(p["ks"]) > p["n_samples"]:
        errors.append(f"passk.ks: k={max(p['ks'])} exceeds passk.n_samples={p['n_samples']}")
    for n in e["gen_lengths"]:
        errors += _divides("evaluation.block_length", n, e["block_length"], None)
    pa = c["parallel"]
    errors += _divides("parallel.block_length", pa["gen_length"], pa["block_length"], None)
    order_refs = [("passk.coverage", o) for pair in p["coverage"] for o in pair] + \
                 [("passk.block_sweep", o) for o in p["block_sweep"]] + \
                 [("figures.bypass_order", c["figures"]["bypass_order"])]
    errors += [f"{key}: {o!r} is not a key of passk.orders" for key, o in order_refs if o not in p["orders"]]
    for name, order in p["orders"].items():
        errors += [f"passk.orders.{name}.tasks: {t!r} has no template under passk.template"
                   for t in order.get("tasks", []) if t not in p["template"]]
    if mc["order"] not in p["orders"]:
        errors.append(f"model_check.order: {mc['order']!r} is not a key of passk.orders")
    task_refs = [(f"passk.template.{t}", t) for t in p["template"]] + \
                [(f"evaluation.template.{t}", t) for t in e["template"]] + \
                [(f"parallel.template.{t}", t) for t in pa["template"]] + \
                [("model_check.task", mc["task"])] + \
                [(f"justgrpo.runs.{r}.task", s["task"]) for r, s in runs.items()] + \
                [(f"justgrpo.runs.{r}.heldout.task", heldout_task(s)) for r, s in runs.items()] + \
                [(f"models.{m}.pretrain.task", spec["pretrain"]["task"])
                 for m, spec in c["models"].items() if "pretrain" in spec]
    errors += [f"{key}: task {task!r} is not configured under tasks" for key, task in task_refs
               if task not in c["tasks"]]
    if "slot_probe" in c and not any(slot_layout(t) for t in c["tasks"]):
        generated = ", ".join(t for t in TASKS if slot_layout(t))
        errors.append(f"slot_probe: probes a generated task ({generated}), and none is configured under tasks")
    if mc["task"] in c["tasks"] and mc["task"] not in p["template"]:
        errors.append(f"model_check.task: {mc['task']!r} has no template under passk.template")
    for name, task in c["tasks"].items():
        used = {sec[name] for sec in (p["template"], e["template"], pa["template"]) if name in sec}
        used |= {s["template"] for s in runs.values() if s["task"] == name}
        errors += _task_errors(name, task, used)
    run_models = {run_model(c["base_model"], r) for r in runs}
    errors += [f"passk.models: {m!r} is neither a key of models nor a JustGRPO run's model "
               f"({c['base_model']}-justgrpo-<run>)" for m in p.get("models", [])
               if m not in c["models"] and m not in run_models]
    return (errors + _run_errors(c, runs) + _sweep_errors(p, c["tasks"]) + _model_errors(c["models"])
            + _general_errors(c.get("general"), c))


def _general_errors(g: dict | None, c: dict) -> list[str]:
    """Table 6: its runs are JustGRPO runs; a local task is listed and built from a
    configured generated task."""
    if g is None:
        return []
    errors = [f"general.runs.{label}: {run!r} is not a run of justgrpo.runs"
              for label, run in g["runs"].items() if run not in c["justgrpo"]["runs"]]
    errors += [f"general.local.{name}: not listed under general.tasks" for name in g["local"] if name not in g["tasks"]]
    for name, local in g["local"].items():
        if local["task"] not in c["tasks"] or not slot_layout(local["task"]):
            errors.append(f"general.local.{name}.task: {local['task']!r} is not a generated task under tasks")
    return errors


def _run_errors(c: dict, runs: dict) -> list[str]:
    """JustGRPO runs, and the tables and figures that name them."""
    e, jg = c["evaluation"], c["justgrpo"]
    errors = [f"justgrpo.shared.{k}: belongs to a run (justgrpo.runs.<name>.{k})" for k in RUN_ONLY_KEYS
              if k in jg["shared"]]
    errors += [f"justgrpo.runs.{r}: source: released needs `released: {{hf_id, revision}}`"
               for r, spec in jg["runs"].items() if spec.get("source") == "released" and "released" not in spec]
    for r, s in runs.items():
        task = heldout_task(s)
        if task in c["tasks"] and ("test" not in c["tasks"][task]["splits"] or task not in e["template"]):
            errors.append(f"justgrpo.runs.{r}.heldout.task: {task!r} needs a test split and a template under "
                          "evaluation.template (set heldout.task to a task that has both)")
    refs = [(f"evaluation.runs.{t}", r) for t, r in e["runs"].items()] + \
           [(f"ablation.runs.{label}", r) for label, r in c["ablation"]["runs"].items()]
    errors += [f"{key}: {r!r} is not a key of justgrpo.runs" for key, r in refs if r not in runs]
    tasks = list(e["template"]) + [t for t in c["parallel"]["template"] if t not in e["template"]]
    errors += [f"evaluation.runs: no run for task {t!r} (its JustGRPO column in Table 1 / Fig. 8)"
               for t in tasks if t not in e["runs"]]
    if c["ablation"]["task"] not in e["template"]:
        errors.append(f"ablation.task: {c['ablation']['task']!r} has no template under evaluation.template")
    return errors


def _sweep_errors(p: dict, tasks: dict) -> list[str]:
    errors = []
    for setting, sweep in p.get("sweeps", {}).items():
        errors += [f"passk.sweeps.{setting}: {o!r} is not a key of passk.orders"
                   for o in sweep["orders"] + sweep.get("baseline", []) if o not in p["orders"]]
        errors += [f"passk.sweeps.{setting}.tasks: {t!r} has no template under passk.template"
                   for t in sweep["tasks"] if t not in p["template"]]
    return errors


def _model_errors(models: dict) -> list[str]:
    errors = []
    if any("family" in m or "hf_id" in m for m in models.values()):
        from .families import FAMILIES  # imports torch: only when a model names a family
    for name, model in models.items():
        if "family" in model and model["family"] not in FAMILIES:
            errors.append(f"models.{name}.family: unknown family {model['family']!r}; known: {', '.join(FAMILIES)}")
        if "hf_id" in model and "family" not in model:
            errors.append(f"models.{name}: a hub model needs `family:` ({', '.join(FAMILIES)})")
        arch = model.get("pretrain", {}).get("architecture")
        if arch and arch["hidden_size"] % arch["num_heads"]:
            errors.append(f"models.{name}.pretrain.architecture: num_heads must divide hidden_size")
    return errors


def with_default(config: dict, default_path: str | Path) -> dict:
    """`config` itself when it came from a complete config file (it has `run_name`), else
    the default config file with `config` on top (command-line --config values, or an
    override file without `run_name` such as config/ci.yaml)."""
    if "run_name" in config:
        return config
    return deep_merge(yaml.safe_load(Path(default_path).read_text()), config)


def with_registries(schema: dict) -> dict:
    """`schema` with the choices the code's registries own: the task names
    (`tasks.TASKS`), `remasking` (a ranking of `orders.RANKINGS`) and the parallel error
    `proxy` (`orders.PROXIES`)."""
    for name, choices in (("task_name", TASKS), ("remasking", RANKINGS), ("proxy", PROXIES)):
        schema["$defs"][name] = {**schema["$defs"][name], "enum": list(choices)}
    return schema


def check_config(config: dict, schema_path: str | Path) -> None:
    """Raise FlextrapError with one line naming the first bad key."""
    schema = with_registries(yaml.safe_load(Path(schema_path).read_text()))
    message = schema_error(config, schema)
    if message is None:
        errors = semantic_errors(config)
        message = errors[0] if errors else None
    if message:
        raise FlextrapError(f"config error: {message}")
