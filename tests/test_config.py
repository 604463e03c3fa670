"""Config validation (schema + cross-field rules) and `snakemake -n` of every config."""
import copy
import re
import subprocess
import sys

import pytest
import yaml
from conftest import ROOT

from flextrap.config import check_config, semantic_errors, with_default
from flextrap.errors import FlextrapError

SCHEMA = ROOT / "config" / "schema.yaml"
CONFIGS = ["config/config.yaml", "config/paper.yaml", "config/ci.yaml"]


def load(name="config/config.yaml"):
    return yaml.safe_load((ROOT / name).read_text())


@pytest.mark.parametrize("name", CONFIGS)
def test_shipped_configs_are_valid(name):
    check_config(with_default(load(name), ROOT / "config" / "config.yaml"), SCHEMA)


def _set(path, value):
    def mutate(c):
        *head, last = path.split(".")
        for key in head:
            c = c[key]
        if value is DELETE:
            del c[last]
        else:
            c[last] = value
    return mutate


DELETE = object()
BAD = [
    ("unknown top-level key", _set("temprature", 0.6), "temprature: unknown key"),
    ("unknown nested key", _set("passk.temprature", 0.6), "passk.temprature: unknown key"),
    ("wrong type", _set("passk.temperature", "hot"), "passk.temperature: 'hot' is not of type 'number'"),
    ("negative", _set("models.tiny.pretrain.lr", -1), "models.tiny.pretrain.lr"),
    ("block does not divide length", _set("passk.orders.arbitrary.block_length", 5),
     "passk.orders.arbitrary.block_length: block_length 5 does not divide gen_length 48"),
    ("steps not a multiple of blocks", _set("passk.steps", 15),
     "passk.orders.arbitrary.block_length: steps 15 is not a multiple of the number of blocks (6)"),
    ("eval block", _set("evaluation.block_length", 16), "evaluation.block_length: block_length 16 does not divide gen_length 56"),
    ("unknown remasking", _set("passk.orders.ar.remasking", "confident"), "passk.orders.ar.remasking"),
    ("k beyond n", _set("passk.ks", [1, 128]), "passk.ks: k=128 exceeds passk.n_samples=16"),
    ("missing section", _set("grading", DELETE), "'grading' is a required property"),
    ("unknown task", _set("tasks.gsm9k", {"splits": ["test"], "templates": ["plain"]}), "tasks: 'gsm9k' is not one of"),
    ("unknown base model", _set("base_model", "llada"), "base_model: 'llada' is not a key of models"),
    ("model without source", _set("models.tiny", {"dtype": "bfloat16"}), "models.tiny: a model needs exactly one of"),
    ("unknown template", _set("tasks.synthetic.templates", ["fancy"]), "tasks.synthetic.templates.0"),
    ("heads do not divide width", _set("models.tiny.pretrain.architecture.num_heads", 3),
     "models.tiny.pretrain.architecture: num_heads must divide hidden_size"),
    ("unknown check order", _set("model_check.order", "zigzag"), "model_check.order: 'zigzag' is not a key of passk.orders"),
    ("unconfigured task", _set("justgrpo.runs.synthetic-random.task", "gsm8k"),
     "justgrpo.runs.synthetic-random.task: task 'gsm8k' is not configured under tasks"),
    ("template not prepared", _set("justgrpo.shared.template", "d1_math"),
     "tasks.synthetic.templates: misses 'd1_math', used by passk/evaluation/justgrpo"),
    ("coverage of an unsampled order", _set("passk.coverage", [["ar", "zigzag"]]),
     "passk.coverage: 'zigzag' is not a key of passk.orders"),
    ("sweep of an unsampled order", _set("passk.block_sweep", ["ar", "block2"]),
     "passk.block_sweep: 'block2' is not a key of passk.orders"),
    ("bypass figure of an unsampled order", _set("figures.bypass_order", "random"),
     "figures.bypass_order: 'random' is not a key of passk.orders"),
    ("order limited to an unsampled task", _set("passk.orders.ar.tasks", ["gsm8k"]),
     "passk.orders.ar.tasks: 'gsm8k' has no template under passk.template"),
    ("order name unusable in paths", _set("passk.orders.a/b", {"block_length": 1, "remasking": "random"}),
     "passk.orders: 'a/b' does not match"),
    ("more steps than definitions", _set("tasks.synthetic.generator.steps", [3, 6]),
     "tasks.synthetic.generator.steps: need min <= max <= n_defs"),
    ("job field misspelt", _set("jobs.sample", {"gpus": 1}), "jobs.sample.gpus: unknown key"),
    ("default job incomplete", _set("jobs.default", {"threads": 1}), "jobs.default: 'mem_mb' is a required property"),
    ("table column from an unknown run", _set("evaluation.runs.synthetic", "synthetc"),
     "evaluation.runs.synthetic: 'synthetc' is not a key of justgrpo.runs"),
    ("task without a run", _set("evaluation.runs", {}), "evaluation.runs: no run for task 'synthetic'"),
    ("ablation of an unknown run", _set("ablation.runs.JustGRPO-Fast", "synthetic-fast"),
     "ablation.runs.JustGRPO-Fast: 'synthetic-fast' is not a key of justgrpo.runs"),
    ("released without a checkpoint", _set("justgrpo.runs.synthetic.source", "released"),
     "justgrpo.runs.synthetic: source: released needs `released: {hf_id, revision}`"),
    ("source in the shared block", _set("justgrpo.shared.source", "train"),
     "justgrpo.shared.source: belongs to a run"),
    ("misspelt run setting", _set("justgrpo.runs.synthetic.ordr", "random"), "justgrpo.runs.synthetic.ordr: unknown key"),
    ("sweep of an unknown order", _set("passk.sweeps.temperature.orders", ["ar", "zigzag"]),
     "passk.sweeps.temperature: 'zigzag' is not a key of passk.orders"),
    ("sweep of an unknown setting", _set("passk.sweeps.block_length", {}), "passk.sweeps.block_length: unknown key"),
    ("zero threads", _set("jobs.train_justgrpo.threads", 0), "jobs.train_justgrpo.threads"),
    ("site value missing", _set("cluster", {"account": None}), "cluster: 'partition' is a required property"),
]


@pytest.mark.parametrize("what, mutate, expected", BAD, ids=[b[0] for b in BAD])
def test_bad_config_is_rejected_with_one_line_naming_the_key(what, mutate, expected):
    config = copy.deepcopy(load())
    mutate(config)
    with pytest.raises(FlextrapError) as err:
        check_config(config, SCHEMA)
    message = str(err.value)
    assert expected in message and "\n" not in message, message


def test_hub_task_needs_a_source_per_split():
    config = load("config/paper.yaml")
    del config["tasks"]["mbpp"]["sources"]
    with pytest.raises(FlextrapError, match=r"^config error: tasks.mbpp.sources.test: missing"):
        check_config(config, SCHEMA)


def test_hub_model_must_pin_a_revision():
    config = load("config/paper.yaml")
    del config["models"]["llada"]["revision"]
    with pytest.raises(FlextrapError, match="models.llada: a model needs exactly one of"):
        check_config(config, SCHEMA)


def test_default_is_used_only_without_a_config_file():
    paper = load("config/paper.yaml")
    assert with_default(paper, ROOT / "config/config.yaml") is paper
    merged = with_default({"threads": 1}, ROOT / "config/config.yaml")
    assert merged["threads"] == 1 and merged["run_name"] == "tiny"


def snakemake(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=cwd, capture_output=True, text=True)


def job_counts(stdout: str) -> dict[str, int]:
    """The dry run's "Job stats" table: rule -> jobs."""
    table = stdout[stdout.rindex("Job stats:"):].splitlines()[3:]
    rows = [line.split() for line in table[:next(i for i, line in enumerate(table) if line.startswith("total"))]]
    return {rule: int(n) for rule, n in rows}


def tiny_job_counts(c: dict) -> dict[str, int]:
    """Jobs of the tiny configs, counted from their settings by hand (not by flextrap.plan)."""
    seeds, p, e, par = len(c["seeds"]["values"]), c["passk"], c["evaluation"], c["parallel"]
    sweep_orders = sum(len(s["values"]) * len(s["orders"]) + len(s.get("baseline", [])) for s in p["sweeps"].values())
    # Pass@k: each passk model under each order, the base model under each sweep's orders; `shards` jobs each
    samples = seeds * p["shards"] * (len(p["models"]) * len(p["orders"]) + sweep_orders)
    runs = set(e["runs"].values()) | set(c["ablation"]["runs"].values())  # Table 1 and ablation JustGRPO runs
    settings = sum(len(values) for values in par["rules"].values())
    accuracy = seeds * (1 + len(runs)) * len(e["gen_lengths"])  # base and each run, at each length
    parallel = seeds * 2 * settings  # base and the task's JustGRPO run (Fig. 8)
    return {"prepare_data": 2, "pretrain_tiny": seeds, "train_justgrpo": seeds * len(c["justgrpo"]["runs"]),
            "sample": samples, "eval_accuracy": accuracy * e["shards"], "eval_parallel": parallel * par["shards"],
            "eval_summary": accuracy + parallel, "pass_at_k": seeds * len(p["models"]),
            "pass_at_k_sweep": seeds * len(p["sweeps"]), "all": 1}


@pytest.mark.parametrize("name", ["config/config.yaml", "config/ci.yaml", "config/seeds.yaml", "config/forks.yaml"])
def test_dry_run_of_a_tiny_config_plans_the_jobs_its_settings_call_for(name, tmp_path):
    result = snakemake("-n", "--configfile", str(ROOT / name), "-s", str(ROOT / "Snakefile"),
                       "--directory", str(tmp_path))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    counts = job_counts(result.stdout)
    expected = tiny_job_counts(with_default(load(name), ROOT / "config/config.yaml"))
    assert {rule: counts.get(rule, 0) for rule in expected} == expected
    figures = {rule for rule in counts if rule.startswith("figure_")}
    assert figures == {f"figure_{f}" for f in ("passk_curves", "coverage", "bypassed_tokens", "connective_entropy",
                                              "passk_vs_temperature", "passk_by_remasking", "reward_curve",
                                              "training_efficiency", "parallel_decoding")}
    assert "preflight" not in counts and "fetch_model" not in counts  # no hub model in the tiny configs


@pytest.fixture(scope="module")
def paper_dry_run(tmp_path_factory):
    """The paper config's dry run (one for the tests below: it plans about 4800 jobs)."""
    result = snakemake("-n", "--configfile", str(ROOT / "config/paper.yaml"), "-s", str(ROOT / "Snakefile"),
                       "--directory", str(tmp_path_factory.mktemp("paper")))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result


def test_dry_run_of_the_paper_config(paper_dry_run):
    result = paper_dry_run
    counts, config = job_counts(result.stdout), load("config/paper.yaml")
    hub = [m for m, spec in config["models"].items() if "hf_id" in spec]
    trained_here = [r for r, spec in config["justgrpo"]["runs"].items() if spec.get("source") != "released"]
    assert counts["fetch_model"] == counts["preflight"] == len(hub) == 3
    assert counts["train_justgrpo"] == len(trained_here) and "pretrain_tiny" not in counts
    assert counts["figure_passk_vs_block_length"] == len(config["passk"]["models"])  # Fig. 5, with its block sweep


def test_paper_dry_run_does_not_inherit_the_tiny_model(paper_dry_run):
    result = paper_dry_run
    assert "pretrain_tiny" not in result.stdout and "synthetic" not in result.stdout
    # the training job asks for the GPU resources of the config
    train = result.stdout[result.stdout.index("rule train_justgrpo:"):]
    train = train[:train.index("\n\n")]
    assert "gpu=8" in train and "runtime=1440" in train and "mem_mb=900000" in train


GPU_RULES = ("sample", "model_check", "eval_accuracy", "eval_parallel", "train_justgrpo")


def test_paper_dry_run_checks_each_hub_model_before_its_gpu_jobs_and_samples_all_three(paper_dry_run):
    result = paper_dry_run
    jobs = []  # (rule, model, input line), one per job block of the dry run
    for block in re.split(r"^(?:local)?rule ", result.stdout, flags=re.M)[1:]:
        rule, lines = block.split(":", 1)[0], block.splitlines()
        model = next((w.split("model=")[1].split(",")[0] for w in lines if "wildcards:" in w and "model=" in w), None)
        jobs.append((rule, model, next((w for w in lines if w.strip().startswith("input:")), "")))
    preflights = {m for rule, m, _ in jobs if rule == "preflight"}
    assert preflights == {"llada", "llada15", "dream"}
    for rule, model, inputs in jobs:
        if rule in GPU_RULES and model in preflights:
            assert f"results/preflight/{model}.json" in inputs, (rule, model, inputs)
        if rule in GPU_RULES and model and model.startswith("llada-justgrpo-"):
            assert f"results/seed0/models/{model}" in inputs  # after training, whose input is llada's preflight
    assert {m for rule, m, _ in jobs if rule == "sample"} == {"llada", "llada15", "dream"}
    trains = [inputs for rule, _, inputs in jobs if rule == "train_justgrpo"]
    assert trains and all("results/preflight/llada.json" in i for i in trains)


def test_hub_models_need_a_known_family():
    config = copy.deepcopy(load("config/paper.yaml"))
    del config["models"]["dream"]["family"]
    config["models"]["llada15"]["family"] = "lada"
    config["passk"]["models"].append("gpt")
    errors = semantic_errors(config)
    assert "models.dream: a hub model needs `family:` (bert, llada, dream)" in errors
    assert "models.llada15.family: unknown family 'lada'; known: bert, llada, dream" in errors
    assert "passk.models: 'gpt' is neither a key of models nor a JustGRPO run's model (llada-justgrpo-<run>)" in errors


def test_bad_config_stops_snakemake_with_one_line(tmp_path):
    bad = load()
    bad["passk"]["orders"]["arbitrary"]["block_length"] = 5
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    result = snakemake("-n", "--configfile", str(path), "-s", str(ROOT / "Snakefile"), "--directory", str(tmp_path))
    assert result.returncode != 0
    out = result.stdout + result.stderr
    assert "config error: passk.orders.arbitrary.block_length: block_length 5 does not divide gen_length 48" in out
    assert "Traceback" not in out


def test_jobs_of_an_unknown_rule_stop_snakemake_with_one_line(tmp_path):
    bad = load()
    bad["jobs"]["samples"] = {"threads": 2}  # the rule is `sample`
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    result = snakemake("-n", "--configfile", str(path), "-s", str(ROOT / "Snakefile"), "--directory", str(tmp_path))
    out = result.stdout + result.stderr
    assert result.returncode != 0 and "config error: jobs.samples: no rule of that name" in out
    assert "Traceback" not in out


def test_jobs_settings_reach_the_rules(tmp_path):
    """threads from `jobs` (default, then per rule); the runtime grows with the attempt."""
    override = tmp_path / "jobs.yaml"  # merged on top of the default config
    override.write_text("jobs: {default: {threads: 3, mem_mb: 1000, runtime: 7, gpu: 0}, pretrain_tiny: {threads: 5}}")
    result = snakemake("-n", "-p", "--cores", "8", "-s", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
                       "--configfile", str(override))
    assert result.returncode == 0, result.stderr[-2000:]
    blocks = {b.split("rule ", 1)[1].split(":")[0]: b for b in result.stdout.split("\n\n") if "rule " in b}
    assert "--threads 5" in blocks["pretrain_tiny"] and "runtime=60" in blocks["pretrain_tiny"]  # its own
    assert "--threads 3" in blocks["sample"] and "mem_mb=1000" in blocks["sample"] and "runtime=7" in blocks["sample"]


def test_slot_probe_needs_a_generated_task():
    config = copy.deepcopy(load())
    del config["tasks"]["synthetic"]
    assert ("slot_probe: probes a generated task (synthetic, forks), and none is configured under tasks"
            in semantic_errors(config))


def test_model_check_under_a_task_limited_order_gets_plain_sampler_settings(tmp_path):
    """`tasks:` limits which tasks an order samples; it is not a sampler argument (it used
    to reach `generate` from model_check)."""
    config = copy.deepcopy(load("config/paper.yaml"))
    config["model_check"].update(order="block8", task="humaneval")
    path = tmp_path / "paper-block8.yaml"
    path.write_text(yaml.safe_dump(config))
    result = snakemake("-n", "-p", "--configfile", str(path), "-s", str(ROOT / "Snakefile"),
                       "--directory", str(tmp_path), "results/seed0/model_check/llada/humaneval.json")
    assert result.returncode == 0, result.stderr[-2000:]
    command = next(line for line in result.stdout.splitlines() if "flextrap.stages.model_check" in line)
    assert '"block_length": 8' in command and '"tasks"' not in command


def dry_run_jobs(config_path, workdir) -> dict[str, list[str]]:
    """rule -> the output line of each of its jobs in a dry run of `config_path`."""
    result = snakemake("-n", "--configfile", str(config_path), "-s", str(ROOT / "Snakefile"),
                       "--directory", str(workdir))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    jobs: dict[str, list[str]] = {}
    for block in re.split(r"^(?:local)?rule ", result.stdout, flags=re.M)[1:]:
        rule, lines = block.split(":", 1)[0], block.splitlines()
        jobs.setdefault(rule, []).append(next((w.strip() for w in lines if w.strip().startswith("output:")), ""))
    return jobs


def test_paper_dry_run_has_the_whole_study(tmp_path):
    """Five training runs, Table 1 from the run of each task, the ablation table, Fig. 8-11."""
    jobs = dry_run_jobs(ROOT / "config/paper.yaml", tmp_path)
    trained = sorted(o.split("results/seed0/models/")[1] for o in jobs["train_justgrpo"])
    assert trained == [f"llada-justgrpo-{r}" for r in ("code", "gsm8k", "gsm8k-fast", "gsm8k-random", "math")]
    evals = {o.split("results/seed0/eval/")[1].split("/len")[0] for o in jobs["eval_accuracy"]}
    for task, run in {"gsm8k": "gsm8k", "math500": "math", "humaneval": "code", "mbpp": "code"}.items():
        assert {f"llada/{task}", f"llada-justgrpo-{run}/{task}"} <= evals
    assert "llada-justgrpo-gsm8k/math500" not in evals  # no GSM8K model in the MATH-500 column
    assert {"llada-justgrpo-gsm8k-random/gsm8k", "llada-justgrpo-gsm8k-fast/gsm8k"} <= evals
    parallel = {"/".join(o.split("results/seed0/parallel/")[1].split("/")[:2]) for o in jobs["eval_parallel"]}
    assert "llada-justgrpo-code/mbpp" in parallel and "llada-justgrpo-gsm8k/mbpp" not in parallel
    for rule in ("accuracy_table", "ablation_table", "figure_training_efficiency", "figure_passk_vs_temperature",
                 "figure_passk_by_remasking", "figure_parallel_decoding"):
        assert len(jobs[rule]) == 1, rule
    assert len(jobs["pass_at_k_sweep"]) == 2 * 4  # two sweeps x four tasks
    temperature_orders = {o.split("/")[5] for o in jobs["sample"] if "/temperature-" in o}
    assert temperature_orders == {f"temperature-{o}-{t}" for o in ("ar", "arbitrary") for t in (0.3, 0.6, 1.0, 1.2, 1.5)}


def test_a_released_checkpoint_replaces_its_training_job_and_nothing_else(tmp_path):
    paper = load("config/paper.yaml")
    paper["justgrpo"]["runs"]["gsm8k"]["source"] = "released"
    released = tmp_path / "released.yaml"
    released.write_text(yaml.safe_dump(paper))
    before = dry_run_jobs(ROOT / "config/paper.yaml", tmp_path / "a")
    after = dry_run_jobs(released, tmp_path / "b")
    assert "output: results/seed0/models/llada-justgrpo-gsm8k" not in after["train_justgrpo"]
    assert "output: results/seed0/models/llada-justgrpo-gsm8k" in before["train_justgrpo"]
    assert len(after["train_justgrpo"]) == len(before["train_justgrpo"]) - 1
    # the released model is fetched and checked like any hub model ...
    assert any("llada-justgrpo-gsm8k" in o for o in after["fetch_model"] + after["preflight"])
    # ... and every other job is the same
    for rule in set(before) | set(after):
        if rule not in ("train_justgrpo", "fetch_model", "preflight", "all"):
            assert sorted(before.get(rule, [])) == sorted(after.get(rule, [])), rule


def test_tiny_dry_run_trains_the_ablation_and_sweeps(tmp_path):
    jobs = dry_run_jobs(ROOT / "config/config.yaml", tmp_path)
    assert sorted(o.split("results/seed0/models/")[1] for o in jobs["train_justgrpo"]) == [
        "tiny-justgrpo-synthetic", "tiny-justgrpo-synthetic-random"]
    for rule in ("ablation_table", "figure_training_efficiency", "figure_passk_vs_temperature",
                 "figure_passk_by_remasking"):
        assert len(jobs[rule]) == 1, rule


def test_seeds_overlay_runs_every_seeded_job_once_per_seed_and_pools_each_table_once(tmp_path):
    """config/seeds.yaml: three pretrainings, three of every JustGRPO run, sampling and
    evaluation per seed; one pooled table per Sec. 3 table and one Table 1, ablation, figure."""
    one = dry_run_jobs(ROOT / "config/config.yaml", tmp_path / "one")
    three = dry_run_jobs(ROOT / "config/seeds.yaml", tmp_path / "three")
    assert sorted(three["pretrain_tiny"]) == [f"output: results/seed{s}/models/tiny" for s in range(3)]
    for rule in ("train_justgrpo", "sample", "eval_accuracy", "eval_parallel", "eval_summary", "pass_at_k",
                 "entropy_stats", "pass_at_k_sweep", "model_check", "slot_probe"):
        assert len(three[rule]) == 3 * len(one[rule]), rule
        assert sorted(o.replace("/seed1/", "/seed0/") for o in three[rule] if "/seed1/" in o) == sorted(one[rule]), rule
    for rule in ("pool_seeds", "accuracy_table", "ablation_table", "parallel_table", "figure_passk_curves",
                 "figure_reward_curve", "prepare_data"):
        assert sorted(three[rule]) == sorted(one[rule]), rule
