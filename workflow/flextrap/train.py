"""JustGRPO training (paper Sec. 4, Table 3): AR-order rollouts, exact AR likelihood.

Each step takes `prompts_per_step` training prompts (consecutive slices of a per-epoch
permutation: the data order is a function of the seed and the step), draws
`group_size` rollouts per prompt in AR order (block 1; every rollout has its own seed
from the step and its index), grades them, and makes one policy update with the
GRPO loss of `flextrap.grpo` (micro-batches accumulate into one optimizer step; the
sequences with zero advantage add nothing to the loss and are skipped). A
checkpoint (accelerate state: model, optimizer, RNG) is written every
`checkpoint_every` steps (`flextrap.checkpoints`); a rerun resumes from the latest one, so no
step is repeated or skipped. The final model is written with `save_pretrained`, beside
`train_log.csv` (one row per step) and `heldout_log.csv`: greedy accuracy on held-out
problems before the first step and every `heldout.every` steps, against steps and
training wall-clock (which leaves the evaluations out; `flextrap.heldout`).
"""
from __future__ import annotations

import functools
import json
import shutil
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

from . import provenance
from .checkpoints import checkpoint_root, latest_checkpoint, save_checkpoint
from .errors import FlextrapError
from .graders import grade, reward
from .grpo import ar_logprobs, group_advantages, grpo_loss, top_entropy_positions
from .heldout import heldout_accuracy
from .jsonl import atomic_dir, read_jsonl, write_csv
from .models import enable_activation_checkpointing, load_model, use_full_forward
from .sample import honours_padding, length_batches, make_jobs, pad_id_of
from .sampling import decode_answer, generate, left_pad

HELDOUT_FIELDS = ["run", "step", "train_seconds", "accuracy", "problems", "eval_seconds"]
LOG_FIELDS = ["run", "step", "mean_reward", "nonzero_adv_groups", "loss", "grad_norm", "tokens_per_s", "seconds",
              "rollout_seconds"]


def step_prompts(records: list, step: int, per_step: int, seed: int) -> list:
    """The prompts of training step `step` (0-based)."""
    steps_per_epoch = len(records) // per_step
    if steps_per_epoch == 0:
        raise FlextrapError(f"justgrpo.prompts_per_step={per_step} exceeds the {len(records)} training prompts")
    epoch, i = divmod(step, steps_per_epoch)
    perm = torch.randperm(len(records), generator=torch.Generator().manual_seed(seed + epoch))
    return [records[j] for j in perm[i * per_step:(i + 1) * per_step].tolist()]


def decoding_order(s: dict, device) -> torch.Tensor | None:
    """None for AR order; JustGRPO-Random's fixed permutation of the answer positions."""
    if s["order"] == "ar":
        return None
    return torch.randperm(s["gen_length"], generator=torch.Generator().manual_seed(s["seed"])).to(device)


def without_common_padding(prompt_ids: torch.Tensor, attention_mask):
    """Drop the left-padding columns every row has; no mask when none is left."""
    if attention_mask is None:
        return prompt_ids, None
    first = int(attention_mask.any(0).long().argmax())
    attention_mask = attention_mask[:, first:]
    return prompt_ids[:, first:], None if bool(attention_mask.all()) else attention_mask


@torch.no_grad()
def rollouts(model, tokenizer, prompts: list, task: str, s: dict, step: int, order, device, mixed: bool) -> dict:
    """`group_size` graded samples per prompt, grouped consecutively (each sample has
    its own generator, so grouping by prompt length changes none of them)."""
    jobs = make_jobs(tokenizer, prompts, s["template"], s["group_size"], s["seed"], key=f"step{step}/")
    generators = [torch.Generator(device).manual_seed(j.seed) for j in jobs]
    priority = None if order is None else -(torch.argsort(order)).double()  # rank 0 first
    pad_id = pad_id_of(tokenizer)
    answers = torch.empty(len(jobs), s["gen_length"], dtype=torch.long, device=device)
    entropy = torch.empty(len(jobs), s["gen_length"], device=device)
    for group in length_batches([len(j.prompt_ids) for j in jobs], len(jobs), mixed):
        gen = generate(model, [jobs[i].prompt_ids for i in group], gen_length=s["gen_length"],
                       steps=s["gen_length"], block_length=1 if order is None else s["gen_length"],
                       temperature=s["rollout_temperature"], remasking="low_confidence",
                       mask_id=tokenizer.mask_token_id, pad_id=pad_id, generator=[generators[i] for i in group],
                       trace=True, priority=priority)
        answers[group], entropy[group] = gen.answers, gen.trace["entropy"].float()
    texts = [decode_answer(tokenizer, a) for a in answers.tolist()]
    rewards = torch.tensor([reward(task, grade(task, j.record, t, s["code_limits"])) for j, t in zip(jobs, texts)])
    prompt_ids, prompt_mask = left_pad([j.prompt_ids for j in jobs], pad_id)
    attention_mask = None if prompt_mask is None else torch.cat(
        [prompt_mask, prompt_mask.new_ones(len(jobs), s["gen_length"])], 1)
    return {"prompt_ids": prompt_ids.to(device), "completions": answers,
            "attention_mask": None if attention_mask is None else attention_mask.to(device),
            "entropy": entropy, "rewards": rewards}


def micro_batches(batch: dict, adv: torch.Tensor, s: dict, mixed: bool) -> list[list[int]]:
    """The rows of each micro-batch: the sequences with non-zero advantage (the others
    add nothing to the loss), one prompt length per micro-batch unless the model honours
    left padding (`mixed`)."""
    active = adv.nonzero().flatten().tolist()
    mask = batch["attention_mask"]
    lengths = [0] * len(active) if mask is None else mask[active].sum(1).tolist()
    return [[active[i] for i in batch] for batch in length_batches(lengths, s["micro_batch"], mixed)]


def micro_batch_loss(model, batch: dict, rows: list[int], adv: torch.Tensor, s: dict, mask_id: int, order,
                     n_active: int, n_processes: int) -> torch.Tensor:
    """The GRPO loss of one micro-batch. Gradients are averaged across processes, hence
    the factor `n_processes`: the sum over processes is then the loss of the whole step."""
    positions = None
    if s["top_entropy_fraction"] < 1:
        positions = top_entropy_positions(batch["entropy"][rows], s["top_entropy_fraction"])
        positions = positions.to(batch["completions"].device)
    mask = batch["attention_mask"]
    prompt_ids, am = without_common_padding(batch["prompt_ids"][rows], None if mask is None else mask[rows])
    logp = ar_logprobs(model, prompt_ids, batch["completions"][rows], mask_id,
                       chunk=s["logprob_chunk"], attention_mask=am, order=order, positions=positions)
    return n_processes * grpo_loss(logp, logp.detach(), adv[rows].to(logp.device), clip_eps=s["clip_eps"],
                                   gen_length=s["gen_length"], token_mask=positions, n_active=n_active)


def train_step(accelerator, model, optimizer, tokenizer, records, task, s, step, order, mixed) -> dict:
    t0 = time.time()
    device = accelerator.device
    mine = step_prompts(records, step, s["prompts_per_step"], s["seed"])[accelerator.process_index::
                                                                         accelerator.num_processes]
    model.eval()
    batch = rollouts(model, tokenizer, mine, task, s, step, order, device, mixed)
    rollout_seconds = time.time() - t0
    groups = batch["rewards"].view(-1, s["group_size"])
    nonzero = (groups.std(1) > 0).float()
    adv = group_advantages(groups, s["adv_eps"]).flatten()
    n_active = int(accelerator.gather(torch.tensor([int((adv != 0).sum())], device=device)).sum())
    model.train()
    optimizer.zero_grad(set_to_none=True)
    total, plan = 0.0, micro_batches(batch, adv, s, mixed)
    # Every process makes the same number of backward passes (each one synchronises
    # gradients under DDP and FSDP); a process with fewer micro-batches adds zero losses.
    passes = int(accelerator.gather(torch.tensor([len(plan)], device=device)).max())
    for i in range(passes):
        loss = micro_batch_loss(model, batch, plan[i] if i < len(plan) else [0], adv, s, tokenizer.mask_token_id,
                                order, n_active, accelerator.num_processes)
        if i >= len(plan):
            loss = loss * 0.0
        accelerator.backward(loss)
        total += loss.item() / accelerator.num_processes
    grad_norm = accelerator.clip_grad_norm_(model.parameters(), s["grad_clip"])
    optimizer.step()
    stats = accelerator.gather(torch.stack([batch["rewards"].mean(), nonzero.mean()]).to(device)[None]).mean(0)
    seconds = time.time() - t0
    tokens = len(batch["rewards"]) * s["gen_length"] * accelerator.num_processes
    return {"run": s.get("run", ""), "step": step + 1, "mean_reward": round(stats[0].item(), 4), "nonzero_adv_groups": round(stats[1].item(), 4),
            "loss": round(total, 6), "grad_norm": round(float(grad_norm), 5),
            "tokens_per_s": round(tokens / seconds, 1), "seconds": round(seconds, 2),
            "rollout_seconds": round(rollout_seconds, 2)}


def save_state(accelerator, path: Path) -> None:
    accelerator.save_state(str(path), safe_serialization=False)  # tied BERT weights


def save_final(accelerator, model, tokenizer, out: Path, s: dict, logs: dict, seconds: float, **extra) -> None:
    accelerator.wait_for_everyone()
    state = accelerator.get_state_dict(model)
    if not accelerator.is_main_process:
        return
    with atomic_dir(out) as tmp:
        accelerator.unwrap_model(model).save_pretrained(tmp, state_dict=state)
        tokenizer.save_pretrained(tmp)
        write_csv(tmp / "train_log.csv", logs["log"], LOG_FIELDS)
        write_csv(tmp / "heldout_log.csv", logs["heldout_log"], HELDOUT_FIELDS)
        provenance.write(tmp / "provenance.json", "train_justgrpo", s, train_seconds=round(seconds, 1),
                         processes=accelerator.num_processes, **extra)


def evaluate_heldout(accelerator, model, tokenizer, heldout: list | None, s: dict, step: int, mixed: bool,
                     train_seconds: float) -> dict | None:
    """One row of heldout_log.csv when step `step` is an evaluation point (step 0, every
    `heldout.every` steps, the last step), else None."""
    if heldout is None or not (step % s["heldout"]["every"] == 0 or step == s["steps"]):
        return None
    t0 = time.time()
    model.eval()
    accuracy, problems = heldout_accuracy(accelerator, model, tokenizer, heldout, s, mixed)
    row = {"run": s.get("run", ""), "step": step, "train_seconds": round(train_seconds, 2),
           "accuracy": round(accuracy, 4), "problems": problems, "eval_seconds": round(time.time() - t0, 2)}
    if accelerator.is_main_process:
        tqdm.write(json.dumps({"heldout": row}), file=sys.stderr)
    return row


def train(spec: dict, data: str, task: str, s: dict, out: str, stop_after: int | None = None,
          heldout: str | None = None) -> list[dict]:
    """Train and save to `out`; returns the per-step log. `heldout`: the test records
    evaluated during training (settings `heldout`). `stop_after` ends the run after
    that many steps without saving the final model (used to test resuming)."""
    from accelerate import Accelerator, DistributedDataParallelKwargs

    # No buffer broadcast in every forward: the model's buffers are constants, and the
    # processes make different numbers of forward passes (rollout and chunk counts differ).
    ddp = DistributedDataParallelKwargs(broadcast_buffers=False)
    accelerator = Accelerator(cpu=s.get("device") == "cpu", kwargs_handlers=[ddp])
    model, tokenizer = load_model(spec, str(accelerator.device))  # each process its own GPU
    if s["activation_checkpointing"]:
        accelerator.print(f"activation checkpointing: {enable_activation_checkpointing(model)}")
    records = read_jsonl(data, required=("id", "prompts"))
    heldout_records = read_jsonl(heldout, required=("id", "prompts")) if heldout and "heldout" in s else None
    first_prompt = make_jobs(tokenizer, records[:1], s["template"], 1, s["seed"])[0].prompt_ids
    mixed = honours_padding(model, tokenizer, first_prompt)  # else one prompt length per batch
    optimizer = torch.optim.AdamW(model.parameters(), lr=s["lr"], weight_decay=s["weight_decay"],
                                  betas=tuple(s["betas"]))
    model, optimizer = accelerator.prepare(model, optimizer)
    if accelerator.distributed_type.name == "FSDP":
        use_full_forward(model)
    ckpt_root, settings_hash = checkpoint_root(out), provenance.config_hash(s)
    path, meta = latest_checkpoint(ckpt_root, settings_hash, {"step": 0, "log": [], "heldout_log": [], "elapsed": 0.0})
    if path is not None:
        accelerator.load_state(str(path))
        accelerator.print(f"resuming after step {meta['step']} from {path}")
    logs, start = {"log": meta["log"], "heldout_log": meta.get("heldout_log", [])}, meta["step"]
    order = decoding_order(s, accelerator.device)
    t0 = time.time() - meta["elapsed"]  # training time only: evaluations move t0 forward
    end = s["steps"] if stop_after is None else min(s["steps"], start + stop_after)
    bar = tqdm(range(start, end), initial=start, total=s["steps"], desc="justgrpo", mininterval=5,
               disable=not accelerator.is_main_process)
    for step in bar:
        if step == 0 and (row := evaluate_heldout(accelerator, model, tokenizer, heldout_records, s, 0, mixed, 0.0)):
            logs["heldout_log"].append(row)
            t0 += row["eval_seconds"]
        row = train_step(accelerator, model, optimizer, tokenizer, records, task, s, step, order, mixed)
        logs["log"].append(row)
        bar.set_postfix(reward=row["mean_reward"], tok_s=row["tokens_per_s"])
        if accelerator.is_main_process:
            tqdm.write(json.dumps(row), file=sys.stderr)
        if row := evaluate_heldout(accelerator, model, tokenizer, heldout_records, s, step + 1, mixed,
                                   time.time() - t0):
            logs["heldout_log"].append(row)
            t0 += row["eval_seconds"]
        if (step + 1) % s["checkpoint_every"] == 0 or step + 1 == end:
            save_checkpoint(ckpt_root, step + 1, {**logs, "elapsed": time.time() - t0}, settings_hash,
                            functools.partial(save_state, accelerator), accelerator.is_main_process)
            accelerator.wait_for_everyone()
    if end == s["steps"]:
        save_final(accelerator, model, tokenizer, Path(out), s, logs, time.time() - t0, model_spec=spec,
                   data=data, task=task, heldout=heldout)
        if accelerator.is_main_process:
            shutil.rmtree(ckpt_root, ignore_errors=True)
    return logs["log"]
