"""Task loaders on small fixtures (no network), the synthetic generator, JSONL reading."""
import collections
import json

import pytest
from conftest import CODE_LIMITS, FIXTURES
from flextrap.errors import FlextrapError
from flextrap.jsonl import atomic_dir, read_jsonl, write_json, write_jsonl
from flextrap.tasks import prepare, synthetic
from flextrap.tasks.math500 import last_boxed

SYN = {"templates": ["plain"], "generator": {"seed": 7, "n_train": 300, "n_test": 50, "n_leaves": 3,
                                             "n_defs": 5, "steps": [3, 4], "modulus": 10, "ops": ["+", "-"]}}


def test_synthetic_is_deterministic_and_splits_are_disjoint():
    train, again = prepare("synthetic", "train", SYN), prepare("synthetic", "train", SYN)
    test = prepare("synthetic", "test", SYN)
    assert train == again
    assert len(train) == 300 and len(test) == 50
    assert not {r["question"] for r in train} & {r["question"] for r in test}
    assert len({r["id"] for r in train + test}) == 350




def test_synthetic_answers_are_uniform_so_no_constant_guess_pays():
    """A constant answer must not score like reasoning (RL learns it: it did when
    "answer 0" was right 22% of the time)."""
    def top_share(ops):
        records = synthetic.generate(3000, seed=4, n_leaves=3, n_defs=5, steps=(3, 4), modulus=10, ops=ops)
        return collections.Counter(r["answer"] for r in records).most_common(1)[0][1] / len(records)
    assert top_share(("+", "-")) == top_share(("+", "-", "*")) == 0.1


def test_synthetic_solutions_are_correct_and_use_connectives_as_decisions():
    records = synthetic.generate(500, seed=3, n_leaves=3, n_defs=5, steps=(3, 4), modulus=10,
                                 ops=("+", "-", "*"))
    conn_after = collections.Counter()
    for r in records:
        words = r["solution"].split()
        values = {}
        for w in r["question"].replace(":", "").split(" ; ")[0].split(" , "):
            name, value = w.split(" = ")
            values[name] = int(value)
        steps = r["solution"].split(" . ")
        for step in steps[:-1]:
            conn, name, _, left, op, right, _, lv, _, rv, _, v = step.split()
            assert int(lv) == values[left] and int(rv) == values[right]
            assert int(v) == synthetic.OPS[op](values[left], values[right]) % 10
            values[name] = int(v)
            conn_after[conn] += 1
        assert steps[-1] == f"answer {r['answer']}"
        assert words[0] == "first" and steps[-2].split()[0] == "therefore"
    # "then" and "so" both occur often: which one comes is a real decision.
    assert conn_after["then"] > 0.2 * len(records) and conn_after["so"] > 0.2 * len(records)
    assert sum(r["n_orders"] > 1 for r in records) > 0.3 * len(records)


def test_connective_is_uncertain_given_the_prefix():
    """The same problem admits solutions whose first differing word is a connective."""
    import random
    rng = random.Random(0)
    for _ in range(200):
        problem = synthetic.make_problem(rng, 3, 5, 4, 10)
        if synthetic.valid_orders_count(problem) < 2:
            continue
        sols = {synthetic.write_solution(problem, random.Random(s)) for s in range(30)}
        if len(sols) < 2:
            continue
        a, b = sorted(sols)[:2]
        i = next(i for i, (x, y) in enumerate(zip(a.split(), b.split())) if x != y)
        first_diff = {a.split()[i], b.split()[i]}
        if first_diff & set(synthetic.CONNECTIVES):
            return
    pytest.fail("no problem whose solutions fork at a connective")


def test_extract_answer():
    assert synthetic.extract_answer("first x = 1 . answer 7") == "7"
    assert synthetic.extract_answer("no answer here".replace("answer", "ans")) is None


def test_gsm8k_loader_on_fixture():
    spec = {"templates": ["d1_math", "justgrpo_gsm8k"],
            "sources": {"test": {"data_files": str(FIXTURES / "gsm8k.jsonl")}}}
    records = prepare("gsm8k", "test", spec)
    assert [r["answer"] for r in records] == ["72", "2500"]
    assert records[0]["prompts"]["justgrpo_gsm8k"] == records[0]["question"]
    assert records[0]["prompts"]["d1_math"].startswith("You are a math expert.")
    assert records[0]["prompts"]["d1_math"].endswith("\n\n" + records[0]["question"])


def test_math_loaders_on_fixtures():
    test = prepare("math500", "test", {"templates": ["justgrpo_math"], "max_problem_chars": 100,
                                       "sources": {"test": {"data_files": str(FIXTURES / "math500.jsonl")}}})
    assert test[0]["answer"] == "\\left( 3, \\frac{\\pi}{2} \\right)" and len(test) == 2  # no length cut on test
    assert test[1]["prompts"]["justgrpo_math"].endswith("(Please put the final answer in \\boxed{} tag, i.e. $\\boxed{answer here}$)")
    train = prepare("math500", "train", {"templates": ["justgrpo_math"], "max_problem_chars": 1500,
                                         "sources": {"train": {"data_files": str(FIXTURES / "math_train.jsonl")}}})
    assert [r["answer"] for r in train] == ["1", "9"]  # the 1600-char problem is dropped


def test_last_boxed_matches_braces():
    assert last_boxed(r"so $\boxed{\frac{1}{2}}$ and") == r"\frac{1}{2}"
    assert last_boxed("none") is None


def test_humaneval_loader_ships_164_and_reads_fixture():
    assert len(prepare("humaneval", "test", {"templates": ["justgrpo_code"]})) == 164
    spec = {"templates": ["justgrpo_code"], "sources": {"test": {"data_files": str(FIXTURES / "humaneval.jsonl")}}}
    records = prepare("humaneval", "test", spec)
    assert records[0]["entry_point"] == "add" and records[0]["tests"][0].endswith("check(add)")
    assert "function named `add`" in records[0]["prompts"]["justgrpo_code"]
    assert "```python\nfrom typing import List" in records[0]["prompts"]["justgrpo_code"]


def test_mbpp_loader_on_fixture():
    spec = {"templates": ["justgrpo_code"], "sources": {"test": {"data_files": str(FIXTURES / "mbpp.jsonl")}}}
    records = prepare("mbpp", "test", spec)
    assert [r["entry_point"] for r in records] == ["remove_Occ", "volume_sphere"]
    assert records[0]["stub"] == "def remove_Occ(s,ch):"
    assert records[1]["setup"] == "import math"
    assert "assert remove_Occ(\"hello\",\"l\") == \"heo\"" in records[0]["prompts"]["justgrpo_code"]


def test_offline_hub_download_fails_with_a_clear_message(monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    spec = {"templates": ["justgrpo_gsm8k"],
            "sources": {"test": {"path": "no-such-org/no-such-dataset-xyz", "split": "test"}}}
    with pytest.raises(FlextrapError) as err:
        prepare("gsm8k", "test", spec)
    msg = str(err.value)
    assert "no-such-org/no-such-dataset-xyz" in msg and "Pre-download" in msg and "\n" not in msg


def test_unknown_task_and_split():
    with pytest.raises(FlextrapError, match="unknown task"):
        prepare("gsm9k", "test", {"templates": ["plain"]})
    with pytest.raises(FlextrapError, match="only a 'test' split"):
        prepare("humaneval", "train", {"templates": ["justgrpo_code"]})


def test_jsonl_round_trip_and_errors_name_file_and_line(tmp_path):
    path = tmp_path / "d.jsonl"
    write_jsonl(path, [{"id": 1}, {"id": 2}])
    assert read_jsonl(path, required=["id"]) == [{"id": 1}, {"id": 2}]
    path.write_text('{"id": 1}\n{"id": 2,\n')
    with pytest.raises(FlextrapError, match=r"d.jsonl:2: not valid JSON"):
        read_jsonl(path)
    path.write_text('{"id": 1}\n{"id": 2}')  # cut short: no final newline
    with pytest.raises(FlextrapError, match=r"d.jsonl:2: truncated"):
        read_jsonl(path)
    path.write_text('{"id": 1}\n{"x": 2}\n')
    with pytest.raises(FlextrapError, match=r"d.jsonl:2: missing field\(s\) id"):
        read_jsonl(path, required=["id"])
    with pytest.raises(FlextrapError, match="no such file"):
        read_jsonl(tmp_path / "missing.jsonl")


def test_outputs_appear_only_when_complete(tmp_path):
    out = tmp_path / "model"
    with pytest.raises(RuntimeError):
        with atomic_dir(out) as tmp:
            (tmp / "config.json").write_text("{}")
            raise RuntimeError("killed while saving")
    assert not out.exists()  # no directory that looks finished
    with atomic_dir(out) as tmp:
        (tmp / "config.json").write_text("{}")
    assert (out / "config.json").exists() and not (tmp_path / "model.partial").exists()
    write_json(tmp_path / "a" / "summary.json", {"accuracy": 0.5})
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["summary.json"]


def test_reading_rule_stops_on_bad_data_with_file_and_line(tmp_path):
    import json
    import subprocess
    import sys

    import yaml
    from conftest import ROOT

    settings = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["models"]["tiny"]["pretrain"]
    bad = tmp_path / "train.jsonl"
    bad.write_text('{"id": "x", "prompts": {"plain": "a"}, "solution": "b"}\n{"id": "y", "prom')
    result = subprocess.run(
        [sys.executable, "-m", "flextrap.stages.pretrain_tiny", "--train", str(bad), "--out", str(tmp_path / "m"),
         "--settings", json.dumps(settings)], capture_output=True, text=True, env={"PYTHONPATH": str(ROOT / "workflow")})
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {bad}:2: truncated last line (file cut short?)"


ACECODE_ROWS = [
    {"id": "oss_1", "question": "Write a function `double(x)` that returns twice x.",
     "test_cases": ["assert double(2) == 4", "assert double(0) == 0"]},
    {"id": "oss_2", "question": "Please complete the following problem:\n```\ndef neg(x):\n```\n",
     "test_cases": ["assert not neg(0)", "assert neg(1) == -1"]},
    {"id": "oss_3", "question": "No tests here.", "test_cases": ["print('hi')"]},
]


def test_acecode_loader_prompt_and_grading(tmp_path):
    from flextrap.graders import grade, reward
    from flextrap.tasks.acecode import called_function

    assert called_function(["assert not (is_ok(3))"]) == "is_ok" and called_function(["x = 1"]) is None
    assert called_function(["assert abs(area(2) - 12.57) < 0.01"]) == "area"  # never a builtin
    path = tmp_path / "acecode_hard.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ACECODE_ROWS))
    spec = {"templates": ["justgrpo_acecode"], "sources": {"train": {"data_files": str(path)}}}
    records = prepare("acecode", "train", spec)
    assert [r["entry_point"] for r in records] == ["double", "neg"]  # the row without asserts is dropped
    assert records[0]["prompts"]["justgrpo_acecode"].endswith("\nTest cases: assert double(2) == 4")
    assert records[1]["prompts"]["justgrpo_acecode"] == ACECODE_ROWS[1]["question"]  # already shows code
    right = "```python\ndef double(x):\n    return 2 * x\n```"
    half = "```python\ndef double(x):\n    return 4\n```"
    v_right, v_half = grade("acecode", records[0], right, CODE_LIMITS), grade("acecode", records[0], half, CODE_LIMITS)
    assert (v_right.correct, v_right.pass_rate, reward("acecode", v_right)) == (True, 1.0, 2.0)
    assert (v_half.correct, v_half.pass_rate, reward("acecode", v_half)) == (False, 0.5, 1.5)


def test_acecode_missing_file_says_where_it_comes_from(tmp_path):
    spec = {"templates": ["justgrpo_acecode"], "sources": {"train": {"data_files": str(tmp_path / "none.jsonl")}}}
    with pytest.raises(FlextrapError) as err:
        prepare("acecode", "train", spec)
    message = str(err.value)
    assert "AceCode-Hard data not found" in message and "ml-diffucoder" in message and "\n" not in message
    with pytest.raises(FlextrapError, match="only a 'train' split"):
        prepare("acecode", "test", spec)


def test_the_registry_knows_every_task_of_the_schema_and_each_its_kind_and_source():
    """The config schema's task names are the registry's; each task module says how it is
    graded and whether its data comes through `datasets` (then the config needs sources)."""
    import yaml
    from conftest import ROOT
    from flextrap.config import with_registries
    from flextrap.tasks import TASKS, needs_hub, task_kind

    schema = with_registries(yaml.safe_load((ROOT / "config" / "schema.yaml").read_text()))
    assert schema["$defs"]["task_name"]["enum"] == list(TASKS)
    assert {t: task_kind(t) for t in TASKS} == {"synthetic": "synthetic", "forks": "forks", "gsm8k": "math",
                                               "math500": "math", "humaneval": "code", "mbpp": "code",
                                               "acecode": "code"}
    assert [t for t in TASKS if needs_hub(t)] == ["gsm8k", "math500", "mbpp", "acecode"]
    with pytest.raises(FlextrapError, match="unknown task 'gsm9k'"):
        task_kind("gsm9k")


def test_code_is_never_graded_without_the_configs_limits():
    from flextrap.graders import grade

    with pytest.raises(FlextrapError, match="grading.code"):
        grade("mbpp", {"tests": ["assert True"], "entry_point": "f", "stub": ""}, "def f(): pass")
