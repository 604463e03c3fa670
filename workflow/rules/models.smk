# Models: fetch a hub model once and check its code (preflight); pretrain the embedded
# default's tiny model (once per seed); check a base model's Pass@1.


rule pretrain_tiny:
    input:
        lambda w: paths.data(config["models"][w.model]["pretrain"]["task"], "train"),
    output:
        directory(paths.model_dir("{seed}", "{model}")),
    wildcard_constraints:
        model="|".join(PRETRAINED) or "^$",
    params:
        settings=lambda w: as_json(seeded(w)["models"][w.model]["pretrain"]),
    threads: job_threads("pretrain_tiny")
    resources:
        **job_resources("pretrain_tiny"),
    conda:
        CONDA_ENV
    log:
        paths.log("pretrain_tiny", "{model}", seed="{seed}"),
    benchmark:
        paths.benchmark("pretrain_tiny", "{model}", seed="{seed}")
    shell:
        "python -m flextrap.stages.pretrain_tiny --train {input} --out {output} "
        "--settings {params.settings:q} --threads {threads} > {log} 2>&1"


rule fetch_model:
    output:
        paths.fetched("{model}"),
    wildcard_constraints:
        model="|".join(HUB_MODELS) or "^$",
    params:
        model=lambda w: as_json(MODELS[w.model]),
    localrule: True
    conda:
        CONDA_ENV
    log:
        paths.log("fetch_model", "{model}"),
    shell:
        "python -m flextrap.stages.fetch_model --model {params.model:q} --out {output} > {log} 2>&1"


rule preflight:
    input:
        lambda w: paths.fetched(w.model),
    output:
        paths.preflight("{model}"),
    wildcard_constraints:
        model="|".join(HUB_MODELS) or "^$",
    params:
        model=lambda w: model_spec(w.model, None),
        settings=lambda w: as_json({**config["preflight"],
                                    "dtype": gpu_dtype(MODELS[w.model])}),
    localrule: True
    conda:
        CONDA_ENV
    log:
        paths.log("preflight", "{model}"),
    shell:
        "python -m flextrap.stages.preflight --model {params.model:q} --settings {params.settings:q} "
        "--out {output} > {log} 2>&1"


rule model_check:
    input:
        model=lambda w: model_input(w.model, w.seed),
        data=paths.data("{task}", "test"),
    output:
        samples=paths.model_check("{seed}", "{model}", "{task}", "jsonl"),
        summary=paths.model_check("{seed}", "{model}", "{task}"),
    params:
        model=lambda w: model_spec(w.model, w.seed),
        settings=lambda w: as_json(model_check_job(seeded(w), w.task)),
    threads: job_threads("model_check")
    resources:
        **job_resources("model_check"),
    conda:
        CONDA_ENV
    log:
        paths.log("model_check", "{model}", "{task}", seed="{seed}"),
    shell:
        "python -m flextrap.stages.model_check --model {params.model:q} --data {input.data} "
        "--task {wildcards.task} --settings {params.settings:q} --samples {output.samples} --out {output.summary} "
        "--threads {threads} > {log} 2>&1"


rule slot_probe:
    input:
        model=lambda w: model_input(w.model, w.seed),
        data=paths.data("synthetic", "test"),
    output:
        paths.probe("{seed}", "{model}", "synthetic"),
    params:
        model=lambda w: model_spec(w.model, w.seed),
        settings=lambda w: as_json({**seeded(w).get("slot_probe", {}), "device": config["device"]}),
    threads: job_threads("slot_probe")
    resources:
        **job_resources("slot_probe"),
    conda:
        CONDA_ENV
    log:
        paths.log("slot_probe", "{model}", seed="{seed}"),
    shell:
        "python -m flextrap.stages.slot_probe --model {params.model:q} --data {input.data} "
        "--settings {params.settings:q} --out {output} --threads {threads} > {log} 2>&1"


def slot_probe_outputs():
    """Slot probes of the base model and the synthetic task's JustGRPO run, when configured."""
    if "slot_probe" not in config or "synthetic" not in config["tasks"]:
        return []
    models = task_models("synthetic") if "synthetic" in config["evaluation"]["runs"] else [BASE]
    return [paths.probe(s, m, "synthetic") for s in SEEDS for m in models]
