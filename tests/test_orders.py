"""The decoding-order registry (flextrap.orders): every ranking's behaviour by hand, the
schema choices and figure colours derived from it, and a new order added as one
registry entry and run through the config check, sampling, Pass@k and a figure."""
import copy
from pathlib import Path

import pytest
import torch
import yaml
from conftest import ROOT

from flextrap import orders, plots
from flextrap.config import check_config, with_default
from flextrap.errors import FlextrapError
from flextrap.passk import write_tables
from flextrap.plan import Plan
from flextrap.sample import run_shard
from flextrap.sampling import generate

SCHEMA = ROOT / "config" / "schema.yaml"


def default_config() -> dict:
    return with_default({}, ROOT / "config" / "config.yaml")


def test_each_score_ranks_the_candidates_as_computed_by_hand():
    probs = torch.tensor([[[0.7, 0.2, 0.1], [0.4, 0.4, 0.2], [0.5, 0.3, 0.2]]], dtype=torch.float64)
    tokens = torch.tensor([[1, 0, 0]])
    positions = torch.tensor([[3, 4, 5]])
    rank = {name: orders.ranker(name)(probs, tokens, positions, None)[0] for name in
            ("low_confidence", "neg_entropy", "margin", "left_to_right")}
    assert rank["low_confidence"].tolist() == pytest.approx([0.2, 0.4, 0.5])  # p of the drawn token
    h = lambda p: -sum(q * torch.log(torch.tensor(q, dtype=torch.float64)).item() for q in p)  # noqa: E731
    assert rank["neg_entropy"].tolist() == pytest.approx([-h([.7, .2, .1]), -h([.4, .4, .2]), -h([.5, .3, .2])])
    assert rank["margin"].tolist() == pytest.approx([0.5, 0.0, 0.2])
    assert rank["left_to_right"].tolist() == [-3.0, -4.0, -5.0]
    fixed = orders.ranker("low_confidence", priority=torch.tensor([0., 0., 0., 9., 1., 5.]))
    assert fixed(probs, tokens, positions, None).tolist() == [[9.0, 1.0, 5.0]]  # the priority overrides the name
    draws = orders.ranker("random")(probs, tokens, positions, torch.Generator().manual_seed(0))
    assert draws.tolist() == torch.rand((1, 3), generator=torch.Generator().manual_seed(0), dtype=torch.float64).tolist()
    with pytest.raises(ValueError, match="unknown remasking 'nope'"):
        orders.ranker("nope")


def test_left_to_right_commits_the_left_most_masked_position_whatever_the_block(tiny_lm):
    model, tok = tiny_lm
    kw = dict(gen_length=8, steps=8, temperature=0.0, mask_id=tok.mask_token_id, trace=True)
    gen = generate(model, [[5, 6, 7]], block_length=8, remasking="left_to_right", **kw)
    assert gen.trace["step"][0].tolist() == list(range(8))
    ar = generate(model, [[5, 6, 7]], block_length=1, remasking="low_confidence", **kw)
    assert torch.equal(gen.answers, ar.answers)  # greedy AR order either way


def test_the_schema_offers_exactly_the_registrys_rankings_and_proxies():
    config = default_config()
    for name in orders.RANKINGS:
        config["passk"]["orders"]["arbitrary"]["remasking"] = name
        check_config(config, SCHEMA)
    config["passk"]["orders"]["arbitrary"]["remasking"] = "confidence"
    with pytest.raises(FlextrapError, match=r"passk\.orders\.arbitrary\.remasking: 'confidence' is not one of"):
        check_config(config, SCHEMA)
    config = default_config()
    config["parallel"]["proxy"] = "low_confidence"
    with pytest.raises(FlextrapError, match=r"parallel\.proxy: 'low_confidence' is not one of"):
        check_config(config, SCHEMA)
    schema = yaml.safe_load(SCHEMA.read_text())
    assert set(schema["properties"]["parallel"]["properties"]["rules"]["properties"]) == set(orders.PARALLEL_RULES)


def test_each_order_gets_its_rankings_colour_and_orders_sharing_one_get_distinct_shades():
    colors = orders.order_colors({"ar": {"block_length": 1, "remasking": "low_confidence"},
                                  "arbitrary": {"block_length": 32, "remasking": "low_confidence"},
                                  "random": {"block_length": 32, "remasking": "random"},
                                  "block8": {"block_length": 8, "remasking": "low_confidence"},
                                  "block128": {"block_length": 128, "remasking": "low_confidence"}})
    assert colors["ar"] == orders.AR_COLOR
    assert colors["arbitrary"] == orders.RANKINGS["low_confidence"].color
    assert colors["random"] == orders.RANKINGS["random"].color
    assert len(set(colors.values())) == 5
    assert orders.lighter("#000000", 0.5) == "#808080" and orders.lighter("#ff7f0e", 0) == "#ff7f0e"
    paper = Plan(with_default(yaml.safe_load((ROOT / "config" / "paper.yaml").read_text()), ROOT / "config" / "config.yaml"))
    shown = paper.figure_settings()["colors"]
    assert len({shown[o] for o in paper.config["passk"]["orders"]}) == len(paper.config["passk"]["orders"])


def test_a_new_order_is_one_registry_entry_through_config_sampling_passk_and_a_figure(
        synthetic_setup, tmp_path: Path, monkeypatch):
    config = default_config()
    config["passk"].update(gen_length=16, steps=16, n_samples=2, ks=[1, 2], max_problems=6, batch_size=8)
    config["passk"]["orders"]["rtl"] = {"block_length": 8, "remasking": "right_to_left"}
    with pytest.raises(FlextrapError, match="right_to_left"):  # not a ranking yet
        check_config(copy.deepcopy(config), SCHEMA)

    monkeypatch.setitem(orders.RANKINGS, "right_to_left", orders.Ranking(
        "#123456", "the right-most masked position first", priority=lambda positions: positions.double()))
    check_config(config, SCHEMA)
    plan = Plan(config)
    assert "rtl" in plan.order_pattern().split("|")
    model, tok, records = synthetic_setup
    shards = {}
    for order in ("ar", "rtl"):
        shards[order] = [str(tmp_path / f"{order}.jsonl")]
        samples = run_shard(model, tok, records, "synthetic", {**plan.sample_settings(0, "synthetic", order),
                                                                "early_exit": False}, Path(shards[order][0]))
        assert len(samples) == 12
    for record in samples:  # right to left within each block of 8, one token per step
        steps = record["trace"]["step"]
        assert steps == [7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8]
    table = write_tables(shards, plan.passk_settings("tiny", "synthetic"), str(tmp_path / "passk.csv"),
                         str(tmp_path / "coverage.csv"))
    rtl = table[table.order == "rtl"]
    assert rtl.remasking.unique().tolist() == ["right_to_left"] and rtl.k.tolist() == [1, 2]
    settings = {**plan.figure_settings(), "orders": ["ar", "rtl"]}
    ax = plots.passk_curves(table, settings).axes[0]
    drawn = {line.get_label(): line for line in ax.get_lines()}
    assert drawn["rtl"].get_color() == "#123456" and drawn["ar"].get_color() == orders.AR_COLOR
    assert list(drawn["rtl"].get_ydata()) == pytest.approx(rtl.pass_at_k.tolist())
