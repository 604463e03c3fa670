"""Preflight of a hub model: its fetched remote code, checked on the CPU in minutes,
before any GPU job that uses it is queued.

Builds a tiny random model (a few layers, small width, the real vocabulary) from the
fetched code and config with the model's family, saves it with its tokenizer, and
runs the checks every GPU stage relies on:
- `load`: it loads back through `models.load_model` (the compatibility fixes hold);
- `head_split`: `logits_at` (body once, output layer at a few positions) equals the
  full forward, with and without left padding;
- `padding`: the attention mask is honoured at the configured dtype (if not, the
  samplers batch prompts by length; reported, not a failure);
- `mixed_batch_ar`, `mixed_batch_arbitrary`: a batch of prompts of different lengths
  decodes (greedy) as each prompt alone, in AR order and in confidence order;
- `ar_logprobs`: JustGRPO's AR likelihood equals one full forward per position;
- `checkpointing`: one backward with activation checkpointing gives the gradients of
  one without.
A failed check is a one-line error naming it; the report lists every check.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch

from .errors import FlextrapError
from .families import family_of_type
from .grpo import ar_logprobs
from .models import (enable_activation_checkpointing, family_of_spec, full_logits, hub_kwargs, load_model,
                     load_tokenizer, logits_at)
from .sample import pad_id_of
from .sampling import generate, left_pad, padding_is_exact


class CheckFailed(Exception):
    pass


def build_tiny(spec: dict, s: dict, out: Path) -> dict:
    """Save a tiny random model of `spec`'s family and code, with its tokenizer, to
    `out`; returns the spec that loads it."""
    hub = hub_kwargs(spec)
    family = family_of_spec(spec, spec["hf_id"], hub)
    config = family.tiny_config(family.load_config(spec["hf_id"], hub), s["layers"], s["width"], s["heads"])
    torch.manual_seed(s["seed"])
    family.from_config(config, spec["hf_id"], hub).save_pretrained(out)
    load_tokenizer(spec).save_pretrained(out)
    keep = {k: spec[k] for k in ("family", "mask_token_id", "trust_remote_code") if k in spec}
    return {"path": str(out), **keep}


def prompts_of(tokenizer, s: dict) -> list[list[int]]:
    """Two prompts of different lengths, as the tokenizer encodes them."""
    ids = [tokenizer(t, add_special_tokens=False).input_ids for t in s["prompts"]]
    if len({len(i) for i in ids}) < 2:
        raise FlextrapError("preflight.prompts must encode to token lists of different lengths")
    return ids


def close(a: torch.Tensor, b: torch.Tensor, s: dict, what: str) -> float:
    gap = float((a.float() - b.float()).abs().max())
    if gap > s["atol"]:
        raise CheckFailed(f"{what} differ by {gap:.3g} (atol {s['atol']})")
    return gap


@torch.no_grad()
def check_head_split(model, tokenizer, prompts, s):
    ids, mask = (t.to(model.device) for t in left_pad(prompts, pad_id_of(tokenizer)))  # lengths differ
    gaps = []
    for m in (None, mask):
        full = full_logits(model, ids, m)
        gaps.append(close(logits_at(model, ids, slice(2, ids.shape[1]), m), full[:, 2:], s,
                          "logits_at and the full forward"))
    return {"max_abs_diff": max(gaps)}


@torch.no_grad()
def check_padding(model, tokenizer, prompts, s):
    model_dtype = getattr(torch, s["dtype"])
    honoured = padding_is_exact(model.to(model_dtype), pad_id_of(tokenizer), tokenizer.mask_token_id, prompts[0])
    model.to(torch.float32)
    return {"dtype": s["dtype"], "honoured": honoured}


@torch.no_grad()
def check_mixed_batch(model, tokenizer, prompts, s, order: str):
    block = 1 if order == "ar" else s["gen_length"]
    kw = dict(gen_length=s["gen_length"], steps=s["gen_length"], block_length=block, temperature=0.0,
              remasking="low_confidence", mask_id=tokenizer.mask_token_id, pad_id=pad_id_of(tokenizer))
    batch = generate(model, prompts, **kw).answers
    for row, prompt in enumerate(prompts):
        alone = generate(model, [prompt], **kw).answers[0]
        if not torch.equal(batch[row], alone):
            raise CheckFailed(f"prompt {row} decodes to {batch[row].tolist()} in a batch, {alone.tolist()} alone")
    return {"answers": batch.tolist()}


def per_position_logprobs(model, prompt, completion, mask_id):
    """log p(o_k | q, o_<k, masks) from one full forward per position (the reference)."""
    p, out = prompt.shape[1], []
    for k in range(completion.shape[1]):
        x = torch.cat([prompt, completion], 1).clone()
        x[:, p + k:] = mask_id
        out.append(full_logits(model, x)[:, p + k].float().log_softmax(-1)
                   .gather(-1, completion[:, k:k + 1]).squeeze(-1))
    return torch.stack(out, 1)


@torch.no_grad()
def check_ar_logprobs(model, tokenizer, prompts, s):
    prompt = torch.tensor([prompts[0]], device=model.device)
    completion = torch.randint(0, len(tokenizer), (1, s["gen_length"]), generator=torch.Generator().manual_seed(0))
    completion = completion.to(model.device)
    fast = ar_logprobs(model, prompt, completion, tokenizer.mask_token_id, chunk=3)
    return {"max_abs_diff": close(fast, per_position_logprobs(model, prompt, completion, tokenizer.mask_token_id),
                                  s, "ar_logprobs and the per-position computation")}


def check_checkpointing(model, tokenizer, prompts, s):
    prompt = torch.tensor([prompts[0]], device=model.device)
    completion = torch.randint(0, len(tokenizer), (1, s["gen_length"]), generator=torch.Generator().manual_seed(1))

    calls = [0]
    hooks = [m.register_forward_hook(lambda *_: calls.__setitem__(0, calls[0] + 1)) for m in model.modules()]

    def grads():
        model.zero_grad()
        loss = ar_logprobs(model, prompt, completion.to(model.device), tokenizer.mask_token_id).sum()
        before = calls[0]
        loss.backward()
        return [p.grad.clone() for p in model.parameters() if p.grad is not None], calls[0] - before

    model.train()
    plain, _ = grads()
    switch = enable_activation_checkpointing(model)
    checkpointed, recomputed = grads()
    model.eval()
    for hook in hooks:
        hook.remove()
    if recomputed == 0:
        raise CheckFailed(f"{switch} is on but the backward pass recomputed no module")
    if len(plain) != len(checkpointed) or not plain:
        raise CheckFailed(f"{len(checkpointed)} gradients with checkpointing, {len(plain)} without")
    gap = max(float((a - b).abs().max()) for a, b in zip(plain, checkpointed))
    if gap > s["atol"]:
        raise CheckFailed(f"gradients differ by {gap:.3g} with checkpointing ({switch})")
    return {"switch": switch, "max_abs_grad_diff": gap, "modules_recomputed": recomputed}


def run_checks(spec: dict, s: dict) -> dict:
    """The report of every check (see module docstring); CheckFailed names the first failure."""
    report = {}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.time()
        try:
            model, tokenizer = load_model(build_tiny(spec, s, Path(tmp)), device="cpu")
        except Exception as err:  # noqa: BLE001 - any load failure is this check's verdict
            raise CheckFailed(f"check 'load' failed: {type(err).__name__}: {err}".splitlines()[0]) from err
        model.float()
        report["load"] = {"ok": True, "seconds": round(time.time() - t0, 2), "class": type(model).__name__,
                          "family": family_of_type(model.config.model_type).name,
                          "parameters": sum(p.numel() for p in model.parameters())}
        prompts = prompts_of(tokenizer, s)
        args = (model, tokenizer, prompts, s)
        report["head_split"] = timed("head_split", check_head_split, *args)
        report["padding"] = timed("padding", check_padding, *args)
        for order in ("ar", "arbitrary"):
            report[f"mixed_batch_{order}"] = mixed_batch(report["padding"], order, *args)
        report["ar_logprobs"] = timed("ar_logprobs", check_ar_logprobs, *args)
        report["checkpointing"] = timed("checkpointing", check_checkpointing, *args)
    return report


def timed(name, check, *args):
    t0 = time.time()
    try:
        detail = check(*args)
    except CheckFailed as err:
        raise CheckFailed(f"check '{name}' failed: {err}") from None
    return {"ok": True, "seconds": round(time.time() - t0, 2), **detail}


def mixed_batch(padding: dict, order: str, model, tokenizer, prompts, s):
    """Skipped when the model ignores the mask: the samplers then never mix lengths."""
    if not padding["honoured"]:
        return {"ok": True, "skipped": "the model ignores attention_mask: prompts are batched by length"}
    return timed(f"mixed_batch_{order}", lambda *a: check_mixed_batch(*a, order), model, tokenizer, prompts, s)
