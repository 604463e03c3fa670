"""Table 1: our measured rows beside the paper's reported ones, Markdown and LaTeX; over
several seeds, each seed's rows and the pooled mean with its interval across seeds."""
import json
import math

import pandas as pd
import pytest

from flextrap.stages import ablation_table, accuracy_table


def test_accuracy_table_marks_reported_rows(tmp_path):
    inputs = []
    for model, accs in (("llada", (0.5, 0.6)), ("llada-justgrpo", (0.7, 0.8))):
        for length, acc in zip((128, 256), accs):
            path = tmp_path / "eval" / model / "gsm8k" / f"len{length}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"accuracy": acc, "problems": 10, "gen_length": length}))
            inputs.append({"seed": 0, "model": model, "task": "gsm8k", "path": str(path)})
    settings = {"models": {"llada": "base", "llada-justgrpo": "JustGRPO"}, "tasks": ["gsm8k", "mbpp"],
                "gen_lengths": [128, 256], "reported": "table1", "confidence": 0.95}
    out = {k: tmp_path / f"t.{k}" for k in ("md", "tex", "csv")}
    accuracy_table.main(["--inputs", json.dumps(inputs), "--settings", json.dumps(settings),
                         "--out-markdown", str(out["md"]), "--out-latex", str(out["tex"]), "--out-csv", str(out["csv"])])
    md = out["md"].read_text()
    assert "| JustGRPO (reported) | 83.8 / 89.1 | 50.6 / 52.4 |" in md
    assert "| JustGRPO | 70.0 / 80.0 | - / - |" in md and "| base | 50.0 / 60.0 | - / - |" in md
    assert "| d1 (reported) | 73.2 / 81.1 | - / - |" in md
    assert r"JustGRPO (reported) & 83.8 / 89.1 & 50.6 / 52.4 \\" in out["tex"].read_text()
    df = pd.read_csv(out["csv"])
    assert set(df.source) == {"reported", "measured"}


def test_table1_takes_each_column_from_its_own_run_and_the_ablation_its_reported_rows(tmp_path):
    """Two JustGRPO models fill different columns under one label; the ablation table
    carries the paper's GSM8K ablation numbers at length 256."""
    inputs = []
    for model, task, acc in (("llada", "gsm8k", 0.5), ("llada-justgrpo-gsm8k", "gsm8k", 0.9),
                             ("llada", "mbpp", 0.3), ("llada-justgrpo-code", "mbpp", 0.45)):
        path = tmp_path / "eval" / model / task / "len256.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"accuracy": acc, "problems": 10, "gen_length": 256}))
        inputs.append({"seed": 0, "model": model, "task": task, "path": str(path)})
    settings = {"models": {"llada": "base", "llada-justgrpo-gsm8k": "JustGRPO", "llada-justgrpo-code": "JustGRPO"},
                "tasks": ["gsm8k", "mbpp"], "gen_lengths": [256], "reported": None, "confidence": 0.95}
    out = {k: tmp_path / f"t.{k}" for k in ("md", "tex", "csv")}
    args = ["--out-markdown", str(out["md"]), "--out-latex", str(out["tex"]), "--out-csv", str(out["csv"])]
    accuracy_table.main(["--inputs", json.dumps(inputs), "--settings", json.dumps(settings), *args])
    md = out["md"].read_text()
    assert "| JustGRPO | 90.0 | 45.0 |" in md and "| base | 50.0 | 30.0 |" in md and "reported" not in md
    ablation = {"models": {"llada": "base", "llada-justgrpo-gsm8k": "JustGRPO"}, "tasks": ["gsm8k"],
                "gen_lengths": [128, 256], "reported": "ablation", "confidence": 0.95}
    ablation_table.main(["--inputs", json.dumps(inputs[:2]), "--settings", json.dumps(ablation), *args])
    md = out["md"].read_text()
    assert "| JustGRPO-Random (reported) | - / 82.2 |" in md and "| base (reported) | - / 78.6 |" in md
    assert "| JustGRPO | - / 90.0 |" in md


def test_two_seeds_give_each_seed_row_and_the_pooled_mean_with_its_t_interval(tmp_path):
    inputs = []
    for seed, accs in ((0, {"tiny": 0.30, "tiny-jg": 0.40}), (1, {"tiny": 0.34, "tiny-jg": 0.36})):
        for model, acc in accs.items():
            path = tmp_path / f"seed{seed}" / model / "len48.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"accuracy": acc, "problems": 200, "gen_length": 48}))
            inputs.append({"seed": seed, "model": model, "task": "synthetic", "path": str(path)})
    settings = {"models": {"tiny": "base", "tiny-jg": "JustGRPO"}, "tasks": ["synthetic"], "gen_lengths": [48],
                "reported": None, "confidence": 0.95}
    out = {k: tmp_path / f"t.{k}" for k in ("md", "tex", "csv")}
    accuracy_table.main(["--inputs", json.dumps(inputs), "--settings", json.dumps(settings), "--out-markdown",
                         str(out["md"]), "--out-latex", str(out["tex"]), "--out-csv", str(out["csv"])])
    md = out["md"].read_text().splitlines()
    assert md[-6:] == ["| base (seed 0) | 30.0 |", "| base (seed 1) | 34.0 |",
                       "| base (mean of 2 seeds) | 32.0 [6.6, 57.4] |",  # 32 -+ 12.706 * 2
                       "| JustGRPO (seed 0) | 40.0 |", "| JustGRPO (seed 1) | 36.0 |",
                       "| JustGRPO (mean of 2 seeds) | 38.0 [12.6, 63.4] |"]
    pooled = pd.read_csv(out["csv"]).query("seed == 'pooled'").set_index("method")
    half = 12.7062047 * (2 * math.sqrt(2)) / math.sqrt(2)  # t_{0.975, 1} * sd / sqrt(2), sd of (30, 34) = 2 sqrt 2
    assert pooled.loc["base", "accuracy_low"] == pytest.approx(32.0 - half, abs=0.005)  # the CSV keeps 2 decimals
    assert pooled.loc["JustGRPO", "accuracy_high"] == pytest.approx(38.0 + half, abs=0.005)
