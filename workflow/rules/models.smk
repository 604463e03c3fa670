# Models: fetch a hub model once and check its code (preflight); pretrain the embedded
# default's tiny model (once per seed); check a base model's Pass@1.


rule pretrain_tiny:
    input:
        lambda w: paths.data(config["models"][w.model]["pretrain"]["task"], "train"),
    output:
        directory(paths.model_dir("{seed}", "{model}")),
    wildcard_constraints:
        model=alternatives(PLAN.pretrained),
    params:
        settings=lambda w: as_json(PLAN.pretrain_settings(w.seed, w.model)),
    threads: PLAN.threads("pretrain_tiny")
    resources:
        **PLAN.resources("pretrain_tiny"),
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
        model=alternatives(PLAN.hub_models),
    params:
        model=lambda w: as_json(PLAN.models[w.model]),
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
        model=alternatives(PLAN.hub_models),
    params:
        model=lambda w: as_json(PLAN.model_spec(w.model, None)),
        settings=lambda w: as_json(PLAN.preflight_settings(w.model)),
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
        model=lambda w: PLAN.model_input(w.model, w.seed),
        data=paths.data("{task}", "test"),
    output:
        samples=paths.model_check("{seed}", "{model}", "{task}", "jsonl"),
        summary=paths.model_check("{seed}", "{model}", "{task}"),
    params:
        model=lambda w: as_json(PLAN.model_spec(w.model, w.seed)),
        settings=lambda w: as_json(PLAN.model_check_settings(w.seed, w.task)),
    threads: PLAN.threads("model_check")
    resources:
        **PLAN.resources("model_check"),
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
        model=lambda w: PLAN.model_input(w.model, w.seed),
        data=paths.data("{task}", "test"),
    output:
        paths.probe("{seed}", "{model}", "{task}"),
    params:
        model=lambda w: as_json(PLAN.model_spec(w.model, w.seed)),
        settings=lambda w: as_json(PLAN.slot_probe_settings(w.seed, w.task)),
    threads: PLAN.threads("slot_probe")
    resources:
        **PLAN.resources("slot_probe"),
    conda:
        CONDA_ENV
    log:
        paths.log("slot_probe", "{model}", "{task}", seed="{seed}"),
    shell:
        "python -m flextrap.stages.slot_probe --model {params.model:q} --data {input.data} "
        "--settings {params.settings:q} --out {output} --threads {threads} > {log} 2>&1"

