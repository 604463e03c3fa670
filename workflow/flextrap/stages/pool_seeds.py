"""Rule `pool_seeds`: one Sec. 3 table over every seed (`flextrap.pooling`): each seed's
rows, and with several seeds the pooled rows (mean and interval across seeds).

    python -m flextrap.stages.pool_seeds --inputs '{"0": "results/seed0/passk/tiny/synthetic/passk.csv", ...}' \\
        --settings '{"kind": "passk", "confidence": 0.95}' --out results/passk/tiny/synthetic/passk.csv
"""
from __future__ import annotations

import json

from flextrap.cli import cli_entry, parse_args
from flextrap.jsonl import write_text
from flextrap.plots import read_csv
from flextrap.pooling import over_seeds, pooled


@cli_entry
def main(argv=None) -> None:
    args = parse_args(__doc__, ["inputs", "settings", "out"], argv)
    s = json.loads(args.settings)
    table = over_seeds({seed: read_csv(path) for seed, path in json.loads(args.inputs).items()},
                       s["kind"], s["confidence"])
    write_text(args.out, table.to_csv(index=False, float_format="%.6g"))
    rows = pooled(table)
    print(f"{args.out}: {len(table)} rows" + ("" if rows is None else f", {len(rows)} pooled"))


if __name__ == "__main__":
    main()
