# Helpers shared by the rule files (paths and settings derived from the config).


def as_json(obj):
    return json.dumps(obj, sort_keys=True)


SEEDS = config["seeds"]["values"]
SEEDED = {s: config_for_seed(config, s) for s in SEEDS}  # seed -> the config of that seed's run
PRETRAINED = [m for m, spec in config["models"].items() if "pretrain" in spec]
BASE = config["base_model"]
JUSTGRPO = config["justgrpo"]
RUNS = {r: run_settings(JUSTGRPO, r) for r in JUSTGRPO["runs"]}  # run -> its training settings (seed 0)
TRAINED = {run_model(BASE, r): r for r in trained_runs(JUSTGRPO)}  # model name -> run, trained here
MODELS = {**config["models"], **released_models(config)}  # every model a rule may load, by name


def seeded(w):
    """The config of the seed a job belongs to (wildcard `seed`)."""
    return SEEDED[int(w.seed)]


def model_spec(name, seed):
    """The spec `flextrap.models.load_model` takes, as JSON. A trained model keeps its
    base model's family, mask token id and remote-code flag."""
    if name in TRAINED:
        base = config["models"][BASE]
        keep = {k: base[k] for k in ("mask_token_id", "trust_remote_code", "family") if k in base}
        return as_json({"path": paths.model_dir(seed, name), **keep})
    spec = MODELS[name]
    if "pretrain" in spec:
        return as_json({"path": paths.model_dir(seed, name)})
    if "hf_id" in spec:  # fetched once by rule fetch_model; jobs read the cache only
        return as_json({**spec, "local_files_only": True})
    return as_json(spec)


def model_input(name, seed):
    """Input files of the rules that load model `name` in seed `seed`: its directory for a
    model the DAG trains, the preflight report for a hub model (after its fetch, so no GPU
    job is queued for code that fails on the pinned stack), nothing for a local path."""
    if name in PRETRAINED or name in TRAINED:
        return [paths.model_dir(seed, name)]
    return [paths.preflight(name)] if "hf_id" in MODELS[name] else []


def task_models(task):
    """The base model and the JustGRPO model of `task`'s Table 1 column."""
    return [BASE, run_model(BASE, config["evaluation"]["runs"][task])]


HUB_MODELS = [m for m, spec in MODELS.items() if "hf_id" in spec]
SWEEP_ORDERS = derived_orders(config["passk"])  # Fig. 10-11: name -> {sweep, order, value, spec}


def data_outputs():
    return [paths.data(t, s) for t, spec in config["tasks"].items() for s in spec["splits"]]


def pretrained_models():
    return [paths.model_dir(s, m) for s in SEEDS for m in PRETRAINED]


def job(rule):
    """How `rule`'s jobs run: config `jobs.default`, overridden key by key by `jobs.<rule>`."""
    return {**config["jobs"]["default"], **config["jobs"].get(rule, {})}


def job_threads(rule):
    return job(rule)["threads"]


def job_resources(rule):
    """Snakemake resources of `rule`'s jobs, read by the SLURM executor plugin (a local run
    schedules by threads only). The runtime grows with the attempt, so a job killed at its
    time limit is retried with more time (the profile sets `retries`)."""
    j, site = job(rule), config["cluster"]
    runtime = j["runtime"]
    resources = {"mem_mb": j["mem_mb"], "runtime": lambda wildcards, attempt: runtime * attempt}
    partition = (site["gpu_partition"] or site["partition"]) if j["gpu"] else site["partition"]
    if partition:
        resources["slurm_partition"] = partition
    if site["account"]:
        resources["slurm_account"] = site["account"]
    if j["gpu"]:
        resources["gpu"] = j["gpu"]
        if site["gpu_model"]:
            resources["gpu_model"] = site["gpu_model"]
    return resources


CONDA_ENV = "../../envs/cluster-gpu.yaml"  # conda env of every rule under --sdm conda (the cluster)


# The wildcard name of one parallel-decoding setting: "<rule>-<value>", e.g. eb-0.1, top_k-2
# (rules as sampling.PARALLEL_RULES; values may hold "-", as in 1e-05).
PARALLEL_SETTING = r"(eb|top_k|threshold)-[0-9.e+-]+"
