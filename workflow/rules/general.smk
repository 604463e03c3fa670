# Table 6: general capability of the base model and the JustGRPO runs of `general.runs`
# through lm-evaluation-harness (flextrap.general, flextrap.lm_adapter). A local task is
# written from a generated task's test split; lm-eval's own tasks are fetched once on
# the submitting machine, so the evaluation jobs need no network.


rule general_task:
    input:
        lambda w: PLAN.general_task_data(w.name),
    output:
        directory(paths.general_task("{name}")),
    params:
        settings=lambda w: as_json(PLAN.general_task_settings(w.name)),
    localrule: True
    conda:
        CONDA_ENV
    log:
        paths.log("general_task", "{name}"),
    shell:
        "python -m flextrap.stages.general_task --data {input} --name {wildcards.name} "
        "--settings {params.settings:q} --out-dir {output} > {log} 2>&1"


rule fetch_general:
    output:
        paths.general_fetched("{name}"),
    localrule: True
    conda:
        CONDA_ENV
    log:
        paths.log("fetch_general", "{name}"),
    shell:
        "python -m flextrap.stages.fetch_general --task {wildcards.name} --out {output} > {log} 2>&1"


rule eval_general:
    input:
        model=lambda w: PLAN.model_input(w.model, w.seed),
        task=lambda w: PLAN.general_task_input(w.name),
    output:
        paths.general("{seed}", "{model}", "{name}", ("{shard}", "{shards}")),
    wildcard_constraints:
        name=r"[^/]+",
        shard=r"\d+",
        shards=r"\d+",
    params:
        model=lambda w: as_json(PLAN.model_spec(w.model, w.seed)),
        include=lambda w: PLAN.general_include(w.name),
        settings=lambda w: as_json(PLAN.general_settings(w.seed, w.name)),
    threads: PLAN.threads("eval_general")
    resources:
        **PLAN.resources("eval_general"),
    conda:
        CONDA_ENV
    log:
        paths.log("eval_general", "{model}", "{name}", "shard{shard}of{shards}", seed="{seed}"),
    benchmark:
        paths.benchmark("eval_general", "{model}", "{name}", "shard{shard}of{shards}", seed="{seed}")
    shell:
        "python -m flextrap.stages.eval_general --model {params.model:q} --task {wildcards.name} "
        "--include {params.include:q} --settings {params.settings:q} --shard {wildcards.shard} "
        "--shards {wildcards.shards} --out {output} --threads {threads} > {log} 2>&1"


rule merge_general:
    input:
        lambda w: PLAN.general_shards(w.seed, w.model, w.name),
    output:
        paths.general("{seed}", "{model}", "{name}"),
    wildcard_constraints:
        name=r"[^/]+",
    params:
        inputs=lambda w: as_json(PLAN.general_shards(w.seed, w.model, w.name)),
        settings=lambda w: as_json(PLAN.general_merge_settings(w.name)),
    localrule: True
    conda:
        CONDA_ENV
    log:
        paths.log("merge_general", "{model}", "{name}", seed="{seed}"),
    shell:
        "python -m flextrap.stages.merge_general --inputs {params.inputs:q} --task {wildcards.name} "
        "--settings {params.settings:q} --out {output} > {log} 2>&1"


rule general_table:
    input:
        [i["path"] for i in PLAN.general_inputs()],
    output:
        markdown=paths.table("general", "md"),
        latex=paths.table("general", "tex"),
        csv=report(paths.table("general", "csv"), caption="../report/general_table.rst",
                   category="Sec. 4: JustGRPO"),
    params:
        inputs=lambda w: as_json(PLAN.general_inputs()),
        settings=lambda w: as_json(PLAN.general_table_settings()),
    localrule: True
    conda:
        CONDA_ENV
    log:
        paths.log("general_table", "general"),
    shell:
        "python -m flextrap.stages.general_table --inputs {params.inputs:q} --settings {params.settings:q} "
        "--out-markdown {output.markdown} --out-latex {output.latex} --out-csv {output.csv} > {log} 2>&1"
