"""MBPP (Austin et al., 2021): the 500 test problems (task ids 11-510) of the 'full' set."""
from __future__ import annotations

import re

from ..errors import FlextrapError
from .hub import load_rows, source_for

KIND = "code"  # graded by `graders.grade_code`
NEEDS_HUB = True  # read through `datasets`: needs `sources` per split


def signature(code: str, entry_point: str) -> str:
    """The reference solution's `def` line of the tested function (the prompt's stub)."""
    m = re.search(rf"^def\s+{re.escape(entry_point)}\s*\(.*?\)\s*(->[^:]*)?:", code, re.M | re.S)
    return m.group(0) if m else f"def {entry_point}(*args):"


def tested_function(code: str, tests: list[str]) -> str | None:
    """The reference code's function that the tests call (MBPP has no entry_point field)."""
    names = re.findall(r"^def\s+([A-Za-z_]\w*)", code, re.M)
    called = [n for n in names if re.search(rf"\b{n}\s*\(", "\n".join(tests))]
    return called[0] if called else None


def load(split: str, spec: dict) -> list[dict]:
    records = []
    for row in load_rows(source_for(spec, split)):
        code = row["code"].replace("\r\n", "\n").replace("\t", "    ")
        name = tested_function(code, row["test_list"])
        if name is None:
            raise FlextrapError(f"MBPP task {row['task_id']}: no function of the reference "
                                f"code is called by its tests")
        records.append({"id": f"mbpp-{row['task_id']}", "question": row["text"], "text": row["text"],
                        "entry_point": name, "stub": signature(code, name), "solution": code,
                        "setup": row.get("test_setup_code", ""), "tests": list(row["test_list"])})
    return records
