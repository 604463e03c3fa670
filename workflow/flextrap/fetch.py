"""Download a hub model once into the Hugging Face cache, before any GPU job loads it.

Runs on the submitting machine (a login node has the network; compute nodes often do
not). The jobs that load the model then read the cache only (`local_files_only`), so a
hundred sampling jobs make no hub requests. Offline, it fails with the command to
pre-download the weights elsewhere.
"""
from __future__ import annotations

from .models import _hub_error


def fetch(spec: dict) -> str:
    """The local snapshot directory of `spec`'s weights, code and tokenizer (downloaded
    into the HF cache unless already there)."""
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(spec["hf_id"], revision=spec.get("revision"))
    except Exception as err:  # noqa: BLE001 - hub, network and cache errors all mean "not fetched"
        raise _hub_error(spec, err) from None
