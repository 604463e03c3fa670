"""Model specs as the config writes them (`{"path": ...}` or `{"hf_id": ..., "revision": ...}`
with family, dtype, mask token and remote-code flag): the fields shared by the rules
(torch-free) and by `flextrap.models`, which loads them."""
from __future__ import annotations

from .errors import FlextrapError

SPEC_KINDS = {"saved": "path", "hub": "hf_id"}  # a spec's kind -> the key that says where it loads from

INHERITED_KEYS = ("family", "trust_remote_code", "dtype", "mask_token_id")  # a derived model is its base's kind


def inherited_from(base: dict) -> dict:
    """What a model derived from `base` (a JustGRPO run, trained here or released) keeps of it."""
    return {k: base[k] for k in INHERITED_KEYS if k in base}


def gpu_dtype(spec: dict) -> str:
    """The dtype a hub model runs in on a GPU (`models.load_model`, rule `preflight`): its
    `dtype`, else bf16, the paper's precision (on a CPU: float32)."""
    return spec.get("dtype", "bfloat16")


def spec_kind(spec: dict) -> str:
    """Where a model spec loads from: `saved` (a directory: `path`) or `hub` (`hf_id`). The
    DAG's plan writes it as `kind`; a spec written by hand names one of the two keys."""
    if "kind" in spec:
        return spec["kind"]
    kinds = [kind for kind, key in SPEC_KINDS.items() if key in spec]
    if len(kinds) != 1:
        raise FlextrapError(f"model {spec}: give exactly one of `path` (a saved model) or `hf_id` (a hub model)")
    return kinds[0]


def with_kind(spec: dict) -> dict:
    """`spec` with its `kind` written out (what the rules hand their stages)."""
    return {**spec, "kind": spec_kind(spec)}
