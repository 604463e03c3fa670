# Sec. 3: samples of the base model under each decoding order -> Pass@k, coverage,
# bypass and connective-entropy statistics, per seed; rule pool_seeds joins the seeds'
# tables. Sampling is sharded: one job per shard.


rule sample:
    input:
        model=lambda w: PLAN.model_input(w.model, w.seed),
        data=paths.data("{task}", "test"),
    output:
        paths.shard("{seed}", "{model}", "{task}", "{order}", "{shard}", "{shards}"),
    wildcard_constraints:
        order=PLAN.order_pattern(),
        shard=r"\d+",
        shards=r"\d+",
    params:
        model=lambda w: as_json(PLAN.model_spec(w.model, w.seed)),
        settings=lambda w: as_json(PLAN.sample_settings(w.seed, w.task, w.order)),
    threads: PLAN.threads("sample")
    resources:
        **PLAN.resources("sample"),
    conda:
        CONDA_ENV
    log:
        paths.log("sample", "{model}", "{task}", "{order}", "shard{shard}of{shards}", seed="{seed}"),
    benchmark:
        paths.benchmark("sample", "{model}", "{task}", "{order}", "shard{shard}of{shards}", seed="{seed}")
    shell:
        "python -m flextrap.stages.sample --model {params.model:q} --data {input.data} --task {wildcards.task} "
        "--settings {params.settings:q} --shard {wildcards.shard} --shards {wildcards.shards} "
        "--out {output} --threads {threads} > {log} 2>&1"


rule pass_at_k:
    input:
        lambda w: PLAN.sample_paths(w.seed, w.model, w.task),
    output:
        passk=paths.analysis("{seed}", "passk", "{model}", "{task}", "passk"),
        coverage=paths.analysis("{seed}", "passk", "{model}", "{task}", "coverage"),
    params:
        samples=lambda w: as_json(PLAN.shards_by_order(w.seed, w.model, w.task)),
        settings=lambda w: as_json(PLAN.passk_settings(w.model, w.task)),
    threads: PLAN.threads("pass_at_k")
    resources:
        **PLAN.resources("pass_at_k"),
    conda:
        CONDA_ENV
    log:
        paths.log("pass_at_k", "{model}", "{task}", seed="{seed}"),
    shell:
        "python -m flextrap.stages.pass_at_k --samples {params.samples:q} --settings {params.settings:q} "
        "--out-passk {output.passk} --out-coverage {output.coverage} --threads {threads} > {log} 2>&1"


rule entropy_stats:
    input:
        samples=lambda w: PLAN.sample_paths(w.seed, w.model, w.task),
        model=lambda w: PLAN.model_input(w.model, w.seed),
    output:
        bypass=paths.analysis("{seed}", "entropy", "{model}", "{task}", "bypass"),
        entropy=paths.analysis("{seed}", "entropy", "{model}", "{task}", "connective_entropy"),
    params:
        samples=lambda w: as_json(PLAN.shards_by_order(w.seed, w.model, w.task)),
        model=lambda w: as_json(PLAN.model_spec(w.model, w.seed)),
        settings=lambda w: as_json(PLAN.entropy_settings(w.model, w.task)),
    threads: PLAN.threads("entropy_stats")
    resources:
        **PLAN.resources("entropy_stats"),
    conda:
        CONDA_ENV
    log:
        paths.log("entropy_stats", "{model}", "{task}", seed="{seed}"),
    shell:
        "python -m flextrap.stages.entropy_stats --samples {params.samples:q} --model {params.model:q} "
        "--settings {params.settings:q} --out-bypass {output.bypass} "
        "--out-entropy {output.entropy} --threads {threads} > {log} 2>&1"


rule pass_at_k_sweep:
    input:
        lambda w: PLAN.sample_paths(w.seed, w.model, w.task, w.sweep),
    output:
        passk=paths.analysis("{seed}", "sweeps", "{model}", "{task}", "{sweep}"),
        coverage=paths.analysis("{seed}", "sweeps", "{model}", "{task}", "{sweep}.coverage"),
    wildcard_constraints:
        sweep=alternatives(SWEEP_FIGURES),
    params:
        samples=lambda w: as_json(PLAN.sweep_shards(w.seed, w.model, w.task, w.sweep)),
        settings=lambda w: as_json(PLAN.sweep_settings(w.model, w.task, w.sweep)),
    threads: PLAN.threads("pass_at_k")
    resources:
        **PLAN.resources("pass_at_k"),
    conda:
        CONDA_ENV
    log:
        paths.log("pass_at_k_sweep", "{model}", "{task}", "{sweep}", seed="{seed}"),
    shell:
        "python -m flextrap.stages.pass_at_k_sweep --samples {params.samples:q} --settings {params.settings:q} "
        "--out-passk {output.passk} --out-coverage {output.coverage} --threads {threads} > {log} 2>&1"


rule pool_seeds:
    input:
        lambda w: list(PLAN.per_seed(w.stage, w.model, w.task, w.name).values()),
    output:
        report(paths.analysis(None, "{stage}", "{model}", "{task}", "{name}"), caption="../report/pooled_table.rst",
               category="Sec. 3: the flexibility trap", subcategory="{model}"),
    wildcard_constraints:
        stage=alternatives(paths.SEEDED_STAGES),
        name=alternatives(PLAN.pooled_tables()),
    params:
        inputs=lambda w: as_json(PLAN.per_seed(w.stage, w.model, w.task, w.name)),
        settings=lambda w: as_json(PLAN.pool_settings(w.name)),
    localrule: True
    conda:
        CONDA_ENV
    log:
        paths.log("pool_seeds", "{stage}", "{model}", "{task}", "{name}"),
    shell:
        "python -m flextrap.stages.pool_seeds --inputs {params.inputs:q} --settings {params.settings:q} "
        "--out {output} > {log} 2>&1"
