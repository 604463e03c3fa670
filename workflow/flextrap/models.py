"""Models: load any configured model as `(model, tokenizer)`; build the tiny one.

Contract of every loaded model: `model(input_ids).logits` is (batch, length, vocab)
and `tokenizer.mask_token_id` is set.
- A Hugging Face id (LLaDA-8B-Instruct): `AutoModel.from_pretrained(...,
  trust_remote_code=True)` at a pinned revision, bf16 on GPU; from the cache only when
  the spec says `local_files_only` (the DAG fetches it once, `flextrap.fetch`).
- A local directory written by `save_pretrained` (the embedded default's tiny
  BERT masked LM, trained by `flextrap.pretrain`).
"""
from __future__ import annotations

import os
import weakref
from contextlib import contextmanager
from pathlib import Path

import torch

from . import last_layer
from .errors import FlextrapError

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
    budget (README, "The tiny model", has the measured comparison).
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


def _hub_kwargs(spec: dict) -> dict:
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

    try:
        if "path" in spec:
            tokenizer = AutoTokenizer.from_pretrained(_local_path(spec),
                                                      trust_remote_code=spec.get("trust_remote_code", False))
        else:
            tokenizer = AutoTokenizer.from_pretrained(spec["hf_id"], **_hub_kwargs(spec))
    except (OSError, ValueError) as err:
        if "path" in spec:
            raise
        raise _hub_error(spec, err) from None
    if "mask_token_id" in spec:
        tokenizer.mask_token_id = spec["mask_token_id"]  # LLaDA: 126336, not in its tokenizer config
    if tokenizer.mask_token_id is None:
        raise FlextrapError(f"model {spec}: tokenizer has no mask token; set `mask_token_id`")
    return tokenizer


def load_model(spec: dict, device: str = "auto"):
    """`(model, tokenizer)` for a model spec from the config (see module docstring)."""
    from transformers import AutoModel, AutoModelForMaskedLM

    dev = pick_device(device)
    tokenizer = load_tokenizer(spec)
    if "path" in spec:  # a saved remote-code model (a trained LLaDA) registers itself under AutoModel
        auto = AutoModel if spec.get("trust_remote_code") else AutoModelForMaskedLM
        model = auto.from_pretrained(_local_path(spec), trust_remote_code=spec.get("trust_remote_code", False))
    else:
        dtype = getattr(torch, spec.get("dtype", "bfloat16")) if dev.type == "cuda" else torch.float32
        try:
            model = AutoModel.from_pretrained(spec["hf_id"], dtype=dtype, **_hub_kwargs(spec))
        except (OSError, ValueError) as err:
            raise _hub_error(spec, err) from None
    return model.to(dev).eval(), tokenizer


_HEADS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


@contextmanager
def _head_replaced(model, name: str, module):
    parent_name, _, attr = name.rpartition(".")
    parent = model.get_submodule(parent_name)
    original = getattr(parent, attr)
    setattr(parent, attr, module)
    try:
        yield
    finally:
        setattr(parent, attr, original)


@torch.no_grad()
def _find_head(model):
    """(name, module) of the model's output layer when the body/head split is exact,
    checked once on a probe input; None when the full forward must be used."""
    get = getattr(model, "get_output_embeddings", None)
    head = get() if get else None
    if not isinstance(head, torch.nn.Linear) or head is model.get_input_embeddings():
        return None
    name = next((n for n, m in model.named_modules() if m is head), None)
    if not name:
        return None
    vocab = head.out_features
    probe = (torch.arange(8, device=head.weight.device) * 7919 % vocab)[None]
    full = model(probe).logits.float()
    with _head_replaced(model, name, torch.nn.Identity()):
        hidden = model(probe).logits
    split = head(hidden).float() if hidden.shape[-1] == head.in_features else None
    exact = split is not None and torch.allclose(split, full, rtol=1e-3, atol=1e-3)
    return (name, head) if exact else None


def hidden_and_head(model, input_ids, **kwargs):
    """(hidden, head): the input of the model's output layer at every position and that
    layer, when the body/head split is exact for this model (checked once on a probe);
    else (logits, None)."""
    if model not in _HEADS:
        _HEADS[model] = _find_head(model)
    found = _HEADS[model]
    if found is None:
        return model(input_ids, **kwargs).logits, None
    name, head = found
    with _head_replaced(model, name, torch.nn.Identity()):
        return model(input_ids, **kwargs).logits, head


@torch.no_grad()
def _last_layer_exact(model) -> bool:
    """Does `last_layer.logits_at` give the full forward's logits (checked once on a probe)?"""
    if not last_layer.supports(model):
        return False
    vocab = model.config.vocab_size
    probe = (torch.arange(16, device=model.device) * 7919 % vocab).view(2, 8)
    columns = torch.tensor([[1, 6], [3, 3]], device=model.device)
    full = last_layer.take(model(probe).logits, columns).float()
    return torch.allclose(last_layer.logits_at(model, probe, columns).float(), full, rtol=1e-3, atol=1e-3)


_LAST_LAYER: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def logits_at(model, input_ids, positions, **kwargs) -> torch.Tensor:
    """The model's logits at `positions` only: a slice (the same columns in every row,
    result (batch, columns, vocab)) or a (batch,) tensor (one column per row, result
    (batch, vocab)); a (batch, k) tensor gives k columns per row, result
    (batch, k, vocab). Cheapest exact way first: a BERT masked LM runs its last layer
    and head only there (`last_layer`); other models run the body with the output layer
    (the LM head, 126,464 wide for LLaDA) replaced by the identity, then the head on the
    kept rows; models where neither split is exact fall back to the full forward."""
    if model not in _LAST_LAYER:
        _LAST_LAYER[model] = _last_layer_exact(model)
    if _LAST_LAYER[model] and set(kwargs) <= {"attention_mask", "position_ids"}:
        return last_layer.logits_at(model, input_ids, positions, **kwargs)
    hidden, head = hidden_and_head(model, input_ids, **kwargs)
    kept = last_layer.take(hidden, positions)
    return kept if head is None else head(kept)


def use_full_forward(model) -> None:
    """Never split this model (e.g. under FSDP, where parameters are only gathered
    inside the wrapped forward)."""
    _HEADS[model] = None
    _LAST_LAYER[model] = False


def count_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())


def set_threads(n: int | None) -> None:
    """Use the cores Snakemake gave the job (OMP default may oversubscribe)."""
    if n:
        torch.set_num_threads(n)
        os.environ.setdefault("OMP_NUM_THREADS", str(n))


def enable_activation_checkpointing(model) -> str:
    """Recompute activations in the backward pass. LLaDA's remote model refuses
    transformers' `gradient_checkpointing_enable` but has its own switch."""
    inner = getattr(model, "model", None)
    if hasattr(inner, "set_activation_checkpointing"):
        inner.set_activation_checkpointing("whole_layer")
        return "whole_layer (LLaDA)"
    if getattr(model, "supports_gradient_checkpointing", False):
        model.gradient_checkpointing_enable()
        return "transformers gradient checkpointing"
    raise FlextrapError(f"{type(model).__name__} has no activation checkpointing switch")
