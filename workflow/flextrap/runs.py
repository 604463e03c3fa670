"""JustGRPO runs (paper Sec. 4, Tables 1 and 5): named trainings of the base model.

Config `justgrpo.shared` holds the settings every run inherits; `justgrpo.runs.<name>`
overrides them key by key (nested dicts merge). A run is trained by the DAG into
`results/seed<s>/models/<base>-justgrpo-<name>/`, or, with `source: released`, taken from the
checkpoint the paper's authors published (`released: {hf_id, revision}`), loaded like
any hub model (fetch, preflight) under the same name.
"""
from __future__ import annotations

from .merge import deep_merge
from .model_specs import inherited_from

RUN_ONLY_KEYS = ("source", "released")  # what a run says about itself, not training settings


def run_model(base: str, run: str) -> str:
    """The model name (and `results/seed<s>/models/` directory) of run `run` of base model `base`."""
    return f"{base}-justgrpo-{run}"


def run_settings(justgrpo: dict, run: str) -> dict:
    """The training settings of run `run`: the shared block with the run's overrides."""
    overrides = {k: v for k, v in justgrpo["runs"][run].items() if k not in RUN_ONLY_KEYS}
    return deep_merge(justgrpo["shared"], overrides)


def is_released(justgrpo: dict, run: str) -> bool:
    return justgrpo["runs"][run].get("source", "train") == "released"


def trained_runs(justgrpo: dict) -> list[str]:
    """The runs the DAG trains (the others use their released checkpoint)."""
    return [r for r in justgrpo["runs"] if not is_released(justgrpo, r)]


def released_models(config: dict) -> dict[str, dict]:
    """Model name -> hub model spec of each run that uses its released checkpoint: the
    base model's family, dtype and mask token with the release's id and revision."""
    kept = inherited_from(config["models"][config["base_model"]])
    jg = config["justgrpo"]
    return {run_model(config["base_model"], r): {**kept, **jg["runs"][r]["released"]}
            for r in jg["runs"] if is_released(jg, r)}


def heldout_task(s: dict) -> str:
    """The task whose test split measures a run during training (Fig. 9)."""
    return s["heldout"].get("task") or s["task"]
