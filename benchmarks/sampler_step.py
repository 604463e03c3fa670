"""Sampler time per step vs a straightforward full-tensor implementation (issue 3).

    python benchmarks/sampler_step.py [--vocab 126464] [--batch 4] [--prompt 32] [--gen 32]

A random BERT masked LM with LLaDA's 126,464-token vocabulary. Three timings per step:
- `flextrap.sampling.generate`: logits (and the LM head) only in the current block;
- `full_tensor_generate` below: LLaDA's generate.py as written, i.e. the whole
  (batch, length, vocab) tensor through the head, float64 softmax and top-k;
- one bare forward pass `model(x).logits` (the floor for exact sampling: one per step),
  and the same forward with the head at one position (the sampler's own overhead).
Outputs are compared at T=0 (they must be equal). Targets for AR order (block 1):
full-tensor / ours >= 5, ours / forward <= 1.3.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))
from flextrap.models import logits_at  # noqa: E402
from flextrap.sampling import generate, num_transfer_tokens  # noqa: E402


@torch.no_grad()
def full_tensor_generate(model, prompt, *, gen_length, steps, block_length, mask_id):
    """LLaDA's generate.py at T=0 with low_confidence remasking, whole-tensor version."""
    b, p = prompt.shape
    x = torch.cat([prompt, torch.full((b, gen_length), mask_id, dtype=torch.long)], 1)
    num_blocks = gen_length // block_length
    for block in range(num_blocks):
        hi = p + (block + 1) * block_length
        schedule = num_transfer_tokens((x[:, hi - block_length:hi] == mask_id).sum(1), steps // num_blocks)
        for step in range(schedule.shape[1]):
            mask_index = x == mask_id
            logits = model(x).logits
            x0 = logits.argmax(-1)
            probs = F.softmax(logits.double(), dim=-1)
            x0_p = probs.gather(-1, x0[..., None]).squeeze(-1)
            x0_p[:, hi:] = -torch.inf
            x0 = torch.where(mask_index, x0, x)
            confidence = torch.where(mask_index, x0_p, -torch.inf)
            commit = torch.zeros_like(mask_index)
            for row in range(b):
                commit[row, confidence[row].topk(int(schedule[row, step])).indices] = True
            x[commit] = x0[commit]
    return x


def seconds(fn, repeats: int) -> float:
    fn()  # warm-up
    t0 = time.perf_counter()
    for _ in range(repeats):
        out = fn()
    return (time.perf_counter() - t0) / repeats, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vocab", type=int, default=126_464)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--prompt", type=int, default=32)
    ap.add_argument("--gen", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    from transformers import BertConfig, BertForMaskedLM
    model = BertForMaskedLM(BertConfig(
        vocab_size=args.vocab, hidden_size=args.hidden, num_hidden_layers=args.layers,
        num_attention_heads=4, intermediate_size=4 * args.hidden,
        max_position_embeddings=args.prompt + args.gen)).eval()
    mask_id = args.vocab - 1
    prompt = torch.randint(0, args.vocab - 1, (args.batch, args.prompt))
    x = torch.cat([prompt, torch.full((args.batch, args.gen), mask_id)], 1)
    with torch.no_grad():
        t_forward, _ = seconds(lambda: model(x).logits, 5)
        t_body, _ = seconds(lambda: logits_at(model, x, slice(args.prompt, args.prompt + 1)), 5)
    print(f"vocab {args.vocab}, hidden {args.hidden}, layers {args.layers}, batch {args.batch}, "
          f"prompt {args.prompt} + gen {args.gen}, {args.threads} threads")
    print(f"one forward pass: {t_forward * 1e3:.1f} ms "
          f"(with the LM head at one position only: {t_body * 1e3:.1f} ms)")
    for name, block in (("AR order (block 1)", 1), ("arbitrary (block 8)", 8)):
        kw = dict(gen_length=args.gen, steps=args.gen, block_length=block, mask_id=mask_id)
        t_ours, ours = seconds(lambda: generate(model, prompt, temperature=0.0, remasking="low_confidence",
                                                **kw).sequences, args.repeats)
        t_full, full = seconds(lambda: full_tensor_generate(model, prompt, **kw), args.repeats)
        per_ours, per_full = t_ours / args.gen, t_full / args.gen
        print(f"{name}: ours {per_ours * 1e3:.1f} ms/step, full-tensor {per_full * 1e3:.1f} ms/step, "
              f"equal outputs: {torch.equal(ours, full)}")
        print(f"    full-tensor / ours = {per_full / per_ours:.2f}x (target >= 5), "
              f"ours / forward = {per_ours / t_forward:.2f}x (target <= 1.3), "
              f"full-tensor / forward = {per_full / t_forward:.2f}x, "
              f"ours / head-at-one-position forward = {per_ours / t_body:.2f}x")


if __name__ == "__main__":
    main()
