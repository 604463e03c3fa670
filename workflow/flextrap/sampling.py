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
Only the current block's logits are computed (the LM head runs only there, see
`models.logits_at`), sampled and scored; with `trace=True` every
generated position records when it was committed and how uncertain the model was.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .models import full_logits, logits_at
from .orders import PARALLEL_RULES, PROXIES, confidence, entropy, ranker, uniform
TRACE_FIELDS = ("step", "entropy", "confidence", "token")


def num_transfer_tokens(n_masked: torch.Tensor, steps: int) -> torch.Tensor:
    """Tokens to commit at each step, (batch, steps): LLaDA's even split, remainder first."""
    base = n_masked[:, None] // steps
    remainder = n_masked[:, None] % steps
    return base + (torch.arange(steps, device=n_masked.device)[None] < remainder).long()


def sample_tokens(logits: torch.Tensor, temperature: float, generator=None, forbid: int | None = None) -> torch.Tensor:
    """Gumbel-max sampling of softmax(logits / T) in float64, as LLaDA's add_gumbel_noise.
    `forbid` (the mask token) is never drawn: committing it would leave the position
    masked and waste the step's commit."""
    if temperature == 0:
        tokens = logits.argmax(-1)
        if forbid is not None and (tokens == forbid).any():
            drawn = tokens == forbid
            tokens[drawn] = logits[drawn].index_fill(-1, torch.tensor([forbid], device=logits.device),
                                                     -torch.inf).argmax(-1)
        return tokens
    logits = logits.to(torch.float64, copy=True)  # the caller's logits stay as they are
    if forbid is not None:
        logits[..., forbid] = -torch.inf
    u = uniform(logits.shape, generator, logits.device)
    return (logits.exp() / (-torch.log(u)) ** temperature).argmax(-1)


def commit_step(x: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor, logits: torch.Tensor, *, offset: int,
                mask_id: int, temperature: float, generator, rank, choose, record: dict | None = None,
                step: torch.Tensor | None = None) -> None:
    """One decode step, the one every sampler takes: for rows `rows` (r, 1) of `x` at
    columns `cols` (r, block), whose `logits` the model gave, draw a token at every
    position (`sample_tokens`), rank the still-masked ones (`rank`, an
    `orders.ranker`), commit those `choose(ranking, still_masked, probs, tokens)` picks
    (bool, r x block) and, with `record`, store the trace of the committed positions
    (commit `step` (r, 1); a column's answer position is column - `offset`)."""
    current = x[rows, cols]
    still_masked = current == mask_id
    tokens = sample_tokens(logits, temperature, generator, forbid=mask_id)
    probs = F.softmax(logits.double(), dim=-1)
    positions = cols - offset
    ranking = rank(probs, tokens, positions, generator).masked_fill(~still_masked, -torch.inf)
    commit = choose(ranking, still_masked, probs, tokens)
    x[rows, cols] = torch.where(commit, tokens, current)
    if record is not None:
        for field, value in trace_values(probs, tokens, step.expand_as(tokens)).items():
            record[field][rows, positions] = torch.where(commit, value, record[field][rows, positions])


def top_commits(counts: list[int]):
    """LLaDA's choice: the `counts[r]` best-ranked candidates of row r."""
    def choose(ranking, still_masked, probs, tokens):
        commit = torch.zeros_like(still_masked)
        for r, n in enumerate(counts):
            commit[r, ranking[r].topk(int(n)).indices] = True
        return commit
    return choose


@dataclass
class Generation:
    """Output of `generate`. `sequences` are the (left-padded) prompts followed by the
    answers. With trace=True, `trace[field]` is (batch, gen_length) for each of
    TRACE_FIELDS: the step a position was committed at, the entropy (nats) of the
    model's untempered predictive distribution there at that step, the probability of
    the committed token under it, and the token."""
    sequences: torch.Tensor
    prompt_lengths: list[int]
    gen_length: int
    trace: dict | None = None
    nfe: torch.Tensor | None = None  # (batch,) forward passes per row

    @property
    def answers(self) -> torch.Tensor:
        return self.sequences[:, -self.gen_length:]


def model_device(model) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def padded_prompt(prompt: list[int], width: int, pad_id: int | None) -> tuple[list[int], list[int]]:
    """(ids, attention) of one prompt left-padded with `pad_id` to `width` tokens."""
    pad = width - len(prompt)
    if pad < 0:
        raise ValueError(f"a prompt of {len(prompt)} tokens does not fit width {width}")
    if pad and pad_id is None:
        raise ValueError("prompts of different lengths need a pad_id")
    return [pad_id] * pad + list(prompt), [0] * pad + [1] * len(prompt)


def left_pad(prompts, pad_id: int | None, width: int | None = None):
    """(ids, attention_mask or None) for a (batch, P) tensor or a list of token-id lists.
    Without `width`, lists are padded to the longest and carry a mask only when their
    lengths differ; with it, every prompt is padded to `width` and the mask is always
    given, so that a row's logits do not depend on the other rows of its batch."""
    if torch.is_tensor(prompts):
        return prompts, None
    if width is None:
        if len({len(q) for q in prompts}) == 1:
            return torch.tensor([list(q) for q in prompts]), None
        width = max(len(q) for q in prompts)
    ids, mask = zip(*(padded_prompt(q, width, pad_id) for q in prompts))
    return torch.tensor(ids), torch.tensor(mask)


@torch.no_grad()
def padding_is_exact(model, pad_id: int, mask_id: int, token_ids: list[int], ratio: float = 0.05) -> bool:
    """Does the model honour the attention mask: does a left-padded prompt give the
    logits it gives alone? Compared in float32 against the same padded input without
    the mask, so that the test holds in bf16 (where the padded and lone logits differ by
    rounding even when the mask is honoured): honoured when the masked difference is
    below `ratio` of the unmasked one (or both are zero). Older LLaDA revisions ignore
    the mask: then prompts are batched by length."""
    device = model_device(model)
    short = list(token_ids[:4]) + [mask_id] * 4  # compared at the masked (answer) positions
    ids, mask = left_pad([list(token_ids) + short, short], pad_id)
    ids, mask = ids.to(device), mask.to(device)
    alone = full_logits(model, torch.tensor([short], device=device))[0, -4:].float()
    with_mask = full_logits(model, ids, mask)[1, -4:].float()
    without = full_logits(model, ids)[1, -4:].float()
    masked_gap, unmasked_gap = (with_mask - alone).abs().max(), (without - alone).abs().max()
    return bool(masked_gap <= ratio * unmasked_gap) or bool(unmasked_gap == 0)


def initial_state(model, prompts, gen_length: int, mask_id: int, pad_id: int | None, width: int | None = None):
    """(x, attention_mask or None, prompt lengths): the left-padded prompts (`left_pad`)
    followed by `gen_length` mask tokens, on the model's device."""
    if pad_id is not None and pad_id == mask_id:
        raise ValueError("pad_id must differ from mask_id")
    device = model_device(model)
    prompt_ids, prompt_mask = left_pad(prompts, pad_id, width)
    b, p = prompt_ids.shape
    x = torch.full((b, p + gen_length), mask_id, dtype=torch.long, device=device)
    x[:, :p] = prompt_ids.to(device)
    if prompt_mask is None:
        return x, None, [p] * b
    attention_mask = torch.cat([prompt_mask, prompt_mask.new_ones(b, gen_length)], 1).to(device)
    return x, attention_mask, prompt_mask.sum(1).tolist()


def check_schedule(gen_length: int, steps: int, block_length: int) -> None:
    if gen_length % block_length or steps % (gen_length // block_length):
        raise ValueError("block_length must divide gen_length and the block count must divide steps")


@torch.no_grad()
def generate(model, prompts, *, gen_length: int, steps: int, block_length: int, temperature: float,
             remasking: str, mask_id: int, pad_id: int | None = None,
             generator: torch.Generator | None = None, trace: bool = False,
             priority: torch.Tensor | None = None, width: int | None = None) -> Generation:
    """Sample answers for a batch of prompts: a (batch, P) tensor, or token-id lists of
    any lengths (left-padded with `pad_id`, which must not be the mask token; to
    `width` when given, see `left_pad`). Every row takes `steps` forward passes
    (`Generation.nfe`).
    `generator`: one torch.Generator, or one per prompt (each row then reproduces
    alone, whatever batch it is sampled in).
    `priority` (gen_length,): a fixed decoding order replacing the remasking score
    (the highest-priority masked position commits first; JustGRPO-Random's rollouts)."""
    check_schedule(gen_length, steps, block_length)
    x, attention_mask, lengths = initial_state(model, prompts, gen_length, mask_id, pad_id, width)
    b, p, device = x.shape[0], x.shape[1] - gen_length, x.device
    record = empty_trace(b, gen_length, device) if trace else None
    rank, rows = ranker(remasking, priority), torch.arange(b, device=device)[:, None]
    num_blocks, global_step = gen_length // block_length, 0
    for block in range(num_blocks):
        lo, hi = p + block * block_length, p + (block + 1) * block_length
        cols = torch.arange(lo, hi, device=device).expand(b, -1)
        schedule = num_transfer_tokens((x[:, lo:hi] == mask_id).sum(1), steps // num_blocks)
        for step in range(schedule.shape[1]):
            logits = logits_at(model, x, slice(lo, hi), attention_mask)
            commit_step(x, rows, cols, logits, offset=p, mask_id=mask_id, temperature=temperature,
                        generator=generator, rank=rank, choose=top_commits(schedule[:, step].tolist()),
                        record=record, step=torch.full((b, 1), global_step, device=device))
            global_step += 1
    return Generation(x, lengths, gen_length, record, torch.full((b,), steps, dtype=torch.long))




def eb_prefix_length(entropies: torch.Tensor, gamma: float) -> int:
    """EB-sampler (Ben-Hamu et al., 2025): the length of the longest prefix U of
    `entropies` (candidates in commit order) with sum(H_U) - max(H_U) <= gamma. The
    first candidate always qualifies, so gamma = 0 commits one token per step."""
    excess = entropies.cumsum(0) - entropies.cummax(0).values
    return max(1, int((excess <= gamma).long().cumprod(0).sum()))


def chosen_candidates(entropies: torch.Tensor, confidences: torch.Tensor, rule: str, value: float) -> torch.Tensor:
    """(n,) bool over one row's candidates, sorted best first by the error proxy:
    which to commit this step. eb: the entropy-bounded prefix (gamma = value); top_k:
    the first `value`; threshold: every candidate with confidence > value, or the
    first one when none is."""
    n = len(entropies)
    if rule == "eb":
        return torch.arange(n, device=entropies.device) < eb_prefix_length(entropies, value)
    if rule == "top_k":
        return torch.arange(n, device=entropies.device) < int(value)
    if rule == "threshold":
        chosen = confidences > value
        chosen[0] |= ~chosen.any()
        return chosen
    raise ValueError(f"unknown parallel rule {rule!r}; known: {PARALLEL_RULES}")


@torch.no_grad()
def generate_parallel(model, prompts, *, gen_length: int, block_length: int, temperature: float,
                      mask_id: int, rule: str, value: float, proxy: str = "confidence",
                      pad_id: int | None = None, generator=None, trace: bool = False,
                      width: int | None = None) -> Generation:
    """Parallel decoding (paper Sec. 5): like `generate`, but each step commits as many
    tokens as `rule` allows (`chosen_candidates`) among the masked positions of the
    row's current block (the block of its left-most masked position), ranked by the
    error proxy (confidence, entropy or margin). A row leaves the batch when its answer
    is complete; `Generation.nfe[i]` counts the forward passes row i took."""
    if gen_length % block_length:
        raise ValueError("block_length must divide gen_length")
    if proxy not in PROXIES:
        raise ValueError(f"unknown error proxy {proxy!r}; known: {sorted(PROXIES)}")
    x, attention_mask, lengths = initial_state(model, prompts, gen_length, mask_id, pad_id, width)
    b, p, device = x.shape[0], x.shape[1] - gen_length, x.device
    nfe = torch.zeros(b, dtype=torch.long, device=device)
    record = empty_trace(b, gen_length, device) if trace else None
    rank, choose = ranker(PROXIES[proxy]), parallel_commits(rule, value)
    while True:
        masked = x[:, p:] == mask_id
        active = masked.any(1).nonzero().flatten()
        if len(active) == 0:
            break
        start = masked[active].long().argmax(1) // block_length * block_length
        cols = p + start[:, None] + torch.arange(block_length, device=device)  # (a, block)
        rows_mask = None if attention_mask is None else attention_mask[active]
        logits = logits_at(model, x[active], cols, rows_mask)
        rows_generator = [generator[i] for i in active.tolist()] if isinstance(generator, list) else generator
        commit_step(x, active[:, None], cols, logits, offset=p, mask_id=mask_id, temperature=temperature,
                    generator=rows_generator, rank=rank, choose=choose, record=record, step=nfe[active, None])
        nfe[active] += 1
    return Generation(x, lengths, gen_length, record, nfe)


def parallel_commits(rule: str, value: float):
    """The parallel rules' choice: each row's still-masked candidates sorted best first
    by the error proxy's ranking, of which `chosen_candidates` commits a prefix."""
    def choose(ranking, still_masked, probs, tokens):
        ent, conf = entropy(probs), confidence(probs, tokens)
        commit = torch.zeros_like(still_masked)
        for r in range(len(ranking)):
            order = ranking[r].argsort(descending=True)[: int(still_masked[r].sum())]
            commit[r, order[chosen_candidates(ent[r, order], conf[r, order], rule, value)]] = True
        return commit
    return choose


def empty_trace(b: int, gen_length: int, device) -> dict:
    return {f: torch.zeros(b, gen_length, device=device,
                           dtype=torch.float64 if f in ("entropy", "confidence") else torch.long)
            for f in TRACE_FIELDS}


def trace_values(probs: torch.Tensor, tokens: torch.Tensor, step: torch.Tensor) -> dict:
    """The TRACE_FIELDS of the sampled `tokens` under `probs`, with their commit `step`."""
    return {"step": step, "entropy": entropy(probs), "confidence": confidence(probs, tokens), "token": tokens}


def encode_prompts(tokenizer, texts: list[str]) -> list[list[int]]:
    """Token ids of model-input texts (chat templates already carry special tokens)."""
    return [tokenizer(t, add_special_tokens=False).input_ids for t in texts]


def decode_answer(tokenizer, answer_ids: list[int]) -> str:
    """Text of a generated answer: up to the first EOS, special tokens dropped."""
    eos = tokenizer.eos_token_id
    if eos in answer_ids:
        answer_ids = answer_ids[:answer_ids.index(eos)]
    return tokenizer.decode(answer_ids, skip_special_tokens=True)
