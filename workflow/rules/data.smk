# Data preparation: one normalized JSONL per task and split (shared by every seed).


rule prepare_data:
    output:
        data=paths.data("{task}", "{split}"),
        meta=paths.data("{task}", "{split}", "provenance.json"),
    params:
        spec=lambda w: as_json(config["tasks"][w.task]),
    localrule: True
    conda:
        CONDA_ENV
    log:
        paths.log("prepare_data", "{task}", "{split}"),
    shell:
        "python -m flextrap.stages.prepare_data --task {wildcards.task} --split {wildcards.split} "
        "--spec {params.spec:q} --out {output.data} > {log} 2>&1"
