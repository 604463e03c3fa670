# Models: fetch a hub model once and check its code (preflight); pretrain the embedded
# default's tiny model; check a base model's Pass@1.


rule pretrain_tiny:
    input:
        lambda w: f"results/data/{config['models'][w.model]['pretrain']['task']}/train.jsonl",
    output:
        directory("results/models/{model}"),
    wildcard_constraints:
        model="|".join(PRETRAINED) or "^$",
    params:
        settings=lambda w: as_json(config["models"][w.model]["pretrain"]),
    threads: job_threads("pretrain_tiny")
    resources:
        **job_resources("pretrain_tiny"),
    conda:
        CONDA_ENV
    log:
        "results/logs/pretrain_tiny/{model}.log",
    benchmark:
        "results/benchmarks/pretrain_tiny/{model}.tsv"
    shell:
        "python -m flextrap.stages.pretrain_tiny --train {input} --out {output} "
        "--settings {params.settings:q} --threads {threads} > {log} 2>&1"


rule fetch_model:
    output:
        "results/models/{model}.fetched.json",
    wildcard_constraints:
        model="|".join(HUB_MODELS) or "^$",
    params:
        model=lambda w: as_json(MODELS[w.model]),
    localrule: True
    conda:
        CONDA_ENV
    log:
        "results/logs/fetch_model/{model}.log",
    shell:
        "python -m flextrap.stages.fetch_model --model {params.model:q} --out {output} > {log} 2>&1"


rule preflight:
    input:
        lambda w: fetched(w.model),
    output:
        "results/preflight/{model}.json",
    wildcard_constraints:
        model="|".join(HUB_MODELS) or "^$",
    params:
        model=lambda w: model_spec(w.model),
        settings=lambda w: as_json({**config["preflight"],
                                    "dtype": gpu_dtype(MODELS[w.model])}),
    localrule: True
    conda:
        CONDA_ENV
    log:
        "results/logs/preflight/{model}.log",
    shell:
        "python -m flextrap.stages.preflight --model {params.model:q} --settings {params.settings:q} "
        "--out {output} > {log} 2>&1"


def model_check_output(model, task):
    return f"results/model_check/{model}/{task}.json"


rule model_check:
    input:
        model=lambda w: model_input(w.model),
        data="results/data/{task}/test.jsonl",
    output:
        samples="results/model_check/{model}/{task}.jsonl",
        summary="results/model_check/{model}/{task}.json",
    params:
        model=lambda w: model_spec(w.model),
        settings=lambda w: as_json(model_check_job(config, w.task)),
    threads: job_threads("model_check")
    resources:
        **job_resources("model_check"),
    conda:
        CONDA_ENV
    log:
        "results/logs/model_check/{model}/{task}.log",
    shell:
        "python -m flextrap.stages.model_check --model {params.model:q} --data {input.data} "
        "--task {wildcards.task} --settings {params.settings:q} --samples {output.samples} --out {output.summary} "
        "--threads {threads} > {log} 2>&1"


rule slot_probe:
    input:
        model=lambda w: model_input(w.model),
        data="results/data/synthetic/test.jsonl",
    output:
        "results/probe/{model}/synthetic.json",
    params:
        model=lambda w: model_spec(w.model),
        settings=lambda w: as_json({**config.get("slot_probe", {}), "device": config["device"]}),
    threads: job_threads("slot_probe")
    resources:
        **job_resources("slot_probe"),
    conda:
        CONDA_ENV
    log:
        "results/logs/slot_probe/{model}.log",
    shell:
        "python -m flextrap.stages.slot_probe --model {params.model:q} --data {input.data} "
        "--settings {params.settings:q} --out {output} --threads {threads} > {log} 2>&1"


def slot_probe_outputs():
    """Slot probes of the base model and the synthetic task's JustGRPO run, when configured."""
    if "slot_probe" not in config or "synthetic" not in config["tasks"]:
        return []
    models = task_models("synthetic") if "synthetic" in config["evaluation"]["runs"] else [BASE]
    return [f"results/probe/{m}/synthetic.json" for m in models]
