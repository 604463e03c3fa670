# Sec. 4: JustGRPO on the base model (one multi-GPU job at paper scale) in every seed,
# then the accuracy of base and trained models at every generation length (Table 1).


rule train_justgrpo:
    input:
        model=lambda w: PLAN.model_input(BASE, w.seed),
        data=lambda w: paths.data(PLAN.runs[w.run]["task"], "train"),
        heldout=lambda w: paths.data(heldout_task(PLAN.runs[w.run]), "test"),
    output:
        directory(paths.model_dir("{seed}", run_model(BASE, "{run}"))),
    wildcard_constraints:
        run=alternatives(PLAN.trained.values()),
    params:
        model=lambda w: as_json(PLAN.model_spec(BASE, w.seed)),
        settings=lambda w: as_json(PLAN.train_settings(w.seed, w.run)),
        task=lambda w: PLAN.runs[w.run]["task"],
        launch=PLAN.train_launcher(workflow.basedir),
    threads: PLAN.threads("train_justgrpo")
    resources:
        **PLAN.resources("train_justgrpo"),
    conda:
        CONDA_ENV
    log:
        paths.log("train_justgrpo", "{run}", seed="{seed}"),
    benchmark:
        paths.benchmark("train_justgrpo", "{run}", seed="{seed}")
    shell:
        "{params.launch} -m flextrap.stages.train_justgrpo --model {params.model:q} --data {input.data} --task {params.task} "
        "--heldout {input.heldout} --settings {params.settings:q} --out {output} --threads {threads} > {log} 2>&1"


rule eval_accuracy:
    input:
        model=lambda w: PLAN.model_input(w.model, w.seed),
        data=paths.data("{task}", "test"),
    output:
        records=paths.evaluation("{seed}", "eval", "{model}", "{task}", "len{length}", ("{shard}", "{shards}"), "jsonl"),
        summary=paths.evaluation("{seed}", "eval", "{model}", "{task}", "len{length}", ("{shard}", "{shards}")),
    wildcard_constraints:
        length=r"\d+",
        shard=r"\d+",
        shards=r"\d+",
    params:
        model=lambda w: as_json(PLAN.model_spec(w.model, w.seed)),
        settings=lambda w: as_json(PLAN.evaluation_settings(w.seed, w.task, w.length)),
    threads: PLAN.threads("eval_accuracy")
    resources:
        **PLAN.resources("eval_accuracy"),
    conda:
        CONDA_ENV
    log:
        paths.log("eval_accuracy", "{model}", "{task}", "len{length}", "shard{shard}of{shards}", seed="{seed}"),
    benchmark:
        paths.benchmark("eval_accuracy", "{model}", "{task}", "len{length}", "shard{shard}of{shards}", seed="{seed}")
    shell:
        "python -m flextrap.stages.eval_accuracy --model {params.model:q} --data {input.data} --task {wildcards.task} "
        "--settings {params.settings:q} --shard {wildcards.shard} --shards {wildcards.shards} "
        "--out {output.records} --summary {output.summary} --threads {threads} > {log} 2>&1"


rule eval_summary:
    input:
        lambda w: [path for shard in PLAN.eval_shards(w.seed, w.kind, w.model, w.task, w.name) for path in shard.values()],
    output:
        paths.evaluation("{seed}", "{kind}", "{model}", "{task}", "{name}"),
    wildcard_constraints:
        kind=alternatives(EVAL_SECTIONS),
        name=rf"len\d+|{PARALLEL_SETTING}",
    params:
        shards=lambda w: as_json(PLAN.eval_shards(w.seed, w.kind, w.model, w.task, w.name)),
    localrule: True
    conda:
        CONDA_ENV
    log:
        paths.log("eval_summary", "{kind}", "{model}", "{task}", "{name}", seed="{seed}"),
    shell:
        "python -m flextrap.stages.eval_summary --shards {params.shards:q} --out {output} > {log} 2>&1"


for _table, (_inputs, _settings) in PLAN.tables().items():

    rule:
        name:
            f"{_table}_table"
        input:
            [i["path"] for i in _inputs],
        output:
            markdown=paths.table(_table, "md"),
            latex=paths.table(_table, "tex"),
            csv=report(paths.table(_table, "csv"), caption=f"../report/{_table}_table.rst",
                       category="Sec. 4: JustGRPO"),
        params:
            stage=f"flextrap.stages.{_table}_table",  # a value: the shell line is formatted when the job runs, after the loop
            settings=as_json(_settings),
            inputs=as_json(_inputs),
        localrule: True
        conda:
            CONDA_ENV
        log:
            paths.log(f"{_table}_table", _table),
        shell:
            "python -m {params.stage} --inputs {params.inputs:q} --settings {params.settings:q} "
            "--out-markdown {output.markdown} --out-latex {output.latex} --out-csv {output.csv} > {log} 2>&1"


for _fig, _log in TRAINING_FIGURES.items():

    rule:  # one figure over the logs of every run trained here
        name:
            f"figure_{_fig}"
        input:
            PLAN.trained_models(),
        output:
            png=report(paths.figure("justgrpo", _fig, "png"), caption=f"../report/{_fig}.rst",
                       category="Sec. 4: JustGRPO"),
            pdf=paths.figure("justgrpo", _fig, "pdf"),
        params:
            stage=f"flextrap.stages.figure_{_fig}",  # a value: the shell line is formatted when the job runs, after the loop
            inputs=as_json(PLAN.training_logs(_log)),
            settings=as_json(PLAN.figure_settings()),
            out=lambda w, output: output.png[: -len(".png")],
        localrule: True
        conda:
            CONDA_ENV
        log:
            paths.log("figures", "justgrpo", _fig),
        shell:
            "python -m {params.stage} --inputs {params.inputs:q} "
            "--settings {params.settings:q} --out {params.out} > {log} 2>&1"

