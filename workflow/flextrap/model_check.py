"""A base model's Pass@1 on a task's test split under one sampler (its model card).

    python -m flextrap.model_check --model '<json model spec>' --data results/data/synthetic/test.jsonl \
        --task synthetic --settings '<json>' --out results/models/tiny/pass1.json

Pass@1 is the unbiased estimate: the mean over problems of (correct samples / n).
"""
from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path

import torch
from tqdm import tqdm

from . import provenance
from .cli import cli_entry, parse_args
from .graders import grade
from .jsonl import read_jsonl
from .metrics import mean_pass_at_k
from .models import load_model, set_threads
from .prompts import model_input_text
from .sampling import decode_answer, encode_prompts, generate, model_device, padding_is_exact


def plan_batches(jobs: list, batch_size: int, mixed_lengths: bool) -> list[list]:
    """Batches of (record, prompt ids) jobs: in order when left padding is exact for the
    model, else prompts of equal length together."""
    groups = defaultdict(list)
    for job in jobs:
        groups[0 if mixed_lengths else len(job[1])].append(job)
    return [group[i:i + batch_size] for group in groups.values() for i in range(0, len(group), batch_size)]


def sample_and_grade(model, tokenizer, records, task, s, generator) -> list[dict]:
    """n samples per record, graded."""
    texts = [model_input_text(tokenizer, r["prompts"][s["template"]], s["template"]) for r in records]
    jobs = [(r, ids) for r, ids in zip(records, encode_prompts(tokenizer, texts))
            for _ in range(s["n_samples"])]
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    lengths_differ = len({len(ids) for _, ids in jobs}) > 1
    mixed = lengths_differ and padding_is_exact(model, pad_id, tokenizer.mask_token_id, jobs[0][1])
    if lengths_differ and not mixed:
        print("model ignores attention_mask (padded logits differ): batching prompts by length")
    out = []
    bar = tqdm(total=len(jobs), desc="sampling", mininterval=10)
    for batch in plan_batches(jobs, s["batch_size"], mixed):
        gen = generate(model, [ids for _, ids in batch], mask_id=tokenizer.mask_token_id, pad_id=pad_id,
                       generator=generator, **s["sampler"])
        for (record, _), answer in zip(batch, gen.answers.tolist()):
            text = decode_answer(tokenizer, answer)
            verdict = grade(task, record, text, s["code_limits"])
            out.append({"id": record["id"], "text": text, **verdict.as_dict()})
        bar.update(len(batch))
    bar.close()
    return out


@cli_entry
def main(argv=None) -> None:
    args = parse_args(__doc__, ["model", "data", "task", "settings", "out"], argv, threads=True)
    s, spec = json.loads(args.settings), json.loads(args.model)
    set_threads(args.threads)
    model, tokenizer = load_model(spec, s.get("device", "auto"))
    records = read_jsonl(args.data, required=("id", "prompts"))[: s["max_problems"]]
    generator = torch.Generator(model_device(model)).manual_seed(s["seed"])
    t0 = time.time()
    samples = sample_and_grade(model, tokenizer, records, args.task, s, generator)
    seconds = time.time() - t0
    counts = defaultdict(lambda: [0, 0])
    for sample in samples:
        counts[sample["id"]][0] += 1
        counts[sample["id"]][1] += sample["correct"]
    result = {"pass@1": round(mean_pass_at_k([tuple(c) for c in counts.values()], 1), 4),
              "problems": len(counts), "samples_per_problem": s["n_samples"],
              "seconds": round(seconds, 1), "examples": samples[:5],
              "protocol": provenance.record("model_check", s, model=spec, data=args.data, task=args.task)}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"{args.task}: pass@1 = {result['pass@1']:.3f} over {len(counts)} problems "
          f"x {s['n_samples']} samples ({seconds:.0f} s)")


if __name__ == "__main__":
    main()
