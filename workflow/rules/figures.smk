# Figures of Sec. 3, drawn from the tables over seeds only (PNG in the report, PDF beside
# it); light, so they run on the submitting machine under --profile slurm (`localrule`).
# One rule per figure: `snakemake results/figures/<model>/<figure>.pdf` redraws one.

for _fig, (_stage, _csv) in PASSK_FIGURES.items():

    rule:
        name:
            f"figure_{_fig}"
        input:
            lambda w, stage=_stage, csv=_csv: [paths.analysis(None, stage, w.model, t, csv) for t in PLAN.passk_tasks()],
        output:
            png=report(
                paths.figure("{model}", _fig, "png"),
                caption=f"../report/{_fig}.rst",
                category="Sec. 3: the flexibility trap",
                subcategory="{model}",
            ),
            pdf=paths.figure("{model}", _fig, "pdf"),
        params:
            stage=f"flextrap.stages.figure_{_fig}",  # a value: the shell line is formatted when the job runs, after the loop
            inputs=lambda w, input: as_json(list(input)),
            settings=as_json(PLAN.figure_settings()),
            out=lambda w, output: output.png[: -len(".png")],
        localrule: True
        conda:
            CONDA_ENV
        log:
            paths.log("figures", "{model}", _fig),
        shell:
            "python -m {params.stage} --inputs {params.inputs:q} "
            "--settings {params.settings:q} --out {params.out} > {log} 2>&1"


for _sweep, _fig in SWEEP_FIGURES.items():

    rule:
        name:
            f"figure_{_fig}"
        input:
            lambda w, sweep=_sweep: [paths.analysis(None, "sweeps", w.model, t, sweep) for t in PLAN.sweep_tasks(sweep)],
        output:
            png=report(
                paths.figure("{model}", _fig, "png"),
                caption=f"../report/{_fig}.rst",
                category="Sec. 3: the flexibility trap",
                subcategory="{model}",
            ),
            pdf=paths.figure("{model}", _fig, "pdf"),
        params:
            stage=f"flextrap.stages.figure_{_fig}",  # a value: the shell line is formatted when the job runs, after the loop
            inputs=lambda w, input: as_json(list(input)),
            settings=as_json(PLAN.figure_settings()),
            out=lambda w, output: output.png[: -len(".png")],
        localrule: True
        conda:
            CONDA_ENV
        log:
            paths.log("figures", "{model}", _fig),
        shell:
            "python -m {params.stage} --inputs {params.inputs:q} "
            "--settings {params.settings:q} --out {params.out} > {log} 2>&1"

