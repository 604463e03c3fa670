# Sec. 3: samples of the base model under each decoding order -> Pass@k, coverage,
# bypass and connective-entropy statistics, per seed; rule pool_seeds joins the seeds'
# tables. Sampling is sharded: one job per shard.


def passk_models():
    """Models sampled for Sec. 3 (base models, or JustGRPO runs' models)."""
    return config["passk"].get("models", [BASE])


def passk_tasks():
    return list(config["passk"]["template"])


def orders_for(task):
    """Orders sampled for a task (an order may be limited to some tasks)."""
    return [o for o, spec in config["passk"]["orders"].items() if task in spec.get("tasks", [task])]


def shard_paths(seed, model, task, order):
    n = passk_sizes(config, order)["shards"]
    return [paths.shard(seed, model, task, order, i, n) for i in range(n)]


def shards_by_order(w):
    return {o: shard_paths(w.seed, w.model, w.task, o) for o in orders_for(w.task)}


rule sample:
    input:
        model=lambda w: model_input(w.model, w.seed),
        data=paths.data("{task}", "test"),
    output:
        paths.shard("{seed}", "{model}", "{task}", "{order}", "{shard}", "{shards}"),
    wildcard_constraints:
        order="|".join(map(re.escape, [*config["passk"]["orders"], *SWEEP_ORDERS])),
        shard=r"\d+",
        shards=r"\d+",
    params:
        model=lambda w: model_spec(w.model, w.seed),
        settings=lambda w: as_json(passk_job(seeded(w), w.task, w.order)),
    threads: job_threads("sample")
    resources:
        **job_resources("sample"),
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


def passk_settings(w):
    p = config["passk"]
    return as_json({"model": w.model, "task": w.task, "ks": p["ks"], "bootstrap": p["bootstrap"],
                    "coverage": p["coverage"], "orders": p["orders"]})


rule pass_at_k:
    input:
        lambda w: [path for paths in shards_by_order(w).values() for path in paths],
    output:
        passk=paths.analysis("{seed}", "passk", "{model}", "{task}", "passk"),
        coverage=paths.analysis("{seed}", "passk", "{model}", "{task}", "coverage"),
    params:
        samples=lambda w: as_json(shards_by_order(w)),
        settings=passk_settings,
    threads: job_threads("pass_at_k")
    resources:
        **job_resources("pass_at_k"),
    conda:
        CONDA_ENV
    log:
        paths.log("pass_at_k", "{model}", "{task}", seed="{seed}"),
    shell:
        "python -m flextrap.stages.pass_at_k --samples {params.samples:q} --settings {params.settings:q} "
        "--out-passk {output.passk} --out-coverage {output.coverage} --threads {threads} > {log} 2>&1"


rule entropy_stats:
    input:
        samples=lambda w: [path for paths in shards_by_order(w).values() for path in paths],
        model=lambda w: model_input(w.model, w.seed),
    output:
        bypass=paths.analysis("{seed}", "entropy", "{model}", "{task}", "bypass"),
        entropy=paths.analysis("{seed}", "entropy", "{model}", "{task}", "connective_entropy"),
    params:
        samples=lambda w: as_json(shards_by_order(w)),
        model=lambda w: model_spec(w.model, w.seed),
        settings=lambda w: as_json({"model": w.model, "task": w.task, **config["entropy"]}),
    threads: job_threads("entropy_stats")
    resources:
        **job_resources("entropy_stats"),
    conda:
        CONDA_ENV
    log:
        paths.log("entropy_stats", "{model}", "{task}", seed="{seed}"),
    shell:
        "python -m flextrap.stages.entropy_stats --samples {params.samples:q} --model {params.model:q} "
        "--settings {params.settings:q} --out-bypass {output.bypass} "
        "--out-entropy {output.entropy} --threads {threads} > {log} 2>&1"


def passk_outputs(model):
    """The Sec. 3 tables of `model` over every seed."""
    return [paths.analysis(None, stage, model, task, name) for task in passk_tasks()
            for stage, name in (("passk", "passk"), ("passk", "coverage"),
                                ("entropy", "bypass"), ("entropy", "connective_entropy"))]


def sweep_tasks(setting):
    return config["passk"]["sweeps"][setting]["tasks"]


rule pass_at_k_sweep:
    input:
        lambda w: [path for o in sweep_of(config["passk"], w.sweep) for path in shard_paths(w.seed, w.model, w.task, o)],
    output:
        passk=paths.analysis("{seed}", "sweeps", "{model}", "{task}", "{sweep}"),
        coverage=paths.analysis("{seed}", "sweeps", "{model}", "{task}", "{sweep}.coverage"),
    wildcard_constraints:
        sweep="temperature|remasking",
    params:
        samples=lambda w: as_json({o: shard_paths(w.seed, w.model, w.task, o) for o in sweep_of(config["passk"], w.sweep)}),
        settings=lambda w: as_json({"model": w.model, "task": w.task, "ks": config["passk"]["ks"],
                                    "bootstrap": config["passk"]["bootstrap"], "coverage": [],
                                    "orders": {o: {**passk_sampler(config, o), "base_order": d["order"], "swept": w.sweep}
                                               for o, d in sweep_of(config["passk"], w.sweep).items()}}),
    threads: job_threads("pass_at_k")
    resources:
        **job_resources("pass_at_k"),
    conda:
        CONDA_ENV
    log:
        paths.log("pass_at_k_sweep", "{model}", "{task}", "{sweep}", seed="{seed}"),
    shell:
        "python -m flextrap.stages.pass_at_k_sweep --samples {params.samples:q} --settings {params.settings:q} "
        "--out-passk {output.passk} --out-coverage {output.coverage} --threads {threads} > {log} 2>&1"


def sweep_outputs(model):
    return [paths.analysis(None, "sweeps", model, t, s) for s in config["passk"].get("sweeps", {}) for t in sweep_tasks(s)]


POOLED_TABLES = {"passk": "passk", "coverage": "coverage", "bypass": "bypass",  # table name -> kind (flextrap.pooling)
                 "connective_entropy": "connective_entropy", **{s: "sweep" for s in config["passk"].get("sweeps", {})}}


rule pool_seeds:
    input:
        lambda w: [paths.analysis(s, w.stage, w.model, w.task, w.name) for s in SEEDS],
    output:
        report(paths.analysis(None, "{stage}", "{model}", "{task}", "{name}"), caption="../report/pooled_table.rst",
               category="Sec. 3: the flexibility trap", subcategory="{model}"),
    wildcard_constraints:
        stage="|".join(paths.SEEDED_STAGES),
        name="|".join(POOLED_TABLES),
    params:
        inputs=lambda w: as_json({s: paths.analysis(s, w.stage, w.model, w.task, w.name) for s in SEEDS}),
        settings=lambda w: as_json({"kind": POOLED_TABLES[w.name], "confidence": config["seeds"]["confidence"]}),
    localrule: True
    conda:
        CONDA_ENV
    log:
        paths.log("pool_seeds", "{stage}", "{model}", "{task}", "{name}"),
    shell:
        "python -m flextrap.stages.pool_seeds --inputs {params.inputs:q} --settings {params.settings:q} "
        "--out {output} > {log} 2>&1"
