"""Run a model's body once and its output layer (126,464 wide for LLaDA) only at the
few positions whose logits are used: exact when the output layer is a plain linear map
applied last, which is checked once per model on a probe input."""
from __future__ import annotations

import weakref
from contextlib import contextmanager

import torch

_HEADS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def take(hidden: torch.Tensor, positions) -> torch.Tensor:
    """hidden (batch, S, ...) at `positions`: a slice (the same columns in every row), a
    (batch,) tensor (one column per row) or a (batch, k) tensor (k columns per row)."""
    if isinstance(positions, slice):
        return hidden[:, positions]
    rows = torch.arange(hidden.shape[0], device=hidden.device).view(-1, *[1] * (positions.dim() - 1))
    return hidden[rows, positions]


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


def never_split(model) -> None:
    _HEADS[model] = None
