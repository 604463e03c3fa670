"""The sampling and table stages as their rules run them (`flextrap.stages.*`): sample
shards -> Pass@k, coverage, bypass and entropy tables -> figures; sharded evaluations
merged by eval_summary; the parallel-decoding table; the model check; one-line errors
on a bad table. On a tiny random model."""
import importlib
import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import SAMPLE_SETTINGS as SETTINGS

from flextrap import plots
from flextrap.orders import order_colors
from flextrap.sample import run_shard
from flextrap.stages import entropy_stats, eval_accuracy, eval_summary, parallel_table, pass_at_k


def figure_stage(name):
    """The stage module of rule figure_<name>."""
    return importlib.import_module(f"flextrap.stages.figure_{name}")


def test_tables_and_figures_from_sampled_shards(synthetic_setup, tmp_path):
    model, tok, records = synthetic_setup
    orders = {"ar": {"block_length": 1, "remasking": "low_confidence"},
              "arbitrary": {"block_length": 4, "remasking": "low_confidence"}}
    paths = {}
    for name, order in orders.items():
        s = {**SETTINGS, "sampler": {**SETTINGS["sampler"], **order}}
        paths[name] = [str(tmp_path / f"{name}.jsonl")]
        run_shard(model, tok, records, "synthetic", s, tmp_path / f"{name}.jsonl")
    s = {"model": "m", "task": "synthetic", "ks": [1, 2, 3], "coverage": [["ar", "arbitrary"]],
         "bootstrap": {"resamples": 50, "confidence": 0.9, "seed": 0}, "orders": orders,
         "connectives": ["first", "then", "so", "therefore"], "min_occurrences": 1}
    pass_at_k.main(["--samples", json.dumps(paths), "--settings", json.dumps(s),
                "--out-passk", str(tmp_path / "passk.csv"), "--out-coverage", str(tmp_path / "coverage.csv")])
    table = pd.read_csv(tmp_path / "passk.csv")
    assert set(table.order) == {"ar", "arbitrary"} and list(table.k[:3]) == [1, 2, 3]
    cov = pd.read_csv(tmp_path / "coverage.csv").iloc[0]
    assert cov.only_a + cov.only_b + cov.both + cov.neither == len(records)
    tok.save_pretrained(tmp_path / "model")
    (tmp_path / "model" / "config.json").write_text("{}")
    entropy_stats.main(["--samples", json.dumps(paths), "--model", json.dumps({"path": str(tmp_path / "model")}),
                 "--settings", json.dumps(s), "--out-bypass", str(tmp_path / "bypass.csv"),
                 "--out-entropy", str(tmp_path / "entropy.csv")])
    bypass = pd.read_csv(tmp_path / "bypass.csv")
    assert bypass[bypass.order == "ar"].bypassed.sum() == 0  # AR order never skips a position
    entropy = pd.read_csv(tmp_path / "entropy.csv")
    assert set(entropy.word) >= {"first", "(all tokens)", "(all connectives)"}
    figure_settings = {"orders": list(orders), "block_sweep": ["ar", "arbitrary"], "top_bypassed": 5,
                       "bypass_order": "arbitrary", "dpi": 50, "colors": order_colors(orders)}
    inputs = {"passk_curves": "passk.csv", "coverage": "coverage.csv", "passk_vs_block_length": "passk.csv",
              "bypassed_tokens": "bypass.csv", "connective_entropy": "entropy.csv"}
    for name, csv in inputs.items():
        figure_stage(name).main(["--inputs", json.dumps([str(tmp_path / csv)]),
                    "--settings", json.dumps(figure_settings), "--out", str(tmp_path / name)])
        for ext in ("png", "pdf"):
            assert (tmp_path / f"{name}.{ext}").stat().st_size > 1000


def evaluate_in_shards(data, model_dir, settings, out, shards):
    """Rule eval_accuracy's stage over `shards` shards, then eval_summary's into `out` (.json)."""
    paths = []
    for i in range(shards):
        shard = out.with_suffix("") / f"shard{i}of{shards}.jsonl"
        shard.parent.mkdir(parents=True, exist_ok=True)
        eval_accuracy.main(["--model", json.dumps({"path": str(model_dir)}), "--data", str(data), "--task", "synthetic",
                       "--settings", json.dumps(settings), "--shard", str(i), "--shards", str(shards),
                       "--out", str(shard), "--summary", str(shard.with_suffix(".json"))])
        paths.append({"summary": str(shard.with_suffix(".json")), "records": str(shard)})
    eval_summary.main(["--shards", json.dumps(paths), "--out", str(out)])
    return json.loads(out.read_text()), [json.loads(line) for p in paths
                                         for line in Path(p["records"]).read_text().splitlines()]


def test_parallel_evaluation_table_and_figure(synthetic_setup, tmp_path):
    """Evaluations with parallel rules -> NFE per record, summary, table, Fig. 8."""

    model, tok, records = synthetic_setup
    model.save_pretrained(tmp_path / "m")
    tok.save_pretrained(tmp_path / "m")
    data = tmp_path / "test.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in records))
    summaries = []
    for name, shards in (("base", 1), ("trained", 2)):
        for rule, value in (("eb", 0.0), ("eb", 50.0), ("top_k", 2)):
            s = {**SETTINGS, "decoder": "parallel", "n_samples": 1, "max_problems": 100, "device": "cpu",
                 "sampler": {"gen_length": 16, "block_length": 4, "temperature": 0.0, "proxy": "confidence",
                             "rule": rule, "value": value}}
            out = tmp_path / "parallel" / name / "synthetic" / f"{rule}-{value}.json"
            summary, samples = evaluate_in_shards(data, tmp_path / "m", s, out, shards)
            summaries.append({"seed": 0, "model": name, "task": "synthetic", "path": str(out)})
            expected = {("eb", 0.0): 16, ("eb", 50.0): 4, ("top_k", 2): 8}[(rule, value)]
            assert [r["nfe"] for r in samples] == [expected] * len(records)
            assert summary["tokens_per_step"] == 16 / expected and summary["problems"] == len(records)
    parallel_table.main(["--inputs", json.dumps(summaries),
                         "--settings", json.dumps({"models": {"base": "base", "trained": "JustGRPO"}, "confidence": 0.95}),
                         "--out", str(tmp_path / "parallel.csv")])
    table = pd.read_csv(tmp_path / "parallel.csv")
    assert len(table) == 6 and set(table.method) == {"base", "JustGRPO"}
    figure_stage("parallel_decoding").main(["--inputs", json.dumps([str(tmp_path / "parallel.csv")]),
                "--settings", json.dumps({"dpi": 50}), "--out", str(tmp_path / "fig")])
    assert (tmp_path / "fig.pdf").stat().st_size > 1000


def test_an_evaluation_in_shards_equals_one_job(synthetic_setup, tmp_path):
    """Sharded by problems and merged (eval_summary): the same records and summary as one
    job over every problem, for the exact sampler with early exit (Table 1's protocol)."""
    model, tok, records = synthetic_setup
    model.save_pretrained(tmp_path / "m")
    tok.save_pretrained(tmp_path / "m")
    data = tmp_path / "test.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in records))
    s = {**SETTINGS, "n_samples": 1, "max_problems": 100, "device": "cpu", "early_exit": True,
         "sampler": {"gen_length": 16, "steps": 16, "block_length": 4, "temperature": 0.0,
                     "remasking": "low_confidence"}}
    one, one_samples = evaluate_in_shards(data, tmp_path / "m", s, tmp_path / "one" / "len16.json", 1)
    three, three_samples = evaluate_in_shards(data, tmp_path / "m", s, tmp_path / "three" / "len16.json", 3)
    assert [(r["id"], r["text"], r["nfe"]) for r in one_samples] == [(r["id"], r["text"], r["nfe"]) for r in three_samples]
    drop = ("seconds", "protocol")
    assert {k: v for k, v in one.items() if k not in drop} == {k: v for k, v in three.items() if k not in drop}
    assert three["protocol"]["shards"] == 3
    assert three["nfe"] == round(sum(r["nfe"] for r in three_samples) / len(records), 2)  # passes as taken
    with pytest.raises(SystemExit):  # a missing shard is an error, not a smaller evaluation
        shard = tmp_path / "three" / "len16" / "shard0of3"
        eval_summary.main(["--shards", json.dumps([{"summary": f"{shard}.json", "records": f"{shard}.jsonl"}]),
                           "--out", str(tmp_path / "bad.json")])


@pytest.mark.parametrize("content, message", [("model,k\nx,1\ny,2,3,4,5\n", "not a readable CSV"),
                                              ("", "not a readable CSV"),
                                              ("model,k\nx,1\n", "no column 'task'"),
                                              ("model,task\nx,synthetic\n", "no column 'order'")])
def test_figure_of_a_bad_table_is_an_error_message_not_a_traceback(tmp_path, capsys, content, message):
    csv = tmp_path / "passk.csv"
    csv.write_text(content)
    with pytest.raises(SystemExit) as exit_:
        figure_stage("passk_curves").main(["--inputs", json.dumps([str(csv)]), "--settings", '{"colors": {}}',
                    "--out", str(tmp_path / "fig")])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_a_missing_settings_key_is_not_reported_as_a_missing_column(tmp_path):
    csv = tmp_path / "passk.csv"
    csv.write_text("model,task,order,k,pass_at_k,ci_low,ci_high\nm,synthetic,ar,1,0.5,0.4,0.6\n")
    with pytest.raises(KeyError, match="orders"):  # a bug in the rule's settings, not a user's table
        plots.draw("passk_curves", [str(csv)], {}, str(tmp_path / "fig"))


# --- early exit and continuous batching (flextrap.continuous) -----------------------


def test_model_check_is_the_pass1_of_the_samples_it_writes(synthetic_setup, tmp_path):
    """Rule model_check samples through the same loop as rule sample and reports the
    unbiased Pass@1 of exactly the samples it writes."""
    from flextrap.stages import model_check

    model, tok, records = synthetic_setup
    model.save_pretrained(tmp_path / "m")
    tok.save_pretrained(tmp_path / "m")
    data = tmp_path / "test.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in records))
    s = {**SETTINGS, "max_problems": 4, "device": "cpu", "sampler": {**SETTINGS["sampler"], "temperature": 1.5}}
    model_check.main(["--model", json.dumps({"path": str(tmp_path / "m")}), "--data", str(data),
                      "--task", "synthetic", "--settings", json.dumps(s), "--samples", str(tmp_path / "c.jsonl"),
                      "--out", str(tmp_path / "c.json")])
    card = json.loads((tmp_path / "c.json").read_text())
    samples = [json.loads(line) for line in (tmp_path / "c.jsonl").read_text().splitlines()]
    assert len(samples) == 4 * 3 and card["problems"] == 4 and card["samples_per_problem"] == 3
    assert card["pass@1"] == round(sum(r["verdict"]["correct"] for r in samples) / 12, 4)
    assert samples == run_shard(model, tok, records[:4], "synthetic", s, tmp_path / "again.jsonl")
