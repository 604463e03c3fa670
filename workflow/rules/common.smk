# Helpers shared by the rule files (paths and settings derived from the config).


def as_json(obj):
    return json.dumps(obj, sort_keys=True)


PRETRAINED = [m for m, spec in config["models"].items() if "pretrain" in spec]


def model_dir(name):
    """Where a model lives: a DAG-trained one under results/models/, else its config path."""
    return f"results/models/{name}"


TRAINED = f"{config['base_model']}-justgrpo"  # the base model after JustGRPO (results/models/)


def model_spec(name):
    """The spec `flextrap.models.load_model` takes, as JSON. A trained model keeps its
    base model's mask token id and remote-code flag."""
    if name == TRAINED:
        base = config["models"][config["base_model"]]
        keep = {k: base[k] for k in ("mask_token_id", "trust_remote_code", "family") if k in base}
        return as_json({"path": model_dir(name), **keep})
    spec = config["models"][name]
    if "pretrain" in spec:
        return as_json({"path": model_dir(name)})
    if "hf_id" in spec:  # fetched once by rule fetch_model; jobs read the cache only
        return as_json({**spec, "local_files_only": True})
    return as_json(spec)


def model_input(name):
    """Input files of the rules that load model `name`: its directory for a model
    the DAG trains, the preflight report for a hub model (after its fetch, so no GPU job
    is queued for code that fails on the pinned stack), nothing for a local path."""
    if name in PRETRAINED or name == TRAINED:
        return [model_dir(name)]
    return [preflight_report(name)] if "hf_id" in config["models"][name] else []


def fetched(name):
    return f"results/models/{name}.fetched.json"


def preflight_report(name):
    return f"results/preflight/{name}.json"


HUB_MODELS = [m for m, spec in config["models"].items() if "hf_id" in spec]


def passk_sampler(order):
    """The sampler settings of Pass@k order `order` (`passk.orders`), for every rule that
    samples under one (its `tasks:` limit is the DAG's, not the sampler's)."""
    p = config["passk"]
    spec = {k: v for k, v in p["orders"][order].items() if k != "tasks"}
    return {"gen_length": p["gen_length"], "steps": p["steps"], "temperature": p["temperature"], **spec}


def data_outputs():
    return [f"results/data/{t}/{s}.jsonl" for t, spec in config["tasks"].items() for s in spec["splits"]]


def pretrained_models():
    return [model_dir(m) for m in PRETRAINED]


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
