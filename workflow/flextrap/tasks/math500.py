"""MATH-500 (Lightman et al., 2023) for testing; MATH train for JustGRPO training.

The reference answer is the `answer` field when present (MATH-500), else the last
\\boxed{} of the solution (MATH train). Training keeps problems shorter than
`max_problem_chars` (JustGRPO: 1500).
"""
from __future__ import annotations

from ..errors import FlextrapError
from .hub import load_rows, source_for

KIND = "math"  # graded by `graders.grade_math`
NEEDS_HUB = True  # read through `datasets`: needs `sources` per split


def last_boxed(text: str) -> str | None:
    """Content of the last \\boxed{...} (braces matched), or None."""
    start = text.rfind("\\boxed")
    if start < 0:
        return None
    i = text.find("{", start)
    if i < 0:
        return None
    depth = 0
    for j in range(i, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[i + 1:j]
    return None


def load(split: str, spec: dict) -> list[dict]:
    records = []
    for i, row in enumerate(load_rows(source_for(spec, split))):
        answer = row.get("answer") or last_boxed(row.get("solution", ""))
        if answer is None:
            raise FlextrapError(f"MATH row {i} has neither an answer nor a \\boxed{{}} solution")
        if split == "train" and len(row["problem"]) >= spec.get("max_problem_chars", float("inf")):
            continue
        records.append({"id": row.get("unique_id") or f"math-{split}-{i}",
                        "question": row["problem"], "answer": answer,
                        "level": row.get("level"), "subject": row.get("subject") or row.get("type")})
    return records
