"""JustGRPO's objective (paper Sec. 4): GRPO on the AR-order policy of a masked
diffusion model, with its exact likelihood.

Policy: pi(o_k | q, o_<k) = softmax of the model's logits at answer position k for
the input [q, o_1 .. o_{k-1}, MASK x (L - k + 1)] (later positions masked, attention
bidirectional); log pi(o | q) = sum_k log pi(o_k | q, o_<k), exact.
Advantages: A_i = (r_i - mean(r_group)) / (std(r_group) + eps), per prompt group.
Loss: -1 / (L * #{i: A_i != 0}) * sum_i sum_k min(rho_ik A_i, clip(rho_ik, 1-e, 1+e) A_i),
rho_ik = pi(o_ik) / pi_old(o_ik); no KL term. With one update per batch, pi_old is
the detached current policy (rho = 1, on-policy gradient).
Ablations: `order` (a fixed permutation decoded instead of left to right,
JustGRPO-Random) and a `positions` mask (only the top-q rollout-entropy positions
are scored, JustGRPO-Fast).
"""
from __future__ import annotations

import torch

from .models import logits_at


def ranks_of(order: torch.Tensor) -> torch.Tensor:
    """rank[j] = the step at which answer position j is decoded under `order`."""
    rank = torch.empty_like(order)
    rank[order] = torch.arange(len(order), device=order.device)
    return rank


def ar_logprobs(model, prompt_ids: torch.Tensor, completion_ids: torch.Tensor, mask_id: int, *,
                chunk: int = 64, attention_mask: torch.Tensor | None = None,
                order: torch.Tensor | None = None, positions: torch.Tensor | None = None,
                with_greedy: bool = False):
    """(batch, L) log-probabilities of the completion tokens under the AR-order policy
    (and, `with_greedy`, (batch, L) bool: is each token its conditional's argmax).

    Step k scores answer position order[k] from the input where exactly the positions
    order[:k] are revealed (AR: order = 0..L-1). Each (sequence, step) pair is one input
    row; `chunk` rows go through the model per forward pass, and the LM head runs only
    at the scored position of each row. `positions` (batch, L) bool selects the pairs
    to score (by answer position); the others are returned as 0.
    `attention_mask` (batch, P + L) marks left padding of the prompts.
    """
    b, L = completion_ids.shape
    p = prompt_ids.shape[1]
    device = completion_ids.device
    order = torch.arange(L, device=device) if order is None else order.to(device)
    rank = ranks_of(order)
    full = torch.cat([prompt_ids, completion_ids], 1)
    wanted = torch.ones(b, L, dtype=torch.bool, device=device) if positions is None else positions
    pairs = wanted[:, order].nonzero()  # (N, 2): sequence, step
    out = torch.zeros(b, L, device=device)
    greedy = torch.zeros(b, L, dtype=torch.bool, device=device)
    for start in range(0, len(pairs), chunk):
        seq, step = pairs[start:start + chunk].unbind(1)
        rows = full[seq].clone()
        rows[:, p:][rank[None, :] >= step[:, None]] = mask_id
        target = order[step]
        rows_mask = None if attention_mask is None else attention_mask[seq]
        logits = logits_at(model, rows, p + target, rows_mask).float()
        out = out.index_put((seq, target), logits.log_softmax(-1).gather(
            -1, completion_ids[seq, target][:, None]).squeeze(-1))
        if with_greedy:
            greedy[seq, target] = logits.argmax(-1) == completion_ids[seq, target]
    return (out, greedy) if with_greedy else out


def group_advantages(rewards: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
    """(groups, G) rewards -> (groups, G) advantages (r - mean) / (std + eps); std is the
    sample standard deviation (n - 1), as TRL's GRPO computes it."""
    return (rewards - rewards.mean(1, keepdim=True)) / (rewards.std(1, keepdim=True) + eps)


def grpo_loss(logp: torch.Tensor, old_logp: torch.Tensor, advantages: torch.Tensor, *,
              clip_eps: float, gen_length: int, token_mask: torch.Tensor | None = None,
              n_active: int | None = None) -> torch.Tensor:
    """The clipped GRPO surrogate with JustGRPO's scale 1 / (L * samples with A != 0).
    logp, old_logp, token_mask: (samples, L); advantages: (samples,). `n_active`: the
    number of samples with A != 0 in the whole step, when these are a micro-batch."""
    ratio = torch.exp(logp - old_logp)
    a = advantages[:, None]
    surrogate = torch.minimum(ratio * a, ratio.clamp(1 - clip_eps, 1 + clip_eps) * a)
    if token_mask is not None:
        surrogate = surrogate * token_mask
    if n_active is None:
        n_active = int((advantages != 0).sum())
    return -surrogate.sum() / (gen_length * max(n_active, 1))


def top_entropy_positions(entropy: torch.Tensor, fraction: float) -> torch.Tensor:
    """(samples, L) bool: the ceil(fraction * L) positions of highest rollout entropy
    in each sample (JustGRPO-Fast scores only these)."""
    k = max(1, int(-(-fraction * entropy.shape[1] // 1)))
    mask = torch.zeros_like(entropy, dtype=torch.bool)
    return mask.scatter(1, entropy.topk(k, dim=1).indices, True)
