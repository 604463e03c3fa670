"""Rule `entropy_stats`: entropy degradation from the decode traces of every order of
one model and task (`flextrap.traces`; Fig. 6-7).

    python -m flextrap.stages.entropy_stats --samples '{"ar": [shard, ...], ...}' --model '<json model spec>' \\
        --settings '<json>' --out-bypass results/seed0/entropy/tiny/synthetic/bypass.csv \\
        --out-entropy results/seed0/entropy/tiny/synthetic/connective_entropy.csv

bypass.csv: per order and word, occurrences, bypassed count and rate.
connective_entropy.csv: per order, the mean decode entropy of each connective word, of
all connectives pooled, and of all tokens.
"""
from __future__ import annotations

import json

from flextrap.cli import cli_entry, parse_args
from flextrap.models import load_tokenizer
from flextrap.traces import write_tables


@cli_entry
def main(argv=None) -> None:
    args = parse_args(__doc__, ["samples", "model", "settings", "out-bypass", "out-entropy"], argv, threads=True)
    tokenizer = load_tokenizer(json.loads(args.model))
    entropy = write_tables(json.loads(args.samples), tokenizer, json.loads(args.settings), args.out_bypass,
                           args.out_entropy)
    for _, row in entropy[entropy.kind != "connective"].iterrows():
        print(f"{row.order}: {row.word} mean decode entropy {row.mean_entropy:.3f} nats over {row['count']}")


if __name__ == "__main__":
    main()
