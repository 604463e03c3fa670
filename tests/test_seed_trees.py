"""Seeds run apart and pooled together: a seed's jobs do not depend on which other seeds
the run has, and a packed seed tree (`flextrap.seed_trees`) carries its files, and the
sha256 of those it leaves out, to another results tree."""
import hashlib
import json
import re
import subprocess
import sys
import time

import pytest
from conftest import ROOT

from flextrap import seed_trees
from flextrap.errors import FlextrapError


def seed_jobs(workdir, seeds) -> dict[str, str]:
    """Output -> shell command of every job of the default's dry run, seeds `seeds`, that
    writes under results/seed1/."""
    overlay = workdir / "seeds.yaml"
    overlay.write_text(json.dumps({"seeds": {"values": seeds}}))
    run = subprocess.run([sys.executable, "-m", "snakemake", "-n", "-p", "-s", str(ROOT / "Snakefile"),
                          "--directory", str(workdir), "--configfile", str(overlay)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    jobs = {}
    for block in re.split(r"^\[.*\d{4}\]$", run.stdout, flags=re.M)[1:]:
        output = re.search(r"^\s+output: (.*)$", block, flags=re.M)
        shell = re.search(r"^Shell command: (.*)$", block, flags=re.M)
        if output and output.group(1).startswith("results/seed1/"):
            jobs[output.group(1)] = shell.group(1) if shell else None
    return jobs


def test_a_seeds_jobs_are_the_same_whichever_other_seeds_the_run_has(tmp_path):
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    alone, beside = seed_jobs(tmp_path / "a", [1]), seed_jobs(tmp_path / "b", [0, 1, 2])
    rules = {out.split("/")[2] for out in alone}
    assert {"models", "samples", "eval", "passk", "entropy"} <= rules and all(alone.values())
    assert alone == beside


def write(path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@pytest.fixture
def seed_tree(tmp_path):
    """A results tree with seed 2: two small tables and one large weight file."""
    results = tmp_path / "ran" / "results"
    files = {"passk/tiny/synthetic/passk.csv": b"k,pass_at_k\n1,0.25\n",
             "eval/tiny/synthetic/len48.json": b'{"accuracy": 33.5}',
             "models/tiny/model.safetensors": bytes(range(256)) * 64}
    for rel, data in files.items():
        write(results / "seed2" / rel, data)
    return results, files


def test_pack_keeps_small_files_and_the_sha256_of_every_file(tmp_path, seed_tree):
    results, files = seed_tree
    manifest = seed_trees.pack(results, 2, tmp_path / "packed", max_bytes=1000)
    assert manifest["seed"] == 2 and set(manifest["files"]) == set(files)
    for rel, data in files.items():
        entry = manifest["files"][rel]
        assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["bytes"] == len(data)
        assert entry["packed"] == (len(data) <= 1000) == (tmp_path / "packed" / rel).exists()
    assert json.loads((tmp_path / "packed" / "MANIFEST.json").read_text()) == manifest


def test_unpack_puts_the_packed_files_into_the_seeds_directory_dated_now(tmp_path, seed_tree):
    results, files = seed_tree
    seed_trees.pack(results, 2, tmp_path / "packed", max_bytes=1000)
    target = tmp_path / "pooling" / "results"
    write(target / "data" / "synthetic" / "test.jsonl", b"{}\n")  # made before the unpack
    before = time.time()
    copied = seed_trees.unpack(tmp_path / "packed", target)
    small = {rel for rel, data in files.items() if len(data) <= 1000}
    assert sorted(copied) == sorted(str(target / "seed2" / rel) for rel in small)
    for rel in small:
        out = target / "seed2" / rel
        assert out.read_bytes() == files[rel] and out.stat().st_mtime >= before - 1
    assert not (target / "seed2" / "models").exists()
    seed_trees.unpack(tmp_path / "packed", target)  # again: the same bytes are already there


def test_verify_names_the_files_whose_bits_differ(tmp_path, seed_tree):
    results, _ = seed_tree
    seed_trees.pack(results, 2, tmp_path / "packed", max_bytes=1000)
    assert seed_trees.verify(tmp_path / "packed", results) == {
        "same": sorted(seed_trees.tree_files(results / "seed2")), "differ": [], "only_manifest": [],
        "only_tree": []}
    write(results / "seed2" / "models/tiny/model.safetensors", b"other weights")
    write(results / "seed2" / "extra.json", b"{}")
    report = seed_trees.verify(tmp_path / "packed", results)
    assert report["differ"] == ["models/tiny/model.safetensors"] and report["only_tree"] == ["extra.json"]


def test_unpack_refuses_a_changed_packed_file_and_a_different_file_in_place(tmp_path, seed_tree):
    results, _ = seed_tree
    packed = tmp_path / "packed"
    seed_trees.pack(results, 2, packed, max_bytes=1000)
    target = tmp_path / "pooling" / "results"
    with pytest.raises(FlextrapError, match="make the data first"):
        seed_trees.unpack(packed, target)
    write(target / "data" / "synthetic" / "test.jsonl", b"{}\n")
    write(target / "seed2" / "passk/tiny/synthetic/passk.csv", b"k,pass_at_k\n1,0.99\n")
    with pytest.raises(FlextrapError, match="other bytes"):
        seed_trees.unpack(packed, target)
    (packed / "eval/tiny/synthetic/len48.json").write_bytes(b'{"accuracy": 99.0}')
    write(tmp_path / "elsewhere" / "data" / "synthetic" / "test.jsonl", b"{}\n")
    with pytest.raises(FlextrapError, match="was changed"):
        seed_trees.unpack(packed, tmp_path / "elsewhere")


def test_the_command_line_says_what_is_wrong_in_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        seed_trees.main(["pack", "--results", str(tmp_path), "--seed", "3", "--max-bytes", "10",
                         str(tmp_path / "out")])
    assert stop.value.code == 1
    assert capsys.readouterr().err.strip() == f"error: no results of seed 3: {tmp_path / 'seed3'} is not a directory"
    with pytest.raises(SystemExit):
        seed_trees.main(["unpack", str(tmp_path)])
    assert "not a packed seed tree" in capsys.readouterr().err
