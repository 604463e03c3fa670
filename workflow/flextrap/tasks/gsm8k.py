"""GSM8K (Cobbe et al., 2021): grade-school math; the reference is the number after '####'."""
from __future__ import annotations

from ..errors import FlextrapError
from .hub import load_rows, source_for

KIND = "math"  # graded by `graders.grade_math`
NEEDS_HUB = True  # read through `datasets`: needs `sources` per split


def reference_answer(solution: str) -> str:
    if "####" not in solution:
        raise FlextrapError(f"GSM8K answer without '####': {solution[-80:]!r}")
    return solution.split("####")[-1].strip().replace(",", "")


def load(split: str, spec: dict) -> list[dict]:
    return [{"id": f"gsm8k-{split}-{i}", "question": row["question"],
             "answer": reference_answer(row["answer"])}
            for i, row in enumerate(load_rows(source_for(spec, split)))]
