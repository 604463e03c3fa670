"""The fixed layout of a generated task's solution: steps of one word pattern each,
then `<final word> <value>` (the synthetic and forks tasks)."""
from __future__ import annotations

from ..errors import FlextrapError


def slot_names(solution: str, step_slots: tuple, slots: tuple, final_word: str, task: str) -> list[str | None]:
    """The slot of every word of `solution`: `step_slots` over each step, then None for
    `final_word` and `V` for the value after it; a word whose slot is not one of `slots`
    (the template's `=`, `.`, ...) gets None."""
    words = solution.split()
    n_steps, rest = divmod(len(words) - 2, len(step_slots))
    if rest or words[-2] != final_word:
        raise FlextrapError(f"not a {task}-task solution: {solution[:60]!r}")
    names = [step_slots[j % len(step_slots)] for j in range(n_steps * len(step_slots))] + [None, "V"]
    return [n if n in slots else None for n in names]
