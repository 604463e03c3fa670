"""Prompt templates: protocol data (published dLLM numbers move when these change).

A template turns a task record into the user message; `prefix` is text appended after
the chat template's generation prompt, to start the answer (d1 starts it with
"<reasoning>"). Texts follow the paper's protocol (its prompts and reference code):
- `d1_math`: the Pass@k analysis template (d1's eval/gsm8k.py, same for MATH-500).
- `justgrpo_gsm8k`, `justgrpo_math`, `justgrpo_code`: JustGRPO training and Table 1.
- `justgrpo_acecode`: JustGRPO's code training prompts (AceCode-Hard).
- `plain`: the bare question (the synthetic task; its tiny model has no chat template).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .errors import FlextrapError

D1_MATH_INSTRUCTION = (
    "You are a math expert. You will be given a question to solve. Solve it step by step. "
    "Wrap the final answer in a \\boxed{}.\n"
    "Respond in the following format:\n"
    "<reasoning>\nYour reasoning here\n</reasoning>\n<answer>\n\\boxed{...}\n</answer>"
)
JUSTGRPO_MATH_SUFFIX = r"(Please put the final answer in \boxed{} tag, i.e. $\boxed{answer here}$)"
CODE_INTRO = ("You are an expert Python programmer. Your task is to complete the "
              "implementation of a function named `{name}`.")


def _code_message(record: dict) -> str:
    intro = CODE_INTRO.format(name=record["entry_point"])
    if record.get("text"):  # MBPP: the task text and its unit tests come with the stub
        tests = "\n".join("    " + t for t in record["tests"])
        return (f"{intro}\n\n** TARGET FUNCTION **\n{record['text']}\n\n** UNIT TESTS **\n"
                f"Your code should pass unit tests like:\n{tests}\n\n"
                f"Here is the function to complete:\n```python\n{record['stub']}\n```\n")
    return f"{intro}\n\n```python\n{record['stub']}\n```\n"


def _acecode_message(record: dict) -> str:
    """JustGRPO's code training prompt: the question, and its first test unless the
    question already shows code."""
    if "\n```\n" in record["question"] or not record["tests"]:
        return record["question"]
    return f"{record['question']}\nTest cases: {record['tests'][0]}"


@dataclass(frozen=True)
class Template:
    user: Callable[[dict], str]
    prefix: str = ""


TEMPLATES = {
    "plain": Template(lambda r: r["question"]),
    "d1_math": Template(lambda r: f"{D1_MATH_INSTRUCTION}\n\n{r['question']}", "<reasoning>"),
    "justgrpo_gsm8k": Template(lambda r: r["question"]),
    "justgrpo_math": Template(lambda r: r["question"] + JUSTGRPO_MATH_SUFFIX),
    "justgrpo_code": Template(_code_message),
    "justgrpo_acecode": Template(_acecode_message),
}


def get_template(name: str) -> Template:
    if name not in TEMPLATES:
        raise FlextrapError(f"unknown prompt template {name!r}; known: {', '.join(TEMPLATES)}")
    return TEMPLATES[name]


def user_message(record: dict, template: str) -> str:
    return get_template(template).user(record)


def model_input_text(tokenizer, message: str, template: str) -> str:
    """The exact text the model sees: chat template (if the tokenizer has one) + prefix."""
    prefix = get_template(template).prefix
    if getattr(tokenizer, "chat_template", None):
        chat = tokenizer.apply_chat_template([{"role": "user", "content": message}],
                                             add_generation_prompt=True, tokenize=False)
        return chat + prefix
    return message + prefix
