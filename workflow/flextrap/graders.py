"""Graders: is a completion right? Training rewards call these, never copies of them.
A task's kind (`tasks.task_kind`) picks its grader:

- synthetic: exact match of the value after "answer".
- forks: the path is followed (`tasks.forks.check_path`): right moves, right sums, the target.
- math (gsm8k, math500): `math-verify` equivalence of the model's final answer (a
  \\boxed{} first, else the last expression) with the reference.
- code (humaneval, mbpp, acecode): the unit tests, under the config's limits
  (`grading.code`). The split harness (`sandbox.run_split`): the model's program runs in
  the sandbox and only answers calls; the tests and their expected values run in another
  process that counts what passes, so nothing the program prints or patches decides its
  score. A problem listed in `JOINED` (with the reason it cannot be split) runs the
  joined way, program and tests in one sandboxed script (`sandbox.run_python`); every
  verdict says which (`harness`).
"""
from __future__ import annotations

import re
import secrets
import textwrap
from dataclasses import asdict, dataclass

from .errors import FlextrapError
from .sandbox import run_python, run_split
from .tasks import task_kind
from .tasks.forks import check_path
from .tasks.synthetic import extract_answer


@dataclass
class Verdict:
    correct: bool
    extracted: str | None     # the answer or code the grader looked at
    pass_rate: float = 0.0    # code: share of unit tests passed (1.0/0.0 for others)
    has_code_block: bool = False
    syntax_ok: bool = False
    isolation: str | None = None  # code: the sandbox level the tests ran at (`sandbox`)
    harness: str | None = None    # code: "split" or "joined" (module docstring)

    def as_dict(self) -> dict:
        return asdict(self)


def grade(task: str, record: dict, completion: str, code_limits: dict | None = None) -> Verdict:
    """`code_limits` (config `grading.code`) is needed for a code task only."""
    kind = task_kind(task)
    if kind == "synthetic":
        got = extract_answer(completion)
        ok = got is not None and got == record["answer"]
        return Verdict(ok, got, float(ok))
    if kind == "forks":
        ok, got = check_path(record, completion)
        return Verdict(ok, got, float(ok))
    if kind == "math":
        return grade_math(record["answer"], completion)
    if code_limits is None:
        raise FlextrapError(f"grading {task} runs code: it needs the limits of config grading.code")
    return grade_code(record, completion, code_limits)


def grade_math(reference: str, completion: str) -> Verdict:
    from math_verify import parse, verify

    gold = parse(f"\\boxed{{{reference}}}")
    if not gold:
        gold = parse(reference)
    pred = parse(completion)
    ok = bool(gold) and bool(pred) and verify(gold, pred)
    extracted = str(pred[-1]) if pred else None
    return Verdict(ok, extracted, float(ok))


_BLOCK = re.compile(r"```(?:python|py|Python)?[ \t]*\n(.*?)(?:```|$)", re.S)


def extract_code(completion: str, record: dict) -> tuple[str, bool]:
    """(program text, found a code block): the last fenced block if any, completed
    with the prompt's stub when the block does not define the tested function."""
    blocks = _BLOCK.findall(completion)
    code = blocks[-1] if blocks else completion
    if not re.search(rf"^\s*def\s+{re.escape(record['entry_point'])}\s*\(", code, re.M):
        code = record["stub"] + code  # the completion continues the stub's body
    else:
        imports = "".join(l + "\n" for l in record["stub"].splitlines() if l.startswith(("import ", "from ")))
        code = imports + code
    return code, bool(blocks)


def test_program(code: str, tests: list[str], setup: str, nonce: str) -> str:
    """`code`, then the setup code (after it, as MBPP's own evaluation runs it: the
    setup may use what the solution defines), then each test in its own try block,
    then one line with the pass count."""
    parts = [code, "", setup or "", "_flextrap_passed = 0"]
    for t in tests:
        parts += ["try:", textwrap.indent(t, "    "), "    _flextrap_passed += 1",
                  "except BaseException:", "    pass"]
    parts.append(f"print('\\n{nonce}', _flextrap_passed, {len(tests)}, flush=True)")
    return "\n".join(parts) + "\n"


JOINED = {  # problem id -> why its tests cannot run apart from the program (graded joined)
    "mbpp-367": "its tests pass trees of a class (Node) that the setup code defines: objects, not data",
}


def prelude(stub: str) -> str:
    """The prompt's code as the tests' side runs it (HumanEval's helpers), or "" when the
    stub is a bare signature (MBPP's)."""
    try:
        compile(stub, "<prompt>", "exec")
    except (SyntaxError, ValueError):
        return ""
    return stub


def grade_code(record: dict, completion: str, limits: dict, harness: str | None = None) -> Verdict:
    """`harness`: "split" or "joined"; None: split unless the problem is in `JOINED`."""
    code, has_block = extract_code(completion, record)
    try:
        compile(code, "<completion>", "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # deep nesting: not a program to run
        return Verdict(False, code, 0.0, has_block, False)
    run_limits = {"timeout": limits["timeout_s"], "memory_mb": limits["memory_mb"],
                  "max_output_bytes": limits["max_output_bytes"], "isolation": limits["isolation"]}
    harness = harness or ("joined" if record.get("id") in JOINED else "split")
    if harness == "joined":
        passed, total, isolation = joined_run(code, record, run_limits)
    else:
        spec = {"entry_point": record["entry_point"], "prelude": prelude(record["stub"]),
                "setup": record.get("setup", ""), "tests": record["tests"]}
        result = run_split(code, spec, **run_limits)
        passed, total, isolation = result.passed, result.total, result.isolation
    rate = passed / total if total else 0.0
    return Verdict(rate == 1.0, code, rate, has_block, True, isolation, harness)


def joined_run(code: str, record: dict, run_limits: dict) -> tuple[int, int, str]:
    """(passed, total, isolation) of the program and its tests as one script, the pass
    count read from a line keyed by a fresh nonce."""
    nonce = secrets.token_hex(8)
    result = run_python(test_program(code, record["tests"], record.get("setup", ""), nonce), **run_limits)
    m = re.search(rf"^{nonce} (\d+) (\d+)$", result.output, re.M)
    total = len(record["tests"])
    if not result.ok or not m:
        return 0, total, result.isolation
    return min(int(m.group(1)), total), total, result.isolation


def reward(task: str, verdict: Verdict) -> float:
    """JustGRPO's training reward (paper Sec. 4): 1/0 correctness for math and the
    generated tasks; for code, a format reward (1 for a valid python block, 0.5 for a
    block with a syntax error, 0 for none) plus the unit-test pass rate."""
    if task_kind(task) == "code":
        fmt = 0.0 if not verdict.has_code_block else (1.0 if verdict.syntax_ok else 0.5)
        return fmt + verdict.pass_rate
    return float(verdict.correct)
