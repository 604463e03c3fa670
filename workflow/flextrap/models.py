"""Models: load any configured model as `(model, tokenizer)`; build the tiny one.

Contract of every loaded model: `model(input_ids).logits` is (batch, length, vocab)
and `tokenizer.mask_token_id` is set. Which logits predict which token, the mask form
and the position ids are the model family's (`families`): callers use `logits_at` and
`full_logits`, never the model's own output directly.
- A Hugging Face id (LLaDA-8B-Instruct, LLaDA 1.5, Dream): remote code
  (`trust_remote_code`) at a pinned revision, loaded by its family with the
  compatibility fixes it needs, bf16 on GPU; from the cache only when the spec says
  `local_files_only` (the DAG fetches it once, `flextrap.fetch`).
- A local directory written by `save_pretrained` (the embedded default's tiny
  BERT masked LM, trained by `flextrap.pretrain`; a model after JustGRPO).
"""
from __future__ import annotations

import os
from pathlib import Path

import torch

from .errors import FlextrapError
from .families import family_named, family_of, family_of_type
from .model_specs import gpu_dtype, spec_kind

SPECIAL_TOKENS = {"pad_token": "[PAD]", "mask_token": "[MASK]", "eos_token": "[EOS]",
                  "unk_token": "[UNK]"}


def pick_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise FlextrapError("config asks for device 'cuda' but no GPU is visible")
    return torch.device(device)


def build_word_tokenizer(texts):
    """A word-level tokenizer (split on whitespace) over the words of `texts`."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = sorted({w for t in texts for w in t.split()})
    vocab = {tok: i for i, tok in enumerate(list(SPECIAL_TOKENS.values()) + words)}
    core = Tokenizer(models.WordLevel(vocab, unk_token=SPECIAL_TOKENS["unk_token"]))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=core, **SPECIAL_TOKENS)


def build_tiny_model(arch: dict, tokenizer, max_length: int):
    """A small BERT masked LM (learned absolute positions, bidirectional attention).

    Absolute positions, not ModernBERT's rotary ones: on the synthetic task's fixed
    layout they make every look-up positional, and the model learns it within the CPU
    budget (docs/results.md, "The tiny model, measured", has the measured comparison).
    """
    from transformers import BertConfig, BertForMaskedLM

    config = BertConfig(
        vocab_size=len(tokenizer), hidden_size=arch["hidden_size"],
        num_hidden_layers=arch["num_layers"], num_attention_heads=arch["num_heads"],
        intermediate_size=arch["intermediate_size"], max_position_embeddings=max_length,
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, type_vocab_size=1,
        pad_token_id=tokenizer.pad_token_id,
    )
    return BertForMaskedLM(config)


def _hub_error(spec: dict, err: Exception) -> FlextrapError:
    rev = spec.get("revision", "main")
    return FlextrapError(
        f"could not load model {spec['hf_id']} (revision {rev}): {type(err).__name__}. "
        f"Offline? Pre-download on a machine with network: `huggingface-cli download "
        f"{spec['hf_id']} --revision {rev}` and copy ~/.cache/huggingface (or set HF_HOME), "
        f"or set the model's `path:` to a local directory")


def hub_kwargs(spec: dict) -> dict:
    """`local_files_only`: the weights were fetched into the cache by rule fetch_model."""
    return dict(revision=spec.get("revision"), trust_remote_code=spec.get("trust_remote_code", False),
                local_files_only=spec.get("local_files_only", False))


def _local_path(spec: dict) -> Path:
    path = Path(spec["path"])
    if not (path / "config.json").exists():
        raise FlextrapError(f"{path}: not a saved model (no config.json)")
    return path


def load_tokenizer(spec: dict):
    """The tokenizer of a model spec, with `mask_token_id` set (see module docstring)."""
    from transformers import AutoTokenizer

    saved = spec_kind(spec) == "saved"
    try:
        if saved:
            tokenizer = AutoTokenizer.from_pretrained(_local_path(spec),
                                                      trust_remote_code=spec.get("trust_remote_code", False))
        else:
            tokenizer = AutoTokenizer.from_pretrained(spec["hf_id"], **hub_kwargs(spec))
    except (OSError, ValueError) as err:
        if saved:
            raise
        raise _hub_error(spec, err) from None
    if "mask_token_id" in spec:
        tokenizer.mask_token_id = spec["mask_token_id"]  # LLaDA: 126336, not in its tokenizer config
    if tokenizer.mask_token_id is None:
        raise FlextrapError(f"model {spec}: tokenizer has no mask token; set `mask_token_id`")
    return tokenizer


def family_of_spec(spec: dict, source: str, hub: dict):
    """The spec's `family:`, else the one claiming the saved config's model_type."""
    if "family" in spec:
        return family_named(spec["family"])
    from transformers import AutoConfig

    return family_of_type(AutoConfig.from_pretrained(source, **hub).model_type)


def load_model(spec: dict, device: str = "auto"):
    """`(model, tokenizer)` for a model spec from the config (see module docstring);
    the model's family loads it, with the compatibility fixes its code needs."""
    dev = pick_device(device)
    tokenizer = load_tokenizer(spec)
    if spec_kind(spec) == "saved":  # e.g. trained here: on a GPU in its base model's dtype, where the spec names one
        source, hub = str(_local_path(spec)), {"trust_remote_code": spec.get("trust_remote_code", False)}
        dtype = getattr(torch, spec["dtype"]) if dev.type == "cuda" and "dtype" in spec else None
        model = family_of_spec(spec, source, hub).load(source, hub, dtype=dtype)
    else:
        dtype = getattr(torch, gpu_dtype(spec)) if dev.type == "cuda" else torch.float32
        hub = hub_kwargs(spec)
        try:
            model = family_of_spec(spec, spec["hf_id"], hub).load(spec["hf_id"], hub, dtype=dtype)
        except (OSError, ValueError) as err:
            raise _hub_error(spec, err) from None
    return model.to(dev).eval(), tokenizer


def logits_at(model, input_ids, positions, attention_mask=None) -> torch.Tensor:
    """The logits that predict `positions` only (for Dream, whose logits are shifted,
    those at the position before): a slice (the same columns in every row, result
    (batch, columns, vocab)) or a (batch,) tensor (one column per row, result
    (batch, vocab)); a (batch, k) tensor gives k columns per row, result
    (batch, k, vocab). `attention_mask` (batch, length) marks left padding; the family
    turns it into the mask form and position ids its model takes. Cheapest exact way
    first: the BERT family runs its last layer and head only there (`last_layer`);
    others run the body with the output layer replaced by the identity, then the head
    on the kept rows (`head_split`); models where neither is exact run in full."""
    return family_of(model).logits_at(model, input_ids, positions, attention_mask)


def full_logits(model, input_ids, attention_mask=None) -> torch.Tensor:
    """(batch, length, vocab) logits, column i predicting token i (every family)."""
    return family_of(model).logits(model, input_ids, attention_mask)


def use_full_forward(model) -> None:
    """Never split this model (e.g. under FSDP, where parameters are only gathered
    inside the wrapped forward)."""
    family_of(model).never_split(model)


def count_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())


def set_threads(n: int | None) -> None:
    """Use the cores Snakemake gave the job (OMP default may oversubscribe)."""
    if n:
        torch.set_num_threads(n)
        os.environ.setdefault("OMP_NUM_THREADS", str(n))


def enable_activation_checkpointing(model) -> str:
    """Recompute activations in the backward pass, with the family's switch."""
    try:
        return family_of(model).enable_activation_checkpointing(model)
    except NotImplementedError as err:
        raise FlextrapError(str(err)) from None
