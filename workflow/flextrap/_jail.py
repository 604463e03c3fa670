# Launcher for one untrusted program; run as `python -I -c <this source> ...` by sandbox.py.
# It becomes a child subreaper (orphaned descendants are re-parented to it), runs
# program.py under resource limits in the current directory (with any further arguments:
# the split harness's channel descriptors), enforces the wall-clock timeout, then
# SIGKILLs every remaining descendant and prints one JSON status line.
import ctypes, json, os, resource, signal, sys, time

timeout, memory, max_output = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
PR_SET_CHILD_SUBREAPER = 36
ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def descendants():
    parent = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parent[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    found, frontier = set(), {os.getpid()}
    while frontier:
        frontier = {p for p, pp in parent.items() if pp in frontier and p not in found}
        found |= frontier
    return found


def kill_all():
    for _ in range(200):
        pids = descendants()
        if not pids:
            return
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            pass
        time.sleep(0.005)


child = os.fork()
if child == 0:
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (max_output, max_output))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    out = os.open("output.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.execv(sys.executable, [sys.executable, "-I", "-B", "program.py", *sys.argv[4:]])

deadline, status, timed_out = time.monotonic() + timeout, None, False
while status is None:
    pid, st = os.waitpid(child, os.WNOHANG)
    if pid:
        status = st
    elif time.monotonic() > deadline:
        timed_out = True
        break
    else:
        time.sleep(0.005)
kill_all()
result = {"timeout": timed_out, "returncode": None, "signal": None}
if status is not None:
    if os.WIFSIGNALED(status):
        result["signal"] = os.WTERMSIG(status)
    else:
        result["returncode"] = os.WEXITSTATUS(status)
print(json.dumps(result), flush=True)
