"""The parallel-decoding table (paper Sec. 5, Fig. 8) from the eval summaries of
`rule eval_parallel`: one row per model, task and setting with accuracy, forward
passes (NFE), tokens per step (gen_length / NFE) and wall time.

    python -m flextrap.parallel_table --inputs '["results/parallel/tiny/synthetic/eb-0.1.json", ...]' \\
        --models '{"tiny": "base", "tiny-justgrpo": "JustGRPO"}' --out results/tables/parallel.csv
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .cli import cli_entry, parse_args
from .jsonl import write_text


def parallel_rows(paths: list[str], models: dict) -> pd.DataFrame:
    rows = []
    for path in paths:
        summary = json.loads(Path(path).read_text())
        sampler = summary["protocol"]["settings"]["sampler"]
        model, task = Path(path).parts[-3], Path(path).parts[-2]
        rows.append({"method": models[model], "model": model, "task": task, "rule": sampler["rule"],
                     "value": sampler["value"], "proxy": sampler["proxy"], "accuracy": 100 * summary["accuracy"],
                     "nfe": summary["nfe"], "tokens_per_step": summary["tokens_per_step"],
                     "seconds": summary["seconds"], "problems": summary["problems"]})
    return pd.DataFrame(rows).sort_values(["task", "method", "rule", "value"], ignore_index=True)


@cli_entry
def main(argv=None) -> None:
    args = parse_args(__doc__, ["inputs", "models", "out"], argv)
    df = parallel_rows(json.loads(args.inputs), json.loads(args.models))
    write_text(args.out, df.to_csv(index=False, float_format="%.3f"))
    print(df.to_string(index=False))


if __name__ == "__main__":
    main()
