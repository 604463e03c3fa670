"""Loading datasets from the Hugging Face hub or local files, with clear offline errors."""
from __future__ import annotations

from ..errors import FlextrapError


def load_rows(source: dict) -> list[dict]:
    """Rows of one split. `source` is either {data_files: path} (a local JSON/JSONL/
    parquet file, used by tests and by users who pre-downloaded) or
    {path, name?, split, revision?} on the hub."""
    import datasets

    if "data_files" in source:
        files = source["data_files"]
        kind = "parquet" if str(files).endswith(".parquet") else "json"
        try:
            return list(datasets.load_dataset(kind, data_files=files, split="train"))
        except Exception as err:  # noqa: BLE001 - any reader error is a bad input file
            raise FlextrapError(f"could not read {files}: {err}") from None
    try:
        ds = datasets.load_dataset(source["path"], source.get("name"), split=source["split"],
                                   revision=source.get("revision"))
    except Exception as err:  # noqa: BLE001 - network, auth and cache errors all land here
        name = source["path"] + (f" ({source['name']})" if source.get("name") else "")
        raise FlextrapError(
            f"could not load dataset {name}, split {source['split']}: "
            f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}. "
            f"Offline? Pre-download on a machine with network: "
            f"`python -c \"import datasets; datasets.load_dataset('{source['path']}'"
            f"{', ' + repr(source['name']) if source.get('name') else ''})\"` "
            f"and copy ~/.cache/huggingface (or set HF_HOME), or point the task's "
            f"source to a local file with `data_files:`") from None
    return list(ds)


def source_for(spec: dict, split: str) -> dict:
    try:
        return spec["sources"][split]
    except KeyError:
        raise FlextrapError(f"no source configured for split {split!r} "
                            f"(have: {', '.join(spec.get('sources', {}))})") from None
