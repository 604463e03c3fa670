"""Sharded sampling records: seeds, reproducibility, resume after a kill, early exit
and continuous batching, on a tiny random model."""
import json

import pandas as pd
import pytest
import torch
from conftest import SAMPLE_SETTINGS as SETTINGS
from conftest import cut_at_exit

from flextrap import traces
from flextrap.sample import run_shard, sample_seed, shard_of
from flextrap.stages import pass_at_k


def test_shards_partition_the_problems():
    items = list(range(11))
    shards = [shard_of(items, i, 4) for i in range(4)]
    assert sum(shards, []) == items and {len(s) for s in shards} <= {2, 3}


def test_seeds_are_stable_and_distinct():
    assert sample_seed(0, "p1", 0) == sample_seed(0, "p1", 0)
    assert len({sample_seed(s, p, i) for s in (0, 1) for p in ("p1", "p2") for i in range(50)}) == 200


def test_records_hold_what_the_analyses_need_and_rerun_identically(synthetic_setup, tmp_path):
    model, tok, records = synthetic_setup
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


def test_a_killed_shard_resumes_without_redoing_finished_batches(synthetic_setup, tmp_path, monkeypatch):
    model, tok, records = synthetic_setup
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
def eos_prone_setup(synthetic_setup):
    """The tiny random LM with its EOS logit raised, so that answers end at varied points."""
    import copy

    model, tok, records = synthetic_setup
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
