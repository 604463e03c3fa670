"""Held-out accuracy during JustGRPO training (the paper's Fig. 9 concern: accuracy
against training steps and wall-clock).

Greedy decoding of the first `heldout.max_problems` test problems with the evaluation
sampler (`heldout.sampler`), split across processes (rank r takes problems r, r + N, ...)
and summed, so every process returns the same accuracy.
"""
from __future__ import annotations

import torch

from .sample import draw, graded_records, make_jobs, plan_batches


@torch.no_grad()
def heldout_accuracy(accelerator, model, tokenizer, records: list, s: dict, mixed: bool) -> tuple[float, int]:
    """(accuracy, problems) of the model on `records` (the held-out problems); `mixed`:
    prompts of different lengths may share a batch (`sample.honours_padding`)."""
    h = s["heldout"]
    mine = records[: h["max_problems"]][accelerator.process_index::accelerator.num_processes]
    correct = 0
    if mine:
        jobs = make_jobs(tokenizer, mine, h["template"], 1, s["seed"])
        for batch in plan_batches(jobs, h["batch_size"], mixed):
            gen = draw(model, tokenizer, batch, "llada", h["sampler"], trace=False)  # greedy, LLaDA's sampler
            correct += sum(r["verdict"]["correct"] for r in graded_records(batch, gen, tokenizer, h["task"],
                                                                             s["code_limits"]))
    totals = accelerator.gather(torch.tensor([[correct, len(mine)]], device=accelerator.device)).sum(0)
    return totals[0].item() / max(totals[1].item(), 1), int(totals[1].item())
