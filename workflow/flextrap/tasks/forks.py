"""The `forks` task: a synthetic task whose forks decide success (docs/forks.md).

A problem gives a few moves, each adding a constant (mod `modulus`), a start value and
a target to reach in exactly `steps` moves. A solution writes one move per step, and
the move letter that opens the step is the fork: every move is legal at every step,
so a wrong choice looks exactly like a right one until its arithmetic is followed to
the end::

    prompt:  A = 3 , B = 7 , C = 5 ; start 4 ; reach 9 in 3 :
    answer:  C 4 + 5 = 9 . A 9 + 3 = 2 . B 2 + 7 = 9 . end 9

A path is right when its constants sum to target - start (mod `modulus`); since the
order of the moves does not change the sum, every right multiset of moves gives up to
`steps`! right paths. The generator keeps problems with a few right multisets
(`right_multisets`: min, max) and at least one move that cannot open a right path, and
balances the targets; training solutions are drawn uniformly from all right paths, so
the model's uncertainty at a fork is the data's.

Grading follows the path, not a final word (`check_path`): the moves must be the
prompt's, every step's arithmetic right, exactly `steps` steps from the start, and the
`end` value the target. The layout is fixed (moves, start and target at fixed prompt
positions), as in the `synthetic` task. Everything is word-level.

How a path is written is the generator's `step_style` (`STEP_STYLES`): `letters` names
the moves A, B, C in the prompt (`A = 3`) and in every step (`A 4 + 3 = 7 .`), so a step
needs the letter's constant looked up; `constants` writes each move as the constant it
adds (`+3`: prompt `moves +3 , +7 , +5 ; ...`, step `+3 4 = 7 .`), so the fork token
itself carries the constant; `totals` writes a step as the move and the value it reaches
(`+3 = 7 .`), so the value before it is not copied into the step.
"""
from __future__ import annotations

import itertools
import random
from collections import Counter
from dataclasses import dataclass
from typing import Callable

from ..errors import FlextrapError
from . import layout

KIND = "forks"  # graded by following the path (`check_path`)
NEEDS_HUB = False
MOVE_NAMES = "ABCDEFGH"
END_WORD = "end"
SLOTS = ("move", "x", "k", "y", "V")


@dataclass(frozen=True)
class StepStyle:
    """One way to write a path: the slots of a step's words (the solution ends with
    `end V`), the text of a step, the prompt's list of moves, and the moves' words."""
    step_slots: tuple[str, ...]
    step: Callable[[str, int, int, int], str]      # (move word, x, constant, y) -> words
    offer: Callable[[list[str], list[int]], str]   # (move words, constants) -> prompt start
    names: Callable[[list[int]], list[str]]        # a problem's constants -> its move words
    every_name: Callable[[int, int], list[str]]    # (moves, modulus) -> every word a move can have


def _letters(constants: list[int]) -> list[str]:
    return list(MOVE_NAMES[:len(constants)])


def _signed(constants: list[int]) -> list[str]:
    return [f"+{k}" for k in constants]


def _every_letter(moves: int, modulus: int) -> list[str]:
    return list(MOVE_NAMES[:moves])


def _every_signed(moves: int, modulus: int) -> list[str]:
    return _signed(list(range(1, modulus)))


def _offer_signed(names: list[str], constants: list[int]) -> str:
    return "moves " + " , ".join(names)


STEP_STYLES = {
    "letters": StepStyle(("move", "x", "+", "k", "=", "y", "."), lambda m, x, k, y: f"{m} {x} + {k} = {y} .",
                         lambda names, ks: " , ".join(f"{n} = {k}" for n, k in zip(names, ks)),
                         _letters, _every_letter),
    "constants": StepStyle(("move", "x", "=", "y", "."), lambda m, x, k, y: f"{m} {x} = {y} .",
                           _offer_signed, _signed, _every_signed),
    "totals": StepStyle(("move", "=", "y", "."), lambda m, x, k, y: f"{m} = {y} .",
                        _offer_signed, _signed, _every_signed),
}


def fork_words(spec: dict) -> tuple[str, ...]:
    """The fork tokens of the task as configured: every word that can name a move."""
    g = spec["generator"]
    return tuple(STEP_STYLES[g["step_style"]].every_name(g["moves"], g["modulus"]))


def right_multisets(constants: list[int], start: int, target: int, steps: int, modulus: int) -> list[tuple]:
    """The multisets of moves (sorted index tuples) whose constants take start to target."""
    return [c for c in itertools.combinations_with_replacement(range(len(constants)), steps)
            if (start + sum(constants[i] for i in c)) % modulus == target]


def right_paths(multisets: list[tuple]) -> list[tuple]:
    """Every ordering of every right multiset (sorted, without repeats)."""
    return sorted({p for m in multisets for p in itertools.permutations(m)})


def path_text(style: str, names: list[str], constants: list[int], start: int, path: tuple, modulus: int) -> str:
    """One step per move of `path` (`STEP_STYLES`), then `end <value>`."""
    words, value, step = [], start, STEP_STYLES[style].step
    for i in path:
        after = (value + constants[i]) % modulus
        words.append(step(names[i], value, constants[i], after))
        value = after
    return " ".join(words + [f"{END_WORD} {value}"])


def write_prompt(style: str, names: list[str], constants: list[int], start: int, target: int, steps: int) -> str:
    moves = STEP_STYLES[style].offer(names, constants)
    return f"{moves} ; start {start} ; reach {target} in {steps} :"


def targets_with_forks(constants: list[int], start: int, steps: int, modulus: int,
                       allowed: tuple[int, int]) -> dict[int, list[tuple]]:
    """Target -> its right multisets, for the targets with `allowed` (min, max) right
    multisets and at least one move that opens no right path."""
    out = {}
    for target in range(modulus):
        multisets = right_multisets(constants, start, target, steps, modulus)
        opening = {i for m in multisets for i in m}
        if allowed[0] <= len(multisets) <= allowed[1] and len(opening) < len(constants):
            out[target] = multisets
    return out


def generate(n: int, seed: int, moves: int, steps: int, modulus: int, right_multisets: tuple[int, int],
             step_style: str, exclude: set[str] | None = None) -> list[dict]:
    """`n` distinct problems (deterministic in `seed`), targets balanced over 0..modulus-1
    (each at most ceil(n / modulus) times); prompts in `exclude` are skipped."""
    if not 1 <= moves <= len(MOVE_NAMES) or moves >= modulus:
        raise FlextrapError(f"tasks.forks.generator.moves: between 1 and {min(len(MOVE_NAMES), modulus - 1)}")
    rng = random.Random(seed)
    seen, per_target, cap, records = set(exclude or ()), Counter(), -(-n // modulus), []
    while len(records) < n:
        constants, start = rng.sample(range(1, modulus), moves), rng.randrange(modulus)
        choices = {t: m for t, m in targets_with_forks(constants, start, steps, modulus, right_multisets).items()
                   if per_target[t] < cap}
        if not choices:
            continue
        target = rng.choice(sorted(choices))
        names = STEP_STYLES[step_style].names(constants)
        question = write_prompt(step_style, names, constants, start, target, steps)
        if question in seen:
            continue
        seen.add(question)
        per_target[target] += 1
        paths = right_paths(choices[target])
        records.append({
            "id": f"forks-{seed}-{len(records)}", "question": question, "answer": str(target),
            "solution": path_text(step_style, names, constants, start, rng.choice(paths), modulus),
            "moves": dict(zip(names, constants)), "start": start, "steps": steps, "modulus": modulus,
            "step_style": step_style,
            "n_right_paths": len(paths), "n_right_multisets": len(choices[target]),
        })
    return records


def load(split: str, spec: dict) -> list[dict]:
    """Train and test are generated from different seeds; test excludes train prompts."""
    g = spec["generator"]
    kwargs = dict(moves=g["moves"], steps=g["steps"], modulus=g["modulus"],
                  right_multisets=tuple(g["right_multisets"]), step_style=g["step_style"])
    train = generate(g["n_train"], seed=g["seed"], **kwargs)
    if split == "train":
        return train
    return generate(g["n_test"], seed=g["seed"] + 1, exclude={r["question"] for r in train}, **kwargs)


def check_path(record: dict, text: str) -> tuple[bool, str | None]:
    """(right, the value after `end` or None): is `text` exactly a right path of the
    problem (the prompt's moves, every sum right mod `modulus`, `steps` steps from the
    start, ending at the target)? Nothing but the path counts: any other word fails it."""
    words, moves = text.split(), record["moves"]
    style = STEP_STYLES[record["step_style"]]
    end = words[-1] if len(words) >= 2 and words[-2] == END_WORD else None
    width = len(style.step_slots)
    if len(words) != width * record["steps"] + 2 or end is None:
        return False, end
    value = record["start"]
    for step in range(record["steps"]):
        written = words[step * width:(step + 1) * width]
        if written[0] not in moves:
            return False, end
        after = (value + moves[written[0]]) % record["modulus"]
        if written != style.step(written[0], value, moves[written[0]], after).split():
            return False, end
        value = after
    return end == str(value) == record["answer"], end


def slot_names(solution: str) -> list[str | None]:
    """The slot of every word of a solution (None for `+`, `=`, `.` and `end`); the step
    style is the one whose steps are as long as the first step (up to its `.`)."""
    words = solution.split()
    width = words.index(".") + 1 if "." in words else 0
    styles = [st for st in STEP_STYLES.values() if len(st.step_slots) == width]
    if not styles:
        raise FlextrapError(f"not a forks-task solution: {solution[:60]!r}")
    return layout.slot_names(solution, styles[0].step_slots, SLOTS, END_WORD, "forks")
