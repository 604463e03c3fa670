"""Entry point of the multi-process training tests (tests/test_train.py), run by
`accelerate launch --cpu --num_processes N tests/multiprocess_train.py <train args>`.

It runs `flextrap.train` with the test suite's parity reward (a random model never
answers right), records what each rank did (the prompts it rolled out, the files it
wrote) in <out>.rank<i>.jsonl, and stops after FLEXTRAP_STOP_AFTER steps when set (a
"killed" run)."""
import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))
import flextrap.checkpoints as checkpoints_mod  # noqa: E402
import flextrap.sample as sample_mod  # noqa: E402
import flextrap.train as train_mod  # noqa: E402
from flextrap.cli import parse_args  # noqa: E402


def parity_verdict(task, record, text, limits=None):
    """A verdict a random model can earn: the parity of the answer's length."""
    from flextrap.graders import Verdict
    ok = len(text) % 2 == 0
    return Verdict(ok, text, float(ok))


def record(out: str, **event) -> None:
    rank = int(os.environ.get("RANK", 0))
    with open(f"{out}.rank{rank}.jsonl", "a") as f:
        f.write(json.dumps({"rank": rank, **event}) + "\n")


def instrument(out: str) -> None:
    rollouts, atomic_dir, write_text = train_mod.rollouts, train_mod.atomic_dir, checkpoints_mod.write_text
    train_mod.reward = lambda task, verdict: float(len(verdict.extracted or "x") % 2)
    train_mod.grade = lambda task, rec, text, limits: type("V", (), {"extracted": text})()
    sample_mod.grade = parity_verdict  # held-out evaluations (flextrap.heldout grades through sample)

    def logged_rollouts(model, tokenizer, prompts, task, s, step, *args):
        record(out, event="rollouts", step=step, prompts=[p["id"] for p in prompts])
        return rollouts(model, tokenizer, prompts, task, s, step, *args)

    @contextmanager
    def logged_atomic_dir(path):
        record(out, event="write", path=str(path))
        with atomic_dir(path) as tmp:
            yield tmp

    def logged_write_text(path, text):
        record(out, event="write", path=str(path))
        return write_text(path, text)

    train_mod.rollouts, train_mod.atomic_dir = logged_rollouts, logged_atomic_dir
    checkpoints_mod.write_text = logged_write_text  # checkpoint meta.json


def main() -> None:
    args = parse_args(train_mod.__doc__, ["model", "data", "task", "settings", "out"])
    instrument(args.out)
    stop = os.environ.get("FLEXTRAP_STOP_AFTER")
    train_mod.train(json.loads(args.model), args.data, args.task, json.loads(args.settings), args.out,
                    stop_after=int(stop) if stop else None, heldout=args.data)  # held out: here the train records


if __name__ == "__main__":
    main()
