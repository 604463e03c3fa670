"""Rule `preflight`: a hub model's fetched remote code, checked on the CPU in minutes,
before any GPU job that uses it is queued (the checks: `flextrap.preflight`).

    python -m flextrap.stages.preflight --model '<json model spec>' --settings '<json>' \\
        --out results/preflight/llada.json

A failed check is a one-line error naming it; the report lists every check.
"""
from __future__ import annotations

import json
import time

import torch

from flextrap import provenance
from flextrap.cli import cli_entry, parse_args
from flextrap.errors import FlextrapError
from flextrap.preflight import CheckFailed, run_checks


@cli_entry
def main(argv=None) -> None:
    args = parse_args(__doc__, ["model", "settings", "out"], argv)
    spec, s = json.loads(args.model), json.loads(args.settings)
    import transformers
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # the log is the report, not shard bars
    name = spec.get("hf_id", spec.get("path"))
    t0 = time.time()
    try:
        report = run_checks(spec, s)
    except CheckFailed as err:
        raise FlextrapError(f"preflight of {name} (revision {spec.get('revision', 'main')}): {err}") from None
    provenance.write(args.out, "preflight", s, model=spec, checks=report, transformers=transformers.__version__,
                     torch=torch.__version__, seconds=round(time.time() - t0, 1))
    padding = "honoured" if report["padding"]["honoured"] else "IGNORED (length-grouped batches)"
    print(f"preflight {name}: {len(report)} checks passed in {time.time() - t0:.0f} s; attention mask {padding}")


if __name__ == "__main__":
    main()
