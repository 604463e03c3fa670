"""Tasks: one small module each, all producing records of one normalized shape.

A record has `id`, `question` (the problem as given), `answer` (reference answer,
for math and synthetic) or `tests` (unit tests, for code), and task extras
(`entry_point`, `stub`, `text` and the reference `solution` for code; `solution`
for synthetic training).
`prepare(task, split, spec)` adds `prompts`: the user message under each template
the config lists for the task.
"""
from __future__ import annotations

from importlib import import_module

from ..errors import FlextrapError
from ..prompts import user_message

TASKS = ("synthetic", "gsm8k", "math500", "humaneval", "mbpp", "acecode")


def load(task: str, split: str, spec: dict) -> list[dict]:
    """Raw normalized records of `task`/`split` (no prompts yet)."""
    if task not in TASKS:
        raise FlextrapError(f"unknown task {task!r}; known: {', '.join(TASKS)}")
    return import_module(f".{task}_task", __name__).load(split, spec)


def prepare(task: str, split: str, spec: dict) -> list[dict]:
    """Records with `task`, `split` and one prompt per configured template."""
    records = load(task, split, spec)
    for record in records:
        record["task"], record["split"] = task, split
        record["prompts"] = {t: user_message(record, t) for t in spec["templates"]}
    return records
