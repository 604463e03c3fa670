"""LLaDA-8B-Instruct and LLaDA 1.5 (GSAI-ML): one remote code (`modeling_llada.py`).

Conventions: logits at position i predict token i; no `position_ids` argument (RoPE
over absolute positions, which left padding shifts by the same amount for every real
token, leaving their relative positions unchanged); the revisions since 2025-10 turn a
2-D `attention_mask` into an additive bias (older ones ignore it: the sampler then
batches prompts by length); an untied output layer `model.transformer.ff_out`; its own
activation checkpointing switch.
"""
from __future__ import annotations

import functools

from .base import Family


def _calls_post_init(init):
    """transformers 5 builds `all_tied_weights_keys` (read by `from_pretrained`) in
    `post_init()`, which LLaDAModelLM.__init__ never calls."""
    @functools.wraps(init)
    def wrapped(self, *args, **kwargs):
        init(self, *args, **kwargs)
        if not hasattr(self, "all_tied_weights_keys"):
            self.post_init()
    return wrapped


def _takes_keywords(tie_weights):
    """transformers 5 calls `tie_weights(missing_keys=..., recompute_mapping=...)`;
    LLaDA's takes no arguments."""
    @functools.wraps(tie_weights)
    def wrapped(self, *args, **kwargs):
        return tie_weights(self)
    return wrapped


class LLaDA(Family):
    name = "llada"
    model_types = ("llada",)

    def prepare_config(self, config):
        # transformers 5 no longer gives every config `use_cache`; LLaDA's forward reads it.
        if not hasattr(config, "use_cache"):
            config.use_cache = False

    def patch_class(self, cls):
        if getattr(cls, "_flextrap_patched", False):
            return
        cls.__init__ = _calls_post_init(cls.__init__)
        cls.tie_weights = _takes_keywords(cls.tie_weights)
        cls._flextrap_patched = True

    def from_config(self, config, source, hub):
        model = super().from_config(config, source, hub)
        model.model.reset_parameters()  # LLaDA's own initialisation (the constructor leaves it out)
        return model

    def tiny_config(self, config, layers, width, heads):
        config.n_layers, config.d_model, config.n_heads = layers, width, heads
        config.n_kv_heads, config.mlp_hidden_size = heads, 2 * width
        return config

    def forward_kwargs(self, model, attention_mask):
        return {} if attention_mask is None else {"attention_mask": attention_mask}

    def enable_activation_checkpointing(self, model):
        model.model.set_activation_checkpointing("whole_layer")
        return "whole_layer (LLaDA's own switch)"


LLADA = LLaDA()
