"""The embedded default's tiny model: a transformers BERT masked LM (learned absolute
positions, bidirectional attention). Its last layer, too, runs only at the positions
whose logits are used (`last_layer`, exact, checked once per model)."""
from __future__ import annotations

import weakref

import torch

from .. import last_layer
from ..head_split import take
from .base import Family

_LAST_LAYER: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


@torch.no_grad()
def _last_layer_exact(model) -> bool:
    """Does `last_layer.logits_at` give the full forward's logits (checked once on a probe)?"""
    if not last_layer.supports(model):
        return False
    vocab = model.config.vocab_size
    probe = (torch.arange(16, device=model.device) * 7919 % vocab).view(2, 8)
    columns = torch.tensor([[1, 6], [3, 3]], device=model.device)
    full = take(model(probe).logits, columns).float()
    return torch.allclose(last_layer.logits_at(model, probe, columns).float(), full, rtol=1e-3, atol=1e-3)


class Bert(Family):
    name = "bert"
    model_types = ("bert",)

    def model_class(self, config, source, hub):
        from transformers import AutoModelForMaskedLM

        return AutoModelForMaskedLM._model_mapping[type(config)]

    def logits_at(self, model, input_ids, positions, attention_mask=None):
        if model not in _LAST_LAYER:
            _LAST_LAYER[model] = _last_layer_exact(model)
        if _LAST_LAYER[model]:
            return last_layer.logits_at(model, input_ids, positions, **self.forward_kwargs(model, attention_mask))
        return super().logits_at(model, input_ids, positions, attention_mask)

    def never_split(self, model) -> None:
        super().never_split(model)
        _LAST_LAYER[model] = False

    def tiny_config(self, config, layers, width, heads):
        config.num_hidden_layers, config.hidden_size = layers, width
        config.num_attention_heads, config.intermediate_size = heads, 2 * width
        return config


BERT = Bert()
