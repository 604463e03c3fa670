"""What the DAG runs, derived from the config in one place: which models there are and
what kind each is, which jobs each stage has, and the settings every rule hands its
stage. The rule files (`workflow/rules/*.smk`) pass wildcards to a `Plan` and build
nothing themselves; the tests build the same settings from the same `Plan`.

Torch-free: the Snakefile imports it.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from . import paths
from .job_settings import (evaluation_job, greedy_sampler, model_check_job, parallel_job, passk_job,
                           passk_sampler, passk_sizes)
from .model_specs import gpu_dtype, inherited_from, with_kind
from .orders import PARALLEL_RULES, order_colors
from .runs import heldout_task, released_models, run_model, run_settings, trained_runs
from .seeds import config_for_seed
from .sweeps import derived_orders, sweep_of
from .tasks import fork_words, slot_layout

EVAL_SECTIONS = {"eval": "evaluation", "parallel": "parallel"}  # results/seed<s>/<kind>/ -> its config section
PASSK_FIGURES = {  # Sec. 3 figure -> (stage, table) it is drawn from
    "passk_curves": ("passk", "passk"),
    "coverage": ("passk", "coverage"),
    "passk_vs_block_length": ("passk", "passk"),
    "bypassed_tokens": ("entropy", "bypass"),
    "connective_entropy": ("entropy", "connective_entropy"),
}
SWEEP_FIGURES = {"temperature": "passk_vs_temperature", "remasking": "passk_by_remasking"}  # Fig. 10, 11
TRAINING_FIGURES = {"reward_curve": "train_log.csv", "training_efficiency": "heldout_log.csv"}  # figure -> run log
MODEL_KINDS = ("pretrained", "trained", "released", "hub", "local")


def alternatives(names) -> str:
    """A wildcard pattern matching exactly one of `names` (nothing when there are none)."""
    return "|".join(map(re.escape, names)) or "^$"


# The wildcard name of one parallel-decoding setting: "<rule>-<value>", e.g. eb-0.1, top_k-2
# (values may hold "-", as in 1e-05).
PARALLEL_SETTING = rf"({alternatives(PARALLEL_RULES)})-[0-9.e+-]+"


def as_json(obj) -> str:
    """A rule parameter: settings as one JSON word (sorted, so the shell line is stable)."""
    return json.dumps(obj, sort_keys=True)


class Plan:
    """The DAG of one config: `Plan(config)`; every method takes concrete values (a rule
    passes its wildcards)."""

    def __init__(self, config: dict):
        self.config = config
        self.seeds = config["seeds"]["values"]
        self.base = config["base_model"]
        jg = config["justgrpo"]
        self.runs = {r: run_settings(jg, r) for r in jg["runs"]}  # run -> its training settings (seed 0)
        self.trained = {run_model(self.base, r): r for r in trained_runs(jg)}  # model name -> run trained here
        self.models = {**config["models"], **released_models(config)}  # every model a rule may load
        self.pretrained = [m for m, spec in config["models"].items() if "pretrain" in spec]
        self.hub_models = [m for m in self.models if self.model_kind(m) in ("released", "hub")]
        self.sweep_orders = derived_orders(config["passk"])  # Fig. 10-11: name -> {sweep, order, value, spec}
        self._seeded = {s: config_for_seed(config, s) for s in self.seeds}

    def seeded(self, seed) -> dict:
        """The config of seed `seed`'s run (`flextrap.seeds`)."""
        return self._seeded[int(seed)]

    # --- models ---------------------------------------------------------------------

    def model_kind(self, name: str) -> str:
        """pretrained (by rule pretrain_tiny), trained (a JustGRPO run of the DAG),
        released (a run's published checkpoint), hub (fetched) or local (a path)."""
        if name in self.trained:
            return "trained"
        if name not in self.config["models"] and name in self.models:
            return "released"
        spec = self.models[name]
        return "pretrained" if "pretrain" in spec else "hub" if "hf_id" in spec else "local"

    def model_spec(self, name: str, seed) -> dict:
        """The spec `flextrap.models.load_model` takes in seed `seed`, with its `kind`."""
        kind = self.model_kind(name)
        if kind == "trained":
            return with_kind({"path": paths.model_dir(seed, name), **inherited_from(self.config["models"][self.base])})
        if kind == "pretrained":
            return with_kind({"path": paths.model_dir(seed, name)})
        if kind in ("released", "hub"):  # fetched once by rule fetch_model; jobs read the cache only
            return with_kind({**self.models[name], "local_files_only": True})
        return with_kind(self.models[name])

    def model_input(self, name: str, seed) -> list[str]:
        """Input files of a rule that loads model `name`: its directory for a model the DAG
        trains, the preflight report for a hub model (after its fetch, so no GPU job is
        queued for code that fails on the pinned stack), nothing for a local path."""
        kind = self.model_kind(name)
        if kind in ("pretrained", "trained"):
            return [paths.model_dir(seed, name)]
        return [paths.preflight(name)] if kind in ("released", "hub") else []

    def task_models(self, task: str) -> list[str]:
        """The base model and the JustGRPO model of `task`'s Table 1 column."""
        return [self.base, run_model(self.base, self.config["evaluation"]["runs"][task])]

    # --- jobs -----------------------------------------------------------------------

    def job(self, rule: str) -> dict:
        """How `rule`'s jobs run: config `jobs.default`, overridden key by key by `jobs.<rule>`."""
        jobs = self.config["jobs"]
        return {**jobs["default"], **jobs.get(rule, {})}

    def threads(self, rule: str) -> int:
        return self.job(rule)["threads"]

    def resources(self, rule: str) -> dict:
        """Snakemake resources of `rule`'s jobs, read by the SLURM executor plugin (a local
        run schedules by threads only). The runtime grows with the attempt, so a job killed
        at its time limit is retried with more time (the profile sets `retries`)."""
        j, site = self.job(rule), self.config["cluster"]
        runtime = j["runtime"]
        out = {"mem_mb": j["mem_mb"], "runtime": lambda wildcards, attempt: runtime * attempt}
        partition = (site["gpu_partition"] or site["partition"]) if j["gpu"] else site["partition"]
        if partition:
            out["slurm_partition"] = partition
        if site["account"]:
            out["slurm_account"] = site["account"]
        if j["gpu"]:
            out["gpu"] = j["gpu"]
            if site["gpu_model"]:
                out["gpu_model"] = site["gpu_model"]
        return out

    def train_launcher(self, workflow_dir) -> str:
        """One process on CPU / one GPU; `accelerate launch` with FSDP on a multi-GPU job."""
        gpus = self.job("train_justgrpo")["gpu"]
        if gpus > 1:
            fsdp = Path(workflow_dir) / "envs" / "accelerate_fsdp.yaml"
            return f"accelerate launch --config_file {fsdp} --num_processes {gpus}"
        return "python"

    # --- settings each rule hands its stage -----------------------------------------

    def pretrain_settings(self, seed, model: str) -> dict:
        return self.seeded(seed)["models"][model]["pretrain"]

    def preflight_settings(self, model: str) -> dict:
        return {**self.config["preflight"], "dtype": gpu_dtype(self.models[model])}

    def model_check_settings(self, seed, task: str) -> dict:
        return model_check_job(self.seeded(seed), task)

    def slot_probe_settings(self, seed, task: str) -> dict:
        return {**self.seeded(seed).get("slot_probe", {}), "device": self.config["device"], "task": task}

    def sample_settings(self, seed, task: str, order: str) -> dict:
        return passk_job(self.seeded(seed), task, order)

    def passk_settings(self, model: str, task: str) -> dict:
        p = self.config["passk"]
        return {"model": model, "task": task, "ks": p["ks"], "bootstrap": p["bootstrap"],
                "coverage": p["coverage"], "orders": p["orders"]}

    def sweep_settings(self, model: str, task: str, sweep: str) -> dict:
        """Pass@k of one sweep's orders, each labelled with its base order and the swept setting."""
        p = self.config["passk"]
        orders = {o: {**passk_sampler(self.config, o), "base_order": d["order"], "swept": sweep}
                  for o, d in sweep_of(p, sweep).items()}
        return {"model": model, "task": task, "ks": p["ks"], "bootstrap": p["bootstrap"], "coverage": [],
                "orders": orders}

    def entropy_settings(self, model: str, task: str) -> dict:
        """Fig. 6-7 of one model and task, at the task's fork tokens (`tasks.fork_words`)."""
        e = self.config["entropy"]
        words = fork_words(task, self.config["tasks"][task], e.get("connectives", []))
        return {"model": model, "task": task, **e, "connectives": words}

    def pool_settings(self, name: str) -> dict:
        return {"kind": self.pooled_tables()[name], "confidence": self.config["seeds"]["confidence"]}

    def train_settings(self, seed, run: str) -> dict:
        """What `flextrap.train` takes for run `run` of seed `seed`: its settings, and the
        sampler of its held-out evaluations (greedy, as `evaluation`, at `heldout.gen_length`)."""
        s = run_settings(self.seeded(seed)["justgrpo"], run)
        task = heldout_task(s)
        heldout = {**s["heldout"], "task": task, "template": self.config["evaluation"]["template"][task],
                   "sampler": greedy_sampler(self.config, s["heldout"]["gen_length"])}
        return {**s, "run": run, "heldout": heldout, "device": self.config["device"],
                "code_limits": self.config["grading"]["code"]}

    def evaluation_settings(self, seed, task: str, length) -> dict:
        return evaluation_job(self.seeded(seed), task, int(length))

    def parallel_settings(self, seed, task: str, setting: str) -> dict:
        rule, value = setting.split("-", 1)  # values may hold "-"
        return parallel_job(self.seeded(seed), task, rule, value)

    def figure_settings(self) -> dict:
        """The `figures` section, the orders, and each order's colour (`orders.order_colors`:
        the config's orders, and each sweep's derived orders among themselves)."""
        f, p = self.config["figures"], self.config["passk"]
        colors = order_colors(p["orders"])
        for sweep in self.sweeps():
            colors.update(order_colors({name: d["spec"] for name, d in sweep_of(p, sweep).items()}))
        return {**f, "orders": list(p["orders"]), "block_sweep": p["block_sweep"], "colors": colors}

    def order_pattern(self) -> str:
        """The `order` wildcard: a configured order or a sweep's derived one."""
        return alternatives([*self.config["passk"]["orders"], *self.sweep_orders])

    def table_settings(self, models: dict, tasks: list, reported: str) -> dict:
        """What `flextrap.tables` takes: row label of each model, columns, and the paper's
        table beside ours where `evaluation.reported` asks for it."""
        e = self.config["evaluation"]
        return {"models": models, "tasks": tasks, "gen_lengths": e["gen_lengths"],
                "reported": reported if e["reported"] else None, "confidence": self.config["seeds"]["confidence"]}

    def parallel_table_settings(self) -> dict:
        return {"models": self.method_labels(), "confidence": self.config["seeds"]["confidence"]}

    def method_labels(self) -> dict:
        """Row label of the base model and of each task's JustGRPO model (Table 1, Sec. 5)."""
        runs = self.config["evaluation"]["runs"].values()
        return {self.base: "base", **{run_model(self.base, r): "JustGRPO" for r in runs}}

    # --- Sec. 3: sampling and its tables ----------------------------------------------

    def passk_models(self) -> list[str]:
        """Models sampled for Sec. 3 (base models, or JustGRPO runs' models)."""
        return self.config["passk"].get("models", [self.base])

    def passk_tasks(self) -> list[str]:
        return list(self.config["passk"]["template"])

    def orders_for(self, task: str) -> list[str]:
        """Orders sampled for a task (an order may be limited to some tasks)."""
        return [o for o, spec in self.config["passk"]["orders"].items() if task in spec.get("tasks", [task])]

    def shard_paths(self, seed, model: str, task: str, order: str) -> list[str]:
        n = passk_sizes(self.config, order)["shards"]
        return [paths.shard(seed, model, task, order, i, n) for i in range(n)]

    def shards_by_order(self, seed, model: str, task: str, orders=None) -> dict[str, list[str]]:
        """Sample shards of each order (default: the task's Pass@k orders)."""
        orders = self.orders_for(task) if orders is None else orders
        return {o: self.shard_paths(seed, model, task, o) for o in orders}

    def sweep_shards(self, seed, model: str, task: str, sweep: str) -> dict[str, list[str]]:
        return self.shards_by_order(seed, model, task, list(sweep_of(self.config["passk"], sweep)))

    def sample_paths(self, seed, model: str, task: str, sweep: str | None = None) -> list[str]:
        """Every sample shard a Pass@k table reads: the task's orders, or one sweep's."""
        by_order = self.sweep_shards(seed, model, task, sweep) if sweep else self.shards_by_order(seed, model, task)
        return [path for shards in by_order.values() for path in shards]

    def sweep_tasks(self, sweep: str) -> list[str]:
        return self.config["passk"]["sweeps"][sweep]["tasks"]

    def sweeps(self) -> list[str]:
        return list(self.config["passk"].get("sweeps", {}))

    def pooled_tables(self) -> dict[str, str]:
        """Per-seed Sec. 3 table name -> its kind in `flextrap.pooling`."""
        return {"passk": "passk", "coverage": "coverage", "bypass": "bypass",
                "connective_entropy": "connective_entropy", **{s: "sweep" for s in self.sweeps()}}

    def per_seed(self, stage: str, model: str, task: str, name: str) -> dict:
        """One Sec. 3 table of every seed: seed -> path."""
        return {s: paths.analysis(s, stage, model, task, name) for s in self.seeds}

    # --- Sec. 4-5: evaluations and their tables -------------------------------------

    def eval_shards(self, seed, kind: str, model: str, task: str, name: str) -> list[dict]:
        """The shards of one evaluation: {"summary", "records"} of each."""
        n = self.config[EVAL_SECTIONS[kind]]["shards"]
        return [{"summary": paths.evaluation(seed, kind, model, task, name, (i, n)),
                 "records": paths.evaluation(seed, kind, model, task, name, (i, n), "jsonl")} for i in range(n)]

    def eval_inputs(self, pairs) -> list[dict]:
        """Every seed's evaluation summaries of (model, task) pairs, as `flextrap.tables` takes them."""
        return [{"seed": s, "model": m, "task": t, "path": paths.evaluation(s, "eval", m, t, f"len{n}")}
                for s in self.seeds for m, t in pairs for n in self.config["evaluation"]["gen_lengths"]]

    def tables(self) -> dict[str, tuple[list, dict]]:
        """Table 1 and the ablation (Table 5): name -> (evaluation summaries, table settings)."""
        e, ab = self.config["evaluation"], self.config["ablation"]
        ablation_models = [self.base] + [run_model(self.base, r) for r in ab["runs"].values()]
        return {
            "accuracy": (self.eval_inputs([(m, t) for t in e["template"] for m in self.task_models(t)]),
                         self.table_settings(self.method_labels(), list(e["template"]), "table1")),
            "ablation": (self.eval_inputs([(m, ab["task"]) for m in ablation_models]),
                         self.table_settings({self.base: "base", **{run_model(self.base, r): label
                                                                    for label, r in ab["runs"].items()}},
                                             [ab["task"]], "ablation")),
        }

    def parallel_names(self) -> list[str]:
        """Every configured parallel setting as its wildcard name, e.g. 'eb-0.1', 'top_k-2'."""
        return [f"{rule}-{value}" for rule, values in self.config["parallel"]["rules"].items() for value in values]

    def parallel_summaries(self) -> list[dict]:
        """Every seed's parallel-decoding summaries, as `flextrap.tables` takes them."""
        return [{"seed": seed, "model": m, "task": t, "path": paths.evaluation(seed, "parallel", m, t, s)}
                for seed in self.seeds for t in self.config["parallel"]["template"] for m in self.task_models(t)
                for s in self.parallel_names()]

    def training_logs(self, log: str) -> list[dict]:
        """One log of every run trained here, in every seed (the training figures' inputs)."""
        return [{"seed": s, "path": f"{paths.model_dir(s, m)}/{log}"} for s in self.seeds for m in self.trained]

    # --- what `rule all` asks for -------------------------------------------------------

    def data_outputs(self) -> list[str]:
        return [paths.data(t, s) for t, spec in self.config["tasks"].items() for s in spec["splits"]]

    def shared_inputs(self) -> list[str]:
        """What seeds' jobs read and no seed makes: the data, each hub model's preflight
        (after its fetch) and each general-capability task. Rule shared_inputs makes them
        before packed seeds are unpacked (`flextrap.seed_trees`)."""
        general = [self.general_task_input(t) for t in self.config["general"]["tasks"]] \
            if "general" in self.config else []
        return self.data_outputs() + general + [paths.preflight(m) for m in self.hub_models]

    def pretrained_models(self) -> list[str]:
        return [paths.model_dir(s, m) for s in self.seeds for m in self.pretrained]

    def trained_models(self) -> list[str]:
        return [paths.model_dir(s, m) for s in self.seeds for m in self.trained]

    def model_checks(self) -> list[str]:
        return [paths.model_check(s, self.base, self.config["model_check"]["task"]) for s in self.seeds]

    def passk_outputs(self, model: str) -> list[str]:
        """The Sec. 3 tables of `model` over every seed."""
        return [paths.analysis(None, stage, model, task, name) for task in self.passk_tasks()
                for stage, name in (("passk", "passk"), ("passk", "coverage"),
                                    ("entropy", "bypass"), ("entropy", "connective_entropy"))]

    def passk_figures(self) -> list[str]:
        """The Sec. 3 figures this config can draw (Fig. 5 only with a block-length sweep)."""
        p = self.config["passk"]
        figs = [f for f in PASSK_FIGURES if f != "passk_vs_block_length" or p["block_sweep"]]
        return [f for f in figs if f != "coverage" or p["coverage"]]

    def figure_outputs(self, model: str) -> list[str]:
        return [paths.figure(model, f, ext) for f in self.passk_figures() for ext in ("png", "pdf")]

    def sweep_outputs(self, model: str) -> list[str]:
        return [paths.analysis(None, "sweeps", model, t, s) for s in self.sweeps() for t in self.sweep_tasks(s)]

    def sweep_figure_outputs(self, model: str) -> list[str]:
        return [paths.figure(model, SWEEP_FIGURES[s], ext) for s in self.sweeps() for ext in ("png", "pdf")]

    def training_figures(self) -> list[str]:
        """Reward curves and Fig. 9, when some run is trained here (a released one has no logs)."""
        if not self.trained:
            return []
        return [paths.figure("justgrpo", f, ext) for f in TRAINING_FIGURES for ext in ("png", "pdf")]

    # --- Table 6: general capability (flextrap.general) -------------------------------

    def general_models(self) -> dict[str, str]:
        """Model -> its row label: the base model and each run of `general.runs`."""
        g = self.config["general"]
        return {self.base: "base", **{run_model(self.base, run): label for label, run in g["runs"].items()}}

    def general_inputs(self) -> list[dict]:
        """Every seed's lm-eval result per model and task, as `flextrap.tables` takes them."""
        if "general" not in self.config:
            return []
        return [{"seed": s, "model": m, "task": t, "path": paths.general(s, m, t)}
                for s in self.seeds for m in self.general_models() for t in self.config["general"]["tasks"]]

    def general_shards(self, seed, model: str, task: str) -> list[str]:
        n = self.config["general"]["tasks"][task]["shards"]
        return [paths.general(seed, model, task, (i, n)) for i in range(n)]

    def general_merge_settings(self, task: str) -> dict:
        return {"metric": self.config["general"]["tasks"][task]["metric"]}

    def general_task_input(self, task: str) -> str:
        """What an evaluation of `task` needs first: the local task's directory, or the
        marker of lm-eval's task fetched into the cache."""
        return paths.general_task(task) if task in self.config["general"]["local"] else paths.general_fetched(task)

    def general_include(self, task: str) -> str:
        """lm-eval's include path for `task`: a local task's directory, else none."""
        return paths.general_task(task) if task in self.config["general"]["local"] else ""

    def general_task_data(self, name: str) -> str:
        """The test split a local task is written from."""
        return paths.data(self.config["general"]["local"][name]["task"], "test")

    def general_task_settings(self, name: str) -> dict:
        local = self.config["general"]["local"][name]
        return {**local, "modulus": self.config["tasks"][local["task"]]["generator"]["modulus"]}

    def general_settings(self, seed, task: str) -> dict:
        """What `general.evaluate` takes: the adapter's settings (`lm_adapter.DiffusionLM`)
        and lm-eval's few-shot count and limit for `task`."""
        c = self.seeded(seed)
        g = c["general"]
        keys = ("loglikelihood", "mc_samples", "mc_batch", "batch_size", "chunk", "limit", "seed")
        return {**{k: g[k] for k in keys}, "num_fewshot": g["tasks"][task]["num_fewshot"], "device": c["device"],
                "decoder": "llada", "sampler": greedy_sampler(c, g["gen_length"]),
                "early_exit": c["evaluation"]["early_exit"]}

    def general_table_settings(self) -> dict:
        g = self.config["general"]
        return {"models": self.general_models(), "metrics": {t: v["metric"] for t, v in g["tasks"].items()},
                "reported": self.config["evaluation"]["reported"], "confidence": self.config["seeds"]["confidence"]}

    def general_outputs(self) -> list[str]:
        return [paths.table("general", ext) for ext in ("md", "tex", "csv")] if "general" in self.config else []

    def slot_probe_outputs(self) -> list[str]:
        """Slot probes of the base model and each generated task's JustGRPO run (Table 1's
        column), when configured."""
        if "slot_probe" not in self.config:
            return []
        runs = self.config["evaluation"]["runs"]
        return [paths.probe(s, m, t) for t in self.config["tasks"] if slot_layout(t) for s in self.seeds
                for m in (self.task_models(t) if t in runs else [self.base])]
