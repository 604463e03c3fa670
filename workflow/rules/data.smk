# Data preparation: one normalized JSONL per task and split.


rule prepare_data:
    output:
        data="results/data/{task}/{split}.jsonl",
        meta="results/data/{task}/{split}.provenance.json",
    params:
        spec=lambda w: as_json(config["tasks"][w.task]),
    localrule: True
    conda:
        CONDA_ENV
    log:
        "results/logs/prepare_data/{task}/{split}.log",
    shell:
        "python -m flextrap.stages.prepare_data --task {wildcards.task} --split {wildcards.split} "
        "--spec {params.spec:q} --out {output.data} > {log} 2>&1"
