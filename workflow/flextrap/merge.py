"""Config overlays: one nested dict on top of another (config files, a run's overrides)."""
from __future__ import annotations


def deep_merge(base: dict, override: dict) -> dict:
    """`base` with `override` on top, key by key: nested dicts merge, anything else
    replaces, and a null removes the entry it falls on (`synthetic: null` drops that
    task; as in Helm's values files). A null over a null stays: the setting "none"."""
    out = dict(base)
    for key, value in override.items():
        if value is None and out.get(key) is not None:
            del out[key]
        else:
            out[key] = deep_merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out
