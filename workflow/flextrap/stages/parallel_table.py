"""Rule `parallel_table`: the parallel-decoding table (Sec. 5, Fig. 8) from the
summaries of rule `eval_parallel` (`flextrap.tables`).

    python -m flextrap.stages.parallel_table --inputs '[{"seed": 0, "model": "tiny", "task": "synthetic",
        "path": "results/seed0/parallel/tiny/synthetic/eb-0.1.json"}, ...]' \\
        --settings '{"models": {"tiny": "base", "tiny-justgrpo": "JustGRPO"}, "confidence": 0.95}' \\
        --out results/tables/parallel.csv
"""
from __future__ import annotations

import json

from flextrap.cli import cli_entry, parse_args
from flextrap.jsonl import write_text
from flextrap.tables import parallel_rows


@cli_entry
def main(argv=None) -> None:
    args = parse_args(__doc__, ["inputs", "settings", "out"], argv)
    s = json.loads(args.settings)
    df = parallel_rows(json.loads(args.inputs), s["models"], s["confidence"])
    write_text(args.out, df.to_csv(index=False, float_format="%.3f"))
    print(df.to_string(index=False))


if __name__ == "__main__":
    main()
