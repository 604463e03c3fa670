# Sec. 5 (Fig. 8): parallel decoding of the base model and, per task, the JustGRPO run
# trained on it (evaluation.runs). One job per seed, (model, task, rule, value) and
# shard of the problems, merged by eval_summary into
# e.g. results/seed0/parallel/tiny/synthetic/eb-0.1.json.


rule eval_parallel:
    input:
        model=lambda w: PLAN.model_input(w.model, w.seed),
        data=paths.data("{task}", "test"),
    output:
        records=paths.evaluation("{seed}", "parallel", "{model}", "{task}", "{setting}", ("{shard}", "{shards}"), "jsonl"),
        summary=paths.evaluation("{seed}", "parallel", "{model}", "{task}", "{setting}", ("{shard}", "{shards}")),
    wildcard_constraints:
        setting=PARALLEL_SETTING,
        shard=r"\d+",
        shards=r"\d+",
    params:
        model=lambda w: as_json(PLAN.model_spec(w.model, w.seed)),
        settings=lambda w: as_json(PLAN.parallel_settings(w.seed, w.task, w.setting)),
    threads: PLAN.threads("eval_parallel")
    resources:
        **PLAN.resources("eval_parallel"),
    conda:
        CONDA_ENV
    log:
        paths.log("eval_parallel", "{model}", "{task}", "{setting}", "shard{shard}of{shards}", seed="{seed}"),
    benchmark:
        paths.benchmark("eval_parallel", "{model}", "{task}", "{setting}", "shard{shard}of{shards}", seed="{seed}")
    shell:
        "python -m flextrap.stages.eval_parallel --model {params.model:q} --data {input.data} --task {wildcards.task} "
        "--settings {params.settings:q} --shard {wildcards.shard} --shards {wildcards.shards} "
        "--out {output.records} --summary {output.summary} --threads {threads} > {log} 2>&1"


rule parallel_table:
    input:
        [i["path"] for i in PLAN.parallel_summaries()],
    output:
        report(paths.table("parallel", "csv"), caption="../report/parallel_table.rst",
               category="Sec. 5: parallel decoding"),
    params:
        inputs=as_json(PLAN.parallel_summaries()),
        settings=as_json(PLAN.parallel_table_settings()),
    localrule: True
    conda:
        CONDA_ENV
    log:
        paths.log("parallel_table", "parallel"),
    shell:
        "python -m flextrap.stages.parallel_table --inputs {params.inputs:q} --settings {params.settings:q} "
        "--out {output} > {log} 2>&1"


rule figure_parallel_decoding:
    input:
        rules.parallel_table.output,
    output:
        png=report(
            paths.figure(None, "parallel_decoding", "png"),
            caption="../report/parallel_decoding.rst",
            category="Sec. 5: parallel decoding",
        ),
        pdf=paths.figure(None, "parallel_decoding", "pdf"),
    params:
        inputs=lambda w, input: as_json(list(input)),
        settings=as_json(PLAN.figure_settings()),
        out=lambda w, output: output.png[: -len(".png")],
    localrule: True
    conda:
        CONDA_ENV
    log:
        paths.log("figures", "parallel_decoding"),
    shell:
        "python -m flextrap.stages.figure_parallel_decoding --inputs {params.inputs:q} "
        "--settings {params.settings:q} --out {params.out} > {log} 2>&1"
