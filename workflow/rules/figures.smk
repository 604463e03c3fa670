# Figures of Sec. 3, drawn from the tables over seeds only (PNG in the report, PDF beside
# it); light, so they run on the submitting machine under --profile slurm (`localrule`).
# One rule per figure: `snakemake results/figures/<model>/<figure>.pdf` redraws one.

PASSK_FIGURES = {  # figure -> (stage, CSV name) it is drawn from
    "passk_curves": ("passk", "passk"),
    "coverage": ("passk", "coverage"),
    "passk_vs_block_length": ("passk", "passk"),
    "bypassed_tokens": ("entropy", "bypass"),
    "connective_entropy": ("entropy", "connective_entropy"),
}


def passk_figures():
    """The figures this config can draw (Fig. 5 only with a block-length sweep)."""
    figs = [f for f in PASSK_FIGURES if f != "passk_vs_block_length" or config["passk"]["block_sweep"]]
    if not config["passk"]["coverage"]:
        figs.remove("coverage")
    return figs


def figure_settings():
    f, p = config["figures"], config["passk"]
    return as_json({**f, "orders": list(p["orders"]), "block_sweep": p["block_sweep"]})


for _fig, (_stage, _csv) in PASSK_FIGURES.items():

    rule:
        name:
            f"figure_{_fig}"
        input:
            lambda w, stage=_stage, csv=_csv: [paths.analysis(None, stage, w.model, t, csv) for t in passk_tasks()],
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
            settings=figure_settings(),
            out=lambda w, output: output.png[: -len(".png")],
        localrule: True
        conda:
            CONDA_ENV
        log:
            paths.log("figures", "{model}", _fig),
        shell:
            "python -m {params.stage} --inputs {params.inputs:q} "
            "--settings {params.settings:q} --out {params.out} > {log} 2>&1"


def figure_outputs(model):
    return [paths.figure(model, f, ext) for f in passk_figures() for ext in ("png", "pdf")]


SWEEP_FIGURES = {"temperature": "passk_vs_temperature", "remasking": "passk_by_remasking"}  # Fig. 10, 11

for _sweep, _fig in SWEEP_FIGURES.items():

    rule:
        name:
            f"figure_{_fig}"
        input:
            lambda w, sweep=_sweep: [paths.analysis(None, "sweeps", w.model, t, sweep) for t in sweep_tasks(sweep)],
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
            settings=figure_settings(),
            out=lambda w, output: output.png[: -len(".png")],
        localrule: True
        conda:
            CONDA_ENV
        log:
            paths.log("figures", "{model}", _fig),
        shell:
            "python -m {params.stage} --inputs {params.inputs:q} "
            "--settings {params.settings:q} --out {params.out} > {log} 2>&1"


def sweep_figure_outputs(model):
    return [paths.figure(model, SWEEP_FIGURES[s], ext) for s in config["passk"].get("sweeps", {})
            for ext in ("png", "pdf")]
