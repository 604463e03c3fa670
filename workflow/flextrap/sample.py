"""Draw n samples per problem under one sampler, for one shard of the problems, and
grade them: the one load-sample-grade loop of every sampling stage (`sample_problems`:
Pass@k samples, accuracy and parallel-decoding evaluations, a model's check).

One record per sample: problem id, sample index, seed, text, the answer's token ids,
the decode trace (commit step, entropy, confidence per generated position; see
`sampling.Generation`), the forward passes it took (`nfe`) and the grader's verdict.
Every sample has its own seed (from the run seed, the problem id and the sample
index) and every prompt of a shard is padded to one width, so a sample is the same
whatever batch it is drawn in. With `early_exit`, a row leaves the batch once its
text is fixed and the next sample takes its place (`flextrap.continuous`): the same
texts, verdicts and traces up to the exit; positions after it stay the mask token
with trace step -1. Finished samples are appended to `<out>.partial-<settings hash>`;
a killed run resumes there, and `<out>` appears only once the shard is complete.
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
from .continuous import generate_continuous
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


def prompt_groups(model, tokenizer, jobs: list) -> list[tuple[list[int], int | None]]:
    """Indices of the jobs that may share a batch, each group with the width its prompts
    are padded to (None: one length, no padding): every job, padded to the longest
    prompt, when the model honours left padding; else one group per prompt length. A
    row's samples then do not depend on the batch it is drawn in, nor on resuming."""
    lengths = [len(j.prompt_ids) for j in jobs]
    if len(set(lengths)) > 1 and honours_padding(model, tokenizer, jobs[0].prompt_ids):
        return [(list(range(len(jobs))), max(lengths))]
    return [(group, None) for group in length_batches(lengths, max(len(jobs), 1), mixed=False)]


DECODERS = {"llada": generate, "parallel": generate_parallel}  # a job's `decoder` -> the sampler it runs


def draw(model, tokenizer, batch: list, decoder: str, sampler: dict, trace: bool, width: int | None = None):
    """One batch through the `decoder`'s sampler: LLaDA's (`sampling.generate`) or the
    parallel one (`sampling.generate_parallel`), with the sampler settings `sampler`."""
    device = model_device(model)
    generators = [torch.Generator(device).manual_seed(j.seed) for j in batch]
    return DECODERS[decoder](model, [j.prompt_ids for j in batch], mask_id=tokenizer.mask_token_id,
                  pad_id=pad_id_of(tokenizer), generator=generators, trace=trace, width=width, **sampler)


def graded_record(job: Job, answer: list[int], trace: dict | None, nfe: int, tokenizer, task: str,
                  code_limits: dict) -> dict:
    """One sample's record: its text (up to the first EOS), verdict, answer ids, forward
    passes and, with `trace`, the decode trace (entropy and confidence to 5 decimals)."""
    text = decode_answer(tokenizer, answer)
    record = {"id": job.record["id"], "sample": job.index, "seed": job.seed, "text": text, "token_ids": answer,
              "verdict": grade(task, job.record, text, code_limits).as_dict(), "nfe": nfe}
    if trace is not None:
        record["trace"] = {"step": trace["step"], "entropy": [round(v, 5) for v in trace["entropy"]],
                           "confidence": [round(v, 5) for v in trace["confidence"]]}
    return record


def rows_of(batch: list, gen) -> list[tuple]:
    """(job, answer ids, trace or None, forward passes) of each row of a drawn batch."""
    out = []
    for row, (job, answer) in enumerate(zip(batch, gen.answers.tolist())):
        trace = None if gen.trace is None else {f: gen.trace[f][row].tolist() for f in ("step", "entropy", "confidence")}
        out.append((job, answer, trace, int(gen.nfe[row])))
    return out


def job_key(job: Job) -> tuple:
    return job.record["id"], job.index


def resume(partial: Path, jobs: list) -> dict:
    """Records already in `partial` of the shard's jobs, by (id, sample); a torn last
    write is dropped, and the file is rewritten with the kept records only."""
    if not partial.exists():
        return {}
    lines = partial.read_text(encoding="utf-8").split("\n")[:-1]  # text after the last newline is torn
    wanted, have = {job_key(j) for j in jobs}, {}
    for line in lines:
        try:
            r = json.loads(line)
        except json.JSONDecodeError:
            break
        if (r.get("id"), r.get("sample")) in wanted:
            have[(r["id"], r["sample"])] = r
    write_jsonl(partial, have.values())
    return have


def append(path: Path, records: list[dict]) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
        f.flush()
        os.fsync(f.fileno())


def graded_records(batch: list, gen, tokenizer, task: str, code_limits: dict) -> list[dict]:
    return [graded_record(*row, tokenizer, task, code_limits) for row in rows_of(batch, gen)]


def answered(model, tokenizer, jobs: list, s: dict, skip=frozenset()):
    """Yield lists of (job, answer ids, trace, forward passes) for the jobs whose
    `job_key` is not in `skip`: per batch of `s["batch_size"]`, or, with `early_exit`, as
    rows finish under continuous batching (`continuous.generate_continuous`; the same
    answers, fewer forward passes). `s`: decoder, sampler, batch_size, early_exit."""
    if s["early_exit"] and s["decoder"] != "llada":
        raise ValueError("early_exit applies to LLaDA's sampler, not to a parallel rule "
                         "(those rows already leave the batch when complete)")
    for group, width in prompt_groups(model, tokenizer, jobs):
        todo = [jobs[i] for i in group if job_key(jobs[i]) not in skip]
        if not todo:
            continue
        if s["early_exit"]:
            rows = generate_continuous(model, [j.prompt_ids for j in todo], [j.seed for j in todo],
                                       batch_size=s["batch_size"], mask_id=tokenizer.mask_token_id,
                                       eos_id=tokenizer.eos_token_id, pad_id=pad_id_of(tokenizer), width=width,
                                       **s["sampler"])
            for finished in rows:
                yield [(todo[f.index], f.answer, f.trace, f.nfe) for f in finished]
            continue
        for i in range(0, len(todo), s["batch_size"]):
            batch = todo[i:i + s["batch_size"]]
            yield rows_of(batch, draw(model, tokenizer, batch, s["decoder"], s["sampler"], trace=True, width=width))


def sampled_records(model, tokenizer, jobs: list, done: dict, task: str, s: dict):
    """Yield lists of graded records (with traces) for the jobs not in `done`
    (`answered`)."""
    for rows in answered(model, tokenizer, jobs, s, skip=done):
        yield [graded_record(*row, tokenizer, task, s["code_limits"]) for row in rows]


def run_shard(model, tokenizer, records: list, task: str, s: dict, out: Path) -> list[dict]:
    """Every (problem, sample) of the shard, in job order; finished samples are appended
    to `<out>.partial-<settings hash>` as they come, so a killed run resumes with none
    lost or repeated, and `out` appears only once the shard is complete."""
    jobs = make_jobs(tokenizer, records, s["template"], s["n_samples"], s["seed"])
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f"{out.name}.partial-{provenance.config_hash(s)}")
    done = resume(partial, jobs)
    if done:
        print(f"resuming: {len(done)} of {len(jobs)} samples already in {partial}", flush=True)
    bar = tqdm(total=len(jobs), initial=len(done), desc="samples", unit="sample", mininterval=10)
    for new in sampled_records(model, tokenizer, jobs, done, task, s):
        if not new:
            continue
        append(partial, new)
        done.update({(r["id"], r["sample"]): r for r in new})
        bar.update(len(new))
        bar.set_postfix(problems=f"{len({k[0] for k in done})}/{len(records)}")
    bar.close()
    samples = [done[job_key(j)] for j in jobs]
    write_jsonl(out, samples)
    partial.unlink(missing_ok=True)
    return samples


def sample_problems(model_spec: dict, data: str, task: str, s: dict, out: str, shard: tuple[int, int] = (0, 1),
                    threads: int | None = None) -> tuple[list[dict], float]:
    """Load the model and shard `shard` = (index, count) of the first `max_problems`
    problems of `data`, sample and grade `n_samples` per problem into `out`
    (`run_shard`: resumable); returns the records and the seconds sampling took."""
    set_threads(threads)
    records = shard_of(read_jsonl(data, required=("id", "prompts"))[: s["max_problems"]], *shard)
    model, tokenizer = load_model(model_spec, s.get("device", "auto"))
    t0 = time.time()
    samples = run_shard(model, tokenizer, records, task, s, Path(out))
    return samples, time.time() - t0


def forward_counts(samples: list[dict], sampler: dict) -> dict:
    """Row-forward passes per sample, and what LLaDA's sampler takes without early exit
    (`steps` for every row; None for a parallel rule)."""
    n = max(len(samples), 1)
    return {"row_forwards_per_sample": round(sum(r["nfe"] for r in samples) / n, 3),
            "row_forwards_per_sample_no_exit": sampler.get("steps")}
