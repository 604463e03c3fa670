"""Graders: math-verify on tricky equivalents; the code grader under its limits."""
import time

import pytest
from conftest import CODE_LIMITS, RUN_LIMITS
from flextrap.graders import grade, grade_code
from flextrap.sandbox import run_python

LIMITS = {"timeout_s": 3.0, "memory_mb": 512, "max_output_bytes": 1 << 16, "isolation": "auto"}


@pytest.mark.parametrize("reference, completion", [
    ("72", "<reasoning>48/2=24, 48+24=72</reasoning><answer>\\boxed{72}</answer>"),
    ("72", "So she sold 72 clips."),
    ("2500", "\\boxed{2,500}"),
    ("\\frac{1}{2}", "\\boxed{0.5}"),
    ("0.5", "The answer is $\\boxed{\\frac{1}{2}}$"),
    ("3\\sqrt{2}", "$\\boxed{\\sqrt{18}}$"),
    ("\\left( 3, \\frac{\\pi}{2} \\right)", "\\boxed{(3, \\pi/2)}"),
    ("x^2+2x+1", "\\boxed{(x+1)^2}"),
    ("\\text{(C)}", "\\boxed{C}"),
    ("10\\%", "\\boxed{10}"),
])
def test_math_equivalent_answers_are_correct(reference, completion):
    assert grade("gsm8k", {"answer": reference}, completion).correct


@pytest.mark.parametrize("reference, completion", [
    ("72", "\\boxed{73}"),
    ("\\frac{1}{2}", "\\boxed{\\frac{1}{3}}"),
    ("(1,2)", "\\boxed{(2,1)}"),
    ("72", "I don't know."),
])
def test_math_wrong_answers_are_wrong(reference, completion):
    assert not grade("math500", {"answer": reference}, completion).correct


def test_synthetic_exact_match():
    record = {"answer": "4"}
    assert grade("synthetic", record, "first p = a + b = 1 + 3 = 4 . answer 4").correct
    assert not grade("synthetic", record, "first p = a + b = 1 + 3 = 4 . answer 40").correct
    assert not grade("synthetic", record, "first p = a + b = 1 + 3 = 4 .").correct


RECORD = {"entry_point": "add", "stub": "def add(a, b):\n    \"\"\"Add.\"\"\"\n",
          "tests": ["assert add(1, 2) == 3", "assert add(-1, 1) == 0"]}


def code(body):
    return f"```python\ndef add(a, b):\n{body}\n```"


def test_code_passing_and_partial():
    v = grade("humaneval", RECORD, code("    return a + b"), CODE_LIMITS)
    assert v.correct and v.pass_rate == 1.0 and v.has_code_block
    v = grade("mbpp", RECORD, code("    return 3"), CODE_LIMITS)
    assert not v.correct and v.pass_rate == 0.5


def test_code_body_continuation_of_the_stub():
    assert grade("humaneval", RECORD, "    return a + b\n", CODE_LIMITS).correct


def test_code_syntax_error_scores_zero():
    v = grade("mbpp", RECORD, code("    return a +"), CODE_LIMITS)
    assert not v.correct and not v.syntax_ok and v.pass_rate == 0


def test_exit_before_tests_does_not_pass():
    v = grade("mbpp", RECORD, code("    return a + b\nimport sys\nsys.exit(0)"), CODE_LIMITS)
    assert not v.correct and v.pass_rate == 0


@pytest.mark.parametrize("name, body, max_seconds", [
    ("crashing", "    import os\n    os.abort()", 3),
    ("infinite loop", "    while True:\n        pass", 6),
    ("huge output", "    while True:\n        print('x' * 10000)", 6),
    ("memory hungry", "    x = bytearray(8 * 1024 ** 3)\n    return a + b", 6),
    ("memory growing", "    x = []\n    while True:\n        x.append(' ' * 10 ** 7)", 6),
    ("raising", "    raise ValueError('no')", 3),
])
def test_bad_programs_end_within_limits_and_score_zero(name, body, max_seconds):
    start = time.monotonic()
    v = grade_code(RECORD, code(body), LIMITS)
    assert time.monotonic() - start < max_seconds, name
    assert not v.correct and v.pass_rate == 0, name


def test_no_inherited_secrets(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "secret-token")
    result = run_python("import os; print(sorted(os.environ)); print(os.getcwd())", **RUN_LIMITS)
    assert "HF_TOKEN" not in result.output and "secret-token" not in result.output
    assert "flextrap-run-" in result.output
