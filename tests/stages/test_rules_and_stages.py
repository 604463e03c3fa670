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
    assert rules - {"all", "shared_inputs"} == stage_modules()  # those two only name targets


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


def library_imports() -> dict[str, set[str]]:
    """Module -> the flextrap modules it imports (at any depth of its code), by dotted name."""
    def dotted(path):
        parts = path.relative_to(LIBRARY.parent).with_suffix("").parts
        return parts[:-1] if parts[-1] == "__init__" else parts

    files = [p for p in LIBRARY.rglob("*.py") if STAGES not in p.parents]
    modules, graph = {".".join(dotted(p)) for p in files}, {}
    for path in files:
        parts = path.relative_to(LIBRARY.parent).with_suffix("").parts
        name = ".".join(dotted(path))
        package = name.split(".") if parts[-1] == "__init__" else name.split(".")[:-1]
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = package[:len(package) - node.level + 1] if node.level else []
                module = ".".join(base + ([node.module] if node.module else []))
                submodules = {f"{module}.{a.name}" for a in node.names} & modules
                # `from . import layout` imports the submodule, not the package it sits in
                found |= submodules or {module}
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
        graph[name] = found
    return {m: {n for n in found if n in graph and n != m} for m, found in graph.items()}


def test_the_library_has_no_import_cycle():
    graph, done, path = library_imports(), set(), []

    def visit(module):
        assert module not in path, " -> ".join(path[path.index(module):] + [module])
        if module in done:
            return
        path.append(module)
        for other in sorted(graph[module]):
            visit(other)
        path.pop()
        done.add(module)

    assert {"flextrap.sampling", "flextrap.orders"} <= set(graph) and "flextrap.orders" in graph["flextrap.sampling"]
    for module in sorted(graph):
        visit(module)


def test_every_stage_is_a_command_with_usage():
    for path in STAGES.glob("*.py"):
        if path.stem == "__init__":
            continue
        doc = ast.get_docstring(ast.parse(path.read_text()))
        assert doc.startswith(f"Rule `{path.stem}`"), path
        assert f"python -m flextrap.stages.{path.stem} " in doc, path


def test_rules_made_in_a_loop_each_run_their_own_stage(tmp_path):
    """Snakemake formats a rule's shell line when the job runs, from the rule file's
    namespace: a shell line built from a loop variable would run the last rule's stage
    for every rule of the loop. Two figure rules of one loop, really run on hand-made
    tables: each job runs its own rule's stage and writes its own figure."""
    tables = tmp_path / "results" / "passk" / "tiny" / "synthetic"
    tables.mkdir(parents=True)
    (tables / "passk.csv").write_text("model,task,order,k,pass_at_k,ci_low,ci_high\n" + "".join(
        f"tiny,synthetic,{o},{k},{p},{p - 0.1},{p + 0.1}\n" for o, p in (("ar", 0.5), ("arbitrary", 0.3)) for k in (1, 2)))
    (tables / "coverage.csv").write_text(
        "model,task,a,b,k,problems,only_a,only_b,both,neither,share_only_a,share_only_b,share_both,share_neither\n"
        "tiny,synthetic,ar,arbitrary,2,10,2,1,3,4,0.2,0.1,0.3,0.4\n")
    figures = ["passk_curves", "coverage"]
    result = snakemake(*[f"results/figures/tiny/{f}.png" for f in figures], "--cores", "1", "--printshellcmds",
                       "--directory", str(tmp_path), "--allowed-rules", *[f"figure_{f}" for f in figures])
    assert result.returncode == 0, result.stderr[-3000:]
    ran = re.findall(r"^localrule (figure_\w+):.*?^Shell command: python -m flextrap\.stages\.(\w+) .*?--out (\S+)",
                     result.stdout + result.stderr, flags=re.M | re.S)
    assert sorted(ran) == sorted((f"figure_{f}", f"figure_{f}", f"results/figures/tiny/{f}") for f in figures)
    for f in figures:
        assert (tmp_path / "results" / "figures" / "tiny" / f"{f}.png").stat().st_size > 0
