"""Loader of the synthetic task (the generator lives in `synthetic.py`)."""
from __future__ import annotations

from . import synthetic


def load(split: str, spec: dict) -> list[dict]:
    """Train and test are generated from different seeds; test excludes train prompts."""
    gen = spec["generator"]
    kwargs = dict(n_leaves=gen["n_leaves"], n_defs=gen["n_defs"],
                  steps=tuple(gen["steps"]), modulus=gen["modulus"], ops=tuple(gen["ops"]))
    train = synthetic.generate(gen["n_train"], seed=gen["seed"], **kwargs)
    if split == "train":
        return train
    return synthetic.generate(gen["n_test"], seed=gen["seed"] + 1,
                              exclude={r["question"] for r in train}, **kwargs)
