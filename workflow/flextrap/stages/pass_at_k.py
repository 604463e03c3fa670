"""Rule `pass_at_k`: Pass@k curves and coverage of every decoding order of one model and
task, from its sample shards (`flextrap.passk`; Fig. 3-5).

    python -m flextrap.stages.pass_at_k --samples '{"ar": [shard, ...], "arbitrary": [...]}' \\
        --settings '<json>' --out-passk results/seed0/passk/tiny/synthetic/passk.csv \\
        --out-coverage results/seed0/passk/tiny/synthetic/coverage.csv

passk.csv: one row per order and k with the unbiased pass@k (mean over problems), a
percentile bootstrap interval over problems, and the order's sampler settings.
coverage.csv: for each configured pair of orders (A, B), the problems solved by at
least one of the n samples only under A, only under B, under both, under neither.
"""
from __future__ import annotations

import json

from flextrap.cli import cli_entry, parse_args
from flextrap.passk import write_tables


@cli_entry
def main(argv=None) -> None:
    args = parse_args(__doc__, ["samples", "settings", "out-passk", "out-coverage"], argv, threads=True)
    s = json.loads(args.settings)
    table = write_tables(json.loads(args.samples), s, args.out_passk, args.out_coverage)
    for order, rows in table.groupby("order", sort=False):
        first, last = rows.iloc[0], rows.iloc[-1]
        print(f"{s['task']} {order}: pass@{first.k} = {first.pass_at_k:.3f}, "
              f"pass@{last.k} = {last.pass_at_k:.3f} ({first.problems} problems)")


if __name__ == "__main__":
    main()
