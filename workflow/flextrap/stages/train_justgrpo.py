"""Rule `train_justgrpo`: one JustGRPO run on the base model, AR-order rollouts and the
exact AR likelihood (`flextrap.train`; Sec. 4).

    python -m flextrap.stages.train_justgrpo --model '<json model spec>' --data results/data/synthetic/train.jsonl \\
        --task synthetic --heldout results/data/synthetic/test.jsonl --settings '<json of one run>' \\
        --out results/seed0/models/tiny-justgrpo-synthetic
    accelerate launch --config_file envs/accelerate_fsdp.yaml -m flextrap.stages.train_justgrpo ...  # multi-GPU

Writes the trained model with `train_log.csv` (one row per step) and `heldout_log.csv`
(held-out accuracy against steps and training time); resumes from `<out>.ckpt/`.
"""
from __future__ import annotations

import json
import os

from flextrap.cli import cli_entry, parse_args
from flextrap.models import set_threads
from flextrap.numerics import threads_per_process
from flextrap.train import train


@cli_entry
def main(argv=None) -> None:
    args = parse_args(__doc__, ["model", "data", "task", "heldout", "settings", "out"], argv, threads=True)
    # The job's CPUs are shared by its processes (`accelerate launch` sets WORLD_SIZE).
    set_threads(threads_per_process(args.threads, os.environ) if args.threads else None)
    log = train(json.loads(args.model), args.data, args.task, json.loads(args.settings), args.out,
                heldout=args.heldout)
    first, last = log[0], log[-1]
    print(f"justgrpo: {len(log)} steps, mean reward {first['mean_reward']:.3f} (step 1) -> "
          f"{last['mean_reward']:.3f} (step {last['step']}) -> {args.out}")


if __name__ == "__main__":
    main()
