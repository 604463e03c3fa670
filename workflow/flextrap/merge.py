"""Config overlays: one nested dict on top of another (config files, a run's overrides)."""
from __future__ import annotations


def deep_merge(base: dict, override: dict) -> dict:
    """`base` with `override` on top, key by key; nested dicts merge, anything else replaces."""
    out = dict(base)
    for key, value in override.items():
        out[key] = deep_merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out
