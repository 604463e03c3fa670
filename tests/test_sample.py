"""Sharded sampling records: seeds, reproducibility, resume after a kill; Pass@k and
entropy tables and the figures drawn from them, on a tiny random model."""
import importlib
import json
from pathlib import Path

import pandas as pd
import pytest
import torch
from conftest import cut_at_exit
from flextrap import plots, traces
from flextrap.models import build_tiny_model, build_word_tokenizer
from flextrap.sample import run_shard, sample_seed, shard_of
from flextrap.stages import (
    entropy_stats,
    eval_accuracy,
    eval_summary,
    parallel_table,
    pass_at_k,
)
from flextrap.tasks import prepare

SPEC = {"splits": ["test"], "templates": ["plain"],
        "generator": {"seed": 5, "n_train": 0, "n_test": 6, "n_leaves": 3, "n_defs": 4, "steps": [2, 3],
                      "modulus": 10, "ops": ["+", "-"]}}
SETTINGS = {"template": "plain", "n_samples": 3, "batch_size": 4, "seed": 0, "code_limits": {}, "early_exit": False,
            "sampler": {"gen_length": 16, "steps": 16, "temperature": 0.8, "block_length": 4,
                        "remasking": "low_confidence"}}


@pytest.fixture(scope="module")
def setup():
    records = prepare("synthetic", "test", SPEC)
    tok = build_word_tokenizer([r["prompts"]["plain"] for r in records] + ["first then so therefore answer"])
    torch.manual_seed(0)
    arch = {"hidden_size": 32, "num_layers": 2, "num_heads": 2, "intermediate_size": 64}
    return build_tiny_model(arch, tok, max_length=128).eval(), tok, records


def test_shards_partition_the_problems():
    items = list(range(11))
    shards = [shard_of(items, i, 4) for i in range(4)]
    assert sum(shards, []) == items and {len(s) for s in shards} <= {2, 3}


def test_seeds_are_stable_and_distinct():
    assert sample_seed(0, "p1", 0) == sample_seed(0, "p1", 0)
    assert len({sample_seed(s, p, i) for s in (0, 1) for p in ("p1", "p2") for i in range(50)}) == 200


def test_records_hold_what_the_analyses_need_and_rerun_identically(setup, tmp_path):
    model, tok, records = setup
    a = run_shard(model, tok, records, "synthetic", SETTINGS, tmp_path / "a.jsonl")
    b = run_shard(model, tok, records, "synthetic", {**SETTINGS, "batch_size": 5}, tmp_path / "b.jsonl")
    assert len(a) == len(records) * 3
    first = a[0]
    assert set(first) >= {"id", "sample", "seed", "text", "token_ids", "trace", "verdict"}
    assert len(first["token_ids"]) == 16 and set(first["trace"]) == {"step", "entropy", "confidence"}
    assert sorted(first["trace"]["step"]) == list(range(16))  # one commit per step
    assert a == run_shard(model, tok, records, "synthetic", SETTINGS, tmp_path / "a2.jsonl")
    # per-sample seeds: another batching gives the same samples
    assert [r["token_ids"] for r in a] == [r["token_ids"] for r in b]
    assert not list(tmp_path.glob("*.partial-*"))  # nothing left behind


def test_a_killed_shard_resumes_without_redoing_finished_batches(setup, tmp_path, monkeypatch):
    model, tok, records = setup
    full = run_shard(model, tok, records, "synthetic", SETTINGS, tmp_path / "full.jsonl")
    out = tmp_path / "killed.jsonl"
    import flextrap.sample as sample_mod
    real_draw, calls = sample_mod.draw, []

    def dying_draw(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # killed during the third batch
        return real_draw(*args, **kwargs)

    monkeypatch.setattr(sample_mod, "draw", dying_draw)
    with pytest.raises(KeyboardInterrupt):
        run_shard(model, tok, records, "synthetic", SETTINGS, out)
    partial = next(tmp_path.glob("killed.jsonl.partial-*"))
    assert not out.exists() and len(partial.read_text().splitlines()) == 8  # two batches of 4
    with open(partial, "a") as f:
        f.write('{"id": "torn')  # a write cut short by the kill
    calls.clear()
    monkeypatch.setattr(sample_mod, "draw", lambda *a, **k: (calls.append(1), real_draw(*a, **k))[1])
    resumed = run_shard(model, tok, records, "synthetic", SETTINGS, out)
    assert len(calls) == 5 - 2  # 18 samples = 5 batches, 2 were done
    assert resumed == full and not partial.exists()


def figure_stage(name):
    """The stage module of rule figure_<name>."""
    return importlib.import_module(f"flextrap.stages.figure_{name}")


def test_tables_and_figures_from_sampled_shards(setup, tmp_path):
    model, tok, records = setup
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
                       "bypass_order": "arbitrary", "dpi": 50}
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
        paths.append(str(shard.with_suffix(".json")))
    eval_summary.main(["--shards", json.dumps(paths), "--out", str(out)])
    return json.loads(out.read_text()), [json.loads(line) for p in paths
                                         for line in Path(p).with_suffix(".jsonl").read_text().splitlines()]


def test_parallel_evaluation_table_and_figure(setup, tmp_path):
    """Evaluations with parallel rules -> NFE per record, summary, table, Fig. 8."""

    model, tok, records = setup
    model.save_pretrained(tmp_path / "m")
    tok.save_pretrained(tmp_path / "m")
    data = tmp_path / "test.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in records))
    summaries = []
    for name, shards in (("base", 1), ("trained", 2)):
        for rule, value in (("eb", 0.0), ("eb", 50.0), ("top_k", 2)):
            s = {**SETTINGS, "n_samples": 1, "max_problems": 100, "device": "cpu",
                 "sampler": {"gen_length": 16, "block_length": 4, "temperature": 0.0, "proxy": "confidence",
                             "rule": rule, "value": value}}
            out = tmp_path / "parallel" / name / "synthetic" / f"{rule}-{value}.json"
            summary, samples = evaluate_in_shards(data, tmp_path / "m", s, out, shards)
            summaries.append(str(out))
            expected = {("eb", 0.0): 16, ("eb", 50.0): 4, ("top_k", 2): 8}[(rule, value)]
            assert [r["nfe"] for r in samples] == [expected] * len(records)
            assert summary["tokens_per_step"] == 16 / expected and summary["problems"] == len(records)
    parallel_table.main(["--inputs", json.dumps(summaries),
                         "--models", json.dumps({"base": "base", "trained": "JustGRPO"}),
                         "--out", str(tmp_path / "parallel.csv")])
    table = pd.read_csv(tmp_path / "parallel.csv")
    assert len(table) == 6 and set(table.method) == {"base", "JustGRPO"}
    figure_stage("parallel_decoding").main(["--inputs", json.dumps([str(tmp_path / "parallel.csv")]),
                "--settings", json.dumps({"dpi": 50}), "--out", str(tmp_path / "fig")])
    assert (tmp_path / "fig.pdf").stat().st_size > 1000


def test_an_evaluation_in_shards_equals_one_job(setup, tmp_path):
    """Sharded by problems and merged (eval_summary): the same records and summary as one
    job over every problem, for the exact sampler with early exit (Table 1's protocol)."""
    model, tok, records = setup
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
        eval_summary.main(["--shards", json.dumps([str(tmp_path / "three" / "len16" / "shard0of3.json")]),
                           "--out", str(tmp_path / "bad.json")])


@pytest.mark.parametrize("content, message", [("model,k\nx,1\ny,2,3,4,5\n", "not a readable CSV"),
                                              ("", "not a readable CSV"),
                                              ("model,k\nx,1\n", "no column 'task'"),
                                              ("model,task\nx,synthetic\n", "no column 'order'")])
def test_figure_of_a_bad_table_is_an_error_message_not_a_traceback(tmp_path, capsys, content, message):
    csv = tmp_path / "passk.csv"
    csv.write_text(content)
    with pytest.raises(SystemExit) as exit_:
        figure_stage("passk_curves").main(["--inputs", json.dumps([str(csv)]), "--settings", "{}",
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

def exited(record: dict, mask_id: int) -> dict:
    """A full-decode record as early exit leaves it: positions committed at or after its
    `nfe`-th pass are masked again, with trace step -1."""
    kept = [0 <= s < record["nfe"] for s in record["trace"]["step"]]
    trace = {"step": [s if k else -1 for s, k in zip(record["trace"]["step"], kept)],
             **{f: [v if k else 0.0 for v, k in zip(record["trace"][f], kept)] for f in ("entropy", "confidence")}}
    return {**record, "token_ids": [t if k else mask_id for t, k in zip(record["token_ids"], kept)], "trace": trace}


def without_floats(record: dict) -> dict:
    return {**record, "trace": record["trace"]["step"]}


@pytest.fixture(scope="module")
def eos_prone_setup(setup):
    """The tiny random LM with its EOS logit raised, so that answers end at varied points."""
    import copy

    model, tok, records = setup
    model = copy.deepcopy(model)
    with torch.no_grad():
        model.cls.predictions.decoder.bias[tok.eos_token_id] += 3.0
    return model, tok, records


@pytest.mark.parametrize("order", [{"block_length": 1}, {"block_length": 4}])
def test_early_exit_gives_the_same_samples_and_tables_with_fewer_forward_passes(eos_prone_setup, tmp_path, order):
    model, tok, records = eos_prone_setup
    s = {**SETTINGS, "sampler": {**SETTINGS["sampler"], **order}}
    full = run_shard(model, tok, records, "synthetic", s, tmp_path / "full.jsonl")
    fast = run_shard(model, tok, records, "synthetic", {**s, "early_exit": True, "batch_size": 5},
                     tmp_path / "fast.jsonl")
    assert {r["nfe"] for r in full} == {16} and min(r["nfe"] for r in fast) < 8
    # the rows' exit points, recomputed by brute force from the full decode
    for r in full:
        r["nfe"] = cut_at_exit(r["token_ids"], r["trace"]["step"], tok.eos_token_id)
    cut = [exited(r, tok.mask_token_id) for r in full]
    assert [without_floats(r) for r in fast] == [without_floats(r) for r in cut]
    for a, b in zip(fast, cut):
        assert a["trace"]["entropy"] == pytest.approx(b["trace"]["entropy"], abs=2e-5)  # 5 decimals, BLAS rounding
    s_tables = {"model": "m", "task": "synthetic", "ks": [1, 2, 3], "coverage": [["a", "b"]],
                "bootstrap": {"resamples": 50, "confidence": 0.9, "seed": 0}, "orders": {"a": {}, "b": {}},
                "connectives": ["first", "then", "so", "therefore"], "min_occurrences": 1}
    tables = {}
    for name in ("full", "fast"):
        paths = {"a": [str(tmp_path / f"{name}.jsonl")], "b": [str(tmp_path / f"{name}.jsonl")]}
        pass_at_k.main(["--samples", json.dumps(paths), "--settings", json.dumps(s_tables),
                    "--out-passk", str(tmp_path / f"{name}-passk.csv"),
                    "--out-coverage", str(tmp_path / f"{name}-coverage.csv")])
        stats = {o: traces.TokenStats() for o in paths}
        for o, ps in paths.items():
            for r in json.loads("[" + ",".join(open(ps[0]).read().splitlines()) + "]"):
                stats[o].add(r, tok.eos_token_id)
        tables[name] = traces.tables(stats, traces.word_function(tok), s_tables)
    for csv in ("passk", "coverage"):
        assert (tmp_path / f"full-{csv}.csv").read_text() == (tmp_path / f"fast-{csv}.csv").read_text()
    pd.testing.assert_frame_equal(tables["full"][0], tables["fast"][0])  # bypass: exactly
    pd.testing.assert_frame_equal(tables["full"][1], tables["fast"][1], rtol=1e-6)  # mean entropies


def test_continuous_batching_equals_the_shard_sampled_one_problem_at_a_time(eos_prone_setup, tmp_path):
    import flextrap.sample as sample_mod

    model, tok, records = eos_prone_setup
    s = {**SETTINGS, "early_exit": True, "batch_size": 4}
    shard = run_shard(model, tok, records, "synthetic", s, tmp_path / "shard.jsonl")
    jobs = sample_mod.make_jobs(tok, records, "plain", 3, 0)
    width = max(len(j.prompt_ids) for j in jobs)
    one_at_a_time = []
    for p in range(len(records)):
        mine = jobs[3 * p:3 * p + 3]
        for done in sample_mod.generate_continuous(model, [j.prompt_ids for j in mine], [j.seed for j in mine],
                                                   batch_size=3, mask_id=tok.mask_token_id, eos_id=tok.eos_token_id,
                                                   pad_id=tok.pad_token_id, width=width, **s["sampler"]):
            one_at_a_time += [(mine[f.index], f) for f in done]
    one_at_a_time.sort(key=lambda jf: jobs.index(jf[0]))
    assert [(r["token_ids"], r["trace"]["step"], r["nfe"]) for r in shard] == \
        [(f.answer, f.trace["step"], f.nfe) for _, f in one_at_a_time]


def test_a_killed_continuous_shard_resumes_losing_and_repeating_nothing(eos_prone_setup, tmp_path, monkeypatch):
    import flextrap.sample as sample_mod

    model, tok, records = eos_prone_setup
    s = {**SETTINGS, "early_exit": True, "batch_size": 4}
    full = run_shard(model, tok, records, "synthetic", s, tmp_path / "full.jsonl")
    out, real_append, appended = tmp_path / "killed.jsonl", sample_mod.append, []

    def dying_append(path, new):
        if len(appended) == 3:
            raise KeyboardInterrupt  # killed in the middle of the shard, rows in flight
        appended.append(len(new))
        real_append(path, new)

    monkeypatch.setattr(sample_mod, "append", dying_append)
    with pytest.raises(KeyboardInterrupt):
        run_shard(model, tok, records, "synthetic", s, out)
    partial = next(tmp_path.glob("killed.jsonl.partial-*"))
    assert len(partial.read_text().splitlines()) == sum(appended) < len(full)
    real_generate, given = sample_mod.generate_continuous, []
    monkeypatch.setattr(sample_mod, "append", real_append)
    monkeypatch.setattr(sample_mod, "generate_continuous",
                        lambda model, prompts, seeds, **kw: (given.append(len(prompts)),
                                                             real_generate(model, prompts, seeds, **kw))[1])
    resumed = run_shard(model, tok, records, "synthetic", s, out)
    assert given == [len(full) - sum(appended)]  # only the unfinished samples are drawn again
    assert resumed == full and not partial.exists()
    assert len({(r["id"], r["sample"]) for r in resumed}) == len(resumed)


def test_model_check_is_the_pass1_of_the_samples_it_writes(setup, tmp_path):
    """Rule model_check samples through the same loop as rule sample and reports the
    unbiased Pass@1 of exactly the samples it writes."""
    from flextrap.stages import model_check

    model, tok, records = setup
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
