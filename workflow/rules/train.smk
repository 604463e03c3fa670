# Sec. 4: JustGRPO on the base model (one multi-GPU job at paper scale), then the
# accuracy of base and trained models at every generation length (Table 1).


def train_launcher():
    """One process on CPU / one GPU; `accelerate launch` with FSDP on a multi-GPU job."""
    gpus = job("train_justgrpo")["gpu"]
    if gpus > 1:
        fsdp = Path(workflow.basedir) / "envs" / "accelerate_fsdp.yaml"
        return f"accelerate launch --config_file {fsdp} --num_processes {gpus}"
    return "python"


def train_settings(run):
    """What `flextrap.train` takes for run `run`: its settings, and the sampler of its
    held-out evaluations (greedy, as `evaluation`, at `heldout.gen_length`)."""
    s = RUNS[run]
    task = heldout_task(s)
    heldout = {**s["heldout"], "task": task, "template": config["evaluation"]["template"][task],
               "sampler": greedy_sampler(config, s["heldout"]["gen_length"])}
    return as_json({**s, "run": run, "heldout": heldout, "device": config["device"],
                    "code_limits": config["grading"]["code"]})


rule train_justgrpo:
    input:
        model=lambda w: model_input(BASE),
        data=lambda w: f"results/data/{RUNS[w.run]['task']}/train.jsonl",
        heldout=lambda w: f"results/data/{heldout_task(RUNS[w.run])}/test.jsonl",
    output:
        directory(model_dir(run_model(BASE, "{run}"))),
    wildcard_constraints:
        run="|".join(map(re.escape, TRAINED.values())) or "^$",
    params:
        model=model_spec(BASE),
        settings=lambda w: train_settings(w.run),
        task=lambda w: RUNS[w.run]["task"],
        launch=train_launcher(),
    threads: job_threads("train_justgrpo")
    resources:
        **job_resources("train_justgrpo"),
    conda:
        CONDA_ENV
    log:
        "results/logs/train_justgrpo/{run}.log",
    benchmark:
        "results/benchmarks/train_justgrpo/{run}.tsv"
    shell:
        "{params.launch} -m flextrap.stages.train_justgrpo --model {params.model:q} --data {input.data} --task {params.task} "
        "--heldout {input.heldout} --settings {params.settings:q} --out {output} --threads {threads} > {log} 2>&1"


rule eval_accuracy:
    input:
        model=lambda w: model_input(w.model),
        data="results/data/{task}/test.jsonl",
    output:
        records="results/eval/{model}/{task}/len{length}/shard{shard}of{shards}.jsonl",
        summary="results/eval/{model}/{task}/len{length}/shard{shard}of{shards}.json",
    wildcard_constraints:
        length=r"\d+",
        shard=r"\d+",
        shards=r"\d+",
    params:
        model=lambda w: model_spec(w.model),
        settings=lambda w: as_json(evaluation_job(config, w.task, int(w.length))),
    threads: job_threads("eval_accuracy")
    resources:
        **job_resources("eval_accuracy"),
    conda:
        CONDA_ENV
    log:
        "results/logs/eval_accuracy/{model}/{task}/len{length}/shard{shard}of{shards}.log",
    benchmark:
        "results/benchmarks/eval_accuracy/{model}/{task}/len{length}/shard{shard}of{shards}.tsv"
    shell:
        "python -m flextrap.stages.eval_accuracy --model {params.model:q} --data {input.data} --task {wildcards.task} "
        "--settings {params.settings:q} --shard {wildcards.shard} --shards {wildcards.shards} "
        "--out {output.records} --summary {output.summary} --threads {threads} > {log} 2>&1"


EVAL_SECTIONS = {"eval": "evaluation", "parallel": "parallel"}  # results/<kind>/ -> its config section


rule eval_summary:
    input:
        lambda w: [f"results/{w.kind}/{w.model}/{w.task}/{w.name}/shard{i}of{n}.json"
                   for n in [config[EVAL_SECTIONS[w.kind]]["shards"]] for i in range(n)],
    output:
        "results/{kind}/{model}/{task}/{name}.json",
    wildcard_constraints:
        kind="|".join(EVAL_SECTIONS),
        model=r"[^/]+",
        name=r"len\d+|" + PARALLEL_SETTING,
    params:
        shards=lambda w, input: as_json(list(input)),
    localrule: True
    conda:
        CONDA_ENV
    log:
        "results/logs/eval_summary/{kind}/{model}/{task}/{name}.log",
    shell:
        "python -m flextrap.stages.eval_summary --shards {params.shards:q} --out {output} > {log} 2>&1"


def eval_outputs(model, tasks):
    return [f"results/eval/{model}/{t}/len{n}.json" for t in tasks for n in config["evaluation"]["gen_lengths"]]


def table_settings(models, tasks, reported):
    """What `flextrap.tables` takes: row label of each model, columns, the paper's table beside ours."""
    return as_json({"models": models, "tasks": tasks, "gen_lengths": config["evaluation"]["gen_lengths"],
                    "reported": reported if config["run_name"] == "paper" else None})


def accuracy_table_inputs():
    """Table 1: each task's base and JustGRPO cells, from the run trained on that task."""
    return [path for t in config["evaluation"]["template"] for m in task_models(t) for path in eval_outputs(m, [t])]


ABLATION = config["ablation"]
TABLES = {  # name -> (eval summaries, settings of flextrap.tables): Table 1 and the ablation (Table 5)
    "accuracy": (accuracy_table_inputs(), table_settings(
        {BASE: "base", **{run_model(BASE, r): "JustGRPO" for r in config["evaluation"]["runs"].values()}},
        list(config["evaluation"]["template"]), "table1")),
    "ablation": ([p for m in [BASE] + [run_model(BASE, r) for r in ABLATION["runs"].values()]
                  for p in eval_outputs(m, [ABLATION["task"]])], table_settings(
        {BASE: "base", **{run_model(BASE, r): label for label, r in ABLATION["runs"].items()}},
        [ABLATION["task"]], "ablation")),
}

for _table, (_inputs, _settings) in TABLES.items():

    rule:
        name:
            f"{_table}_table"
        input:
            _inputs,
        output:
            markdown=f"results/tables/{_table}.md",
            latex=f"results/tables/{_table}.tex",
            csv=report(f"results/tables/{_table}.csv", caption=f"../report/{_table}_table.rst",
                       category="Sec. 4: JustGRPO"),
        params:
            stage=f"flextrap.stages.{_table}_table",  # a value: the shell line is formatted when the job runs, after the loop
            settings=_settings,
            inputs=lambda w, input: as_json(list(input)),
        localrule: True
        conda:
            CONDA_ENV
        log:
            f"results/logs/{_table}_table/{_table}.log",
        shell:
            "python -m {params.stage} --inputs {params.inputs:q} --settings {params.settings:q} "
            "--out-markdown {output.markdown} --out-latex {output.latex} --out-csv {output.csv} > {log} 2>&1"


TRAINING_FIGURES = {"reward_curve": "train_log.csv", "training_efficiency": "heldout_log.csv"}  # figure -> run log

for _fig, _log in TRAINING_FIGURES.items():

    rule:  # one figure over the logs of every run trained here
        name:
            f"figure_{_fig}"
        input:
            [model_dir(m) for m in TRAINED],
        output:
            png=report(f"results/figures/justgrpo/{_fig}.png", caption=f"../report/{_fig}.rst",
                       category="Sec. 4: JustGRPO"),
            pdf=f"results/figures/justgrpo/{_fig}.pdf",
        params:
            stage=f"flextrap.stages.figure_{_fig}",  # a value: the shell line is formatted when the job runs, after the loop
            inputs=lambda w, input, log_name=_log: as_json([f"{d}/{log_name}" for d in input]),
            settings=lambda w: figure_settings(),
            figure=_fig,
        localrule: True
        conda:
            CONDA_ENV
        log:
            f"results/logs/figures/justgrpo/{_fig}.log",
        shell:
            "python -m {params.stage} --inputs {params.inputs:q} "
            "--settings {params.settings:q} --out results/figures/justgrpo/{params.figure} > {log} 2>&1"


def training_figures():
    """Reward curves and Fig. 9, when some run is trained here (a released one has no logs)."""
    return [f"results/figures/justgrpo/{f}.{ext}" for f in TRAINING_FIGURES for ext in ("png", "pdf")] if TRAINED else []
