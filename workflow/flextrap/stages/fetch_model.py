"""Rule `fetch_model`: download a hub model once into the Hugging Face cache, before
any GPU job loads it (`flextrap.fetch`).

    python -m flextrap.stages.fetch_model --model '<json model spec>' --out results/models/llada.fetched.json

Runs on the submitting machine (a login node has the network; compute nodes often do
not). The jobs that load the model then read the cache only (`local_files_only`).
Offline, it fails with the command to pre-download the weights elsewhere. An unpinned
revision is a warning that names the commit this run used.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from flextrap import provenance
from flextrap.cli import cli_entry, parse_args
from flextrap.fetch import fetch


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
