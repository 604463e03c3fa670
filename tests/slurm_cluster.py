"""A one-node SLURM cluster on this machine, for the tests of `snakemake --profile slurm`.

    with one_node_cluster(tmp_path / "slurm", gpus=8) as env:
        subprocess.run(["sbatch", ...], env=env)

Starts munged, slurmctld and slurmd (Debian's `munge` and `slurm-wlm`, run as root) with
every file they write (config, key, socket, state, spool, logs, pid files) under one
directory, on ports of their own, so a cluster already running on the machine is not
touched. The node advertises the machine's CPUs and memory and, with `gpus`, that many
GPUs backed by empty device files (Slurm drops GPUs without a file; no job here uses
them). On exit it stops exactly the daemons it started. Clients find the cluster
through `SLURM_CONF` in the returned environment; its PATH starts with an `srun` that
sets `SLURM_CONF` again, because the jobstep executor plugin removes every `SLURM_*`
variable but the job's identity before it calls `srun` inside a job (a real cluster's
nodes read /etc/slurm/slurm.conf instead).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "srun")


def available() -> str | None:
    """None when a cluster can be started here, else why not."""
    missing = [d for d in DAEMONS if not shutil.which(d) and not Path(f"/usr/sbin/{d}").exists()]
    if missing:
        return f"not installed: {', '.join(missing)} (apt-get install slurm-wlm munge)"
    if os.geteuid() != 0:
        return "the test cluster's daemons run as root"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _memory_mb() -> int:
    total_kb = int(next(line.split()[1] for line in open("/proc/meminfo") if line.startswith("MemTotal")))
    return total_kb // 1024 - 2048  # leave the machine some room


def write_config(root: Path, gpus: int, partitions: dict[str, bool]) -> Path:
    """slurm.conf (+ gres.conf) for one node named after this host. `partitions`: name ->
    is the default."""
    host = socket.gethostname()
    node = f"NodeName={host} CPUs={os.cpu_count()} RealMemory={_memory_mb()} State=UNKNOWN"
    lines = [
        "ClusterName=flextrap-test", f"SlurmctldHost={host}", "SlurmUser=root", "SlurmdUser=root",
        "AuthType=auth/munge", "CredType=cred/munge", f"AuthInfo=socket={root}/munge.sock",
        f"SlurmctldPort={_free_port()}", f"SlurmdPort={_free_port()}",
        f"StateSaveLocation={root}/state", f"SlurmdSpoolDir={root}/spool",
        f"SlurmctldPidFile={root}/slurmctld.pid", f"SlurmdPidFile={root}/slurmd.pid",
        f"SlurmctldLogFile={root}/slurmctld.log", f"SlurmdLogFile={root}/slurmd.log",
        "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none",
        "SelectType=select/cons_tres", "SelectTypeParameters=CR_Core_Memory",
        "AccountingStorageType=accounting_storage/none", "JobAcctGatherType=jobacct_gather/none",
        "SchedulerType=sched/backfill", "MpiDefault=none", "ReturnToService=2", "MinJobAge=600",
    ]
    if gpus:
        devices = root / "dev"
        devices.mkdir()
        for i in range(gpus):
            (devices / f"gpu{i}").touch()
        (root / "gres.conf").write_text(f"NodeName={host} Name=gpu File={devices}/gpu[0-{gpus - 1}]\n")
        lines.append("GresTypes=gpu")
        node += f" Gres=gpu:{gpus}"
    lines.append(node)
    lines += [f"PartitionName={name} Nodes=ALL Default={'YES' if default else 'NO'} MaxTime=INFINITE State=UP"
              for name, default in partitions.items()]
    conf = root / "slurm.conf"
    conf.write_text("\n".join(lines) + "\n")
    return conf


def _wait_for_idle(env: dict, root: Path, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    state = ""
    while time.time() < deadline:
        out = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], env=env, capture_output=True, text=True)
        state = out.stdout.strip()
        if state and all(s == "idle" for s in state.split()):
            return
        time.sleep(0.5)
    logs = "".join((root / f).read_text()[-1500:] for f in ("slurmctld.log", "slurmd.log") if (root / f).exists())
    raise RuntimeError(f"the test cluster's node did not become idle (state {state!r}):\n{logs}")


@contextmanager
def one_node_cluster(root: Path, gpus: int = 0, partitions: dict[str, bool] | None = None):
    """Start the cluster under `root` (created, must not exist); yield the client env."""
    root = Path(root)
    root.mkdir(parents=True)
    root.chmod(0o755)  # munged wants the socket's directory searchable by all
    for sub in ("state", "spool"):
        (root / sub).mkdir()
    key = root / "munge.key"
    key.write_bytes(os.urandom(128))
    key.chmod(0o600)
    conf = write_config(root, gpus, partitions or {"debug": True})
    wrappers = root / "bin"
    wrappers.mkdir()
    (wrappers / "srun").write_text(f'#!/bin/sh\nexport SLURM_CONF={conf}\nexec {shutil.which("srun")} "$@"\n')
    (wrappers / "srun").chmod(0o755)
    env = {**os.environ, "SLURM_CONF": str(conf), "PATH": f"{wrappers}:{os.environ['PATH']}"}
    started: list[subprocess.Popen] = []
    try:
        started.append(_daemon(root, "munged", ["munged", "-F", "-f", f"--socket={root}/munge.sock",
                                                f"--key-file={key}", f"--pid-file={root}/munged.pid",
                                                f"--seed-file={root}/munged.seed", f"--log-file={root}/munged.log"], env))
        _wait_for(root / "munge.sock")
        started.append(_daemon(root, "slurmctld", ["slurmctld", "-D", "-i", "-f", str(conf)], env))
        started.append(_daemon(root, "slurmd", ["slurmd", "-D", "-f", str(conf)], env))
        _wait_for_idle(env, root)
        yield env
    finally:
        for proc in reversed(started):
            _stop(proc)


def _daemon(root: Path, name: str, argv: list[str], env: dict) -> subprocess.Popen:
    path = shutil.which(argv[0]) or f"/usr/sbin/{argv[0]}"
    out = open(root / f"{name}.out", "w")
    return subprocess.Popen([path, *argv[1:]], env=env, stdout=out, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)


def _wait_for(path: Path, timeout: float = 20) -> None:
    deadline = time.time() + timeout
    while not path.exists():
        if time.time() > deadline:
            raise RuntimeError(f"{path} did not appear")
        time.sleep(0.1)


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
