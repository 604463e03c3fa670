"""What a model gets right in a generated task's solution: masked-token accuracy by slot.

The task names its slots (`tasks.slot_layout`). In the synthetic task a solution step
is 13 words, `conn var = x op y = X op Y = Z .`, and the answer ends with `answer V`;
in the forks task a step is `move x + k = y .` (its `letters` style; `totals` writes
only `move = y .`) and the answer ends with `end V`. Each gold answer (padded with EOS
to `gen_length`) has its tokens masked with probability `mask_ratio` (the prompt is
kept, as in pretraining), and one forward pass predicts them all. The accuracy per
slot says what the model has learned: the template (`=`, `.`), the choice of the next
step (conn, var), copying a definition from the prompt (x, op, y), looking up a value
(X, Y, and op2, the operator again), the arithmetic (Z) and the final copy (V). A model
that ignores its prompt can do no better than each slot's marginal distribution.
"""
from __future__ import annotations

import torch

from . import provenance
from .jsonl import read_jsonl, write_json
from .models import full_logits, load_model, set_threads
from .pretrain import encode
from .sampling import model_device
from .tasks import slot_layout


def slot_accuracy(model, tokenizer, records: list[dict], s: dict) -> dict:
    """{slot: {"accuracy", "masked"}} over `records` (see module docstring), for every slot
    the records' solutions write (a forks `totals` step writes no `x` or `k`)."""
    max_length = getattr(model.config, "max_position_embeddings", 1 << 30)
    ids, answer_mask, attention = encode(records, tokenizer, s["template"], s["gen_length"], max_length)
    prompt_len = ids.shape[1] - s["gen_length"]
    names, slot_names = slot_layout(s["task"])
    slots = [slot_names(r["solution"]) for r in records]
    gen = torch.Generator().manual_seed(s["seed"])
    masked = (torch.rand(ids.shape, generator=gen) < s["mask_ratio"]) & answer_mask
    device = model_device(model)
    hits = {k: 0 for k in names}
    total = {k: 0 for k in names}
    for start in range(0, len(records), s["batch_size"]):
        rows = slice(start, start + s["batch_size"])
        noisy = torch.where(masked[rows], tokenizer.mask_token_id, ids[rows]).to(device)
        pred = full_logits(model, noisy, attention[rows].to(device)).argmax(-1).cpu()
        right = (pred == ids[rows]) & masked[rows]
        for i, row in enumerate(range(len(records))[rows]):
            for j, name in enumerate(slots[row]):
                if name and masked[row, prompt_len + j]:
                    total[name] += 1
                    hits[name] += int(right[i, prompt_len + j])
    written = {name for row in slots for name in row}  # a step style need not write every slot
    return {k: {"accuracy": round(hits[k] / total[k], 4) if total[k] else None, "masked": total[k]}
            for k in names if k in written}


def run(model_spec: dict, data: str, s: dict, out: str, threads: int | None = None) -> dict:
    set_threads(threads)
    model, tokenizer = load_model(model_spec, s.get("device", "auto"))
    records = read_jsonl(data, required=("prompts", "solution"))[: s["max_problems"]]
    result = {"mask_ratio": s["mask_ratio"], "problems": len(records),
              "slots": slot_accuracy(model, tokenizer, records, s)}
    write_json(out, {**result, "protocol": provenance.record("slot_probe", s, model=model_spec)})
    return result
