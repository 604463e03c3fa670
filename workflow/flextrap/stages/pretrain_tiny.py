"""Rule `pretrain_tiny`: pretrain the embedded default's tiny masked-diffusion model
with LLaDA's SFT objective (`flextrap.pretrain`).

    python -m flextrap.stages.pretrain_tiny --train results/data/synthetic/train.jsonl \\
        --out results/seed0/models/tiny --settings '<json of config models.tiny.pretrain>'

Resumable: a checkpoint is written every `checkpoint_every` steps to `<out>.ckpt/`
(outside the rule's output, so a failed job keeps it); a rerun with the same settings
continues from it.
"""
from __future__ import annotations

import json

from flextrap.cli import cli_entry, parse_args
from flextrap.pretrain import train


@cli_entry
def main(argv=None) -> None:
    args = parse_args(__doc__, ["train", "out", "settings"], argv, threads=True)
    result = train(args.train, args.out, json.loads(args.settings), args.threads)
    print(f"trained {result['parameters']:,} parameters in {result['seconds']:.0f} s -> {args.out}")


if __name__ == "__main__":
    main()
