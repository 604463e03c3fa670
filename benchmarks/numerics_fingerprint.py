"""Where two machines' bits part: one pretraining step of the tiny model with every
module's output, the loss and every gradient hashed, plus a few single kernels at the
model's shapes, in a fresh process pinned to a `numerics` mode (issue 25).

    python benchmarks/numerics_fingerprint.py [--mode portable] [--threads 2] \\
        [--data results/data/synthetic] [--out mine.json] [--compare theirs.json]

Run it on two machines and compare: the first entry that differs names the module (or
kernel) whose bits depend on the CPU. docs/numerics.md lists the fingerprints on record.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))
from flextrap.numerics import child_environment  # noqa: E402


def digest(tensor) -> str:
    return hashlib.sha256(tensor.detach().contiguous().numpy().tobytes()).hexdigest()[:16]


def kernels(torch) -> dict[str, str]:
    """Single kernels on exact inputs (integers / 997) at the tiny model's shapes."""
    gen = torch.Generator().manual_seed(0)

    def data(*shape):
        return torch.randint(-1000, 1000, shape, generator=gen).float() / 997

    x, w = data(5952, 128), data(128, 128)
    q, k, v = data(64, 4, 93, 32), data(64, 4, 93, 32), data(64, 4, 93, 32)
    h = data(64, 93, 512)
    F = torch.nn.functional
    return {"kernel mm 5952x128x128": digest(x @ w),
            "kernel sdpa 64x4x93x32": digest(F.scaled_dot_product_attention(q, k, v)),
            "kernel gelu 64x93x512": digest(F.gelu(h)),
            "kernel layer_norm 64x93x512": digest(F.layer_norm(h, (512,))),
            "kernel softmax 64x93x512": digest(torch.softmax(h, -1)),
            "kernel exp 64x93x512": digest(torch.exp(h))}


def one_step(settings: dict, train_path: str) -> list[tuple[str, str]]:
    """Hashes in the order computed: module outputs, loss, gradients (before clipping),
    weights after the first AdamW step of pretraining."""
    import torch

    from flextrap.pretrain import batch_loss, lr_at, setup

    tokenizer, data, model = setup(train_path, settings)
    seen = []

    def hook(name):
        def record(module, inputs, output):
            out = output[0] if isinstance(output, tuple) else output
            if isinstance(out, torch.Tensor):
                seen.append((f"forward {name or 'model'}", digest(out)))
        return record

    for name, module in model.named_modules():
        module.register_forward_hook(hook(name))
    model.train()
    gen = torch.Generator().manual_seed(settings["seed"])
    idx = torch.randint(len(data[0]), (settings["batch_size"],), generator=gen)
    loss = batch_loss(model, data, idx, tokenizer.mask_token_id, gen)
    seen.append(("loss", digest(loss)))
    loss.backward()
    seen += [(f"grad {n}", digest(p.grad)) for n, p in model.named_parameters() if p.grad is not None]
    torch.nn.utils.clip_grad_norm_(model.parameters(), settings["grad_clip"])
    opt = torch.optim.AdamW(model.parameters(), lr=lr_at(0, settings), weight_decay=settings["weight_decay"],
                            betas=tuple(settings["betas"]))
    opt.step()  # pretraining's first step (flextrap.pretrain.train)
    seen += [(f"after AdamW {n}", digest(p)) for n, p in model.named_parameters()]
    return seen


def child(args) -> None:
    import flextrap.stages  # noqa: F401  (pins the numerics before torch loads)
    import torch

    from flextrap import numerics

    config = yaml.safe_load(Path(args.config).read_text())
    entries = list(kernels(torch).items()) + one_step(config["models"]["tiny"]["pretrain"],
                                                      str(Path(args.data) / "train.jsonl"))
    print(json.dumps({"numerics": numerics.in_effect(), "fingerprints": entries}))


def compare(mine: dict, theirs: dict) -> None:
    ours, other = dict(mine["fingerprints"]), dict(theirs["fingerprints"])
    differ = [name for name, h in mine["fingerprints"] if other.get(name) not in (None, h)]
    print(f"{len(ours) - len(differ)} of {len(ours)} entries the same ({mine['numerics']['cpu']} "
          f"vs {theirs['numerics']['cpu']})")
    for name in differ[:20]:
        print(f"differs: {name}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=str(ROOT / "config/config.yaml"))
    ap.add_argument("--data", default=str(ROOT / "results/data/synthetic"))
    ap.add_argument("--mode", default="portable")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", help="write the fingerprint JSON here")
    ap.add_argument("--compare", help="a fingerprint JSON from another machine")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args)
    config = yaml.safe_load(Path(args.config).read_text())
    env = child_environment(config["numerics"], args.mode, args.threads, os.environ, str(ROOT / "workflow"))
    run = subprocess.run([sys.executable, __file__, "--child", "--config", args.config, "--data", args.data,
                          "--threads", str(args.threads)], env=env, capture_output=True, text=True)
    if run.returncode:
        raise SystemExit(run.stderr[-2000:])
    mine = json.loads(run.stdout.strip().splitlines()[-1])
    if args.out:
        Path(args.out).write_text(json.dumps(mine, indent=1) + "\n")
    if args.compare:
        compare(mine, json.loads(Path(args.compare).read_text()))
    else:
        print(json.dumps(mine, indent=1))


if __name__ == "__main__":
    main()
