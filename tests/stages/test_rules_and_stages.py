"""Every rule has one entry-point module, named as the rule, under flextrap/stages; every
job runs its own rule's module; the library never imports a stage."""
import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STAGES = ROOT / "workflow" / "flextrap" / "stages"
LIBRARY = ROOT / "workflow" / "flextrap"


def snakemake(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), *args], cwd=cwd,
                          capture_output=True, text=True)


def stage_modules() -> set[str]:
    return {p.stem for p in STAGES.glob("*.py") if p.stem != "__init__"}


def test_rules_and_stage_modules_match_one_to_one(tmp_path):
    rules = set()
    for config in ("config/config.yaml", "config/paper.yaml"):
        result = snakemake("--list-rules", "--configfile", str(ROOT / config), "--directory", str(tmp_path))
        assert result.returncode == 0, result.stderr[-2000:]
        rules |= {line.strip() for line in result.stdout.splitlines() if line.strip()}
    assert rules - {"all"} == stage_modules()


def test_every_job_runs_the_module_of_its_rule(tmp_path):
    """The dry-run shell command of each job calls `flextrap.stages.<its rule>` (the two
    configs together have every rule: the paper's hub models, the default's tiny one)."""
    seen = set()
    for config in ("config/config.yaml", "config/paper.yaml"):
        result = snakemake("-n", "-p", "--configfile", str(ROOT / config), "--directory", str(tmp_path))
        assert result.returncode == 0, result.stderr[-2000:]
        for block in re.split(r"^(?:local)?rule ", result.stdout, flags=re.M)[1:]:
            rule = block.split(":", 1)[0]
            modules = set(re.findall(r"-m flextrap\.([\w.]+)", block))
            if rule != "all":
                assert modules == {f"stages.{rule}"}, (rule, modules)
                seen.add(rule)
    assert seen == stage_modules()


def test_the_library_never_imports_a_stage():
    for path in LIBRARY.rglob("*.py"):
        if STAGES in path.parents:
            continue
        tree = ast.parse(path.read_text())
        names = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        names += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        assert not [n for n in names if "stages" in n.split(".")], path


def test_every_stage_is_a_command_with_usage():
    for path in STAGES.glob("*.py"):
        if path.stem == "__init__":
            continue
        doc = ast.get_docstring(ast.parse(path.read_text()))
        assert doc.startswith(f"Rule `{path.stem}`"), path
        assert f"python -m flextrap.stages.{path.stem} " in doc, path


def test_no_rule_builds_its_command_from_a_loop_variable():
    """Snakemake formats a rule's shell line when the job runs, from the rule file's
    namespace: an f-string over a loop variable would run the last rule's stage for
    every rule of the loop (a dry run still prints the right one). Loop rules pass
    their stage as a param instead."""
    for path in (ROOT / "workflow" / "rules").glob("*.smk"):
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            if line.strip() == "shell:":
                assert not lines[i + 1].strip().startswith('f"'), f"{path.name}:{i + 2}"
