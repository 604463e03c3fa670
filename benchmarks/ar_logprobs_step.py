"""Loss step time of `grpo.ar_logprobs` + backward vs one forward pass per position (issue 4).

    python benchmarks/ar_logprobs_step.py [--vocab 126464] [--batch 4] [--prompt 32] [--gen 32] [--chunk 64]
        [--models tiny,llada] [--device cpu|cuda]

Two models: the embedded default's shape (BERT, width 128, 4 layers, vocab 100) and a
LLaDA-shaped random one (2 layers, LLaDA's 126,464-token vocabulary). For each, the
straightforward implementation builds the input [q, o_<k, MASK...] for one k at a
time, runs the full model and takes log-softmax at position k; ours batches `chunk`
(sequence, position) inputs per forward pass and applies the LM head only at the
scored positions. Both losses are summed and back-propagated; gradients are compared
(equal: every difference below 1e-5 of the largest gradient).
Target: at least 2x faster at equal gradients.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))
from flextrap.grpo import ar_logprobs  # noqa: E402


def one_position_at_a_time(model, prompt, completion, mask_id):
    b, L = completion.shape
    p = prompt.shape[1]
    out = []
    for k in range(L):
        x = torch.cat([prompt, completion[:, :k], torch.full((b, L - k), mask_id, device=prompt.device)], 1)
        logits = model(x).logits[:, p + k]
        out.append(logits.log_softmax(-1).gather(-1, completion[:, k, None])[:, 0])
    return torch.stack(out, 1)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def loss_step(model, fn) -> float:
    """Wall time of one loss step (forward + backward); the gradients stay in the model."""
    device = next(model.parameters()).device
    model.zero_grad(set_to_none=True)
    synchronize(device)
    t0 = time.perf_counter()
    fn().sum().backward()
    synchronize(device)
    return time.perf_counter() - t0


def gradients(model) -> list:
    return [p.grad.clone() for p in model.parameters() if p.grad is not None]


def median(xs: list) -> float:
    return sorted(xs)[len(xs) // 2]


def bench(name, model, vocab, args):
    """The two methods alternate, so that a slow spell of a shared machine hits both; the
    ratio reported is the median of the per-pair ratios."""
    torch.manual_seed(1)
    prompt = torch.randint(0, vocab - 1, (args.batch, args.prompt)).to(args.device)
    completion = torch.randint(0, vocab - 1, (args.batch, args.gen)).to(args.device)
    mask_id = vocab - 1
    naive = lambda: one_position_at_a_time(model, prompt, completion, mask_id)  # noqa: E731
    ours = lambda: ar_logprobs(model, prompt, completion, mask_id, chunk=args.chunk)  # noqa: E731
    loss_step(model, ours)  # warm-up (and the one-off head-split check)
    pairs = []
    for _ in range(args.repeats):
        t_naive = loss_step(model, naive)
        g_naive = gradients(model)
        pairs.append((t_naive, loss_step(model, ours)))
    g_ours = gradients(model)
    t_naive, t_ours = median([n for n, _ in pairs]), median([o for _, o in pairs])
    ratios = sorted(n / o for n, o in pairs)
    # float32 sums in another order; relative to the largest gradient (some, like the key
    # biases', are zero in exact arithmetic, so a per-tensor relative error means nothing)
    scale = max(a.abs().max().item() for a in g_naive)
    worst = max((a - b).abs().max().item() for a, b in zip(g_naive, g_ours)) / scale
    equal = f"{worst < 1e-5} (largest difference {worst:.1e} of the largest gradient)"
    print(f"{name}: one position at a time {t_naive:.3f} s, ar_logprobs (chunk {args.chunk}) {t_ours:.3f} s "
          f"-> {median(ratios):.2f}x (pairs {ratios[0]:.2f}-{ratios[-1]:.2f}x; target >= 2); "
          f"equal gradients: {equal}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vocab", type=int, default=126_464)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--prompt", type=int, default=32)
    ap.add_argument("--gen", type=int, default=32)
    ap.add_argument("--chunk", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=7, help="timed loss steps per method (median reported)")
    ap.add_argument("--models", default="tiny,llada", help="which of the two models to run (comma-separated)")
    ap.add_argument("--device", default="cpu", help="cpu, or cuda on a GPU node")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    args.device = torch.device(args.device)
    from transformers import BertConfig, BertForMaskedLM
    where = f"{args.threads} threads" if args.device.type == "cpu" else str(args.device)
    print(f"batch {args.batch}, {args.prompt} prompt + {args.gen} answer tokens, {where}, "
          f"median of {args.repeats} loss steps")
    models = {"tiny": ("tiny default shape (vocab 100)", 100, 128, 4),
              "llada": (f"LLaDA-shaped (vocab {args.vocab})", args.vocab, 256, 2)}
    for key in args.models.split(","):
        name, vocab, width, layers = models[key]
        torch.manual_seed(0)
        model = BertForMaskedLM(BertConfig(vocab_size=vocab, hidden_size=width, num_hidden_layers=layers,
                                           num_attention_heads=4, intermediate_size=4 * width,
                                           max_position_embeddings=args.prompt + args.gen,
                                           hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0))
        bench(name, model.to(args.device), vocab, args)


if __name__ == "__main__":
    main()
