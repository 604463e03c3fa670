"""The LLaDA SFT objective (Nie et al., 2025, Eq. 5), used to pretrain the tiny model.

The prompt is kept; every answer token (text plus EOS padding to the fixed
generation length) is masked with probability t ~ U(0, 1), one t per sequence
(stratified across the batch, see `forward_process`):

    L = -E_t [ 1/t * sum_{i in answer, masked} log p(x_i | prompt, x_t) ] / |answer|

averaged over the batch (LLaDA's GUIDELINES.md: loss / p_mask / answer length).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

EPS = 1e-3  # LLaDA's floor on the masking probability


def forward_process(answer_mask: torch.Tensor, generator: torch.Generator | None = None):
    """Mask answer positions with per-sequence probability t. Returns (masked, p_mask).

    The batch's t are stratified, t_i = (i + u) / b in a random order: each t_i is still
    U(0, 1), so the objective is unchanged, but the 1/t-weighted loss has far lower
    variance at small batch sizes (MDLM's low-discrepancy sampler, Sahoo et al., 2024).
    """
    b, length = answer_mask.shape
    u = torch.rand(1, generator=generator, device=answer_mask.device)
    order = torch.randperm(b, generator=generator, device=answer_mask.device)
    t = (order + u) / b
    p_mask = ((1 - EPS) * t + EPS)[:, None].expand(b, length)
    draw = torch.rand(b, length, generator=generator, device=answer_mask.device)
    return (draw < p_mask) & answer_mask, p_mask


def sft_loss(logits: torch.Tensor, targets: torch.Tensor, masked: torch.Tensor,
             p_mask: torch.Tensor, answer_lengths: torch.Tensor) -> torch.Tensor:
    """Cross-entropy on masked tokens, weighted 1/t, divided by answer length, batch mean.

    logits (b, l, v); targets, masked, p_mask (b, l); answer_lengths (b,).
    """
    ce = F.cross_entropy(logits[masked].float(), targets[masked], reduction="none")
    lengths = answer_lengths[:, None].expand_as(masked)[masked]
    return (ce / p_mask[masked] / lengths).sum() / targets.shape[0]


def noised_batch(input_ids: torch.Tensor, answer_mask: torch.Tensor, mask_id: int,
                 generator: torch.Generator | None = None):
    """(noisy input, masked, p_mask) for one SFT step."""
    masked, p_mask = forward_process(answer_mask, generator)
    return torch.where(masked, torch.full_like(input_ids, mask_id), input_ids), masked, p_mask
