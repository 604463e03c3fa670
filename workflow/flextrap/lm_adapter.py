"""lm-evaluation-harness's model interface (`lm_eval.api.model.LM`) for masked-diffusion
models: general capability before and after JustGRPO (paper Table 6).

- `loglikelihood(context, continuation)`: with `loglikelihood: ar` (the default), the
  exact AR-order log-likelihood of the continuation, the policy JustGRPO trains
  (`grpo.ar_logprobs`: continuation token k predicted from the context and tokens < k,
  the rest of the continuation masked); with `monte_carlo`, LLaDA's estimate of the
  masked-diffusion bound (`mc_loglikelihood`, `mc_samples` draws), as LLaDA scores its
  likelihood benchmarks. `is_greedy`: every continuation token is the argmax of its
  AR-order conditional.
- `loglikelihood_rolling(text)`: the AR-order log-likelihood of the whole text after
  the tokenizer's BOS (or EOS) token.
- `generate_until(context, gen_kwargs)`: the project's sampler (`sample.answered`) with
  the configured decoder, order, length, temperature, batch size and early exit, cut
  before the first stop string.

Requests of equal context and continuation lengths share a batch, so no row is padded.
"""
from __future__ import annotations

from collections import defaultdict

import torch
from lm_eval.api.model import LM
from tqdm import tqdm

from .grpo import ar_logprobs
from .models import full_logits
from .sample import Job, answered
from .sampling import decode_answer, model_device


def mc_loglikelihood(model, prompt_ids: torch.Tensor, completion_ids: torch.Tensor, mask_id: int, samples: int,
                     batch_size: int, generator: torch.Generator) -> float:
    """LLaDA's Monte-Carlo estimate of log p(completion | prompt) for one pair (1-D id
    tensors): in each of `samples // batch_size` batches, row i masks x_i of the L
    completion tokens at random, x_i stratified over 1..L from a random offset; the
    masked tokens' log-probabilities, each weighted by L / x_i, are summed per row and
    averaged over rows and batches (the bound's estimate, not an exact likelihood)."""
    L, device = len(completion_ids), completion_ids.device
    full = torch.cat([prompt_ids, completion_ids])
    if L == 1:  # every draw masks the one token: one row is the exact value (MMLU's letters)
        samples = batch_size = 1
    total, batches = 0.0, max(samples // batch_size, 1)
    for _ in range(batches):
        k = int(torch.randint(1, L + 1, (), generator=generator))
        counts = (torch.round(torch.linspace(k, k + (batch_size - 1) * L / batch_size, batch_size)).long() - 1) % L + 1
        ranks = torch.stack([torch.randperm(L, generator=generator) for _ in range(batch_size)]).to(device)
        masked = ranks < counts.to(device)[:, None]
        rows = full.repeat(batch_size, 1)
        rows[:, len(prompt_ids):][masked] = mask_id
        logp = full_logits(model, rows)[:, len(prompt_ids):].float().log_softmax(-1)
        token_logp = logp.gather(-1, completion_ids.repeat(batch_size, 1)[..., None]).squeeze(-1)
        total += float((token_logp * masked * (L / counts.to(device)[:, None])).sum() / batch_size)
    return total / batches


class DiffusionLM(LM):
    """A loaded model and tokenizer under settings `s`: `loglikelihood` (ar or
    monte_carlo), `mc_samples`, `mc_batch`, `batch_size`, `chunk` (rows per forward pass
    of the AR likelihood), `seed`, and `decoder`, `sampler` and `early_exit` (as a
    sampling job's)."""

    def __init__(self, model, tokenizer, s: dict):
        super().__init__()
        self.model, self.tokenizer, self.s = model, tokenizer, s
        self.mask_id, self.model_device = tokenizer.mask_token_id, model_device(model)

    def encode_pair(self, context: str, continuation: str) -> tuple[list[int], list[int]]:
        """Context and continuation ids, split where the context's own encoding ends (the
        whole text is encoded once, so a word spanning the boundary is one token)."""
        whole = self.tokenizer(context + continuation, add_special_tokens=False).input_ids
        n = len(self.tokenizer(context, add_special_tokens=False).input_ids) if context else 0
        if not context:
            whole = [self.start_id()] + whole
            n = 1
        return whole[:n], whole[n:]

    def start_id(self) -> int:
        tok = self.tokenizer
        return tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id

    @torch.no_grad()
    def score_pairs(self, pairs: list[tuple[list[int], list[int]]]) -> list[tuple[float, bool]]:
        """(log-likelihood, is_greedy) of each (context ids, continuation ids) pair."""
        groups = defaultdict(list)
        for i, (ctx, cont) in enumerate(pairs):
            groups[(len(ctx), len(cont))].append(i)
        out = [None] * len(pairs)
        for indices in tqdm(list(groups.values()), desc="loglikelihood", unit="group", mininterval=10):
            for start in range(0, len(indices), self.s["batch_size"]):
                batch = indices[start:start + self.s["batch_size"]]
                for i, scored in zip(batch, self.score_batch([pairs[i] for i in batch])):
                    out[i] = scored
        return out

    def score_batch(self, pairs: list) -> list[tuple[float, bool]]:
        prompt = torch.tensor([p for p, _ in pairs], device=self.model_device)
        completion = torch.tensor([c for _, c in pairs], device=self.model_device)
        wanted, first = shared_steps(pairs)
        logp, greedy = ar_logprobs(self.model, prompt, completion, self.mask_id, chunk=self.s["chunk"],
                                   positions=wanted.to(self.model_device), with_greedy=True)
        rows, steps = first.unbind(-1)
        logp, greedy = logp[rows, steps], greedy[rows, steps]
        if self.s["loglikelihood"] == "ar":
            return [(float(lp.sum()), bool(g.all())) for lp, g in zip(logp, greedy)]
        gen = torch.Generator().manual_seed(self.s["seed"])
        return [(mc_loglikelihood(self.model, p, c, self.mask_id, self.s["mc_samples"], self.s["mc_batch"], gen),
                 bool(g.all())) for p, c, g in zip(prompt, completion, greedy)]

    def loglikelihood(self, requests) -> list[tuple[float, bool]]:
        return self.score_pairs([self.encode_pair(*r.args) for r in requests])

    def loglikelihood_rolling(self, requests) -> list[float]:
        pairs = [([self.start_id()], self.tokenizer(r.args[0], add_special_tokens=False).input_ids) for r in requests]
        return [lp for lp, _ in self.score_pairs(pairs)]

    @torch.no_grad()
    def generate_until(self, requests) -> list[str]:
        """Every request's answer from the project's sampler (`sample.answered`: the
        configured decoder, batch size and early exit), each row seeded `seed`, cut
        before the first stop string."""
        jobs = [Job({"id": i}, 0, self.s["seed"], self.tokenizer(r.args[0], add_special_tokens=False).input_ids)
                for i, r in enumerate(requests)]
        texts = [None] * len(jobs)
        bar = tqdm(total=len(jobs), desc="generate_until", unit="request", mininterval=10)
        for rows in answered(self.model, self.tokenizer, jobs, self.s):
            for job, answer, _, _ in rows:
                texts[job.record["id"]] = cut_at_stop(decode_answer(self.tokenizer, answer),
                                                      requests[job.record["id"]].args[1].get("until"))
            bar.update(len(rows))
        return texts


def shared_steps(pairs: list[tuple[list[int], list[int]]]) -> tuple[torch.Tensor, torch.Tensor]:
    """AR step k of a pair (its input: the context, the first k continuation tokens, the
    rest masked; its target: token k) is the same computation for every pair with the
    same context and first k + 1 tokens, as the choices of one question share their
    start. Returns `wanted` (pairs, L) bool, the steps to compute, and `first` (pairs, L,
    2), the (pair, step) whose result each step takes."""
    seen, first = {}, []
    for i, (ctx, cont) in enumerate(pairs):
        first.append([seen.setdefault((tuple(ctx), tuple(cont[:k + 1])), (i, k)) for k in range(len(cont))])
    first = torch.tensor(first, dtype=torch.long)
    steps = torch.arange(first.shape[1])
    return (first[..., 0] == torch.arange(len(pairs))[:, None]) & (first[..., 1] == steps), first


def cut_at_stop(text: str, until) -> str:
    """`text` up to the earliest of the stop strings `until` (a string or a list)."""
    stops = [until] if isinstance(until, str) else list(until or [])
    ends = [text.find(s) for s in stops if s and s in text]
    return text[:min(ends)] if ends else text
