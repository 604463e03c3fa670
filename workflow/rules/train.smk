# Sec. 4: JustGRPO on the base model (one multi-GPU job at paper scale), then the
# accuracy of base and trained models at every generation length (Table 1).


def train_launcher():
    """One process on CPU / one GPU; `accelerate launch` with FSDP on a multi-GPU job."""
    gpus = job("train_justgrpo")["gpu"]
    if gpus > 1:
        fsdp = Path(workflow.basedir) / "envs" / "accelerate_fsdp.yaml"
        return f"accelerate launch --config_file {fsdp} --num_processes {gpus}"
    return "python"


rule train_justgrpo:
    input:
        model=lambda w: model_input(config["base_model"]),
        data=lambda w: f"results/data/{config['justgrpo']['task']}/train.jsonl",
    output:
        directory(f"results/models/{TRAINED}"),
    params:
        model=model_spec(config["base_model"]),
        settings=as_json({**config["justgrpo"], "device": config["device"], "code_limits": config["grading"]["code"]}),
        task=config["justgrpo"]["task"],
        launch=train_launcher(),
    threads: job_threads("train_justgrpo")
    resources:
        **job_resources("train_justgrpo"),
    conda:
        CONDA_ENV
    log:
        "results/logs/train_justgrpo/train.log",
    benchmark:
        "results/benchmarks/train_justgrpo/train.tsv"
    shell:
        "{params.launch} -m flextrap.train --model {params.model:q} --data {input.data} --task {params.task} "
        "--settings {params.settings:q} --out {output} --threads {threads} > {log} 2>&1"


def evaluation_job(section, task, sampler):
    """The settings `flextrap.evaluate` takes: one sample per test problem of `task`
    with `sampler`, sizes from config section `section` (evaluation or parallel)."""
    e = config[section]
    return as_json({
        "template": e["template"][task], "device": config["device"], "n_samples": 1,
        "max_problems": e["max_problems"], "batch_size": e["batch_size"], "seed": 0,
        "code_limits": config["grading"]["code"], "sampler": sampler,
    })


def eval_settings(w):
    e, n = config["evaluation"], int(w.length)
    return evaluation_job("evaluation", w.task, {"gen_length": n, "steps": n, "block_length": e["block_length"],
                                                 "temperature": e["temperature"], "remasking": e["remasking"]})


rule eval_accuracy:
    input:
        model=lambda w: model_input(w.model),
        data="results/data/{task}/test.jsonl",
    output:
        records="results/eval/{model}/{task}/len{length}.jsonl",
        summary="results/eval/{model}/{task}/len{length}.json",
    wildcard_constraints:
        length=r"\d+",
    params:
        model=lambda w: model_spec(w.model),
        settings=eval_settings,
    threads: job_threads("eval_accuracy")
    resources:
        **job_resources("eval_accuracy"),
    conda:
        CONDA_ENV
    log:
        "results/logs/eval_accuracy/{model}/{task}/len{length}.log",
    shell:
        "python -m flextrap.evaluate --model {params.model:q} --data {input.data} --task {wildcards.task} "
        "--settings {params.settings:q} --out {output.records} --summary {output.summary} "
        "--threads {threads} > {log} 2>&1"


def eval_outputs(models):
    return [f"results/eval/{m}/{t}/len{n}.json" for m in models for t in config["evaluation"]["template"]
            for n in config["evaluation"]["gen_lengths"]]


rule accuracy_table:
    input:
        eval_outputs([config["base_model"], TRAINED]),
    output:
        markdown="results/tables/accuracy.md",
        latex="results/tables/accuracy.tex",
        csv=report("results/tables/accuracy.csv", caption="../report/accuracy_table.rst",
                   category="Sec. 4: JustGRPO"),
    params:
        settings=as_json({"models": {config["base_model"]: "base", TRAINED: "JustGRPO"},
                          "tasks": list(config["evaluation"]["template"]),
                          "gen_lengths": config["evaluation"]["gen_lengths"],
                          "reported": config["run_name"] == "paper"}),
        inputs=lambda w, input: as_json(list(input)),
    localrule: True
    conda:
        CONDA_ENV
    log:
        "results/logs/accuracy_table/accuracy.log",
    shell:
        "python -m flextrap.tables --inputs {params.inputs:q} --settings {params.settings:q} "
        "--out-markdown {output.markdown} --out-latex {output.latex} --out-csv {output.csv} > {log} 2>&1"


rule figure_reward_curve:
    input:
        f"results/models/{TRAINED}",
    output:
        png=report(
            "results/figures/justgrpo/reward_curve.png",
            caption="../report/reward_curve.rst",
            category="Sec. 4: JustGRPO",
        ),
        pdf="results/figures/justgrpo/reward_curve.pdf",
    params:
        inputs=lambda w, input: as_json([f"{input[0]}/train_log.csv"]),
        settings=lambda w: figure_settings(),
    localrule: True
    conda:
        CONDA_ENV
    log:
        "results/logs/figures/justgrpo/reward_curve.log",
    shell:
        "python -m flextrap.plots --figure reward_curve --inputs {params.inputs:q} "
        "--settings {params.settings:q} --out results/figures/justgrpo/reward_curve > {log} 2>&1"
