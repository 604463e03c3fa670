"""One seed's results tree, carried from the machine that ran it to the one that pools it.

The seeds of a run do not depend on each other (`flextrap.seeds`: seed s's jobs are
built from the config moved by s alone), so they can run in separate sessions or on
separate machines; in `portable` numerics each seed gives the same bits wherever it
runs (on one CPU model, docs/numerics.md). Three commands, `python -m
flextrap.seed_trees pack|unpack|verify`:

- `pack` copies `results/seed<s>/` without its large files (weights, checkpoints,
  samples: any file over `--max-bytes`) and writes a manifest with the size and sha256
  of every file, those left out included, and the commits the seed's jobs ran from
  (from their provenance).
- `unpack` puts such a copy into a results tree, dated now. Snakemake then finds the
  seed's tables and summaries present and newer than their shared inputs, and pools
  them without rerunning the seed: a job whose outputs exist does not rerun for a
  missing input, only for an input newer than them. So the shared inputs must be made
  first (`snakemake shared_inputs`); a dry run then lists no job under `results/seed<s>/`.
  Nothing checks that the seed was run with the config it is pooled with: the manifest
  names the commits, and every file's provenance its settings.
- `verify` compares a tree with a manifest: whether a rerun of the seed gave the same
  bits, over the files that hold results (`COMPARED_SUFFIXES`), not those that record
  when and where they were made.
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
from .jsonl import atomic_dir, write_json

MANIFEST = "MANIFEST.json"
READ_BLOCK = 1 << 20  # bytes hashed at a time
# What `verify` compares: weights, sample and evaluation records, tables. Not compared:
# JSON (provenance and summaries record when and from which commit they were made),
# training logs (`*_log.csv`: seconds per step), the rules' logs and benchmark timings.
COMPARED_SUFFIXES = (".safetensors", ".jsonl", ".csv")
TIMED_DIRS = ("logs", "benchmarks")
TIMED_STEM_END = "_log"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(READ_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def seed_dir(results: Path, seed: int) -> Path:
    """Seed `seed`'s directory under the results root `results`."""
    return Path(results) / Path(paths.seed_tree(seed)).relative_to(paths.ROOT)


def tree_files(root: Path) -> dict[str, Path]:
    """Every file under `root` by its path relative to it (`/`-separated), sorted."""
    return {p.relative_to(root).as_posix(): p for p in sorted(Path(root).rglob("*")) if p.is_file()}


def run_commits(tree: Path) -> list[str]:
    """The commits named by the provenance records (`*provenance.json`) under `tree`."""
    commits = {json.loads(p.read_text()).get("git_commit") for p in Path(tree).rglob("*provenance.json")}
    return sorted(c for c in commits if c)


def pack(results: Path, seed: int, dest: Path, max_bytes: int) -> dict:
    """Copy seed `seed`'s tree from `results` to `dest` (files up to `max_bytes` each) and
    write `dest/MANIFEST.json`; returns the manifest. `dest` appears only when complete."""
    source = seed_dir(results, seed)
    if not source.is_dir():
        raise FlextrapError(f"no results of seed {seed}: {source} is not a directory")
    if Path(dest).exists():
        raise FlextrapError(f"{dest} exists; pack writes a new directory")
    files = {}
    with atomic_dir(dest) as tmp:
        for rel, path in tree_files(source).items():
            size = path.stat().st_size
            files[rel] = {"bytes": size, "sha256": sha256(path), "packed": size <= max_bytes}
            if files[rel]["packed"]:
                (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, tmp / rel)
        manifest = {"seed": int(seed), "run_commits": run_commits(source), "max_bytes": int(max_bytes),
                    "files": files}
        write_json(tmp / MANIFEST, manifest)
    return manifest


def read_manifest(packed: Path) -> dict:
    path = Path(packed) / MANIFEST
    try:
        manifest = json.loads(path.read_text())
        seed, files = int(manifest["seed"]), manifest["files"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise FlextrapError(f"{packed} holds no readable {MANIFEST}: not a packed seed tree ({err})") from None
    for rel in files:
        if Path(rel).is_absolute() or ".." in Path(rel).parts:
            raise FlextrapError(f"{path}: {rel!r} points outside the seed's directory")
    return {**manifest, "seed": seed}


def unpack(packed: Path, results: Path) -> list[str]:
    """Copy a packed seed tree into `results` (its seed's directory), every file dated
    now; every packed file and any file already in place is checked before one is
    written. Returns the written paths."""
    manifest = read_manifest(packed)
    target = seed_dir(results, manifest["seed"])
    todo = {rel: e["sha256"] for rel, e in manifest["files"].items() if e["packed"]}
    for rel, digest in todo.items():
        src, out = Path(packed) / rel, target / rel
        if not src.is_file() or sha256(src) != digest:
            raise FlextrapError(f"{src} does not match its manifest entry: the packed tree was changed")
        if out.exists() and sha256(out) != digest:
            raise FlextrapError(f"{out} exists with other bytes than {src}; remove it or unpack elsewhere")
    now = time.time()
    for rel in todo:
        out = target / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(out.name + ".partial")
        shutil.copyfile(Path(packed) / rel, partial)
        os.utime(partial, (now, now))
        os.replace(partial, out)
    return [str(target / rel) for rel in todo]


def compared(rel: str) -> bool:
    path = Path(rel)
    return (path.suffix in COMPARED_SUFFIXES and path.parts[0] not in TIMED_DIRS
            and not path.stem.endswith(TIMED_STEM_END))


def verify(packed: Path, results: Path) -> dict:
    """Compare the seed tree in `results` with a manifest, over the files that hold
    results (`compared`): those with the same sha256, those that differ, and those only
    one side has."""
    manifest = read_manifest(packed)
    here = {rel: p for rel, p in tree_files(seed_dir(results, manifest["seed"])).items() if compared(rel)}
    listed = {rel: e for rel, e in manifest["files"].items() if compared(rel)}
    same, differ = [], []
    for rel, entry in listed.items():
        if rel in here:
            (same if sha256(here[rel]) == entry["sha256"] else differ).append(rel)
    return {"same": same, "differ": differ, "only_manifest": sorted(set(listed) - set(here)),
            "only_tree": sorted(set(here) - set(listed))}


def byte_count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is not a byte count")
    return value


@cli_entry
def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack", help="copy results/seed<s>/ without its large files, with a manifest")
    p.add_argument("--results", default=paths.ROOT)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--max-bytes", type=byte_count, required=True, help="files larger than this are left out")
    p.add_argument("dest")
    for name, text in (("unpack", "put a packed seed tree into a results tree"),
                       ("verify", "compare a rerun's results tree with a packed tree's manifest")):
        c = sub.add_parser(name, help=text)
        c.add_argument("--results", default=paths.ROOT)
        c.add_argument("packed")
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
        if report["differ"] or report["only_manifest"] or not report["same"]:
            raise FlextrapError(f"{len(report['differ'])} files differ, {len(report['only_manifest'])} are missing")


if __name__ == "__main__":
    main()
