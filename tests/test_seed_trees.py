"""Seeds run apart and pooled together: a seed's jobs do not depend on which other seeds
the run has, and a packed seed tree (`flextrap.seed_trees`) carries its files, and the
sha256 of those it leaves out, to another results tree."""
import hashlib
import json
import os
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
    kinds = {out.split("/")[2] for out in alone}  # results/seed1/<kind>/...
    assert {"models", "samples", "eval", "passk", "entropy"} <= kinds and all(alone.values())
    assert alone == beside


def write(path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@pytest.fixture
def seed_tree(tmp_path):
    """A results tree with seed 2: a table, a summary, a training log and one large
    weight file, all dated a day ago."""
    results = tmp_path / "ran" / "results"
    files = {"passk/tiny/synthetic/passk.csv": b"k,pass_at_k\n1,0.25\n",
             "eval/tiny/synthetic/len48.json": b'{"accuracy": 33.5, "created": "2026-12-07"}',
             "models/tiny/train_log.csv": b"step,loss,seconds\n50,0.9,41.2\n",
             "models/tiny/provenance.json": b'{"git_commit": "01efcfc", "settings": {}}',
             "models/tiny/model.safetensors": bytes(range(256)) * 64}
    for rel, data in files.items():
        write(results / "seed2" / rel, data)
        os.utime(results / "seed2" / rel, (time.time() - 86400,) * 2)
    return results, files


def test_pack_keeps_small_files_and_the_sha256_of_every_file(tmp_path, seed_tree):
    results, files = seed_tree
    manifest = seed_trees.pack(results, 2, tmp_path / "packed", max_bytes=1000)
    assert manifest["seed"] == 2 and set(manifest["files"]) == set(files) and manifest["run_commits"] == ["01efcfc"]
    for rel, data in files.items():
        entry = manifest["files"][rel]
        assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["bytes"] == len(data)
        assert entry["packed"] == (len(data) <= 1000) == (tmp_path / "packed" / rel).exists()
    assert json.loads((tmp_path / "packed" / "MANIFEST.json").read_text()) == manifest
    assert not list(tmp_path.glob("*.partial"))
    with pytest.raises(FlextrapError, match="exists"):
        seed_trees.pack(results, 2, tmp_path / "packed", max_bytes=1000)


def test_unpack_puts_the_packed_files_into_the_seeds_directory_all_dated_now(tmp_path, seed_tree):
    results, files = seed_tree
    seed_trees.pack(results, 2, tmp_path / "packed", max_bytes=1000)
    for packed in (tmp_path / "packed").rglob("*"):
        os.utime(packed, (time.time() - 86400,) * 2)  # copies keep no date of their own
    target = tmp_path / "pooling" / "results"
    before = time.time()
    written = seed_trees.unpack(tmp_path / "packed", target)
    small = {rel for rel, data in files.items() if len(data) <= 1000}
    assert sorted(written) == sorted(str(target / "seed2" / rel) for rel in small)
    dates = {(target / "seed2" / rel).stat().st_mtime for rel in small}
    assert len(dates) == 1 and dates.pop() >= before - 1
    for rel in small:
        assert (target / "seed2" / rel).read_bytes() == files[rel]
    assert not (target / "seed2" / "models" / "tiny" / "model.safetensors").exists()
    assert not list(target.rglob("*.partial"))
    seed_trees.unpack(tmp_path / "packed", target)  # again: the same bytes are already there


def test_verify_compares_weights_records_and_tables_not_what_records_time(tmp_path, seed_tree):
    results, _ = seed_tree
    seed_trees.pack(results, 2, tmp_path / "packed", max_bytes=1000)
    assert seed_trees.verify(tmp_path / "packed", results) == {
        "same": ["models/tiny/model.safetensors", "passk/tiny/synthetic/passk.csv"], "differ": [],
        "only_manifest": [], "only_tree": []}
    write(results / "seed2" / "eval/tiny/synthetic/len48.json", b'{"accuracy": 33.5, "created": "2026-12-08"}')
    write(results / "seed2" / "models/tiny/train_log.csv", b"step,loss,seconds\n50,0.9,40.7\n")
    assert not seed_trees.verify(tmp_path / "packed", results)["differ"]
    write(results / "seed2" / "models/tiny/model.safetensors", b"other weights")
    write(results / "seed2" / "samples/extra.jsonl", b"{}")
    report = seed_trees.verify(tmp_path / "packed", results)
    assert report["differ"] == ["models/tiny/model.safetensors"] and report["only_tree"] == ["samples/extra.jsonl"]
    with pytest.raises(SystemExit):  # a tree without the seed is no match
        seed_trees.main(["verify", "--results", str(tmp_path / "elsewhere"), str(tmp_path / "packed")])


def test_unpack_checks_everything_before_it_writes_anything(tmp_path, seed_tree):
    results, _ = seed_tree
    packed = tmp_path / "packed"
    seed_trees.pack(results, 2, packed, max_bytes=1000)
    target = tmp_path / "pooling" / "results"
    write(target / "seed2" / "passk/tiny/synthetic/passk.csv", b"k,pass_at_k\n1,0.99\n")
    with pytest.raises(FlextrapError, match="other bytes"):
        seed_trees.unpack(packed, target)
    assert seed_trees.tree_files(target / "seed2") == {"passk/tiny/synthetic/passk.csv":
                                                       target / "seed2" / "passk/tiny/synthetic/passk.csv"}
    (packed / "eval/tiny/synthetic/len48.json").write_bytes(b'{"accuracy": 99.0}')
    with pytest.raises(FlextrapError, match="was changed"):
        seed_trees.unpack(packed, tmp_path / "elsewhere")
    assert not (tmp_path / "elsewhere").exists()


def test_a_manifest_that_points_outside_the_seed_is_refused(tmp_path, seed_tree):
    results, _ = seed_tree
    packed = tmp_path / "packed"
    manifest = seed_trees.pack(results, 2, packed, max_bytes=1000)
    manifest["files"]["../seed0/passk.csv"] = manifest["files"].pop("passk/tiny/synthetic/passk.csv")
    (packed / "MANIFEST.json").write_text(json.dumps(manifest))
    with pytest.raises(FlextrapError, match="outside"):
        seed_trees.unpack(packed, tmp_path / "pooling")


def test_the_command_line_says_what_is_wrong_in_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        seed_trees.main(["pack", "--results", str(tmp_path), "--seed", "3", "--max-bytes", "10",
                         str(tmp_path / "out")])
    assert stop.value.code == 1
    assert capsys.readouterr().err.strip() == f"error: no results of seed 3: {tmp_path / 'seed3'} is not a directory"
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "MANIFEST.json").write_text("{not json")
    for packed in (tmp_path, tmp_path / "broken"):
        with pytest.raises(SystemExit):
            seed_trees.main(["unpack", str(packed)])
        err = capsys.readouterr().err
        assert err.startswith("error: ") and "not a packed seed tree" in err and err.count("\n") == 1
    with pytest.raises(SystemExit):
        seed_trees.main(["pack", "--seed", "1", "--max-bytes", "-5", str(tmp_path / "out")])
    assert "not a byte count" in capsys.readouterr().err
