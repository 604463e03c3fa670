"""Figures from the CSV outputs only (never from models), so any figure redraws in seconds;
each figure's rule `figure_<name>` runs `figure_main(<name>)`.

Figures (the paper's numbering): passk_curves (Fig. 3), coverage (Fig. 4),
passk_vs_block_length (Fig. 5), bypassed_tokens (Fig. 6), connective_entropy (Fig. 7),
reward_curve (JustGRPO training), training_efficiency (Fig. 9), parallel_decoding (Fig. 8),
passk_vs_temperature (Fig. 10), passk_by_remasking (Fig. 11).
One panel per task; every order keeps its colour across figures (settings `colors`,
from the decoding-order registry: `orders.order_colors`). Over several seeds
(config `seeds`) a figure draws the pooled estimate boldly, with its interval across
seeds, and each seed's curve thin beside it; with one seed, that seed's curve with its
bootstrap interval over problems.
"""
from __future__ import annotations

import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .cli import cli_entry, parse_args  # noqa: E402
from .errors import FlextrapError  # noqa: E402
from . import pooling  # noqa: E402

STYLE = {"figure.dpi": 100, "font.size": 9, "axes.spines.top": False, "axes.spines.right": False,
         "axes.grid": True, "grid.alpha": 0.3, "legend.frameon": False}


PROBABILITY = (-0.02, 1.02)  # Pass@k axes: a t-interval over few seeds may reach past [0, 1]


def main_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The rows a figure draws boldly: the pooled rows, their band (`ci_low`, `ci_high`)
    the interval across seeds of the value drawn; with one seed, that seed's rows."""
    rows = pooling.pooled(df) if "seed" in df else None
    if rows is None:
        return df
    rows = rows.copy()
    if "pass_at_k_low" in rows:
        rows["ci_low"], rows["ci_high"] = rows.pass_at_k_low, rows.pass_at_k_high
    return rows


def each_seed(df: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(seed, rows) of every seed when the table holds several (drawn thin), else none."""
    if "seed" not in df or pooling.pooled(df) is None:
        return []
    return list(pooling.seed_rows(df).groupby("seed", sort=False))


def thin(ax, x, y, c) -> None:
    ax.plot(x, y, lw=0.7, alpha=0.45, color=c)


def panels(tasks: list[str], height: float = 3.0):
    fig, axes = plt.subplots(1, len(tasks), figsize=(3.6 * len(tasks), height), squeeze=False)
    return fig, dict(zip(tasks, axes[0]))


def passk_curves(df: pd.DataFrame, s: dict):
    """Pass@k vs k (log2 axis) per order with the bootstrap band (Fig. 3)."""
    fig, axes = panels(list(dict.fromkeys(df.task)))
    for task, ax in axes.items():
        for seed, seed_rows in each_seed(df[df.task == task]):
            for order, rows in seed_rows.groupby("order", sort=False):
                if order in s["orders"]:
                    thin(ax, rows.k, rows.pass_at_k, s["colors"][order])
        for order, rows in main_rows(df[df.task == task]).groupby("order", sort=False):
            if order not in s["orders"]:
                continue
            ax.plot(rows.k, rows.pass_at_k, marker="o", ms=3, color=s["colors"][order], label=order)
            ax.fill_between(rows.k, rows.ci_low, rows.ci_high, color=s["colors"][order], alpha=0.2, lw=0)
        ax.set_xscale("log", base=2)
        ax.set(title=task, xlabel="k", ylabel="Pass@k", ylim=PROBABILITY)
        ax.legend()
    return fig


def coverage(df: pd.DataFrame, s: dict):
    """Share of problems solved at k = n only by A, only by B, by both (Fig. 4)."""
    if df.empty:
        raise FlextrapError("coverage: no pair of sampled orders to compare (passk.coverage)")
    fig, axes = panels(list(dict.fromkeys(df.task)))
    columns = ("share_only_a", "share_only_b", "share_both")
    for task, ax in axes.items():
        row = main_rows(df[df.task == task]).iloc[0]
        labels = [f"only {row.a}", f"only {row.b}", "both"]
        shares = [100 * row[c] for c in columns]
        errors = None
        if f"{columns[0]}_low" in row:
            errors = [[100 * (row[c] - row[f"{c}_low"]) for c in columns], [100 * (row[f"{c}_high"] - row[c]) for c in columns]]
        bars = ax.bar(labels, shares, yerr=errors, capsize=3, color=[s["colors"][row.a], s["colors"][row.b], "0.6"])
        for _, seed_rows in each_seed(df[df.task == task]):
            ax.plot(labels, [100 * seed_rows.iloc[0][c] for c in columns], "k.", ms=4, alpha=0.6)
        ax.bar_label(bars, fmt="%.1f%%")
        ax.set(title=f"{task} (k = {row.k})", ylabel="% of problems solved")
    return fig


def passk_vs_block_length(df: pd.DataFrame, s: dict):
    """Pass@k at a few k against the block length of the swept orders (Fig. 5)."""
    df = main_rows(df[df.order.isin(s["block_sweep"])])
    if df.empty:
        raise FlextrapError("passk_vs_block_length: none of passk.block_sweep was sampled")
    fig, axes = panels(list(dict.fromkeys(df.task)))
    for task, ax in axes.items():
        rows = df[df.task == task]
        for i, k in enumerate(sorted(set(rows.k))[::2]):
            at_k = rows[rows.k == k].sort_values("block_length")
            ax.plot(at_k.block_length, at_k.pass_at_k, marker="o", ms=3, label=f"k = {k}",
                    color=plt.get_cmap("viridis")(i / 5))
        ax.set_xscale("log", base=2)
        ax.set(title=task, xlabel="block length", ylabel="Pass@k")
        ax.legend()
    return fig


def bypassed_tokens(df: pd.DataFrame, s: dict):
    """The most often bypassed words in one order, as a share of all bypasses, each
    labelled with how often that word is bypassed when it occurs (Fig. 6)."""
    df = main_rows(df[df.order == s["bypass_order"]])
    fig, axes = panels(list(dict.fromkeys(df.task)), height=0.25 * s["top_bypassed"] + 1)
    for task, ax in axes.items():
        top = df[df.task == task].nlargest(s["top_bypassed"], "bypassed")[::-1]
        bars = ax.barh(top.word, 100 * top.share_of_bypassed, color=s["colors"][s["bypass_order"]])
        ax.bar_label(bars, [f"{r:.0%} of its uses" for r in top.bypass_rate], fontsize=7, padding=2)
        ax.margins(x=0.3)
        ax.set(title=f"{task}: {s['bypass_order']} order", xlabel="% of all bypassed tokens")
    return fig


def connective_entropy(df: pd.DataFrame, s: dict):
    """Decode entropy of each connective per order; dashed: mean over all tokens (Fig. 7)."""
    fig, axes = panels(list(dict.fromkeys(df.task)))
    orders = [o for o in s["orders"] if o in set(df.order)]
    seeds = each_seed(df)
    df = main_rows(df)
    for task, ax in axes.items():
        rows = df[(df.task == task) & (df["count"] > 0)]
        words = list(dict.fromkeys(rows[rows.kind == "connective"].word))
        width = 0.8 / max(len(orders), 1)
        for i, order in enumerate(orders):
            mine = rows[rows.order == order].set_index("word")
            heights = [mine.mean_entropy.get(w, np.nan) for w in words]
            x = np.arange(len(words)) + (i - (len(orders) - 1) / 2) * width
            errors = None
            if "mean_entropy_low" in mine:
                errors = [[h - mine.mean_entropy_low.get(w, np.nan) for w, h in zip(words, heights)],
                          [mine.mean_entropy_high.get(w, np.nan) - h for w, h in zip(words, heights)]]
            ax.bar(x, heights, width, yerr=errors, capsize=2, color=s["colors"][order], label=order)
            for _, seed_rows in seeds:
                per_word = seed_rows[(seed_rows.task == task) & (seed_rows.order == order)].set_index("word")
                ax.plot(x, [per_word.mean_entropy.get(w, np.nan) for w in words], "k.", ms=3, alpha=0.6)
            ax.axhline(mine.mean_entropy.get("(all tokens)", np.nan), ls="--", lw=1, color=s["colors"][order])
        ax.set_xticks(np.arange(len(words)), words, rotation=45, ha="right")
        ax.set(title=task, ylabel="decode entropy (nats)")
        ax.legend(title="dashed: all tokens", title_fontsize=7)
    return fig


def runs_of(df: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(label, rows) per JustGRPO run of a training log (and per seed, with several), in first-seen order."""
    df = df if "run" in df else df.assign(run="JustGRPO")
    if "seed" not in df or df.seed.nunique() < 2:
        return list(df.groupby("run", sort=False))
    return [(f"{run}, seed {seed}", rows) for (run, seed), rows in df.groupby(["run", "seed"], sort=False)]


def reward_curve(df: pd.DataFrame, s: dict):
    """Mean rollout reward per JustGRPO step (points, and a running mean) and the share
    of groups with a signal (dotted), one colour per run."""
    fig, ax = plt.subplots(figsize=(4.6, 3.2))
    for i, (run, rows) in enumerate(runs_of(df)):
        c = plt.get_cmap("tab10")(i)
        window = max(1, len(rows) // 10)
        ax.plot(rows.step, rows.mean_reward, "o", ms=2, color=c, alpha=0.5)
        ax.plot(rows.step, rows.mean_reward.rolling(window, min_periods=1).mean(), color=c, lw=1.2,
                label=f"{run} (running mean, {window} steps)")
        ax.plot(rows.step, rows.nonzero_adv_groups, color=c, lw=0.8, ls=":")
    ax.set(xlabel="JustGRPO step", ylabel="reward / share of groups with A != 0 (dotted)",
           title="JustGRPO training")
    ax.legend(fontsize=7)
    return fig


def training_efficiency(df: pd.DataFrame, s: dict):
    """Held-out greedy accuracy of each run against training steps and against training
    wall-clock (evaluations excluded) (the paper's Fig. 9 concern)."""
    fig, (by_step, by_time) = plt.subplots(1, 2, figsize=(7.6, 3.2), sharey=True)
    for i, (run, rows) in enumerate(runs_of(df)):
        c = plt.get_cmap("tab10")(i)
        by_step.plot(rows.step, 100 * rows.accuracy, marker="o", ms=3, color=c, label=run)
        by_time.plot(rows.train_seconds / 60, 100 * rows.accuracy, marker="o", ms=3, color=c, label=run)
    by_step.set(xlabel="JustGRPO step", ylabel="held-out accuracy (%)", title="per step")
    by_time.set(xlabel="training wall-clock (min)", title="per minute of training")
    by_step.legend(fontsize=7)
    return fig


def passk_vs_temperature(df: pd.DataFrame, s: dict):
    """Pass@k against the sampling temperature, one line per order and k (Fig. 10)."""
    fig, axes = panels(list(dict.fromkeys(df.task)))
    for task, ax in axes.items():
        rows = main_rows(df[df.task == task])
        ks = sorted(set(rows.k))
        for seed, seed_rows in each_seed(df[df.task == task]):
            for order, by_order in seed_rows[seed_rows.k == ks[-1]].groupby("base_order", sort=False):
                at_k = by_order.sort_values("temperature")
                thin(ax, at_k.temperature, at_k.pass_at_k, s["colors"][order])
        for order, by_order in rows.groupby("base_order", sort=False):
            for j, k in enumerate([ks[0], ks[-1]] if len(ks) > 1 else ks):
                at_k = by_order[by_order.k == k].sort_values("temperature")
                ax.plot(at_k.temperature, at_k.pass_at_k, marker="o", ms=3, color=s["colors"][order],
                        ls="-" if j else "--", label=f"{order}, k = {k}")
        ax.set(title=task, xlabel="temperature", ylabel="Pass@k")
        ax.legend(fontsize=7)
    return fig


def passk_by_remasking(df: pd.DataFrame, s: dict):
    """Pass@k curves under each error proxy of arbitrary order, beside AR (Fig. 11)."""
    fig, axes = panels(list(dict.fromkeys(df.task)))
    for task, ax in axes.items():
        for order, rows in main_rows(df[df.task == task]).groupby("order", sort=False):
            first = rows.iloc[0]
            label = first.base_order if first.block_length == 1 else f"{first.base_order}, {first.remasking}"
            ax.plot(rows.k, rows.pass_at_k, marker="o", ms=3, label=label, color=s["colors"][order])
            ax.fill_between(rows.k, rows.ci_low, rows.ci_high, alpha=0.15, lw=0, color=s["colors"][order])
        ax.set_xscale("log", base=2)
        ax.set(title=task, xlabel="k", ylabel="Pass@k", ylim=PROBABILITY)
        ax.legend(fontsize=7)
    return fig


METHOD_COLORS = {"base": "0.45", "JustGRPO": "#d62728"}
RULE_STYLES = {"eb": ("-", "o"), "top_k": ("--", "s"), "threshold": (":", "^")}


def gap_label(ax, rows: pd.DataFrame, where: str, ha: str) -> None:
    """Write JustGRPO - base (points) above the JustGRPO point of one setting."""
    by = rows.set_index("method")
    if {"base", "JustGRPO"} <= set(by.index):
        gap = by.accuracy["JustGRPO"] - by.accuracy["base"]
        ax.annotate(f"{gap:+.1f} {where}", (by.tokens_per_step["JustGRPO"], by.accuracy["JustGRPO"]),
                    textcoords="offset points", xytext=(0, 6), ha=ha, fontsize=7)


def parallel_decoding(df: pd.DataFrame, s: dict):
    """Accuracy vs tokens per step (gen_length / NFE), base vs JustGRPO, one line per
    parallel rule (Fig. 8); the EB-sampler's gap is written at gamma = 0 (one token per
    step) and at its largest gamma."""
    fig, axes = panels(sorted(df.task.unique()), height=3.2)
    for task, ax in axes.items():
        for seed, seed_rows in each_seed(df[df.task == task]):
            for (method, rule), line in seed_rows.groupby(["method", "rule"]):
                line = line.sort_values("tokens_per_step")
                thin(ax, line.tokens_per_step, line.accuracy, METHOD_COLORS.get(method, "k"))
        rows = main_rows(df[df.task == task])
        for (method, rule), line in rows.groupby(["method", "rule"]):
            ls, marker = RULE_STYLES.get(rule, ("-.", "x"))
            line = line.sort_values("tokens_per_step")
            ax.plot(line.tokens_per_step, line.accuracy, ls=ls, marker=marker, ms=3,
                    color=METHOD_COLORS.get(method, "k"), label=f"{method}, {rule}")
        eb = rows[rows.rule == "eb"]
        if len(eb):
            gap_label(ax, eb[eb.value == eb.value.min()], "at 1 tok/step" if eb.value.min() == 0 else "", "left")
            gap_label(ax, eb[eb.value == eb.value.max()], "most parallel", "right")
        ax.set(xlabel="tokens per step", ylabel="accuracy (%)", title=task)
        ax.legend(fontsize=6)
    return fig


FIGURES = {f.__name__: f for f in (passk_curves, coverage, passk_vs_block_length, bypassed_tokens,
                                   connective_entropy, reward_curve, training_efficiency, parallel_decoding,
                                   passk_vs_temperature, passk_by_remasking)}


def read_csv(path: str) -> pd.DataFrame:
    """A figure's input table; an unreadable one raises with its path."""
    try:
        return pd.read_csv(path)
    except FileNotFoundError:
        raise FlextrapError(f"{path}: no such file") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise FlextrapError(f"{path}: not a readable CSV ({str(err).strip()}); rerun the rule that "
                            "writes it (snakemake -R <rule>, or delete the file)") from None


def missing_column(err: Exception, df: pd.DataFrame) -> str | None:
    """The column name behind `df[name]` (a KeyError raised inside pandas) or `df.name`
    (an AttributeError of a DataFrame) when `df` lacks it; None for any other error,
    e.g. a missing settings key."""
    if isinstance(err, KeyError):
        tb = err.__traceback__
        while tb.tb_next is not None:
            tb = tb.tb_next
        in_pandas = f"{os.sep}pandas{os.sep}" in tb.tb_frame.f_code.co_filename
        name = err.args[0] if in_pandas and err.args else None
    else:
        name = err.name if isinstance(getattr(err, "obj", None), (pd.DataFrame, pd.Series)) else None
    return name if isinstance(name, str) and name not in df.columns else None


def draw(name: str, inputs: list[str], settings: dict, out: str) -> None:
    """Draw figure `name` from CSVs and save `out`.png and `out`.pdf. An input is a path,
    or {"seed": s, "path": p} for a table of one seed (a training log)."""
    df = pd.concat([read_csv(p) if isinstance(p, str) else read_csv(p["path"]).assign(seed=str(p["seed"]))
                    for p in inputs])
    inputs = [p if isinstance(p, str) else p["path"] for p in inputs]
    with plt.rc_context(STYLE):
        try:
            fig = FIGURES[name](df, settings)
        except (KeyError, AttributeError) as err:
            column = missing_column(err, df)
            if column is None:
                raise
            raise FlextrapError(f"figure {name}: its inputs ({', '.join(inputs)}) have no column {column!r}; "
                                f"found: {', '.join(map(str, df.columns))}") from None
        fig.tight_layout()
        for ext in ("png", "pdf"):  # via a temporary file: no half-written figure after a kill
            fig.savefig(f"{out}.tmp.{ext}", dpi=settings["dpi"])
            os.replace(f"{out}.tmp.{ext}", f"{out}.{ext}")
        plt.close(fig)


def figure_main(name: str, doc: str):
    """The command-line `main` of figure `name`'s rule: --inputs (CSV paths, JSON),
    --settings (JSON, config `figures` and the orders), --out (path without .png/.pdf)."""
    @cli_entry
    def main(argv=None) -> None:
        args = parse_args(doc, ["inputs", "settings", "out"], argv)
        draw(name, json.loads(args.inputs), json.loads(args.settings), args.out)
    return main
