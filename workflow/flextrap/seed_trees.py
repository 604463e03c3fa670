"""One seed's results tree, carried from the machine that ran it to the one that pools it.

The seeds of a run do not depend on each other (`flextrap.seeds`: seed s's jobs are
built from the config moved by s alone), so they can run in separate sessions or on
separate machines; in `portable` numerics each seed gives the same bits wherever it
runs. Three commands, `python -m flextrap.seed_trees pack|unpack|verify`:

- `pack` copies `results/seed<s>/` without its large files (weights, checkpoints,
  samples: any file over `--max-bytes`) and writes a manifest with the size and sha256
  of every file, those left out included.
- `unpack` puts such a copy into a results tree that already holds the data, dated now.
  Snakemake then finds the seed's tables and summaries present and newer than the data,
  and pools them without rerunning the seed: a job whose outputs exist does not rerun
  for a missing input, only for an input newer than them.
- `verify` compares a tree with a manifest, file by file, for the files both have:
  whether a rerun of the seed gave the same bits.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import time
from pathlib import Path

from . import paths
from .cli import cli_entry
from .errors import FlextrapError
from .jsonl import write_json

MANIFEST = "MANIFEST.json"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def seed_dir(results: Path, seed: int) -> Path:
    """Seed `seed`'s directory under the results root `results`."""
    return Path(results) / Path(paths.seed_tree(seed)).relative_to(paths.ROOT)


def tree_files(root: Path) -> dict[str, Path]:
    """Every file under `root` by its path relative to it (`/`-separated), sorted."""
    return {p.relative_to(root).as_posix(): p for p in sorted(Path(root).rglob("*")) if p.is_file()}


def pack(results: Path, seed: int, dest: Path, max_bytes: int) -> dict:
    """Copy seed `seed`'s tree from `results` to `dest` (files up to `max_bytes` each) and
    write `dest/MANIFEST.json`; returns the manifest."""
    source = seed_dir(results, seed)
    if not source.is_dir():
        raise FlextrapError(f"no results of seed {seed}: {source} is not a directory")
    if Path(dest).exists():
        raise FlextrapError(f"{dest} exists; pack writes a new directory")
    files = {}
    for rel, path in tree_files(source).items():
        size = path.stat().st_size
        files[rel] = {"bytes": size, "sha256": sha256(path), "packed": size <= max_bytes}
        if files[rel]["packed"]:
            (Path(dest) / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, Path(dest) / rel)
    manifest = {"seed": int(seed), "max_bytes": int(max_bytes), "files": files}
    write_json(Path(dest) / MANIFEST, manifest)
    return manifest


def read_manifest(packed: Path) -> dict:
    path = Path(packed) / MANIFEST
    if not path.is_file():
        raise FlextrapError(f"{packed} holds no {MANIFEST}: not a packed seed tree")
    return json.loads(path.read_text())


def unpack(packed: Path, results: Path) -> list[str]:
    """Copy a packed seed tree into `results` (its seed's directory), every file dated
    now; a file already there must have the packed bytes. Returns the copied paths."""
    manifest = read_manifest(packed)
    data = Path(results) / Path(paths.data_root()).relative_to(paths.ROOT)
    if not data.is_dir():
        raise FlextrapError(f"{data} does not exist: make the data first (snakemake --until prepare_data), "
                            "or the seed would rerun for data newer than its files")
    target = seed_dir(results, manifest["seed"])
    copied, now = [], time.time()
    for rel, entry in manifest["files"].items():
        if not entry["packed"]:
            continue
        src, out = Path(packed) / rel, target / rel
        if sha256(src) != entry["sha256"]:
            raise FlextrapError(f"{src} does not match its manifest entry: the packed tree was changed")
        if out.exists() and sha256(out) != entry["sha256"]:
            raise FlextrapError(f"{out} exists with other bytes than {src}; remove it or unpack elsewhere")
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, out)
        os.utime(out, (now, now))
        copied.append(str(out))
    return copied


def verify(packed: Path, results: Path) -> dict:
    """Compare the seed tree in `results` with a manifest: the files both have, split into
    those with the same sha256 and those that differ, and those only one side has."""
    manifest = read_manifest(packed)
    here = tree_files(seed_dir(results, manifest["seed"]))
    same, differ = [], []
    for rel, entry in manifest["files"].items():
        if rel in here:
            (same if sha256(here[rel]) == entry["sha256"] else differ).append(rel)
    return {"same": same, "differ": differ,
            "only_manifest": sorted(set(manifest["files"]) - set(here)),
            "only_tree": sorted(set(here) - set(manifest["files"]))}


@cli_entry
def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack", help="copy results/seed<s>/ without its large files, with a manifest")
    p.add_argument("--results", default=paths.ROOT)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--max-bytes", type=int, required=True, help="files larger than this are left out")
    p.add_argument("dest")
    u = sub.add_parser("unpack", help="put a packed seed tree into a results tree")
    u.add_argument("--results", default=paths.ROOT)
    u.add_argument("packed")
    v = sub.add_parser("verify", help="compare a results tree with a packed tree's manifest")
    v.add_argument("--results", default=paths.ROOT)
    v.add_argument("packed")
    args = ap.parse_args(argv)
    if args.command == "pack":
        m = pack(Path(args.results), args.seed, Path(args.dest), args.max_bytes)
        kept = sum(e["packed"] for e in m["files"].values())
        print(f"seed {m['seed']}: {kept} of {len(m['files'])} files packed into {args.dest}")
    elif args.command == "unpack":
        print(f"{len(unpack(Path(args.packed), Path(args.results)))} files unpacked")
    else:
        report = verify(Path(args.packed), Path(args.results))
        print(json.dumps({k: len(v) for k, v in report.items()}))
        for rel in report["differ"]:
            print(f"differs: {rel}")
        if report["differ"]:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
