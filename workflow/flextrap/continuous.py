"""LLaDA's sampler (`sampling.generate`) with early exit and continuous batching.

A row leaves the batch as soon as its graded text is fixed: every answer position
before its first committed EOS is committed, so no later step can change what
`sampling.decode_answer` returns. Its slot then takes the next prompt, so the batch
stays full until the work runs out. Each row keeps its own block and step, draws from
its own generator in the same order as `generate` does, and every prompt is padded to
one width, so a row's answer, commit steps and text are those `generate(...,
width=width)` gives it, whatever rows share its batch; its logits, and so the
entropies and confidences of its trace, agree to float rounding (a CPU's BLAS rounds
a product differently by its number of rows, about 1e-7 here). Positions never
committed (after the exit) keep the mask token, and their trace step is -1.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .models import logits_at
from .orders import ranker
from .sampling import check_schedule, commit_step, empty_trace, model_device, num_transfer_tokens, padded_prompt, top_commits


@dataclass
class Finished:
    """A row whose text is fixed: its prompt's index in the input, its `gen_length`
    answer ids, its trace (`sampling.TRACE_FIELDS`, one value per answer position) and
    the forward passes it took."""
    index: int
    answer: list[int]
    trace: dict
    nfe: int


def text_is_fixed(answer: torch.Tensor, mask_id: int, eos_id: int | None) -> bool:
    """Is every position before the first committed EOS committed (all of them when no
    EOS is committed)? `answer` is one row's answer ids, mask_id where still masked."""
    committed = answer != mask_id
    eos = (answer == eos_id) & committed if eos_id is not None else torch.zeros_like(committed)
    end = int(eos.long().argmax()) if eos.any() else len(answer)
    return bool(committed[:end].all())


class Slots:
    """The batch: `size` rows of left-padded prompt + answer, each row with its prompt's
    index, generator, block, step within the block and forward passes so far."""

    def __init__(self, size: int, width: int, gen_length: int, mask_id: int, pad_id, masked: bool, device):
        self.width, self.mask_id, self.pad_id, self.device = width, mask_id, pad_id, device
        self.x = torch.full((size, width + gen_length), mask_id, dtype=torch.long, device=device)
        self.attention = torch.zeros_like(self.x) if masked else None
        self.job = [-1] * size
        self.generator = [None] * size
        self.block, self.step, self.nfe = [0] * size, [0] * size, [0] * size
        self.trace = empty_trace(size, gen_length, device)

    def fill(self, slot: int, index: int, prompt: list[int], seed: int) -> None:
        ids, attention = padded_prompt(prompt, self.width, self.pad_id)
        self.x[slot] = self.mask_id
        self.x[slot, :self.width] = torch.tensor(ids, device=self.device)
        if self.attention is not None:
            self.attention[slot] = 1
            self.attention[slot, :self.width] = torch.tensor(attention, device=self.device)
        self.job[slot], self.generator[slot] = index, torch.Generator(self.device).manual_seed(seed)
        self.block[slot] = self.step[slot] = self.nfe[slot] = 0
        for field in self.trace.values():
            field[slot] = 0
        self.trace["step"][slot] = -1

    def active(self) -> list[int]:
        return [s for s, j in enumerate(self.job) if j >= 0]


@torch.no_grad()
def generate_continuous(model, prompts: list[list[int]], seeds: list[int], *, batch_size: int, gen_length: int,
                        steps: int, block_length: int, temperature: float, remasking: str, mask_id: int,
                        eos_id: int | None, pad_id: int | None = None, width: int | None = None,
                        priority: torch.Tensor | None = None):
    """Yield, after each forward pass, the list of rows whose text became fixed
    (`Finished`, in slot order). `prompts[i]` is sampled with a generator seeded
    `seeds[i]`; `width` (with `pad_id`): pad every prompt to it and always pass the
    attention mask, as `generate(..., width=width)`; without it all prompts must have
    one length. `remasking` (or a fixed `priority`) ranks the candidates as in
    `sampling.generate`: every order of `orders.RANKINGS`."""
    check_schedule(gen_length, steps, block_length)
    if width is None and len({len(p) for p in prompts}) > 1:
        raise ValueError("prompts of different lengths need a width (and a pad_id)")
    num_blocks = gen_length // block_length
    schedule = num_transfer_tokens(torch.tensor([block_length]), steps // num_blocks)[0].tolist()
    slots = Slots(batch_size, width or len(prompts[0]), gen_length, mask_id, pad_id, width is not None,
                  model_device(model))
    rank, pending = ranker(remasking, priority), iter(range(len(prompts)))
    for slot in range(batch_size):
        _refill(slots, slot, pending, prompts, seeds)
    while active := slots.active():
        _step(model, slots, active, schedule, block_length, temperature, rank)
        done = []
        for slot in active:
            answer = slots.x[slot, slots.width:]
            if slots.block[slot] == num_blocks or text_is_fixed(answer, mask_id, eos_id):
                done.append(_finished(slots, slot))
                _refill(slots, slot, pending, prompts, seeds)
        yield done


def _refill(slots: Slots, slot: int, pending, prompts, seeds) -> None:
    index = next(pending, None)
    if index is None:
        slots.job[slot] = -1
    else:
        slots.fill(slot, index, prompts[index], seeds[index])


def _step(model, slots: Slots, active: list[int], schedule: list[int], block_length: int,
          temperature: float, rank) -> None:
    """One forward pass over the active rows, each committing its schedule's share of
    its current block (`sampling.commit_step`, as `sampling.generate` does)."""
    rows = torch.tensor(active, device=slots.device)
    block = torch.tensor([slots.block[s] for s in active], device=slots.device)
    cols = slots.width + block[:, None] * block_length + torch.arange(block_length, device=slots.device)
    attention = None if slots.attention is None else slots.attention[rows]
    logits = logits_at(model, slots.x[rows], cols, attention)
    commit_step(slots.x, rows[:, None], cols, logits, offset=slots.width, mask_id=slots.mask_id,
                temperature=temperature, generator=[slots.generator[s] for s in active], rank=rank,
                choose=top_commits([schedule[slots.step[s]] for s in active]), record=slots.trace,
                step=torch.tensor([slots.nfe[s] for s in active], device=slots.device)[:, None])
    for s in active:
        slots.nfe[s] += 1
        slots.step[s] += 1
        if slots.step[s] == len(schedule):
            slots.block[s], slots.step[s] = slots.block[s] + 1, 0


def _finished(slots: Slots, slot: int) -> Finished:
    trace = {f: slots.trace[f][slot].tolist() for f in ("step", "entropy", "confidence")}
    return Finished(slots.job[slot], slots.x[slot, slots.width:].tolist(), trace, slots.nfe[slot])
