"""Pinned floating-point numerics: the same bits from a job whatever CPU, load or caller
environment it meets (docs/numerics.md).

A float32 result depends on which kernels compute it: torch's vectorized CPU kernels
(chosen per CPU unless `ATEN_CPU_CAPABILITY` names them), MKL's code branch (`MKL_CBWR`),
oneDNN's instruction set (`ONEDNN_MAX_CPU_ISA`), the thread count and whether MKL or
OpenMP change it at run time. Config `numerics:` names them for two modes:

- `portable`: torch's AVX2 kernels, MKL's COMPATIBLE branch (the one branch MKL documents
  as giving the same results on Intel and non-Intel CPUs), oneDNN capped at AVX2;
- `machine`: each library's best kernels for this CPU, with MKL's reproducible
  dispatch (`MKL_CBWR=AUTO`), at full speed. MKL documents this as run-to-run
  reproducible, but fresh processes here sometimes wrote other weights: only
  `portable` is held to the same bits (docs/numerics.md).

Both fix the thread count, turn dynamic threads off, make torch use deterministic
algorithms and keep float32 matmuls in full precision. The settings reach a job as
one environment variable (`FLEXTRAP_NUMERICS`, set by the Snakefile's shell prefix);
`flextrap.stages` applies them before anything imports torch, over whatever the
caller's environment says.
"""
from __future__ import annotations

import json
import os
import platform
import re
import shlex
import sys

ENV_VAR = "FLEXTRAP_NUMERICS"
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


class NumericsError(RuntimeError):
    """Numerics asked for too late (torch already imported)."""


def job_numerics(numerics: dict, default_threads: int) -> dict:
    """What one job pins, from config `numerics` (both modes' variables are the project's:
    the ones the chosen mode does not set are removed, not inherited from the caller)."""
    mode = numerics["mode"]
    owned = {v for env in numerics["modes"].values() for v in env} | set(numerics["clear"])
    return {"mode": mode, "set": {**numerics["environment"], **numerics["modes"][mode]},
            "clear": sorted(owned - set(numerics["modes"][mode])),
            "deterministic_algorithms": numerics["deterministic_algorithms"],
            "float32_matmul_precision": numerics["float32_matmul_precision"],
            "default_threads": default_threads}


def child_environment(numerics: dict, mode: str, threads: int, environ, pythonpath: str) -> dict:
    """The environment of a fresh process (the numerics benchmarks and tests) under mode
    `mode` of config `numerics`, or under none (`unpinned`: the caller's environment
    without the project's pins), importing flextrap from `pythonpath`."""
    env = {k: v for k, v in environ.items() if k != ENV_VAR}
    if mode != "unpinned":
        env[ENV_VAR] = json.dumps(job_numerics({**numerics, "mode": mode}, threads))
    return {**env, "PYTHONPATH": pythonpath}


def shell_export(settings: dict) -> str:
    """The shell line that hands `settings` to a job (JSON in one quoted word). A caller's
    WORLD_SIZE (some schedulers export it) would split a one-process job's threads, so it
    is dropped; `accelerate launch` sets it again for the processes it starts."""
    return f"export {ENV_VAR}={shlex.quote(json.dumps(settings, sort_keys=True))}; unset WORLD_SIZE; "


def threads_per_process(threads: int, environ) -> int:
    """A job's threads shared by the processes `accelerate launch` starts (WORLD_SIZE)."""
    return max(1, threads // int(environ.get("WORLD_SIZE", 1)))


def job_threads(argv: list[str], environ, default: int) -> int:
    """The job's threads per process: its `--threads`, else `default`."""
    threads = default
    for i, arg in enumerate(argv[:-1]):
        if arg == "--threads":
            threads = int(argv[i + 1])
    return threads_per_process(threads, environ)


def pin_environment(settings: dict, environ, threads: int) -> None:
    """Set the variables the libraries read when they load (before torch is imported)."""
    for name in settings["clear"]:
        environ.pop(name, None)
    environ.update({name: str(value) for name, value in settings["set"].items()})
    environ.update({name: str(threads) for name in THREAD_VARS})


def pin_torch(settings: dict, threads: int) -> None:
    """What torch sets at run time: threads, deterministic algorithms, matmul precision."""
    import torch

    torch.set_num_threads(threads)
    mode = settings["deterministic_algorithms"]  # error | warn | disabled
    torch.use_deterministic_algorithms(mode != "disabled", warn_only=mode == "warn")
    torch.set_float32_matmul_precision(settings["float32_matmul_precision"])
    torch.backends.cudnn.benchmark = False


def pin_from_environment(argv=None, environ=None) -> dict | None:
    """Apply `FLEXTRAP_NUMERICS` if set (a stage's first step); None if unset."""
    environ = os.environ if environ is None else environ
    raw = environ.get(ENV_VAR)
    if not raw:
        return None
    if "torch" in sys.modules:
        raise NumericsError(f"{ENV_VAR} is set but torch was imported before the numerics "
                            "were pinned; pin them first (import flextrap.stages)")
    settings = json.loads(raw)
    threads = job_threads(sys.argv if argv is None else argv, environ, settings["default_threads"])
    pin_environment(settings, environ, threads)
    pin_torch(settings, threads)
    return settings


# The CPU's vector instruction sets: which kernels MKL, oneDNN and torch could pick.
VECTOR_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_tile")


def cpu_identity(cpuinfo="/proc/cpuinfo") -> dict:
    """The CPU model's name, family and model numbers, and vector flags from /proc/cpuinfo:
    two CPUs of one name can differ in their instruction sets (AMD EPYC with and without
    AVX-512), and a cross-machine comparison of bits needs to know which it had. The
    first processor's entry stands for all."""
    fields = {}
    try:
        with open(cpuinfo) as f:
            for line in f:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
    except OSError:
        pass
    flags = set(fields.get("flags", "").split())
    return {"cpu": fields.get("model name") or platform.processor() or platform.machine(),
            "cpu_family": fields.get("cpu family"), "cpu_model_number": fields.get("model"),
            "cpu_flags": [flag for flag in VECTOR_FLAGS if flag in flags]}


def deterministic_state(torch) -> str:
    if not torch.are_deterministic_algorithms_enabled():
        return "disabled"
    return "warn" if torch.is_deterministic_algorithms_warn_only_enabled() else "error"


def in_effect() -> dict:
    """The numerics this process runs with (provenance of every output). Torch's state
    is read only where torch is loaded; a job that never loads it computes nothing in it."""
    pinned = os.environ.get(ENV_VAR)
    env_names = ("ATEN_CPU_CAPABILITY", "MKL_CBWR", "ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS",
                 "MKL_DYNAMIC", "OMP_DYNAMIC", *THREAD_VARS, "CUBLAS_WORKSPACE_CONFIG")
    out = {"mode": json.loads(pinned)["mode"] if pinned else "unpinned",
           **cpu_identity(), "machine": platform.machine(),
           "environment": {name: os.environ.get(name) for name in env_names}}
    torch = sys.modules.get("torch")
    if torch is not None:
        mkl = re.search(r"Math Kernel Library Version (\S+)", torch.__config__.show())
        out.update(torch=torch.__version__, cpu_capability=torch.backends.cpu.get_cpu_capability(),
                   mkl=mkl.group(1) if mkl else None, threads=torch.get_num_threads(),
                   deterministic_algorithms=deterministic_state(torch),
                   float32_matmul_precision=torch.get_float32_matmul_precision())
        if torch.cuda.is_available():
            out.update(gpu=torch.cuda.get_device_name(), cuda=torch.version.cuda,
                       cudnn=torch.backends.cudnn.version())
    return out
