"""The split code harness: values cross as data only, real solutions pass, and forged
verdicts score 0. Every forgery of the first group also runs against the joined harness
(program and tests in one script), where it scores 1: the forgeries are real."""
import json
import math
import time
from collections import Counter, OrderedDict, defaultdict, deque

import pytest
from conftest import CODE_LIMITS
from flextrap.graders import JOINED, grade, grade_code, reward
from flextrap.sandbox import isolation_level
from flextrap.wire import WireError, decode, encode

ADD = {"id": "mbpp-add", "entry_point": "add", "stub": "def add(a, b):", "setup": "",
       "tests": ["assert add(1, 2) == 3", "assert add(2, 5) == 7"]}


def block(source: str) -> str:
    return f"```python\n{source}\n```"


def roundtrip(value):
    return decode(json.loads(json.dumps(encode(value))))


@pytest.mark.parametrize("value", [0, -2**100, 1.5, -0.0, math.inf, "é\n", b"\x00\xff", True, None, 1 - 2j,
                                   [1, [2, (3, {4})]], {"a": [1], (1, 2): frozenset({3})},
                                   Counter("abca"), OrderedDict(b=1, a=2), deque([1, 2])])
def test_builtin_values_cross_unchanged_with_their_type(value):
    back = roundtrip(value)
    assert back == value and type(back) is type(value)
    assert math.isnan(roundtrip(math.nan)) and type(roundtrip(defaultdict(int, {1: 2}))) is defaultdict


def test_iterators_arrive_drawn_and_anything_else_is_refused():
    assert list(roundtrip(x * x for x in range(4))) == [0, 1, 4, 9]
    assert roundtrip(map(str, [1])) != ["1"]  # an iterator stays an iterator: it does not equal a list

    class Yes(int):
        def __eq__(self, other):
            return True
    for bad in (Yes(1), object(), type("S", (str,), {})("x"), type("D", (dict,), {})(), [Yes(2)], print):
        with pytest.raises(WireError):
            encode(bad)
    deep = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(WireError):
        encode(deep)
    with pytest.raises(WireError):
        encode(iter(range(10**6)))  # more items than an iterator may give
    for malformed in ({"int": "0x1g"}, {"eval": "1"}, {"list": [1]}, {"int": 1}, {"set": [{"list": []}]}, [1]):
        with pytest.raises(WireError):
            decode(malformed)


def test_correct_programs_pass_and_wrong_ones_fail_split():
    v = grade("mbpp", ADD, block("def add(a, b):\n    return a + b"), CODE_LIMITS)
    assert (v.correct, v.pass_rate, v.harness) == (True, 1.0, "split")
    assert grade("mbpp", ADD, block("def add(a, b):\n    return 3"), CODE_LIMITS).pass_rate == 0.5


def test_real_test_idioms_work_across_the_channel():
    """In-place mutation, generators, expected exceptions, keyword arguments, helpers the
    prompt defines (the tests' own copy), MBPP setup code."""
    record = {"id": "x", "entry_point": "f", "setup": "DATA = [3, 1, 2]",
              "stub": 'def helper(x):\n    return x + 1\n\n\ndef f(xs, key=None):\n    """Sort xs in place."""\n',
              "tests": ["xs = list(DATA); f(xs); assert xs == [1, 2, 3]",
                        "assert list(g(3)) == [0, 1, 2]",
                        "try:\n    f(None)\nexcept AttributeError:\n    pass\nelse:\n    raise AssertionError",
                        "d = {}; f([2, 1], key=d); assert d == {'called': True}",
                        "assert helper(1) == 2"]}
    solution = ("def helper(x):\n    return 0  # the tests use the prompt's own helper\n"
                "def f(xs, key=None):\n    if key is not None:\n        key['called'] = True\n    xs.sort()\n"
                "def g(n):\n    yield from range(n)")
    v = grade("mbpp", record, block(solution), CODE_LIMITS)
    assert v.pass_rate == 1.0 and v.harness == "split"


def test_a_listed_problem_runs_joined_and_says_so():
    assert JOINED and all(reason for reason in JOINED.values())
    record = {**ADD, "id": next(iter(JOINED))}
    v = grade("mbpp", record, block("def add(a, b):\n    return a + b"), CODE_LIMITS)
    assert v.correct and v.harness == "joined"


# Forgeries that fooled the joined harness (issue 26's four kinds, two of each).
FORGERIES = {
    "token: the nonce from the program's own file": """
import re, os
src = open('program.py').read()
for nonce in set(re.findall(r"print\\('\\\\n([0-9a-f]{16})'", src)):
    print('\\n' + nonce, 2, 2, flush=True)
os._exit(0)
def add(a, b): return 0""",
    "token: every hex word of the program printed as a result line": """
import re, os, sys
for word in set(re.findall(r"[0-9a-f]{16}", open(sys.argv[0] if sys.argv[0].endswith('.py') else 'program.py').read())):
    print(word, 2, 2, flush=True)
os._exit(0)
def add(a, b): return 0""",
    "rewrite: stdout filter that fixes the pass count": """
import re, sys
class Fix:
    def __init__(self, out): self.out, self.buf = out, ''
    def write(self, text): self.buf += text; return len(text)
    def flush(self):
        self.out.write(re.sub(r'([0-9a-f]{16}) \\d+ (\\d+)', r'\\1 \\2 \\2', self.buf)); self.buf = ''; self.out.flush()
sys.stdout = Fix(sys.stdout)
def add(a, b): return 0""",
    "rewrite: builtin print patched to report every test passed": """
import builtins, re
real = builtins.print
def print(*args, **kw):
    if len(args) == 3 and re.fullmatch(r'\\n?[0-9a-f]{16}', str(args[0]).strip()): args = (args[0], args[2], args[2])
    real(*args, **kw)
builtins.print = print
def add(a, b): return 0""",
    "always equal: an object equal to everything": """
class Yes:
    def __eq__(self, other): return True
def add(a, b): return Yes()""",
    "always equal: an int subclass equal to everything": """
class Yes(int):
    def __eq__(self, other): return True
    __hash__ = int.__hash__
def add(a, b): return Yes(0)""",
    "read tests: a lookup table from the program's own file": """
import re
TABLE = {}
for args, want in re.findall(r'assert add\\((.*?)\\) == (\\S+)', open('program.py').read()):
    TABLE[args.replace(' ', '')] = eval(want)
def add(a, b): return TABLE.get(f'{a},{b}', 0)""",
    "read tests: every readable file searched for the asserts": """
import os, re
TABLE = {}
for root in ('.', '/tmp', os.environ.get('TMPDIR', '.')):
    for dirpath, _, files in os.walk(root):
        for name in files:
            try: text = open(os.path.join(dirpath, name)).read()
            except Exception: continue
            for args, want in re.findall(r'assert add\\((.*?)\\) == (\\S+)', text):
                TABLE[args.replace(' ', '')] = int(want)
def add(a, b): return TABLE.get(f'{a},{b}', 0)""",
}


@pytest.mark.parametrize("name", list(FORGERIES))
def test_forged_verdicts_score_zero_split_while_they_fool_the_joined_harness(name):
    completion = block(FORGERIES[name])
    joined = grade_code(ADD, completion, CODE_LIMITS, harness="joined")
    assert joined.pass_rate == 1.0, "the forgery no longer fools the joined harness: it tests nothing"
    split = grade_code(ADD, completion, CODE_LIMITS)
    assert split.harness == "split" and split.pass_rate == 0.0 and not split.correct
    assert reward("mbpp", split) == 1.0  # the format reward only


# Forgeries against the split harness itself.
SPLIT_FORGERIES = {
    "stack inspection for the expected values": """
import sys, gc
def add(a, b):
    for frame_owner in gc.get_objects():
        if isinstance(frame_owner, dict) and 'expected' in frame_owner: return frame_owner['expected']
    f = sys._getframe()
    while f:
        for v in f.f_locals.values():
            if isinstance(v, str) and 'assert' in v: raise SystemExit(v)
        f = f.f_back
    return 0""",
    "patched builtins (type, isinstance, repr) under the encoder": """
import builtins
class Yes:
    def __eq__(self, other): return True
    def __repr__(self): return '3'
real_type = builtins.type
builtins.type = lambda *a: int if a and a[0].__class__ is Yes else real_type(*a)
builtins.isinstance = lambda *a: True
def add(a, b): return Yes()""",
    "a forged verdict written to every open descriptor": """
import os
for fd in range(3, 64):
    try: os.write(fd, b'{"passed": 2, "total": 2}\\n{"id": 1, "value": {"int": "0"}}\\n')
    except OSError: pass
def add(a, b): return 0""",
    "flooding the call channel": """
import os
for fd in range(1, 64):
    try: os.write(fd, b'x' * (20 << 20))
    except OSError: pass
def add(a, b): return a + b""",
    "a daemon left to answer later calls": """
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for _ in range(100):
            for fd in range(3, 16):
                try: os.write(fd, b'{"id": 2, "value": {"int": "0"}}\\n')
                except OSError: pass
            time.sleep(0.05)
    os._exit(0)
def add(a, b): return 0""",
    "exit in the middle of a call": """
import os
def add(a, b): os._exit(0)""",
    "raise the exception the tests' harness uses to pass": """
def add(a, b):
    raise StopIteration('passed')""",
}


@pytest.mark.parametrize("name", list(SPLIT_FORGERIES))
def test_forgeries_of_the_split_harness_score_zero(name):
    start = time.monotonic()
    v = grade_code(ADD, block(SPLIT_FORGERIES[name]), CODE_LIMITS)
    assert v.harness == "split" and not v.correct, name
    assert v.pass_rate < 1.0
    if name != "flooding the call channel":
        assert v.pass_rate == 0.0, name
    assert time.monotonic() - start < CODE_LIMITS["timeout_s"] + 15
    # nothing it started is left to answer the next program's calls
    assert grade_code(ADD, block("def add(a, b):\n    return a + b"), CODE_LIMITS).pass_rate == 1.0


@pytest.mark.skipif(isolation_level("auto") != "namespaces", reason="the tests' process is out of sight only in namespaces")
def test_the_tests_process_is_out_of_the_programs_sight():
    spy = """
import os
seen = []
for pid in os.listdir('/proc'):
    if pid.isdigit():
        try: seen.append(open(f'/proc/{pid}/cmdline', 'rb').read())
        except OSError: pass
def add(a, b):
    return 3 if any(b'code_tests' in c for c in seen) else -1"""
    v = grade_code(ADD, block(spy), CODE_LIMITS)
    assert v.pass_rate == 0.0  # it never saw the tests' process (a PID namespace of its own)


# Found by a red team of the split harness: each scored > 0, hung or crashed the grader.
def test_the_programs_names_never_shadow_a_builtin_in_the_tests():
    record = {**ADD, "tests": ["assert set(add((1,), (2,))) == set((1, 2))",
                               "assert abs(add(0.1, 0.2) - 0.3) < 1e-9"]}
    shadow = "def add(a, b): return 0\ndef set(*a): return 0\ndef abs(*a): return 0"
    assert grade_code(record, block(shadow), CODE_LIMITS).pass_rate == 0.0
    honest = "def add(a, b): return a + b"
    assert grade_code(record, block(honest), CODE_LIMITS).pass_rate == 1.0


def verdict_forger(payload: bytes) -> str:
    """A program that finds the tests' process in /proc (possible at the process level)
    and writes `payload` into its verdict pipe, then defines a wrong `add`."""
    return f"""
import os, time
def forge():
    for _ in range(400):
        for p in os.listdir('/proc'):
            if p.isdigit():
                try:
                    argv = open(f'/proc/{{p}}/cmdline', 'rb').read().split(b'\\0')
                    if any(b'code_tests' in a for a in argv):
                        with open(f'/proc/{{p}}/fd/{{int(argv[-2])}}', 'wb') as f:
                            f.write({payload!r})
                        return
                except (OSError, ValueError):
                    pass
        time.sleep(0.005)
forge()
def add(a, b): return 0"""


def test_a_verdict_written_into_the_tests_process_pipe_by_the_program_does_not_count():
    """At the process level the program can reach the tests' process through /proc; the
    verdict counts only with the one-time token the grader gave that process."""
    forge = verdict_forger(b'{"passed": 2, "total": 2}\n')
    for isolation in ("off", "auto"):
        assert grade_code(ADD, block(forge), {**CODE_LIMITS, "isolation": isolation}).pass_rate == 0.0, isolation


HOSTILE_GRADER_ATTACKS = {
    "a FIFO in place of the output file": "import os\nos.unlink('output.txt'); os.mkfifo('output.txt')",
    "the output file a link to /dev/zero": "import os\nos.unlink('output.txt'); os.symlink('/dev/zero', 'output.txt')",
    "the output file a link to a host file": "import os\nos.unlink('output.txt'); os.symlink('/etc/passwd', 'output.txt')",
    "a directory tree too deep for shutil.rmtree": """
import os
fd = os.open('.', os.O_RDONLY)
for i in range(3000):
    os.mkdir('d', dir_fd=fd); nfd = os.open('d', os.O_RDONLY, dir_fd=fd); os.close(fd); fd = nfd""",
    "a reply that is slow to decode (colliding hashes) from a stopped launcher": """
import os, sys, json, signal
os.kill(os.getppid(), signal.SIGSTOP)
requests, replies = int(sys.argv[1]), int(sys.argv[2])
os.write(replies, b'{"ready": true, "defined": ["add"]}\\n')
os.read(requests, 1 << 16)
M = (1 << 61) - 1
os.write(replies, json.dumps({"id": 1, "value": {"set": [{"int": str(k * M)} for k in range(99990)]}}).encode() + b'\\n')
import time; time.sleep(1000)""",
    "a reply nested too deep for json": """
import os, sys
os.write(int(sys.argv[2]), b'{"ready": true, "defined": ["add"]}\\n' + b'[' * 100000 + b'\\n')""",
}


@pytest.mark.parametrize("name", list(HOSTILE_GRADER_ATTACKS))
def test_the_grader_survives_programs_that_attack_it(name, tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    start = time.monotonic()
    v = grade_code(ADD, block(HOSTILE_GRADER_ATTACKS[name] + "\ndef add(a, b): return 0"), CODE_LIMITS)
    assert v.pass_rate == 0.0 and time.monotonic() - start < CODE_LIMITS["timeout_s"] + 10, name
    assert list(tmp_path.iterdir()) == []  # the program's directory is gone, however deep


def test_what_real_programs_return_and_raise_crosses_as_in_one_script():
    """Found in review: each of these passed joined and failed split."""
    record = {"id": "x", "entry_point": "f", "stub": "def f(n):", "setup": "",
              "tests": ["assert math.isclose(f(1), 0.5)",                      # the program's import
                        "assert sorted(keys({3: 0, 1: 0})) == [1, 3]",         # a dict view
                        "assert list(g(2)) == [1, 0]",                          # reversed()
                        "assert len(list(perms([1, 2, 3]))) == 6",                
                        "assert big() == 10 ** 5000",                            # an int past str()'s limit
                        "assert rng(3) == range(3)",
                        "try:\n    bad()\nexcept ValueError:\n    pass\nelse:\n    raise AssertionError",
                        "try:\n    bad()\nexcept MyError:\n    pass\nelse:\n    raise AssertionError",
                        "assert LIMIT == 7"]}                                    # a plain global
    program = ("import math, itertools\nLIMIT = 7\nclass MyError(ValueError):\n    pass\n"
               "def f(n): return n / 2\ndef keys(d): return d.keys()\ndef g(n): return reversed(list(range(n)))\n"
               "def perms(xs): return itertools.permutations(xs)\ndef big(): return 10 ** 5000\n"
               "def rng(n): return range(n)\ndef bad(): raise MyError('no')")
    joined = grade_code(record, block(program), CODE_LIMITS, harness="joined")
    split = grade_code(record, block(program), CODE_LIMITS)
    assert joined.pass_rate == 1.0 and split.pass_rate == 1.0


def test_a_broken_channel_fails_the_test_even_when_it_catches_everything():
    record = {**ADD, "tests": ["try:\n    add(1, 2)\nexcept Exception:\n    pass",
                               "try:\n    add(print, 2)\nexcept BaseException:\n    pass"]}  # print cannot cross
    v = grade_code(record, block("import os\ndef add(a, b): os._exit(0)"), CODE_LIMITS)
    assert v.pass_rate == 0.0


def test_a_builtin_the_tests_use_is_never_the_programs_but_a_tested_function_may_be_named_like_one():
    """AceCode's loader names the first non-builtin function its asserts call; MBPP 126
    tests a function the dataset calls `sum`."""
    from flextrap.tasks.acecode import called_function
    tests = ["assert abs(area(2) - 12.566) < 0.01"]
    record = {"id": "x", "entry_point": called_function(tests), "stub": "", "setup": "", "tests": tests}
    assert grade_code(record, block("def area(r): return 0\ndef abs(x): return 0"), CODE_LIMITS).pass_rate == 0.0
    assert grade_code(record, block("def area(r): return 3.14159 * r * r"), CODE_LIMITS).pass_rate == 1.0
    named_sum = {"id": "y", "entry_point": "sum", "stub": "def sum(a, b):", "setup": "", "tests": ["assert sum(10, 15) == 25"]}
    assert grade_code(named_sum, block("def sum(a, b): return a + b"), CODE_LIMITS).pass_rate == 1.0


def test_a_verdict_pipe_flooded_with_deep_json_is_a_zero_not_a_crash():
    forge = verdict_forger(b"[" * 100000 + b"\n")
    assert grade_code(ADD, block(forge), {**CODE_LIMITS, "isolation": "off"}).pass_rate == 0.0
    assert grade_code(ADD, block("-" * 100000 + "1"), CODE_LIMITS).pass_rate == 0.0  # too deep to compile
