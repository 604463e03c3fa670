# Sec. 4: JustGRPO on the base model (one multi-GPU job at paper scale) in every seed,
# then the accuracy of base and trained models at every generation length (Table 1).


def train_launcher():
    """One process on CPU / one GPU; `accelerate launch` with FSDP on a multi-GPU job."""
    gpus = job("train_justgrpo")["gpu"]
    if gpus > 1:
        fsdp = Path(workflow.basedir) / "envs" / "accelerate_fsdp.yaml"
        return f"accelerate launch --config_file {fsdp} --num_processes {gpus}"
    return "python"


def train_settings(seed, run):
    """What `flextrap.train` takes for run `run` of seed `seed`: its settings, and the
    sampler of its held-out evaluations (greedy, as `evaluation`, at `heldout.gen_length`)."""
    s = run_settings(SEEDED[int(seed)]["justgrpo"], run)
    task = heldout_task(s)
    heldout = {**s["heldout"], "task": task, "template": config["evaluation"]["template"][task],
               "sampler": greedy_sampler(config, s["heldout"]["gen_length"])}
    return as_json({**s, "run": run, "heldout": heldout, "device": config["device"],
                    "code_limits": config["grading"]["code"]})


rule train_justgrpo:
    input:
        model=lambda w: model_input(BASE, w.seed),
        data=lambda w: paths.data(RUNS[w.run]["task"], "train"),
        heldout=lambda w: paths.data(heldout_task(RUNS[w.run]), "test"),
    output:
        directory(paths.model_dir("{seed}", run_model(BASE, "{run}"))),
    wildcard_constraints:
        run="|".join(map(re.escape, TRAINED.values())) or "^$",
    params:
        model=lambda w: model_spec(BASE, w.seed),
        settings=lambda w: train_settings(w.seed, w.run),
        task=lambda w: RUNS[w.run]["task"],
        launch=train_launcher(),
    threads: job_threads("train_justgrpo")
    resources:
        **job_resources("train_justgrpo"),
    conda:
        CONDA_ENV
    log:
        paths.log("train_justgrpo", "{run}", seed="{seed}"),
    benchmark:
        paths.benchmark("train_justgrpo", "{run}", seed="{seed}")
    shell:
        "{params.launch} -m flextrap.stages.train_justgrpo --model {params.model:q} --data {input.data} --task {params.task} "
        "--heldout {input.heldout} --settings {params.settings:q} --out {output} --threads {threads} > {log} 2>&1"


rule eval_accuracy:
    input:
        model=lambda w: model_input(w.model, w.seed),
        data=paths.data("{task}", "test"),
    output:
        records=paths.evaluation("{seed}", "eval", "{model}", "{task}", "len{length}", ("{shard}", "{shards}"), "jsonl"),
        summary=paths.evaluation("{seed}", "eval", "{model}", "{task}", "len{length}", ("{shard}", "{shards}")),
    wildcard_constraints:
        length=r"\d+",
        shard=r"\d+",
        shards=r"\d+",
    params:
        model=lambda w: model_spec(w.model, w.seed),
        settings=lambda w: as_json(evaluation_job(seeded(w), w.task, int(w.length))),
    threads: job_threads("eval_accuracy")
    resources:
        **job_resources("eval_accuracy"),
    conda:
        CONDA_ENV
    log:
        paths.log("eval_accuracy", "{model}", "{task}", "len{length}", "shard{shard}of{shards}", seed="{seed}"),
    benchmark:
        paths.benchmark("eval_accuracy", "{model}", "{task}", "len{length}", "shard{shard}of{shards}", seed="{seed}")
    shell:
        "python -m flextrap.stages.eval_accuracy --model {params.model:q} --data {input.data} --task {wildcards.task} "
        "--settings {params.settings:q} --shard {wildcards.shard} --shards {wildcards.shards} "
        "--out {output.records} --summary {output.summary} --threads {threads} > {log} 2>&1"


EVAL_SECTIONS = {"eval": "evaluation", "parallel": "parallel"}  # results/seed<s>/<kind>/ -> its config section


def eval_shards(w):
    """The shards of one evaluation: {"summary", "records"} of each."""
    n = config[EVAL_SECTIONS[w.kind]]["shards"]
    return [{"summary": paths.evaluation(w.seed, w.kind, w.model, w.task, w.name, (i, n)),
             "records": paths.evaluation(w.seed, w.kind, w.model, w.task, w.name, (i, n), "jsonl")} for i in range(n)]


rule eval_summary:
    input:
        lambda w: [path for shard in eval_shards(w) for path in shard.values()],
    output:
        paths.evaluation("{seed}", "{kind}", "{model}", "{task}", "{name}"),
    wildcard_constraints:
        kind="|".join(EVAL_SECTIONS),
        name=r"len\d+|" + PARALLEL_SETTING,
    params:
        shards=lambda w: as_json(eval_shards(w)),
    localrule: True
    conda:
        CONDA_ENV
    log:
        paths.log("eval_summary", "{kind}", "{model}", "{task}", "{name}", seed="{seed}"),
    shell:
        "python -m flextrap.stages.eval_summary --shards {params.shards:q} --out {output} > {log} 2>&1"


def eval_inputs(pairs):
    """Every seed's evaluation summaries of (model, task) pairs, as `flextrap.tables` takes them."""
    return [{"seed": s, "model": m, "task": t, "path": paths.evaluation(s, "eval", m, t, f"len{n}")}
            for s in SEEDS for m, t in pairs for n in config["evaluation"]["gen_lengths"]]


def table_settings(models, tasks, reported):
    """What `flextrap.tables` takes: row label of each model, columns, the paper's table beside ours."""
    return {"models": models, "tasks": tasks, "gen_lengths": config["evaluation"]["gen_lengths"],
            "reported": reported if config["run_name"] == "paper" else None,
            "confidence": config["seeds"]["confidence"]}


ABLATION = config["ablation"]
TABLES = {  # name -> (eval summaries, settings of flextrap.tables): Table 1 and the ablation (Table 5)
    "accuracy": (eval_inputs([(m, t) for t in config["evaluation"]["template"] for m in task_models(t)]), table_settings(
        {BASE: "base", **{run_model(BASE, r): "JustGRPO" for r in config["evaluation"]["runs"].values()}},
        list(config["evaluation"]["template"]), "table1")),
    "ablation": (eval_inputs([(m, ABLATION["task"]) for m in [BASE] + [run_model(BASE, r) for r in ABLATION["runs"].values()]]),
                 table_settings({BASE: "base", **{run_model(BASE, r): label for label, r in ABLATION["runs"].items()}},
                                [ABLATION["task"]], "ablation")),
}

for _table, (_inputs, _settings) in TABLES.items():

    rule:
        name:
            f"{_table}_table"
        input:
            [i["path"] for i in _inputs],
        output:
            markdown=paths.table(_table, "md"),
            latex=paths.table(_table, "tex"),
            csv=report(paths.table(_table, "csv"), caption=f"../report/{_table}_table.rst",
                       category="Sec. 4: JustGRPO"),
        params:
            stage=f"flextrap.stages.{_table}_table",  # a value: the shell line is formatted when the job runs, after the loop
            settings=as_json(_settings),
            inputs=as_json(_inputs),
        localrule: True
        conda:
            CONDA_ENV
        log:
            paths.log(f"{_table}_table", _table),
        shell:
            "python -m {params.stage} --inputs {params.inputs:q} --settings {params.settings:q} "
            "--out-markdown {output.markdown} --out-latex {output.latex} --out-csv {output.csv} > {log} 2>&1"


TRAINING_FIGURES = {"reward_curve": "train_log.csv", "training_efficiency": "heldout_log.csv"}  # figure -> run log

for _fig, _log in TRAINING_FIGURES.items():

    rule:  # one figure over the logs of every run trained here
        name:
            f"figure_{_fig}"
        input:
            [paths.model_dir(s, m) for s in SEEDS for m in TRAINED],
        output:
            png=report(paths.figure("justgrpo", _fig, "png"), caption=f"../report/{_fig}.rst",
                       category="Sec. 4: JustGRPO"),
            pdf=paths.figure("justgrpo", _fig, "pdf"),
        params:
            stage=f"flextrap.stages.figure_{_fig}",  # a value: the shell line is formatted when the job runs, after the loop
            inputs=as_json([{"seed": s, "path": f"{paths.model_dir(s, m)}/{_log}"} for s in SEEDS for m in TRAINED]),
            settings=lambda w: figure_settings(),
            out=lambda w, output: output.png[: -len(".png")],
        localrule: True
        conda:
            CONDA_ENV
        log:
            paths.log("figures", "justgrpo", _fig),
        shell:
            "python -m {params.stage} --inputs {params.inputs:q} "
            "--settings {params.settings:q} --out {params.out} > {log} 2>&1"


def training_figures():
    """Reward curves and Fig. 9, when some run is trained here (a released one has no logs)."""
    return [paths.figure("justgrpo", f, ext) for f in TRAINING_FIGURES for ext in ("png", "pdf")] if TRAINED else []
