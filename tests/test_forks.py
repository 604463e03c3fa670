"""The forks task (flextrap.tasks.forks): its generator keeps problems whose forks decide
success, every training solution is a right path, and the grader follows the path
(checked against brute force over every path of a problem)."""
import collections
import itertools

import pytest
import yaml
from conftest import ROOT

from flextrap.config import check_config, with_default
from flextrap.graders import grade
from flextrap.merge import deep_merge
from flextrap.plan import Plan
from flextrap.tasks import fork_words, forks, prepare, slot_layout

FORKS = {"templates": ["plain"], "generator": {"seed": 3, "n_train": 400, "n_test": 60, "moves": 3, "steps": 3,
                                               "modulus": 10, "right_multisets": [1, 2],
                                               "step_style": "letters"}}
CONSTANTS = {**FORKS, "generator": {**FORKS["generator"], "step_style": "constants"}}
TOTALS = {**FORKS, "generator": {**FORKS["generator"], "step_style": "totals"}}


def every_path(record) -> list[str]:
    names = list(record["moves"])
    constants = [record["moves"][n] for n in names]
    return [forks.path_text(record["step_style"], names, constants, record["start"], p, record["modulus"])
            for p in itertools.product(range(len(names)), repeat=record["steps"])]


@pytest.mark.parametrize("spec", [FORKS, CONSTANTS, TOTALS], ids=["letters", "constants", "totals"])
def test_problems_have_forks_that_decide_success_and_balanced_targets(spec):
    train, test = prepare("forks", "train", spec), prepare("forks", "test", spec)
    assert train == prepare("forks", "train", spec) and len(train) == 400 and len(test) == 60
    assert not {r["question"] for r in train} & {r["question"] for r in test}
    for r in train + test:
        paths = every_path(r)
        right = [p for p in paths if forks.check_path(r, p)[0]]
        assert len(right) == r["n_right_paths"] and 1 <= r["n_right_multisets"] <= 2
        openings = {p.split()[0] for p in right}
        assert openings < set(r["moves"])  # some first move cannot succeed
        assert forks.check_path(r, r["solution"]) == (True, r["answer"])
        assert r["question"] == forks.write_prompt(r["step_style"], list(r["moves"]), list(r["moves"].values()),
                                                   r["start"], int(r["answer"]), 3)
    assert max(collections.Counter(r["answer"] for r in train).values()) == 40  # ceil(400 / 10) per target


def test_training_solutions_spread_over_the_right_paths():
    records = forks.generate(3000, seed=9, moves=3, steps=3, modulus=10, right_multisets=(1, 2), step_style="letters")
    seen = collections.Counter()
    for r in records:
        if r["n_right_paths"] == 3:  # one multiset {a, a, b}: three orders, each a third of the time
            first_is_single = r["solution"].split()[0] != r["solution"].split()[7]
            seen[first_is_single] += 1
    share = seen[True] / sum(seen.values())  # orders b-a-a, a-b-a, a-a-b: the first move differs from the second in 2 of 3
    assert 0.6 < share < 0.73


LETTERS, SIGNED = {"A": 3, "B": 7, "C": 5}, {"+3": 3, "+7": 7, "+5": 5}


@pytest.mark.parametrize("style, text, why", [
    ("letters", "C 4 + 5 = 9 . A 9 + 3 = 2 . B 2 + 7 = 9 . end 9", None),
    ("letters", "A 4 + 3 = 7 . C 7 + 5 = 2 . C 2 + 5 = 7 . end 7", "a wrong path"),
    ("letters", "A 4 + 3 = 7 . C 7 + 5 = 2 . C 2 + 5 = 7 . end 9", "the target written after a wrong path"),
    ("letters", "C 4 + 5 = 9 . A 9 + 3 = 2 . B 2 + 7 = 9 . end 9 end 9", "extra words"),
    ("letters", "C 4 + 5 = 9 . A 9 + 3 = 2 . end 2", "too few steps"),
    ("letters", "C 4 + 5 = 9 . A 9 + 3 = 1 . B 1 + 7 = 8 . end 9", "wrong arithmetic"),
    ("letters", "C 4 + 5 = 9 . A 9 + 3 = 2 . D 2 + 7 = 9 . end 9", "a move the prompt does not offer"),
    ("letters", "C 4 + 5 = 9 . A 9 + 4 = 3 . B 3 + 6 = 9 . end 9", "a move with another constant"),
    ("letters", "C 5 + 5 = 0 . A 0 + 3 = 3 . B 3 + 6 = 9 . end 9", "another start"),
    ("letters", "end 9", "no path"),
    ("letters", "", "nothing"),
    ("constants", "+5 4 = 9 . +3 9 = 2 . +7 2 = 9 . end 9", None),
    ("constants", "+3 4 = 7 . +5 7 = 2 . +5 2 = 7 . end 7", "a wrong path"),
    ("constants", "+3 4 = 7 . +5 7 = 2 . +5 2 = 7 . end 9", "the target written after a wrong path"),
    ("constants", "+5 4 = 9 . +3 9 = 2 . +7 2 = 1 . end 9", "wrong arithmetic"),
    ("constants", "+5 4 = 9 . +4 9 = 3 . +6 3 = 9 . end 9", "moves the prompt does not offer"),
    ("constants", "+5 4 + 5 = 9 . +3 9 + 3 = 2 . +7 2 + 7 = 9 . end 9", "the letters style's steps"),
    ("constants", "+5 4 = 9 . +3 9 = 2 . end 2", "too few steps"),
    ("constants", "5 4 = 9 . 3 9 = 2 . 7 2 = 9 . end 9", "constants without the move's sign"),
    ("totals", "+5 = 9 . +3 = 2 . +7 = 9 . end 9", None),
    ("totals", "+3 = 7 . +5 = 2 . +5 = 7 . end 7", "a wrong path"),
    ("totals", "+5 = 9 . +3 = 2 . +7 = 1 . end 9", "wrong arithmetic"),
    ("totals", "+5 4 = 9 . +3 9 = 2 . +7 2 = 9 . end 9", "the constants style's steps"),
    ("totals", "+5 = 9 . +4 = 3 . +6 = 9 . end 9", "moves the prompt does not offer"),
])
def test_the_grader_follows_the_path(style, text, why):
    record = {"moves": LETTERS if style == "letters" else SIGNED, "start": 4, "steps": 3, "modulus": 10,
              "answer": "9", "step_style": style}
    verdict = grade("forks", record, text)
    assert verdict.correct is (why is None), why
    assert verdict.pass_rate == float(why is None)


def test_every_step_style_writes_the_same_problems():
    def made(style):
        return forks.generate(300, seed=5, moves=3, steps=3, modulus=10, right_multisets=(1, 2), step_style=style)

    letters = made("letters")
    for style, step_words in (("constants", 5), ("totals", 4)):
        for a, b in zip(letters, made(style)):
            assert (a["start"], a["answer"], a["n_right_paths"]) == (b["start"], b["answer"], b["n_right_paths"])
            assert list(a["moves"].values()) == list(b["moves"].values()) and list(b["moves"]) == [
                f"+{k}" for k in b["moves"].values()]
            assert b["question"].startswith("moves +") and len(b["solution"].split()) == step_words * 3 + 2


def test_fork_tokens_and_slots_come_from_the_generator():
    assert fork_words("forks", FORKS, ["So"]) == ["A", "B", "C"]
    assert fork_words("forks", CONSTANTS, ["So"]) == fork_words("forks", TOTALS, []) == [f"+{k}" for k in range(1, 10)]
    assert fork_words("synthetic", {}, ["So"]) == ["first", "then", "so", "therefore"]
    assert fork_words("gsm8k", {}, ["So", "Thus"]) == ["So", "Thus"]
    slots, names = slot_layout("forks")
    assert names("C 4 + 5 = 9 . A 9 + 3 = 2 . end 2") == [
        "move", "x", None, "k", None, "y", None, "move", "x", None, "k", None, "y", None, None, "V"]
    assert names("+5 4 = 9 . +3 9 = 2 . end 2") == [
        "move", "x", None, "y", None, "move", "x", None, "y", None, None, "V"]
    assert names("+5 = 9 . +3 = 2 . end 2") == ["move", None, "y", None, "move", None, "y", None, None, "V"]
    assert set(slots) == {"move", "x", "k", "y", "V"} and slot_layout("gsm8k") is None


def test_a_null_in_an_overlay_removes_the_entry_it_falls_on():
    base = {"tasks": {"synthetic": {"a": 1}}, "template": {"synthetic": "plain"}, "slurm": {"account": None}}
    merged = deep_merge(base, {"tasks": {"synthetic": None, "forks": {"b": 2}}, "template": {"synthetic": None},
                               "slurm": {"account": None}})
    assert merged == {"tasks": {"forks": {"b": 2}}, "template": {}, "slurm": {"account": None}}


def test_the_forks_config_runs_every_stage_on_forks_over_three_seeds():
    config = with_default(yaml.safe_load((ROOT / "config" / "forks.yaml").read_text()), ROOT / "config" / "config.yaml")
    check_config(config, ROOT / "config" / "schema.yaml")
    assert list(config["tasks"]) == ["forks"] and config["seeds"]["values"] == [0, 1, 2]
    plan = Plan(config)
    assert plan.entropy_settings("tiny", "forks")["connectives"] == [f"+{k}" for k in range(1, 10)]
    assert sorted(plan.trained) == ["tiny-justgrpo-forks", "tiny-justgrpo-forks-random"]
    assert plan.slot_probe_outputs() == [f"results/seed{s}/probe/{m}/forks.json" for s in (0, 1, 2)
                                         for m in ("tiny", "tiny-justgrpo-forks")]
    assert "synthetic" not in str(config)  # the overlay left nothing of the default's task
