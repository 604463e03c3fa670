"""The task registry: one module per task, each owning its loading (`load(split, spec)`),
its kind (`KIND`: how `graders.grade` grades it and `graders.reward` rewards it) and
whether it is read through `datasets` (`NEEDS_HUB`: the config must give `sources`).
The config schema's task names are checked against `TASKS` by a test.

A record has `id`, `question` (the problem as given), `answer` (reference answer,
for math and the generated tasks) or `tests` (unit tests, for code), and task extras
(`entry_point`, `stub`, `text` and the reference `solution` for code; `solution`
for the generated tasks' training, and what the forks grader follows). `prepare(task, split, spec)` adds `prompts`: the user message
under each template the config lists for the task (`prompts.user_message`).
"""
from __future__ import annotations

from types import ModuleType

from ..errors import FlextrapError
from ..prompts import user_message
from . import acecode, forks, gsm8k, humaneval, math500, mbpp, synthetic

TASKS: dict[str, ModuleType] = {m.__name__.rsplit(".", 1)[1]: m
                                for m in (synthetic, forks, gsm8k, math500, humaneval, mbpp, acecode)}


def task_module(task: str) -> ModuleType:
    if task not in TASKS:
        raise FlextrapError(f"unknown task {task!r}; known: {', '.join(TASKS)}")
    return TASKS[task]


def task_kind(task: str) -> str:
    """synthetic, forks, math or code."""
    return task_module(task).KIND


def fork_words(task: str, spec: dict, default: list[str]) -> list[str]:
    """The words at which a solution of `task` (configured as `spec`) decides what comes
    next, as its own generator names them (`fork_words(spec)`: the synthetic task's
    connectives, the forks task's moves); `default` (config `entropy.connectives`, the
    paper's English connectives) for a task without a generator."""
    module = task_module(task)
    return list(module.fork_words(spec)) if hasattr(module, "fork_words") else list(default)


def slot_layout(task: str):
    """(SLOTS, slot_names) of a generated task: its solutions' slots, in order, and the
    slot of every word of a solution (what the slot probe scores); None for the others."""
    module = task_module(task)
    return (module.SLOTS, module.slot_names) if hasattr(module, "slot_names") else None


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
