# Sec. 5 (Fig. 8): parallel decoding of the base model and, per task, the JustGRPO run
# trained on it (evaluation.runs). One job per
# (model, task, rule, value) and shard of the problems, merged by eval_summary into
# e.g. results/parallel/tiny/synthetic/eb-0.1.json.


def parallel_settings():
    """Every configured parallel setting as its wildcard name, e.g. 'eb-0.1', 'top_k-2'."""
    return [f"{name}-{value}" for name, values in config["parallel"]["rules"].items() for value in values]


rule eval_parallel:
    input:
        model=lambda w: model_input(w.model),
        data="results/data/{task}/test.jsonl",
    output:
        records="results/parallel/{model}/{task}/{setting}/shard{shard}of{shards}.jsonl",
        summary="results/parallel/{model}/{task}/{setting}/shard{shard}of{shards}.json",
    wildcard_constraints:
        setting=PARALLEL_SETTING,
        shard=r"\d+",
        shards=r"\d+",
    params:
        model=lambda w: model_spec(w.model),
        settings=lambda w: as_json(parallel_job(config, w.task, *w.setting.split("-", 1))),  # values may hold "-"
    threads: job_threads("eval_parallel")
    resources:
        **job_resources("eval_parallel"),
    conda:
        CONDA_ENV
    log:
        "results/logs/eval_parallel/{model}/{task}/{setting}/shard{shard}of{shards}.log",
    benchmark:
        "results/benchmarks/eval_parallel/{model}/{task}/{setting}/shard{shard}of{shards}.tsv"
    shell:
        "python -m flextrap.stages.eval_parallel --model {params.model:q} --data {input.data} --task {wildcards.task} "
        "--settings {params.settings:q} --shard {wildcards.shard} --shards {wildcards.shards} "
        "--out {output.records} --summary {output.summary} --threads {threads} > {log} 2>&1"


def parallel_summaries():
    return [f"results/parallel/{m}/{t}/{s}.json" for t in config["parallel"]["template"]
            for m in task_models(t) for s in parallel_settings()]


rule parallel_table:
    input:
        parallel_summaries(),
    output:
        report("results/tables/parallel.csv", caption="../report/parallel_table.rst",
               category="Sec. 5: parallel decoding"),
    params:
        inputs=lambda w, input: as_json(list(input)),
        models=as_json({BASE: "base", **{run_model(BASE, r): "JustGRPO" for r in config["evaluation"]["runs"].values()}}),
    localrule: True
    conda:
        CONDA_ENV
    log:
        "results/logs/parallel_table/parallel.log",
    shell:
        "python -m flextrap.stages.parallel_table --inputs {params.inputs:q} --models {params.models:q} "
        "--out {output} > {log} 2>&1"


rule figure_parallel_decoding:
    input:
        rules.parallel_table.output,
    output:
        png=report(
            "results/figures/parallel_decoding.png",
            caption="../report/parallel_decoding.rst",
            category="Sec. 5: parallel decoding",
        ),
        pdf="results/figures/parallel_decoding.pdf",
    params:
        inputs=lambda w, input: as_json(list(input)),
        settings=lambda w: figure_settings(),
    localrule: True
    conda:
        CONDA_ENV
    log:
        "results/logs/figures/parallel_decoding.log",
    shell:
        "python -m flextrap.stages.figure_parallel_decoding --inputs {params.inputs:q} "
        "--settings {params.settings:q} --out results/figures/parallel_decoding > {log} 2>&1"
