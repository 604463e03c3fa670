"""Synthetic multi-step reasoning task: the embedded default's analogue of GSM8K.

A problem gives a few numbered quantities and a handful of definitions over them
(arithmetic mod `modulus`), then asks for one of the defined quantities. Some
definitions are distractors. A written solution computes the needed definitions in
*any* dependency-respecting order, one step each, and every step opens with a
connective that *is* the decision about what comes next:

    first      the opening step
    then       start a new sub-goal (does not use the result just computed)
    so         continue from the result just computed
    therefore  conclude: compute the asked quantity (then "answer <value>")

Example (modulus 10)::

    prompt:  a = 3 , b = 5 , c = 2 ; p = a + b ; q = c - b ; r = p - q ;
             s = q + a ; t = b - c ; find r :
    answer:  first p = a + b = 3 + 5 = 8 . then q = c - b = 2 - 5 = 7 .
             therefore r = p - q = 8 - 7 = 1 . answer 1

(another valid solution starts with q and continues "then p ..."). Because the
training solutions sample the order, the model is genuinely uncertain at the
connective, as LLaDA is at "Therefore"/"Since" (paper Sec. 3, entropy degradation).

The layout is fixed: the given quantities are always named a, b, c, ... and the
definitions p, q, r, ..., listed in that order; what varies is the values, which
definition uses which, the operations and the asked quantity. A fixed layout makes
every look-up positional, which a tiny model learns in minutes on a CPU; with
shuffled names it must first learn content-based recall, which took it longer than
the whole CPU budget (docs/results.md, "The tiny model, measured").
Everything is word-level: tokens are separated by single spaces.
"""
from __future__ import annotations

import random
import re
from collections import Counter

from . import layout

CONNECTIVES = ("first", "then", "so", "therefore")
OPS = {"+": lambda x, y: x + y, "-": lambda x, y: x - y, "*": lambda x, y: x * y}
ANSWER_WORD = "answer"
KIND = "synthetic"  # graded by exact match of the value after "answer" (`graders.grade`)
NEEDS_HUB = False
# The words of one solution step, `conn var = x op y = X op Y = Z .` (`step_text`), by
# slot; the solution ends with `answer V` (`slot_names`).
STEP_SLOTS = ("conn", "var", "=", "x", "op", "y", "=", "X", "op2", "Y", "=", "Z", ".")
SLOTS = ("conn", "var", "x", "op", "y", "X", "op2", "Y", "Z", "V")
LEAF_NAMES = "abcdefgh"


def fork_words(spec: dict) -> tuple[str, ...]:
    """The task's fork tokens: the connectives that decide the next step."""
    return CONNECTIVES
DEF_NAMES = "pqrstuvwxyz"


def make_problem(rng: random.Random, n_leaves: int, n_defs: int, n_steps: int, modulus: int,
                 ops: tuple[str, ...] = ("+", "-")) -> dict:
    """One problem: leaves with values, definitions (name -> (op, left, right)), target.

    The target is the root of a random binary tree of `n_steps` definitions (its
    sub-trees are independent sub-goals, so solutions have several valid orders);
    the other `n_defs - n_steps` definitions are distractors.
    """
    leaves = list(LEAF_NAMES[:n_leaves])
    def_names = rng.sample(DEF_NAMES[:n_defs], n_defs)  # roles: [0] is the asked one
    values = {leaf: rng.randrange(modulus) for leaf in leaves}
    defs: dict[str, tuple[str, str, str]] = {}
    spare = list(def_names[1:])

    def define(name: str, left: str, right: str) -> None:
        op = rng.choice(sorted(ops))
        defs[name] = (op, left, right)
        values[name] = OPS[op](values[left], values[right]) % modulus

    def build(name: str, size: int) -> None:  # a sub-tree of `size` definitions
        split = rng.randrange(size)  # how many of them go under the left child
        children = []
        for child_size in (split, size - 1 - split):  # two leaves are distinct ("a - a" is always 0)
            child = spare.pop() if child_size else rng.choice([x for x in leaves if x not in children])
            if child_size:
                build(child, child_size)
            children.append(child)
        define(name, *children)

    build(def_names[0], n_steps)
    for name in spare:  # distractors, defined from what is already defined
        define(name, *rng.sample(leaves + list(defs), 2))
    return {"leaves": leaves, "defs": defs, "values": values, "target": def_names[0]}


def needed(problem: dict) -> set[str]:
    """Definitions the target depends on (itself included)."""
    out, stack = set(), [problem["target"]]
    while stack:
        name = stack.pop()
        if name in problem["defs"] and name not in out:
            out.add(name)
            stack.extend(problem["defs"][name][1:])
    return out


def ready(problem: dict, todo: set[str], done: set[str]) -> list[str]:
    """Definitions in `todo` whose defined operands are all in `done`."""
    defs = problem["defs"]
    return sorted(n for n in todo if all(o not in defs or o in done for o in defs[n][1:]))


def valid_orders_count(problem: dict) -> int:
    """Number of distinct dependency-respecting solution orders (for diagnostics)."""
    def count(todo: frozenset, done: frozenset) -> int:
        if not todo:
            return 1
        return sum(count(todo - {n}, done | {n}) for n in ready(problem, set(todo), set(done)))
    return count(frozenset(needed(problem)), frozenset())


def connective(problem: dict, step: int, name: str, previous: str | None) -> str:
    """The connective that opens computing `name` (Sec. 'Example' above)."""
    if name == problem["target"]:
        return "therefore"
    if step == 0:
        return "first"
    return "so" if previous in problem["defs"][name][1:] else "then"


def step_text(problem: dict, name: str) -> str:
    op, left, right = problem["defs"][name]
    v = problem["values"]
    return f"{name} = {left} {op} {right} = {v[left]} {op} {v[right]} = {v[name]} ."


def write_solution(problem: dict, rng: random.Random) -> str:
    """A solution in a uniformly chosen next-ready order at every step."""
    todo, done, previous, words = needed(problem), set(), None, []
    while todo:
        name = rng.choice(ready(problem, todo, done))
        words.append(f"{connective(problem, len(done), name, previous)} {step_text(problem, name)}")
        todo.discard(name)
        done.add(name)
        previous = name
    words.append(f"{ANSWER_WORD} {problem['values'][problem['target']]}")
    return " ".join(words)


def write_prompt(problem: dict) -> str:
    givens = " , ".join(f"{leaf} = {problem['values'][leaf]}" for leaf in problem["leaves"])
    order = sorted(problem["defs"])
    defs = " ".join(f"{n} = {problem['defs'][n][1]} {problem['defs'][n][0]} {problem['defs'][n][2]} ;"
                    for n in order)
    return f"{givens} ; {defs} find {problem['target']} :"


def extract_answer(text: str) -> str | None:
    """The value after the first 'answer' word, or None (the synthetic grader's parser)."""
    m = re.search(rf"\b{ANSWER_WORD}\s+(\S+)", text)
    return m.group(1) if m else None


def generate(n: int, seed: int, n_leaves: int, n_defs: int, steps: tuple[int, int],
             modulus: int, ops: tuple[str, ...] = ("+", "-"), exclude: set[str] | None = None) -> list[dict]:
    """`n` distinct problems (deterministic in `seed`); prompts in `exclude` are skipped.
    Answers are balanced: each value 0..modulus-1 answers at most ceil(n / modulus)
    problems, so no constant guess scores above about 1/modulus (unbalanced, shared
    leaves make "answer 0" right 15-22% of the time, and RL learns to say it).

    Returns records in the normalized task shape: id, question, answer, solution.
    """
    rng = random.Random(seed)
    seen = set(exclude or ())
    records = []
    per_answer, cap = Counter(), -(-n // modulus)
    while len(records) < n:
        problem = make_problem(rng, n_leaves, n_defs, rng.randint(*steps), modulus, ops)
        question = write_prompt(problem)
        answer = problem["values"][problem["target"]]
        if question in seen or per_answer[answer] >= cap:
            continue
        per_answer[answer] += 1
        seen.add(question)
        records.append({
            "id": f"synthetic-{seed}-{len(records)}",
            "question": question,
            "answer": str(problem["values"][problem["target"]]),
            "solution": write_solution(problem, rng),
            "n_steps": len(needed(problem)),
            "n_orders": valid_orders_count(problem),
        })
    return records


def load(split: str, spec: dict) -> list[dict]:
    """Train and test are generated from different seeds; test excludes train prompts."""
    gen = spec["generator"]
    kwargs = dict(n_leaves=gen["n_leaves"], n_defs=gen["n_defs"],
                  steps=tuple(gen["steps"]), modulus=gen["modulus"], ops=tuple(gen["ops"]))
    train = generate(gen["n_train"], seed=gen["seed"], **kwargs)
    if split == "train":
        return train
    return generate(gen["n_test"], seed=gen["seed"] + 1, exclude={r["question"] for r in train}, **kwargs)


def slot_names(solution: str) -> list[str | None]:
    """The slot of every word of a solution (None for `=`, `.` and `answer`)."""
    return layout.slot_names(solution, STEP_SLOTS, SLOTS, ANSWER_WORD, "synthetic")
