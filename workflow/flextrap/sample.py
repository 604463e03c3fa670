"""Draw n samples per problem under one decoding order, for one shard of the problems
(the paper's Sec. 3 Pass@k and entropy analyses start from these records).

    python -m flextrap.sample --model '<json model spec>' --data results/data/synthetic/test.jsonl \\
        --task synthetic --settings '<json>' --shard 0 --shards 4 \\
        --out results/samples/tiny/synthetic/ar/shard0.jsonl

One record per sample: problem id, sample index, seed, text, the answer's token ids,
the decode trace (commit step, entropy, confidence per generated position; see
`sampling.Generation`) and the grader's verdict. Every sample has its own seed (from
the run seed, the problem id and the sample index), so it reproduces whatever batch
it is drawn in. Finished batches are appended to `<out>.partial-<settings hash>`; a
killed run resumes there, and `<out>` appears only once the shard is complete.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

import torch
from tqdm import tqdm

from . import provenance
from .cli import cli_entry, parse_args
from .graders import grade
from .jsonl import read_jsonl, write_jsonl
from .models import load_model, set_threads
from .prompts import model_input_text
from .sampling import decode_answer, encode_prompts, generate, generate_parallel, model_device, padding_is_exact


class Job(NamedTuple):
    record: dict
    index: int
    seed: int
    prompt_ids: list


def shard_of(records: list, shard: int, shards: int) -> list:
    """Contiguous shard `shard` of `shards` (sizes differ by at most one)."""
    n = len(records)
    return records[shard * n // shards:(shard + 1) * n // shards]


def sample_seed(seed: int, problem_id: str, index: int) -> int:
    digest = hashlib.sha256(f"{seed}/{problem_id}/{index}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def make_jobs(tokenizer, records: list, template: str, n_samples: int, seed: int, key: str = "") -> list[Job]:
    """`n_samples` jobs per record; sample i of problem `id` gets the seed of `key` + id
    (training rollouts use key `step<N>/`, so every step draws fresh samples)."""
    texts = [model_input_text(tokenizer, r["prompts"][template], template) for r in records]
    return [Job(r, i, sample_seed(seed, key + r["id"], i), ids)
            for r, ids in zip(records, encode_prompts(tokenizer, texts)) for i in range(n_samples)]


def pad_id_of(tokenizer) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id


def length_batches(lengths: list[int], batch_size: int, mixed: bool) -> list[list[int]]:
    """Indices in batches of at most `batch_size`: in order when the model honours left
    padding (`mixed`), else one prompt length per batch (lengths in first-seen order)."""
    groups = defaultdict(list)
    for i, n in enumerate(lengths):
        groups[0 if mixed else n].append(i)
    return [group[i:i + batch_size] for group in groups.values() for i in range(0, len(group), batch_size)]


def plan_batches(jobs: list, batch_size: int, mixed_lengths: bool) -> list[list]:
    """Batches in job order when left padding is exact for the model, else prompts of
    equal length together."""
    return [[jobs[i] for i in batch]
            for batch in length_batches([len(j.prompt_ids) for j in jobs], batch_size, mixed_lengths)]


def model_label(model) -> str:
    """The model's hub id or directory, and the code revision it was loaded at."""
    config = getattr(model, "module", model).config
    revision = getattr(config, "_commit_hash", None) or "local"
    return f"{config._name_or_path or type(model).__name__} (revision {revision})"


def honours_padding(model, tokenizer, token_ids: list[int]) -> bool:
    """`sampling.padding_is_exact`, with a one-line warning naming the model when it
    does not hold (its batches are then grouped by prompt length)."""
    honoured = padding_is_exact(model, pad_id_of(tokenizer), tokenizer.mask_token_id, token_ids)
    if not honoured:
        print(f"warning: {model_label(model)} ignores attention_mask (padded logits differ): "
              "batching prompts by length", flush=True)
    return honoured


def batches_for(model, tokenizer, jobs: list, batch_size: int) -> list[list]:
    lengths_differ = len({len(j.prompt_ids) for j in jobs}) > 1
    mixed = lengths_differ and honours_padding(model, tokenizer, jobs[0].prompt_ids)
    return plan_batches(jobs, batch_size, mixed)


def draw(model, tokenizer, batch: list, sampler: dict, trace: bool):
    """One batch through LLaDA's sampler, or through the parallel one when `sampler`
    names a parallel `rule` (eb, top_k, threshold; `sampling.generate_parallel`)."""
    device = model_device(model)
    generators = [torch.Generator(device).manual_seed(j.seed) for j in batch]
    sample = generate_parallel if "rule" in sampler else generate
    return sample(model, [j.prompt_ids for j in batch], mask_id=tokenizer.mask_token_id,
                  pad_id=pad_id_of(tokenizer), generator=generators, trace=trace, **sampler)


def graded_records(batch: list, gen, tokenizer, task: str, code_limits: dict) -> list[dict]:
    out = []
    for row, (job, answer) in enumerate(zip(batch, gen.answers.tolist())):
        text = decode_answer(tokenizer, answer)
        record = {"id": job.record["id"], "sample": job.index, "seed": job.seed, "text": text,
                  "token_ids": answer, "verdict": grade(task, job.record, text, code_limits).as_dict()}
        if gen.nfe is not None:
            record["nfe"] = int(gen.nfe[row])
        if gen.trace is not None:
            record["trace"] = {"step": gen.trace["step"][row].tolist(),
                               "entropy": [round(v, 5) for v in gen.trace["entropy"][row].tolist()],
                               "confidence": [round(v, 5) for v in gen.trace["confidence"][row].tolist()]}
        out.append(record)
    return out


def resume(partial: Path, batches: list) -> tuple[list[dict], int]:
    """Records of the leading batches already in `partial` (a torn last write is dropped)."""
    if not partial.exists():
        return [], 0
    lines = partial.read_text(encoding="utf-8").split("\n")[:-1]  # text after the last newline is torn
    have = {}
    for line in lines:
        try:
            r = json.loads(line)
            have[(r["id"], r["sample"])] = r
        except (json.JSONDecodeError, KeyError):
            break
    kept, done = [], 0
    for batch in batches:
        keys = [(j.record["id"], j.index) for j in batch]
        if not all(k in have for k in keys):
            break
        kept += [have[k] for k in keys]
        done += 1
    write_jsonl(partial, kept)
    return kept, done


def append(path: Path, records: list[dict]) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
        f.flush()
        os.fsync(f.fileno())


def run_shard(model, tokenizer, records: list, task: str, s: dict, out: Path) -> list[dict]:
    jobs = make_jobs(tokenizer, records, s["template"], s["n_samples"], s["seed"])
    batches = batches_for(model, tokenizer, jobs, s["batch_size"]) if jobs else []
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f"{out.name}.partial-{provenance.config_hash(s)}")
    done_records, done = resume(partial, batches)
    if done:
        print(f"resuming: {done} of {len(batches)} batches already in {partial}", flush=True)
    bar = tqdm(total=len(jobs), initial=len(done_records), desc="samples", unit="sample", mininterval=10)
    solved = {r["id"] for r in done_records}
    for batch in batches[done:]:
        gen = draw(model, tokenizer, batch, s["sampler"], trace=True)
        new = graded_records(batch, gen, tokenizer, task, s["code_limits"])
        append(partial, new)
        done_records += new
        solved |= {r["id"] for r in new}
        bar.update(len(batch))
        bar.set_postfix(problems=f"{len(solved)}/{len(records)}")
    bar.close()
    write_jsonl(out, done_records)
    partial.unlink(missing_ok=True)
    return done_records


@cli_entry
def main(argv=None) -> None:
    args = parse_args(__doc__, ["model", "data", "task", "settings", "shard", "shards", "out"], argv,
                      threads=True)
    s, spec = json.loads(args.settings), json.loads(args.model)
    set_threads(args.threads)
    records = read_jsonl(args.data, required=("id", "prompts"))[: s["max_problems"]]
    records = shard_of(records, int(args.shard), int(args.shards))
    model, tokenizer = load_model(spec, s.get("device", "auto"))
    t0 = time.time()
    samples = run_shard(model, tokenizer, records, args.task, s, Path(args.out))
    provenance.write(f"{args.out}.provenance.json", "sample", s, model=spec, data=args.data,
                     task=args.task, shard=[int(args.shard), int(args.shards)],
                     seconds=round(time.time() - t0, 1))
    correct = sum(r["verdict"]["correct"] for r in samples)
    print(f"{args.task} shard {args.shard}/{args.shards}: {len(samples)} samples of {len(records)} "
          f"problems, {correct} correct ({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
