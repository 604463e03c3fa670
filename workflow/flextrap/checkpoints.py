"""Resumable training: one checkpoint directory per saved step under `<out>.ckpt/`,
outside the rule's output, so a job that fails or is preempted keeps it.

A checkpoint is `step_<N>/` with the trainer's state files and `meta.json` (step, logs,
elapsed seconds, the settings' hash), written last: a checkpoint torn by a kill has no
meta and is never resumed from, and one made with other settings is ignored.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable

from .jsonl import write_text


def checkpoint_root(out: str) -> Path:
    return Path(str(out).rstrip("/") + ".ckpt")


def latest_checkpoint(root: Path, settings_hash: str, fresh: dict) -> tuple[Path | None, dict]:
    """The newest complete checkpoint made with these settings and its meta, else
    (None, `fresh`)."""
    found = []
    for meta_path in root.glob("step_*/meta.json"):
        meta = json.loads(meta_path.read_text())
        if meta["settings_hash"] == settings_hash:
            found.append((meta["step"], meta_path.parent, meta))
        else:
            print(f"ignoring checkpoint {meta_path.parent}: made with other settings", flush=True)
    if not found:
        return None, fresh
    _, path, meta = max(found, key=lambda f: f[0])
    return path, meta


def save_checkpoint(root: Path, step: int, meta: dict, settings_hash: str, write_state: Callable[[Path], None],
                    main_process: bool = True) -> None:
    """`write_state(path)` writes the state files (every process, for a sharded state);
    the main process then writes meta.json and removes older checkpoints."""
    path = root / f"step_{step:06d}"
    write_state(path)
    if main_process:
        write_text(path / "meta.json", json.dumps({**meta, "step": step, "settings_hash": settings_hash}))
        for old in root.glob("step_*"):
            if old != path:
                shutil.rmtree(old, ignore_errors=True)
