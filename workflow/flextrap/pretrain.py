"""Pretrain the embedded default's tiny masked-diffusion model (LLaDA SFT objective).

Resumable: a checkpoint (model, optimizer, data and torch RNG) is written every
`checkpoint_every` steps (`flextrap.checkpoints`); a rerun with the same settings
continues from it.
"""
from __future__ import annotations

import json
import math
import shutil
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

from . import provenance
from .checkpoints import checkpoint_root, latest_checkpoint, save_checkpoint
from .errors import FlextrapError
from .jsonl import atomic_dir, read_jsonl, write_csv
from .models import build_tiny_model, build_word_tokenizer, count_parameters, full_logits, set_threads
from .prompts import model_input_text
from .sampling import left_pad
from .sft import noised_batch, sft_loss


def encode(records: list[dict], tokenizer, template: str, gen_length: int, max_length: int):
    """(input_ids, answer_mask, attention_mask): left-padded prompt + answer padded with EOS."""
    prompts = [tokenizer(model_input_text(tokenizer, r["prompts"][template], template),
                         add_special_tokens=False).input_ids for r in records]
    answers = [tokenizer(r["solution"], add_special_tokens=False).input_ids for r in records]
    too_long = max(len(a) for a in answers) + 1
    if too_long > gen_length:
        raise FlextrapError(f"pretrain.gen_length={gen_length} is shorter than the longest "
                            f"answer plus EOS ({too_long} tokens)")
    prompt_ids, prompt_mask = left_pad(prompts, tokenizer.pad_token_id)
    b, p = prompt_ids.shape
    if p + gen_length > max_length:
        raise FlextrapError(f"pretrain.max_length={max_length} is shorter than the longest prompt "
                            f"plus gen_length ({p} + {gen_length})")
    eos = tokenizer.eos_token_id
    answer_ids = torch.tensor([a + [eos] * (gen_length - len(a)) for a in answers])
    input_ids = torch.cat([prompt_ids, answer_ids], 1)
    answer_mask = torch.zeros_like(input_ids, dtype=torch.bool)
    answer_mask[:, p:] = True
    if prompt_mask is None:
        prompt_mask = torch.ones_like(prompt_ids)
    attention_mask = torch.cat([prompt_mask, torch.ones_like(answer_ids)], 1)
    return input_ids, answer_mask, attention_mask


def lr_at(step: int, s: dict) -> float:
    """Linear warm-up, then cosine decay to `final_lr_ratio` of the peak."""
    if step < s["warmup_steps"]:
        return s["lr"] * (step + 1) / s["warmup_steps"]
    progress = (step - s["warmup_steps"]) / max(1, s["steps"] - s["warmup_steps"])
    floor = s["final_lr_ratio"]
    return s["lr"] * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


def setup(train_path: str, s: dict):
    """(tokenizer, data, freshly initialized model) for settings `s`; data is
    (input_ids, answer_mask, attention_mask, answer_lengths) of every training record."""
    torch.manual_seed(s["seed"])
    records = read_jsonl(train_path, required=("prompts", "solution"))
    tokenizer = build_word_tokenizer(r["prompts"][s["template"]] + " " + r["solution"] for r in records)
    input_ids, answer_mask, attention_mask = encode(records, tokenizer, s["template"], s["gen_length"], s["max_length"])
    model = build_tiny_model(s["architecture"], tokenizer, max_length=s["max_length"])
    return tokenizer, (input_ids, answer_mask, attention_mask, answer_mask.sum(1)), model


def batch_loss(model, data, idx: torch.Tensor, mask_id: int, gen: torch.Generator) -> torch.Tensor:
    """The SFT loss (Eq. 5, `flextrap.sft`) of rows `idx` of `data` (from `setup`), noised with `gen`."""
    input_ids, answer_mask, attention_mask, answer_lengths = data
    noisy, masked, p_mask = noised_batch(input_ids[idx], answer_mask[idx], mask_id, gen)
    logits = full_logits(model, noisy, attention_mask[idx])
    return sft_loss(logits, input_ids[idx], masked, p_mask, answer_lengths[idx])


def train(train_path: str, out: str, s: dict, threads: int | None = None) -> dict:
    set_threads(threads)
    tokenizer, data, model = setup(train_path, s)
    opt = torch.optim.AdamW(model.parameters(), lr=s["lr"], weight_decay=s["weight_decay"],
                            betas=tuple(s["betas"]))
    gen = torch.Generator().manual_seed(s["seed"])
    ckpt_dir = checkpoint_root(out)
    start, log_rows, elapsed = resume(ckpt_dir, s, model, opt, gen)
    model.train()
    t0 = time.time() - elapsed
    bar = tqdm(range(start, s["steps"]), initial=start, total=s["steps"], desc="pretrain", mininterval=10)
    for step in bar:
        idx = torch.randint(len(data[0]), (s["batch_size"],), generator=gen)
        loss = batch_loss(model, data, idx, tokenizer.mask_token_id, gen)
        for group in opt.param_groups:
            group["lr"] = lr_at(step, s)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), s["grad_clip"])
        opt.step()
        if (step + 1) % s["log_every"] == 0:
            log_rows.append({"step": step + 1, "loss": round(loss.item(), 5), "lr": lr_at(step, s),
                             "seconds": round(time.time() - t0, 1)})
            bar.set_postfix(loss=f"{loss.item():.3f}")
            tqdm.write(json.dumps(log_rows[-1]), file=sys.stderr)
        if (step + 1) % s["checkpoint_every"] == 0 and step + 1 < s["steps"]:
            save_checkpoint(ckpt_dir, step + 1, {"log": log_rows, "elapsed": time.time() - t0},
                            provenance.config_hash(s), lambda path: save_state(path, model, opt, gen))
    seconds = time.time() - t0
    save_final(out, model, tokenizer, s, log_rows, seconds, train_path)
    shutil.rmtree(ckpt_dir, ignore_errors=True)
    return {"seconds": seconds, "parameters": count_parameters(model)}


def save_state(path: Path, model, opt, gen) -> None:
    path.mkdir(parents=True, exist_ok=True)
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "generator": gen.get_state(),
                "torch_rng": torch.get_rng_state()}, path / "state.pt")


def resume(ckpt_dir: Path, s, model, opt, gen):
    """(start step, log rows, seconds already spent) from a checkpoint with the same settings."""
    path, meta = latest_checkpoint(ckpt_dir, provenance.config_hash(s), {"step": 0, "log": [], "elapsed": 0.0})
    if path is not None:
        state = torch.load(path / "state.pt", weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        gen.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        print(f"resuming from step {meta['step']} ({path})")
    return meta["step"], meta["log"], meta["elapsed"]


def save_final(out, model, tokenizer, s, log_rows, seconds, train_path) -> None:
    model.eval()
    with atomic_dir(out) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        write_csv(tmp / "train_log.csv", log_rows, ["step", "loss", "lr", "seconds"])
        provenance.write(tmp / "provenance.json", "pretrain_tiny", s, train_data=str(train_path),
                         parameters=count_parameters(model), train_seconds=round(seconds, 1),
                         torch_threads=torch.get_num_threads())
