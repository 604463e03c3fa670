"""The tests' side of the split code harness (`graders.grade_code`): run as
`python -m flextrap.code_tests SPEC_FD VERDICT_FD` by `sandbox.run_split`, never in the
sandbox and never with the model's code loaded.

It reads the problem's tests from SPEC_FD (a pipe only the grader writes), runs them in
its own namespace, where each function the model's program defined is a stub that
calls across: arguments out as data (`wire`), the return value, the arguments as the
call left them (written back into the tests' own lists, dicts and sets) and any
exception raised back. The model's side answers on this process's stdin; its stdout
carries the calls. A missing, late, oversized or malformed reply fails that test (and,
once the channel is broken, every later one). The pass count goes to VERDICT_FD, a
pipe the model's side has no end of, with the spec's one-time token (so that a line
written into that pipe by anyone else does not count).
"""
from __future__ import annotations

import builtins
import collections
import importlib
import io
import json
import os
import resource
import select
import sys
import time

from .wire import WireError, decode, dumps, encode

MAX_REPLY = 8 << 20  # bytes of one reply line


class HarnessError(Exception):
    """The call channel failed: the test that made the call fails."""


class CandidateError(Exception):
    """An exception of a type the tests' side does not have, raised by the model's code."""


class Channel:
    def __init__(self, replies, requests, deadline: float):
        self.replies, self.requests, self.deadline = replies, requests, deadline
        self.buffer, self.next_id, self.broken = b"", 0, None
        self.failures = 0  # calls the channel could not make: the test that made one fails, whatever it caught

    def read_line(self) -> bytes:
        while b"\n" not in self.buffer:
            left = self.deadline - time.monotonic()
            if left <= 0 or not select.select([self.replies], [], [], left)[0]:
                raise HarnessError("no reply in time")
            chunk = os.read(self.replies, 1 << 16)
            if not chunk:
                raise HarnessError("the program's side closed the channel")
            self.buffer += chunk
            if len(self.buffer) > MAX_REPLY:
                raise HarnessError("reply too long")
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line

    def receive(self) -> dict:
        try:
            message = json.loads(self.read_line())
        except (ValueError, RecursionError):
            raise HarnessError("malformed reply") from None
        if type(message) is not dict:
            raise HarnessError("malformed reply")
        return message

    def call(self, name: str, args: list, kwargs: dict):
        if self.broken:
            self.failures += 1
            raise HarnessError(self.broken)
        try:
            request = {"call": name, "args": encode(list(args)), "kwargs": encode(dict(kwargs))}
        except (WireError, ValueError, RecursionError) as err:  # the tests' own value cannot cross: this test fails
            self.failures += 1
            raise HarnessError(f"argument: {err}") from None
        self.next_id += 1
        try:
            os.write(self.requests, dumps({"id": self.next_id, **request}))
            reply = self.receive()
            if reply.get("id") != self.next_id:
                raise HarnessError("reply to another call")
            returned = reply_value(reply)
        except (HarnessError, WireError, OSError, ValueError, RecursionError) as err:
            self.broken = str(err)
            self.failures += 1
            raise HarnessError(self.broken) from None
        write_back(args, kwargs, reply)
        return returned()


def reply_value(reply: dict):
    """A function that returns the call's value or raises its exception (decoded now)."""
    if "value" in reply:
        value = decode(reply["value"])
        return lambda: value
    name, base, message = reply.get("raised"), reply.get("base"), reply.get("message")
    if not all(type(v) is str for v in (name, base, message)):
        raise HarnessError("malformed reply")
    cls = exception_class(name, base)

    def reraise():
        raise cls(message)
    return reraise


_EXCEPTIONS: dict[tuple[str, str], type] = {}


def builtin_exception(name: str) -> type:
    cls = getattr(builtins, name, None)
    return cls if isinstance(cls, type) and issubclass(cls, BaseException) else CandidateError


def exception_class(name: str, base: str) -> type:
    """The tests' stand-in for an exception class of the program: the builtin class of
    that name, else one class per name deriving from its nearest builtin base (so both
    `except <its name>` and `except <the builtin>` catch it). Only constructible with a
    message: a builtin needing more arguments stands in as its base."""
    if getattr(builtins, name, None) is builtin_exception(name):
        cls = builtin_exception(name)
    else:
        cls = _EXCEPTIONS.setdefault((name, base), type(name, (builtin_exception(base),), {}))
    try:
        cls("")
    except TypeError:
        return CandidateError
    return cls


def write_back(args: tuple, kwargs: dict, reply: dict) -> None:
    """Mutations of the call's arguments into the tests' own objects (lists, dicts, sets)."""
    try:
        args_after, kwargs_after = decode(reply["args"]), decode(reply["kwargs"])
    except (KeyError, WireError):
        return
    if type(args_after) is not list or type(kwargs_after) is not dict:
        return
    pairs = list(zip(args, args_after)) + [(v, kwargs_after.get(k)) for k, v in kwargs.items()]
    for before, now in pairs:
        if type(now) is not type(before):
            continue
        if type(before) is list:
            before[:] = now
        elif isinstance(before, (dict, set)):
            before.clear()
            before.update(now)
        elif isinstance(before, collections.deque):
            before.clear()
            before.extend(now)


def stub(channel: Channel, name: str):
    def call(*args, **kwargs):
        return channel.call(name, args, kwargs)
    call.__name__ = call.__qualname__ = name
    return call


SAFE_MODULES = set(sys.stdlib_module_names) - {"antigravity", "this", "webbrowser", "idlelib", "turtle", "turtledemo",
                                                "tkinter", "pydoc", "code", "pdb", "ensurepip", "venv", "site"}


def program_globals(hello: dict, namespace: dict) -> None:
    """What the tests may use of the program's globals besides its functions (in one
    script they would see them): its standard-library modules, imported here anew, and
    its values that cross as data (copies). Exception classes get stand-ins."""
    for name, module in (hello.get("modules") or {}).items():
        if type(name) is str and type(module) is str and name not in namespace \
                and module.split(".")[0] in SAFE_MODULES:
            try:
                namespace[name] = importlib.import_module(module)
            except Exception:  # noqa: BLE001 - a module this side cannot load: tests using it fail
                pass
    for name, value in (hello.get("values") or {}).items():
        if type(name) is str and name not in namespace and not hasattr(builtins, name):
            try:
                namespace[name] = decode(value)
            except WireError:
                pass
    for name, base in (hello.get("exceptions") or {}).items():
        if type(name) is str and type(base) is str and name not in namespace and not hasattr(builtins, name):
            namespace[name] = exception_class(name, base)


def run_tests(spec: dict, channel: Channel) -> int:
    """The number of `spec["tests"]` that pass, each run in the tests' namespace; a test
    during which the channel failed fails, whatever it caught."""
    hello = channel.receive()
    if hello.get("ready") is not True or type(hello.get("defined")) is not list:
        return 0
    namespace = {"__name__": "__tests__"}
    exec(spec.get("prelude") or "", namespace)  # the prompt's helpers: the tests' own copies
    program_globals(hello, namespace)
    exec(spec.get("setup") or "", namespace)
    for name in hello["defined"]:  # the tested function (the dataset names it, even `sum`); never another
        if type(name) is str and (name == spec["entry_point"]  # builtin: the tests' own `set`, `abs` stay theirs
                                  or (name not in namespace and not hasattr(builtins, name))):
            namespace[name] = stub(channel, name)
    passed = 0
    for test in spec["tests"]:
        failures = channel.failures
        try:
            exec(test, namespace)
            passed += channel.failures == failures
        except BaseException:  # noqa: BLE001 - a failing test, whatever it raised
            pass
    return passed


def limit_resources(spec: dict) -> None:
    """CPU seconds and memory of this process: decoding a reply built to be slow
    (colliding hashes) or large ends it, not the grader."""
    cpu = int(spec["timeout"]) + 2
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    memory = spec["memory_mb"] * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))


def main() -> None:
    spec_fd, verdict_fd = int(sys.argv[1]), int(sys.argv[2])
    with os.fdopen(spec_fd, "rb") as f:
        spec = json.loads(f.read())
    limit_resources(spec)
    channel = Channel(sys.stdin.fileno(), os.dup(sys.stdout.fileno()), time.monotonic() + spec["timeout"])
    sys.stdout = io.StringIO()  # what the tests print must not reach the channel
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    try:
        passed = run_tests(spec, channel)
    except BaseException:  # noqa: BLE001 - the setup failed: no test passes
        passed = 0
    os.write(verdict_fd, dumps({"passed": passed, "total": len(spec["tests"]), "token": spec["token"]}))


if __name__ == "__main__":
    main()
