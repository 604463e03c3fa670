"""LLaDA's semi-autoregressive masked-diffusion sampler (Nie et al., 2025; generate.py).

The answer starts as `gen_length` mask tokens split into `gen_length / block_length`
blocks decoded left to right, each with `steps / num_blocks` steps. At every step
the model predicts all positions; a token is drawn at every masked position of the
current block (Gumbel-max in float64 at temperature T, argmax at T=0), each
candidate is scored by the remasking rule, and the best-scoring candidates are
committed, as many as LLaDA's schedule gives this step.
- arbitrary order (paper default): remasking='low_confidence', block_length 32 of 256.
- AR order: block_length=1 (the left-most masked token is the one committed).
- random order: remasking='random'.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

REMASKING = ("low_confidence", "random", "neg_entropy", "margin")


def num_transfer_tokens(n_masked: torch.Tensor, steps: int) -> torch.Tensor:
    """Tokens to commit at each step, (batch, steps): LLaDA's even split, remainder first."""
    base = n_masked[:, None] // steps
    remainder = n_masked[:, None] % steps
    return base + (torch.arange(steps, device=n_masked.device)[None] < remainder).long()


def sample_tokens(logits: torch.Tensor, temperature: float, generator=None) -> torch.Tensor:
    """Gumbel-max sampling of softmax(logits / T) in float64, as LLaDA's add_gumbel_noise."""
    if temperature == 0:
        return logits.argmax(-1)
    logits = logits.double()
    u = torch.rand(logits.shape, generator=generator, device=logits.device, dtype=torch.float64)
    return (logits.exp() / (-torch.log(u)) ** temperature).argmax(-1)


def score(logits: torch.Tensor, tokens: torch.Tensor, remasking: str, generator=None) -> torch.Tensor:
    """Confidence of each candidate under the untempered distribution (higher = commit first)."""
    if remasking == "random":
        return torch.rand(tokens.shape, generator=generator, device=tokens.device, dtype=torch.float64)
    probs = F.softmax(logits.double(), dim=-1)
    if remasking == "low_confidence":
        return probs.gather(-1, tokens[..., None]).squeeze(-1)
    if remasking == "neg_entropy":
        return (probs * torch.log(probs.clamp_min(1e-300))).sum(-1)
    if remasking == "margin":
        top2 = probs.topk(2, dim=-1).values
        return top2[..., 0] - top2[..., 1]
    raise ValueError(f"unknown remasking {remasking!r}; known: {REMASKING}")


@torch.no_grad()
def generate(model, prompt_ids: torch.Tensor, *, gen_length: int, steps: int, block_length: int,
             temperature: float, remasking: str, mask_id: int, attention_mask=None,
             generator: torch.Generator | None = None) -> torch.Tensor:
    """Prompt (batch, P) -> full sequences (batch, P + gen_length)."""
    if gen_length % block_length or steps % (gen_length // block_length):
        raise ValueError("block_length must divide gen_length and the block count must divide steps")
    b, p = prompt_ids.shape
    x = torch.full((b, p + gen_length), mask_id, dtype=torch.long, device=prompt_ids.device)
    x[:, :p] = prompt_ids
    if attention_mask is not None:
        attention_mask = torch.cat([attention_mask, attention_mask.new_ones(b, gen_length)], dim=1)
    num_blocks = gen_length // block_length
    for block in range(num_blocks):
        lo, hi = p + block * block_length, p + (block + 1) * block_length
        schedule = num_transfer_tokens((x[:, lo:hi] == mask_id).sum(1), steps // num_blocks)
        for step in range(schedule.shape[1]):
            logits = model(x, attention_mask=attention_mask).logits[:, lo:hi]
            still_masked = x[:, lo:hi] == mask_id
            tokens = sample_tokens(logits, temperature, generator)
            confidence = score(logits, tokens, remasking, generator).masked_fill(~still_masked, -torch.inf)
            commit = torch.zeros_like(still_masked)
            for row in range(b):
                k = int(schedule[row, step])
                commit[row, confidence[row].topk(k).indices] = True
            x[:, lo:hi] = torch.where(commit, tokens, x[:, lo:hi])
    return x


def encode_prompts(tokenizer, texts: list[str]) -> list[list[int]]:
    """Token ids of model-input texts (chat templates already carry special tokens)."""
    return [tokenizer(t, add_special_tokens=False).input_ids for t in texts]


def decode_answer(tokenizer, answer_ids: list[int]) -> str:
    """Text of a generated answer: up to the first EOS, special tokens dropped."""
    eos = tokenizer.eos_token_id
    if eos in answer_ids:
        answer_ids = answer_ids[:answer_ids.index(eos)]
    return tokenizer.decode(answer_ids, skip_special_tokens=True)
