"""Decoding orders as rankings (paper Sec. 2-3): at every step of masked-diffusion
decoding the still-masked positions of the current block are ranked, and the best
ranked commit first.

A ranking is either a *score* of each candidate (the token drawn at a position, judged
under the model's untempered distribution: LLaDA's `remasking`) or a *priority* fixed
by the position alone. A config order is a ranking plus a block length; with block
length 1 only the left-most masked position is a candidate, so every ranking gives AR
order there. `RANKINGS` is the one registry: the config schema's choices for
`remasking`, the samplers and the figures' colours all read it, so a new order is one
entry here. Parallel decoding (paper Sec. 5) ranks by an error proxy (`PROXIES`, each
a ranking) and commits as many as one of `PARALLEL_RULES` allows.

Torch-free to import: the config check and the DAG's plan read these registries.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    import torch

AR_COLOR = "#1f77b4"  # block length 1: AR order, whatever the ranking


def uniform(shape, generator, device) -> torch.Tensor:
    """Float64 U(0,1) noise of `shape`; `generator` may be one torch.Generator or a list
    of them, one per batch row (then each row's draws do not depend on its batch)."""
    import torch  # here only (see the module's docstring)

    if isinstance(generator, (list, tuple)):
        return torch.stack([torch.rand(shape[1:], generator=g, device=device, dtype=torch.float64)
                            for g in generator])
    return torch.rand(shape, generator=generator, device=device, dtype=torch.float64)


def entropy(probs: torch.Tensor) -> torch.Tensor:
    """Entropy in nats over the last dimension."""
    return -(probs * probs.clamp_min(1e-300).log()).sum(-1)


def confidence(probs: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """Probability of each drawn token."""
    return probs.gather(-1, tokens[..., None]).squeeze(-1)


def margin(probs: torch.Tensor) -> torch.Tensor:
    """Top-1 minus top-2 probability."""
    top2 = probs.topk(2, dim=-1).values
    return top2[..., 0] - top2[..., 1]


@dataclass(frozen=True)
class Ranking:
    """`score(probs, tokens, generator)` -> (rows, block), or `priority(positions)` ->
    the same shape from the answer positions (rows, block); higher commits first."""
    color: str
    description: str
    score: Callable | None = None
    priority: Callable | None = None


RANKINGS = {
    "low_confidence": Ranking("#ff7f0e", "probability of the drawn token (LLaDA's default)",
                              score=lambda probs, tokens, generator: confidence(probs, tokens)),
    "random": Ranking("#2ca02c", "uniform noise: a random order",
                      score=lambda probs, tokens, generator: uniform(tokens.shape, generator, tokens.device)),
    "neg_entropy": Ranking("#d62728", "negative entropy of the position's distribution",
                           score=lambda probs, tokens, generator: -entropy(probs)),
    "margin": Ranking("#9467bd", "top-1 minus top-2 probability",
                      score=lambda probs, tokens, generator: margin(probs)),
    "left_to_right": Ranking("#17becf", "the left-most masked position first (AR order at any block length)",
                             priority=lambda positions: -positions.double()),
}


PROXIES = {"confidence": "low_confidence", "entropy": "neg_entropy", "margin": "margin"}  # proxy -> ranking
PARALLEL_RULES = ("eb", "top_k", "threshold")  # how many candidates commit per step (`sampling.chosen_candidates`)


def check(name: str) -> Ranking:
    if name not in RANKINGS:
        raise ValueError(f"unknown remasking {name!r}; known: {sorted(RANKINGS)}")
    return RANKINGS[name]


def ranker(name: str, priority: torch.Tensor | None = None) -> Callable:
    """The ranking `rank(probs, tokens, positions, generator)` of registry entry `name`,
    or, with `priority` (one value per answer position), that fixed priority
    (JustGRPO-Random's permutation): the highest-priority masked position first."""
    if priority is not None:
        return lambda probs, tokens, positions, generator: priority.to(positions.device).double()[positions]
    ranking = check(name)
    if ranking.score is not None:
        return lambda probs, tokens, positions, generator: ranking.score(probs, tokens, generator)
    return lambda probs, tokens, positions, generator: ranking.priority(positions)


def order_colors(orders: dict) -> dict:
    """Colour of each config order (name -> {block_length, remasking}): AR blue at block
    length 1, else its ranking's colour; orders sharing a ranking after the first are
    drawn in lighter shades of it, so every order keeps one colour in every figure."""
    colors, seen = {}, {}
    for name, spec in orders.items():
        if spec["block_length"] == 1:
            colors[name] = AR_COLOR
            continue
        base = check(spec["remasking"]).color
        shade = seen[spec["remasking"]] = seen.get(spec["remasking"], -1) + 1
        colors[name] = lighter(base, 1 - 0.6 ** shade)
    return colors


def lighter(color: str, amount: float) -> str:
    """`color` ('#rrggbb') moved `amount` (0-1) of the way to white."""
    rgb = [int(color[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(c + (255 - c) * amount):02x}" for c in rgb)
