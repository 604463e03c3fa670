"""Model specs as the config writes them (`{"path": ...}` or `{"hf_id": ..., "revision": ...}`
with family, dtype, mask token and remote-code flag): the fields shared by the rules
(torch-free) and by `flextrap.models`, which loads them."""
from __future__ import annotations

INHERITED_KEYS = ("family", "trust_remote_code", "dtype", "mask_token_id")  # a derived model is its base's kind


def inherited_from(base: dict) -> dict:
    """What a model derived from `base` (a JustGRPO run, trained here or released) keeps of it."""
    return {k: base[k] for k in INHERITED_KEYS if k in base}


def gpu_dtype(spec: dict) -> str:
    """The dtype a hub model runs in on a GPU (`models.load_model`, rule `preflight`): its
    `dtype`, else bf16, the paper's precision (on a CPU: float32)."""
    return spec.get("dtype", "bfloat16")
