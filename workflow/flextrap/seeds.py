"""Seeds as a dimension of the DAG (config `seeds`).

Seed s of a run is the config with every run seed moved by s: the tiny model's
pretraining seed (initialization and batch order), the JustGRPO runs' seeds, and the
run seeds of sampling and evaluation (each sample's own seed derives from them). The
task data and the bootstrap seed do not move: every seed is measured on the same
problems with the same resampling, so seeds differ only in the models and samples.
Seed 0 is the config unchanged.
"""
from __future__ import annotations

import copy

MOVED = (  # config keys holding a run seed; "*" stands for every entry of a mapping
    ("models", "*", "pretrain", "seed"),
    ("justgrpo", "shared", "seed"),
    ("justgrpo", "runs", "*", "seed"),
    ("passk", "seed"),
    ("model_check", "seed"),
    ("slot_probe", "seed"),
    ("evaluation", "seed"),
    ("parallel", "seed"),
    ("general", "seed"),
)


def _move(node, keys: tuple, by: int) -> None:
    if not isinstance(node, dict):
        return
    head, rest = keys[0], keys[1:]
    children = list(node) if head == "*" else [head] if head in node else []
    for key in children:
        if rest:
            _move(node[key], rest, by)
        elif isinstance(node[key], int):
            node[key] += by


def config_for_seed(config: dict, seed: int) -> dict:
    """The config of DAG seed `seed`: a copy with each key of `MOVED` (where present) plus `seed`."""
    out = copy.deepcopy(config)
    for keys in MOVED:
        _move(out, keys, int(seed))
    return out
