# Helpers shared by the rule files: paths and settings derived from the config.

TASKS = list(config["tasks"])
# Threads of a sampling or evaluation job (many independent jobs; training jobs take `threads`).
SAMPLING_THREADS = config.get("sampling_threads", config["threads"])
PRETRAINED = [m for m, spec in config["models"].items() if "pretrain" in spec]


wildcard_constraints:
    task="|".join(TASKS),
    split="train|test",


def model_dir(name):
    """Where a model lives: a DAG-trained one under results/models/, else its config path."""
    return f"results/models/{name}"


TRAINED = f"{config['base_model']}-justgrpo"  # the base model after JustGRPO (results/models/)


def model_spec(name):
    """The spec `flextrap.models.load_model` takes, as JSON. A trained model keeps its
    base model's mask token id and remote-code flag."""
    if name == TRAINED:
        base = config["models"][config["base_model"]]
        keep = {k: base[k] for k in ("mask_token_id", "trust_remote_code") if k in base}
        return as_json({"path": model_dir(name), **keep})
    spec = config["models"][name]
    if "pretrain" in spec:
        return as_json({"path": model_dir(name)})
    return as_json({k: v for k, v in spec.items() if k != "pretrain"})


def model_input(name):
    """Input files a rule that loads model `name` depends on (none for hub models)."""
    return [model_dir(name)] if name in PRETRAINED or name == TRAINED else []


def data_outputs():
    return [f"results/data/{t}/{s}.jsonl" for t, spec in config["tasks"].items() for s in spec["splits"]]


def pretrained_models():
    return [model_dir(m) for m in PRETRAINED]
