"""The code sandbox against adversarial programs, at both isolation levels: namespaces
(bubblewrap, where the kernel allows) and the process-level fallback (forced here by a
`bwrap` that fails as it does where unprivileged user namespaces are disabled).

Every program is graded as an answer to `add(a, b)`; each attack is written so that it
would make the answer right if it got through, so a contained attack scores 0."""
import os
import signal
import socket
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest
from conftest import CODE_LIMITS, RUN_LIMITS
from flextrap import sandbox
from flextrap.errors import FlextrapError
from flextrap.graders import grade, grade_code

LIMITS = {"timeout_s": 3.0, "memory_mb": 512, "max_output_bytes": 1 << 16, "isolation": "auto"}
RECORD = {"entry_point": "add", "stub": "def add(a, b):\n    \"\"\"Add.\"\"\"\n",
          "tests": ["assert add(1, 2) == 3", "assert add(-1, 1) == 0"]}
NAMESPACES = sandbox.namespaces_unavailable() is None
DISABLED = "bwrap: No permissions to create a new namespace, likely because the kernel does not allow " \
           "non-privileged user namespaces."


def fresh_detection():
    sandbox.namespaces_unavailable.cache_clear()
    sandbox._warn_once.cache_clear()


@pytest.fixture
def fallback(monkeypatch, tmp_path):
    """The process level, forced with a bwrap that fails the way it does where the
    kernel forbids unprivileged user namespaces."""
    fake = tmp_path / "bwrap"
    fake.write_text(f"#!/bin/sh\necho '{DISABLED}' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(sandbox, "BWRAP", str(fake))
    fresh_detection()
    yield "process"
    fresh_detection()


@pytest.fixture(params=["namespaces", "process"])
def level(request):
    """The isolation level the grader runs at (both, where namespaces are available)."""
    if request.param == "namespaces" and not NAMESPACES:
        pytest.skip(f"namespaces unavailable here: {sandbox.namespaces_unavailable()}")
    if request.param == "process":
        return request.getfixturevalue("fallback")
    fresh_detection()
    return "namespaces"


def code(body):
    return f"```python\ndef add(a, b):\n{body}\n```"


def survivors(marker: str) -> list[int]:
    """Live processes whose command line carries `marker`."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in cmdline and state != "Z":
            found.append(int(pid))
    return found


def run_dirs() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("flextrap-run-*")}


def graded(body, max_seconds):
    """Grade `body` as add's body; the verdict, after checking the time limit and that no
    program directory is left behind."""
    before, start = run_dirs(), time.monotonic()
    verdict = grade_code(RECORD, code(body), LIMITS)
    assert time.monotonic() - start < max_seconds
    assert run_dirs() <= before
    return verdict


def test_a_correct_program_passes_at_either_level(level):
    v = graded("    return a + b", 6)
    assert v.correct and v.pass_rate == 1.0 and v.isolation == level


@pytest.mark.parametrize("name, body, max_seconds", [
    ("infinite loop", "    while True:\n        pass", 6),
    ("huge output", "    while True:\n        print('x' * 10000)", 6),
    ("memory bomb", "    x = bytearray(8 * 1024 ** 3)\n    return a + b", 6),
    ("memory growing", "    x = []\n    while True:\n        x.append(' ' * 10 ** 7)", 6),
])
def test_resource_attacks_score_zero_within_their_limit(level, name, body, max_seconds):
    v = graded(body, max_seconds)
    assert not v.correct and v.pass_rate == 0 and v.isolation == level, name


def sleeper(marker):
    """Python source of a process that sleeps with `marker` on its command line."""
    return f"[sys.executable, '-c', 'import time; time.sleep(60)', '{marker}']"


def test_detached_children_and_a_fork_bomb_leave_no_process(level):
    marker = f"flextrap-test-{uuid.uuid4().hex}"
    body = (f"    import os, subprocess, sys, time\n"
            f"    subprocess.Popen({sleeper(marker)})\n"
            f"    if os.fork() == 0:\n"
            f"        os.setsid()\n"
            f"        if os.fork() == 0:\n"
            f"            os.execv(sys.executable, {sleeper(marker)})\n"
            f"        os._exit(0)\n"
            f"    for _ in range(8):  # 256 processes, each forking on\n"
            f"        try:\n"
            f"            os.fork()\n"
            f"        except OSError:\n"
            f"            pass\n"
            f"    os.execv(sys.executable, {sleeper(marker)})")
    v = graded(body, 8)
    assert not v.correct and v.pass_rate == 0
    time.sleep(0.3)
    assert survivors(marker) == []


def test_a_daemon_left_by_a_passing_program_is_killed(level):
    marker = f"flextrap-test-{uuid.uuid4().hex}"
    src = (f"import os, sys\n"
           f"if os.fork() == 0:\n"
           f"    os.setsid()\n"
           f"    os.execv(sys.executable, {sleeper(marker)})\n"
           f"import time; time.sleep(0.5)\n")
    assert sandbox.run_python(src, **RUN_LIMITS).ok
    time.sleep(0.3)
    assert survivors(marker) == []


def test_a_write_outside_its_directory_leaves_no_file(level, tmp_path):
    targets = [str(tmp_path / "escaped.txt")]
    if level == "namespaces":  # the fallback runs as the grader's user, which may be root
        targets.append("/usr/lib/flextrap-escaped.txt")
    body = (f"    for path in {targets!r}:\n"
            f"        try:\n"
            f"            open(path, 'w').write('x')\n"
            f"        except OSError:\n"
            f"            return None\n"
            f"    return a + b")
    v = graded(body, 6)
    if level == "namespaces":
        assert not v.correct and not any(Path(t).exists() for t in targets)
    else:  # the fallback's known gap: the write lands
        assert v.isolation == "process" and Path(targets[0]).exists()


def test_secrets_are_not_readable(level, tmp_path, monkeypatch):
    secret = uuid.uuid4().hex
    home = tmp_path / "home"
    home.mkdir()
    (home / ".netrc").write_text(f"machine hub password {secret}\n")
    monkeypatch.setenv("HF_TOKEN", secret)
    body = (f"    import os\n"
            f"    seen = ' '.join(os.environ.values())\n"
            f"    for path in ({str(home / '.netrc')!r}, '/proc/1/environ', '/proc/{os.getpid()}/environ'):\n"
            f"        try:\n"
            f"            seen += open(path, errors='replace').read()\n"
            f"        except OSError:\n"
            f"            pass\n"
            f"    return a + b if {secret!r} in seen else None")
    v = graded(body, 6)
    if level == "namespaces":
        assert not v.correct
    else:  # the fallback still clears the environment; the files are its known gap
        assert v.isolation == "process"


@pytest.fixture
def listener():
    """A TCP listener on the loopback that hands out the answer; counts connections."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    state = {"connections": 0, "stop": False}

    def serve():
        while not state["stop"]:
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            state["connections"] += 1
            conn.sendall(b"ok\n")
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], state
    state["stop"] = True
    thread.join()
    server.close()


def test_the_network_is_unreachable(level, listener):
    port, state = listener
    body = (f"    import socket\n"
            f"    try:\n"
            f"        s = socket.create_connection(('127.0.0.1', {port}), timeout=1)\n"
            f"        return a + b if s.recv(3) == b'ok\\n' else None\n"
            f"    except OSError:\n"
            f"        return None")
    v = graded(body, 6)
    if level == "namespaces":
        assert not v.correct and state["connections"] == 0
    else:
        assert v.isolation == "process" and state["connections"] > 0  # the fallback's known gap


def test_a_signal_to_the_grader_does_not_arrive(level):
    received = []
    previous = signal.signal(signal.SIGUSR1, lambda *_: received.append(1))
    try:
        body = (f"    import os, signal\n"
                f"    try:\n"
                f"        os.kill({os.getpid()}, signal.SIGUSR1)\n"
                f"        return a + b\n"
                f"    except OSError:\n"
                f"        return None")
        v = graded(body, 6)
        time.sleep(0.1)
    finally:
        signal.signal(signal.SIGUSR1, previous)
    if level == "namespaces":
        assert not v.correct and not received
    else:
        assert v.isolation == "process"


def test_the_fallback_is_reported_once_per_job(fallback, capsys):
    for _ in range(2):
        assert grade("mbpp", RECORD, code("    return a + b"), CODE_LIMITS).isolation == "process"
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert len(err) == 1 and "without namespaces" in err[0] and "No permissions" in err[0]


def test_required_isolation_fails_in_one_line_instead_of_falling_back(fallback):
    with pytest.raises(FlextrapError, match="grading.code.isolation is 'required' but namespaces are unavailable"):
        grade("mbpp", RECORD, code("    return a + b"), {**CODE_LIMITS, "isolation": "required"})


def test_mbpp_setup_code_runs_after_the_solution():
    """MBPP task 367's shape: the setup builds objects of a class the solution defines, so
    its tests cannot run apart from the program (graders.JOINED): graded the joined way."""
    record = {"id": "mbpp-367", "entry_point": "depth", "stub": "def depth(node):\n",
              "setup": "root = Node(1)\nroot.left = Node(2)",
              "tests": ["assert depth(root) == 2"]}
    solution = ("```python\nclass Node:\n    def __init__(self, v):\n        self.v, self.left = v, None\n\n"
                "def depth(node):\n    return 0 if node is None else 1 + depth(node.left)\n```")
    verdict = grade("mbpp", record, solution, CODE_LIMITS)
    assert verdict.correct and verdict.harness == "joined"
