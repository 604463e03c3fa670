"""Result files: atomic writes (a killed job never leaves a file that looks complete), and
JSON-lines reads that name the file and line on bad input."""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable

from .errors import FlextrapError


def write_jsonl(path: str | Path, records: Iterable[dict]) -> int:
    """Write records, one JSON object per line, via a temporary file (no partial output)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    n = 0
    with open(tmp, "w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
            n += 1
    os.replace(tmp, path)
    return n


def write_text(path: str | Path, text: str) -> None:
    """Write `text` to a temporary file beside `path`, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_csv(path: str | Path, rows: list[dict], fields: list[str]) -> None:
    """Rows as CSV with header `fields` (a training log)."""
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, out.getvalue())


def write_json(path: str | Path, obj) -> None:
    write_text(path, json.dumps(obj, indent=2) + "\n")


@contextmanager
def atomic_dir(out: str | Path):
    """Yield a fresh directory beside `out`; it becomes `out` when the block completes."""
    out = Path(str(out).rstrip("/"))
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    yield tmp
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)


def read_jsonl(path: str | Path, required: Iterable[str] = ()) -> list[dict]:
    """All records of a JSONL file; a malformed line or missing field raises with file:line."""
    path = Path(path)
    if not path.exists():
        raise FlextrapError(f"{path}: no such file")
    required = tuple(required)
    records = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            if not line.endswith("\n"):
                raise FlextrapError(f"{path}:{lineno}: truncated last line (file cut short?)")
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise FlextrapError(f"{path}:{lineno}: not valid JSON ({err.msg})") from None
            if not isinstance(record, dict):
                raise FlextrapError(f"{path}:{lineno}: expected a JSON object")
            missing = [k for k in required if k not in record]
            if missing:
                raise FlextrapError(f"{path}:{lineno}: missing field(s) {', '.join(missing)}")
            records.append(record)
    return records
