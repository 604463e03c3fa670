"""AceCode-Hard: JustGRPO's code training set (train split only), a local JSONL.

The hard subset of TIGER-Lab/AceCode-87K that Apple's ml-diffucoder selects (the
problems two reference models solve least often and least consistently), built with
that repository's `recipes/process_data.py --difficulty hard`; it is not on the hub
under a stable name. Rows: `id`, `question`, `test_cases` (assert statements).
"""
from __future__ import annotations

import builtins
import keyword
import re
from pathlib import Path

from ..errors import FlextrapError
from .hub import load_rows, source_for

HOW_TO_GET = ("build it with ml-diffucoder's recipes/process_data.py "
              "(--dataset_path TIGER-Lab/AceCode-87K --difficulty hard; github.com/apple/ml-diffucoder) "
              "and set tasks.acecode.sources.train.data_files to its path")

KIND = "code"  # graded by `graders.grade_code`
NEEDS_HUB = True  # read through `datasets`: needs `sources` per split


def called_function(tests: list[str]) -> str | None:
    """The first function the asserts call that is not a builtin (AceCode rows name no
    entry point; `assert abs(area(2) - 12.57) < 0.01` tests `area`)."""
    for test in tests:
        for name in re.findall(r"([A-Za-z_]\w*)\s*\(", test.split("assert", 1)[-1]):
            if not hasattr(builtins, name) and not keyword.iskeyword(name):
                return name
    return None


def load(split: str, spec: dict) -> list[dict]:
    if split != "train":
        raise FlextrapError("AceCode-Hard has only a 'train' split (JustGRPO's code training data)")
    source = source_for(spec, split)
    if "data_files" not in source or not Path(source["data_files"]).exists():
        raise FlextrapError(f"AceCode-Hard data not found at {source.get('data_files')!r}: {HOW_TO_GET}")
    records = []
    for i, row in enumerate(load_rows(source)):
        tests = list(row["test_cases"])
        name = called_function(tests)
        if name is None:  # nothing to grade against
            continue
        records.append({"id": f"acecode-{row.get('id', i)}-{i}", "question": row["question"],
                        "entry_point": name, "stub": "", "tests": tests})
    if not records:
        raise FlextrapError(f"{source['data_files']}: no row with assert test cases")
    return records
