"""flextrap: the DAG of 'The Flexibility Trap' reproduction.

    snakemake --cores 2                                  # embedded default (config/config.yaml)
    snakemake --configfile config/paper.yaml --profile slurm   # the paper's setup
"""
import sys
from pathlib import Path

from snakemake.utils import validate

WORKFLOW_DIR = Path(workflow.basedir) / "workflow"
sys.path.insert(0, str(WORKFLOW_DIR))
from flextrap import paths
from flextrap.config import check_config, with_default
from flextrap.errors import FlextrapError
from flextrap.numerics import job_numerics, shell_export
from flextrap.plan import (EVAL_SECTIONS, PARALLEL_SETTING, PASSK_FIGURES, SWEEP_FIGURES, TRAINING_FIGURES, Plan,
                           alternatives, as_json)
from flextrap.runs import heldout_task, run_model

# No `configfile:` directive: Snakemake would merge it under a --configfile given on
# the command line (config/paper.yaml would inherit the tiny model). The default is
# used only when no config file was given; --config key=value still applies on top.
CONFIG_DIR = Path(workflow.basedir) / "config"
SCHEMA = CONFIG_DIR / "schema.yaml"
try:
    config.update(with_default(config, CONFIG_DIR / "config.yaml"))
    check_config(config, SCHEMA)  # one-line messages naming the key
except FlextrapError as err:
    sys.exit(str(err))
validate(config, str(SCHEMA))     # the same schema, as Snakemake applies it

# Rules run `python -m flextrap.stages.<rule>`; the package is importable even if not
# installed, and pins the numerics of config `numerics` before torch loads (over the caller's).
# Snakemake formats the prefix (with the Snakefile's names): braces are doubled to stay braces.
NUMERICS = shell_export(job_numerics(config["numerics"], config["jobs"]["default"]["threads"]))
shell.prefix(f"export PYTHONPATH={WORKFLOW_DIR}${{{{PYTHONPATH:+:$PYTHONPATH}}}}; "
             + NUMERICS.replace("{", "{{").replace("}", "}}") + "set -o pipefail; ")


report: "workflow/report/workflow.rst"


wildcard_constraints:
    task=alternatives(config["tasks"]),
    split="train|test",
    seed=alternatives(map(str, config["seeds"]["values"])),
    model=r"[^/]+",


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/passk.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/parallel.smk"
include: "workflow/rules/general.smk"


_unknown_jobs = sorted(set(config["jobs"]) - {"default"} - {r.name for r in workflow.rules})
if _unknown_jobs:
    sys.exit(f"config error: jobs.{_unknown_jobs[0]}: no rule of that name (snakemake --list-rules)")


rule all:
    input:
        PLAN.data_outputs(),
        PLAN.pretrained_models(),
        PLAN.model_checks(),
        [PLAN.passk_outputs(m) + PLAN.figure_outputs(m) for m in dict.fromkeys([BASE] + PLAN.passk_models())],
        PLAN.sweep_outputs(BASE) + PLAN.sweep_figure_outputs(BASE),
        rules.accuracy_table.output,
        rules.ablation_table.output,
        PLAN.training_figures(),
        rules.figure_parallel_decoding.output,
        PLAN.slot_probe_outputs(),
        PLAN.general_outputs(),


# What the seeds share (data, local tasks, hub models' preflights): `snakemake shared_inputs`
# before packed seeds are unpacked (README, "Seeds"; flextrap.seed_trees).
rule shared_inputs:
    input:
        PLAN.shared_inputs(),
