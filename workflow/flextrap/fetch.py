"""Download a hub model once into the Hugging Face cache, before any GPU job loads it.

    python -m flextrap.fetch --model '<json model spec>' --out results/models/llada.fetched.json

Runs on the submitting machine (a login node has the network; compute nodes often do
not). The jobs that load the model then read the cache only (`local_files_only`), so a
hundred sampling jobs make no hub requests. Offline, it fails with the command to
pre-download the weights elsewhere.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from . import provenance
from .cli import cli_entry, parse_args
from .models import _hub_error


def fetch(spec: dict) -> str:
    """The local snapshot directory of `spec`'s weights, code and tokenizer (downloaded
    into the HF cache unless already there)."""
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(spec["hf_id"], revision=spec.get("revision"))
    except Exception as err:  # noqa: BLE001 - hub, network and cache errors all mean "not fetched"
        raise _hub_error(spec, err) from None


@cli_entry
def main(argv=None) -> None:
    args = parse_args(__doc__, ["model", "out"], argv)
    spec = json.loads(args.model)
    path = fetch(spec)
    commit = Path(path).name  # the cache's snapshots/<commit> directory
    if not re.fullmatch(r"[0-9a-f]{40}", str(spec.get("revision"))):
        print(f"warning: {spec['hf_id']} is not pinned (revision {spec.get('revision')!r}); this run used "
              f"commit {commit}: set `revision: {commit}` in the config to keep it", flush=True)
    provenance.write(args.out, "fetch_model", spec, snapshot=path, commit=commit)
    print(f"{spec['hf_id']} -> {path}")


if __name__ == "__main__":
    main()
