"""The task registry: one module per task, each owning its loading (`load(split, spec)`),
its kind (`KIND`: how `graders.grade` grades it and `graders.reward` rewards it) and
whether it is read through `datasets` (`NEEDS_HUB`: the config must give `sources`).
The config schema's task names are checked against `TASKS` by a test.

A record has `id`, `question` (the problem as given), `answer` (reference answer,
for math and synthetic) or `tests` (unit tests, for code), and task extras
(`entry_point`, `stub`, `text` and the reference `solution` for code; `solution`
for synthetic training). `prepare(task, split, spec)` adds `prompts`: the user message
under each template the config lists for the task (`prompts.user_message`).
"""
from __future__ import annotations

from types import ModuleType

from ..errors import FlextrapError
from ..prompts import user_message
from . import acecode, gsm8k, humaneval, math500, mbpp, synthetic

TASKS: dict[str, ModuleType] = {m.__name__.rsplit(".", 1)[1]: m
                                for m in (synthetic, gsm8k, math500, humaneval, mbpp, acecode)}


def task_module(task: str) -> ModuleType:
    if task not in TASKS:
        raise FlextrapError(f"unknown task {task!r}; known: {', '.join(TASKS)}")
    return TASKS[task]


def task_kind(task: str) -> str:
    """synthetic, math or code."""
    return task_module(task).KIND


def needs_hub(task: str) -> bool:
    return task_module(task).NEEDS_HUB


def load(task: str, split: str, spec: dict) -> list[dict]:
    """Raw normalized records of `task`/`split` (no prompts yet)."""
    return task_module(task).load(split, spec)


def prepare(task: str, split: str, spec: dict) -> list[dict]:
    """Records with `task`, `split` and one prompt per configured template."""
    records = load(task, split, spec)
    for record in records:
        record["task"], record["split"] = task, split
        record["prompts"] = {t: user_message(record, t) for t in spec["templates"]}
    return records
