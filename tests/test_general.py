"""Table 6 through lm-evaluation-harness (flextrap.general): the local multiple-choice
task, one real evaluation of the tiny model against a count by hand, the table with the
paper's reported numbers, and the paper config's jobs."""
import json
import math
import random
import subprocess
import sys
from types import SimpleNamespace

import pandas as pd
import pytest
import yaml
from conftest import ROOT

from flextrap.general import choice_records, evaluate, merge_general, wrong_endings, write_choice_task
from flextrap.jsonl import write_jsonl
from flextrap.lm_adapter import DiffusionLM
from flextrap.tables import write_general_table
from flextrap.tasks import forks

SETTINGS = {"loglikelihood": "ar", "mc_samples": 8, "mc_batch": 4, "batch_size": 8, "chunk": 64, "seed": 0,
            "num_fewshot": 0, "limit": None, "device": "cpu",
            "decoder": "llada", "early_exit": False,
            "sampler": {"gen_length": 8, "steps": 8, "block_length": 4, "temperature": 0.0,
                        "remasking": "low_confidence"}}


def test_wrong_endings_change_the_last_result_and_the_answer_together():
    rng = random.Random(0)
    moves = {"letters": {"A": 3, "B": 7, "C": 5}, "constants": {"+3": 3, "+7": 7, "+5": 5}}
    moves["totals"] = moves["constants"]
    for solution, style in [("first p = a + b = 3 + 5 = 8 . answer 8", None),
                            ("C 4 + 5 = 9 . A 9 + 3 = 2 . B 2 + 7 = 9 . end 9", "letters"),
                            ("+5 4 = 9 . +3 9 = 2 . +7 2 = 9 . end 9", "constants"),
                            ("+5 = 9 . +3 = 2 . +7 = 9 . end 9", "totals")]:
        wrong = wrong_endings(solution, 10, 3, rng)
        assert len(set(wrong)) == 3 and solution not in wrong
        for w in wrong:
            a, b = w.split(), solution.split()
            assert [i for i in range(len(a)) if a[i] != b[i]] == [len(a) - 4, len(a) - 1] and a[-4] == a[-1]
        if style:
            record = {"moves": moves[style], "start": 4, "steps": 3, "modulus": 10, "answer": "9", "step_style": style}
            assert forks.check_path(record, solution)[0]
            assert not any(forks.check_path(record, w)[0] for w in wrong)  # every copy's last sum is wrong
    rows = choice_records([{"id": "x", "prompts": {"plain": "q"}, "solution": solution}] * 20, 10, 4, seed=1)
    assert all(r["choices"][r["label"]] == solution and len(r["choices"]) == 4 for r in rows)
    assert len({r["label"] for r in rows}) > 1  # the gold position varies


@pytest.fixture(scope="module")
def saved_tiny(tmp_path_factory, synthetic_setup):
    model, tok, records = synthetic_setup
    root = tmp_path_factory.mktemp("general")
    model.save_pretrained(root / "model")
    tok.save_pretrained(root / "model")
    write_jsonl(root / "test.jsonl", records)
    return root, model, tok, records


def test_an_evaluation_of_the_local_task_is_lm_evals_accuracy_of_the_adapters_likelihoods(saved_tiny, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    root, model, tok, records = saved_tiny
    task = {"task": "synthetic", "choices": 3, "max_problems": 5, "seed": 0, "modulus": 10}
    write_choice_task(str(root / "test.jsonl"), "tiny_choice", task, str(root / "task"))
    out = root / "result.json"
    got = evaluate({"path": str(root / "model")}, "tiny_choice", str(root / "task"), SETTINGS, str(out), threads=1)
    lm = DiffusionLM(model, tok, SETTINGS)
    rows = [json.loads(line) for line in (root / "task" / "tiny_choice.jsonl").read_text().splitlines()]
    right = 0
    for r in rows:
        scores = [lp for lp, _ in lm.loglikelihood([SimpleNamespace(args=(r["question"], " " + c))
                                                    for c in r["choices"]])]
        right += scores.index(max(scores)) == r["label"]
    assert len(rows) == 5 and got["acc,none"] == pytest.approx(right / 5)
    saved = json.loads(out.read_text())
    assert saved["results"]["tiny_choice"]["acc,none"] == got["acc,none"]
    assert saved["protocol"]["stage"] == "eval_general" and saved["protocol"]["task"] == "tiny_choice"


GROUP_YAML = """group: tiny_group
task: [tiny_a, tiny_b]
aggregate_metric_list:
  - metric: acc
    weight_by_size: true
"""


def test_shards_merge_to_the_unsharded_result_of_a_group_and_its_tasks(saved_tiny, monkeypatch, tmp_path):
    """Two shards (every other document of each task) merged give what lm-eval gives
    unsharded: each task's accuracy and the group's, weighted by its tasks' sizes."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    root, model, tok, records = saved_tiny
    for name, n in (("tiny_a", 5), ("tiny_b", 3)):
        write_choice_task(str(root / "test.jsonl"), name, {"task": "synthetic", "choices": 3, "max_problems": n,
                                                           "seed": n, "modulus": 10}, str(tmp_path))
    (tmp_path / "tiny_group.yaml").write_text(GROUP_YAML)
    spec = {"path": str(root / "model")}
    whole = json.loads(json.dumps(evaluate(spec, "tiny_group", str(tmp_path), SETTINGS, str(tmp_path / "w.json"), 1)))
    parts = [str(tmp_path / f"shard{i}of2.json") for i in range(2)]
    for i, part in enumerate(parts):
        evaluate(spec, "tiny_group", str(tmp_path), SETTINGS, part, 1, shard=(i, 2))
    assert [json.loads(open(p).read())["n-samples"]["tiny_a"]["effective"] for p in parts] == [3, 2]
    merged = merge_general(parts, "tiny_group", "acc", str(tmp_path / "merged.json"))
    assert merged["acc,none"] == pytest.approx(whole["acc,none"], abs=1e-12)
    saved, unsharded = (json.loads((tmp_path / f).read_text()) for f in ("merged.json", "w.json"))
    for task in ("tiny_a", "tiny_b"):
        assert saved["results"][task]["acc,none"] == pytest.approx(unsharded["results"][task]["acc,none"], abs=1e-12)
    assert saved["shards"] == 2 and len(saved["protocol"]["shards"]) == 2
    a, b = (unsharded["results"][t]["acc,none"] for t in ("tiny_a", "tiny_b"))
    assert whole["acc,none"] == pytest.approx((5 * a + 3 * b) / 8, abs=1e-12)  # lm-eval weights by size, too


def score_inputs(tmp_path, task: str, scores: list[tuple[int, str, float]]) -> list[dict]:
    """Table inputs: one lm-eval result file per (seed, model, accuracy) on `task`."""
    inputs = []
    for seed, model, acc in scores:
        path = tmp_path / f"{model}-{seed}.json"
        path.write_text(json.dumps({"results": {task: {"acc,none": acc}}, "n-samples": {task: {"effective": 10}}}))
        inputs.append({"seed": seed, "model": model, "task": task, "path": str(path)})
    return inputs


def test_the_table_puts_each_tasks_score_per_model_and_the_reported_numbers_beside(tmp_path):
    inputs = score_inputs(tmp_path, "mmlu", [(0, "llada", 0.6), (0, "llada-justgrpo-gsm8k", 0.62)])
    s = {"models": {"llada": "base", "llada-justgrpo-gsm8k": "JustGRPO"}, "metrics": {"mmlu": "acc"},
         "reported": True, "confidence": 0.95}
    text = write_general_table(inputs, s, str(tmp_path / "g.md"), str(tmp_path / "g.tex"), str(tmp_path / "g.csv"))
    assert "| base (reported) | 65.5 |" in text and "| JustGRPO (reported) | 65.8 |" in text
    assert "| base | 60.0 |" in text and "| JustGRPO | 62.0 |" in text
    df = pd.read_csv(tmp_path / "g.csv")
    assert set(df.source) == {"reported", "measured"} and set(df.metric) == {"acc"}


def test_the_paper_dry_run_evaluates_four_lm_eval_tasks_on_llada_and_its_justgrpo_run(tmp_path):
    result = subprocess.run([sys.executable, "-m", "snakemake", "-n", "-s", str(ROOT / "Snakefile"), "--configfile",
                             str(ROOT / "config" / "paper.yaml"), "--directory", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    jobs, shards = set(), {}
    for block in result.stdout.split("rule eval_general:")[1:]:
        lines = block.split("\n\n")[0]
        wildcards = dict(w.split("=") for w in lines.split("wildcards: ")[1].splitlines()[0].split(", "))
        inputs = lines.split("input: ")[1].splitlines()[0]
        jobs.add((wildcards["model"], wildcards["name"]))
        shards.setdefault(wildcards["name"], set()).add((wildcards["model"], wildcards["shard"], wildcards["shards"]))
        first = "results/preflight/llada.json" if wildcards["model"] == "llada" else "results/seed0/models/llada-justgrpo-gsm8k"
        assert first in inputs and f"results/general/fetched/{wildcards['name']}.json" in inputs
    assert jobs == {(m, t) for m in ("llada", "llada-justgrpo-gsm8k")
                    for t in ("mmlu", "mmlu_pro", "hellaswag", "arc_challenge")}
    assert "rule fetch_general" in result.stdout
    paper = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())["general"]["tasks"]
    for task, jobs_of_task in shards.items():  # every shard of the task on both models, then one merge each
        n = paper[task]["shards"]
        assert jobs_of_task == {(m, str(i), str(n)) for m in ("llada", "llada-justgrpo-gsm8k") for i in range(n)}
    assert result.stdout.count("/logs/merge_general/") == 8


def test_two_seeds_give_each_seeds_score_and_the_pooled_mean_with_its_interval(tmp_path):
    inputs = score_inputs(tmp_path, "choice", [(0, "tiny", 0.50), (1, "tiny", 0.60)])
    s = {"models": {"tiny": "base"}, "metrics": {"choice": "acc"}, "reported": False, "confidence": 0.95}
    text = write_general_table(inputs, s, str(tmp_path / "g.md"), str(tmp_path / "g.tex"), str(tmp_path / "g.csv"))
    half = 12.7062047 * 5 * math.sqrt(2) / math.sqrt(2)  # t_{0.975, 1} * sd / sqrt(2), sd of (50, 60) = 5 sqrt 2
    assert text.splitlines()[-3:] == ["| base (seed 0) | 50.0 |", "| base (seed 1) | 60.0 |",
                                      f"| base (mean of 2 seeds) | 55.0 [{55 - half:.1f}, {55 + half:.1f}] |"]
