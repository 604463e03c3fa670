"""Loss step time of `grpo.ar_logprobs` + backward vs one forward pass per position (issue 4).

    python benchmarks/ar_logprobs_step.py [--vocab 126464] [--batch 4] [--prompt 32] [--gen 32] [--chunk 64]

Two models: the embedded default's shape (BERT, width 128, 4 layers, vocab 100) and a
LLaDA-shaped random one (2 layers, LLaDA's 126,464-token vocabulary). For each, the
straightforward implementation builds the input [q, o_<k, MASK...] for one k at a
time, runs the full model and takes log-softmax at position k; ours batches `chunk`
(sequence, position) inputs per forward pass and applies the LM head only at the
scored positions. Both losses are summed and back-propagated; gradients are compared.
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
        x = torch.cat([prompt, completion[:, :k], torch.full((b, L - k), mask_id)], 1)
        logits = model(x).logits[:, p + k]
        out.append(logits.log_softmax(-1).gather(-1, completion[:, k, None])[:, 0])
    return torch.stack(out, 1)


def timed_grads(model, fn, repeats):
    """Median wall time of `repeats` loss steps (forward + backward), and the gradients."""
    times = []
    for _ in range(repeats):
        model.zero_grad(set_to_none=True)
        t0 = time.perf_counter()
        fn().sum().backward()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2], [p.grad.clone() for p in model.parameters() if p.grad is not None]


def bench(name, model, vocab, args):
    torch.manual_seed(1)
    prompt = torch.randint(0, vocab - 1, (args.batch, args.prompt))
    completion = torch.randint(0, vocab - 1, (args.batch, args.gen))
    mask_id = vocab - 1
    naive = lambda: one_position_at_a_time(model, prompt, completion, mask_id)  # noqa: E731
    ours = lambda: ar_logprobs(model, prompt, completion, mask_id, chunk=args.chunk)  # noqa: E731
    timed_grads(model, ours, 1)  # warm-up (and the one-off head-split check)
    t_naive, g_naive = timed_grads(model, naive, args.repeats)
    t_ours, g_ours = timed_grads(model, ours, args.repeats)
    equal = all(torch.allclose(a, b, rtol=1e-3, atol=1e-6) for a, b in zip(g_naive, g_ours))
    print(f"{name}: one position at a time {t_naive:.3f} s, ar_logprobs (chunk {args.chunk}) {t_ours:.3f} s "
          f"-> {t_naive / t_ours:.2f}x (target >= 2); equal gradients: {equal}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vocab", type=int, default=126_464)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--prompt", type=int, default=32)
    ap.add_argument("--gen", type=int, default=32)
    ap.add_argument("--chunk", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5, help="timed loss steps per method (median reported)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from transformers import BertConfig, BertForMaskedLM
    print(f"batch {args.batch}, {args.prompt} prompt + {args.gen} answer tokens, {args.threads} threads, "
          f"median of {args.repeats} loss steps")
    for name, vocab, width, layers in (("tiny default shape (vocab 100)", 100, 128, 4),
                                       (f"LLaDA-shaped (vocab {args.vocab})", args.vocab, 256, 2)):
        torch.manual_seed(0)
        model = BertForMaskedLM(BertConfig(vocab_size=vocab, hidden_size=width, num_hidden_layers=layers,
                                           num_attention_heads=4, intermediate_size=4 * width,
                                           max_position_embeddings=args.prompt + args.gen,
                                           hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0))
        bench(name, model, vocab, args)


if __name__ == "__main__":
    main()
