"""Dream-v0-Instruct-7B (Dream-org): a Qwen2 body with bidirectional attention.

Conventions: **shifted logits**, the token at position i is predicted by the logits at
position i-1 (Dream was initialised from an AR model and kept its head's alignment);
rotary positions from `position_ids` (cumsum of the mask - 1 under left padding); a
4-D mask that its attention layers use as they are (a 2-D integer one fails in its
SDPA call); an untied `lm_head`.
"""
from __future__ import annotations

import sys

import torch

from .base import Family


def default_rope_parameters(config, device=None, seq_len=None, **kwargs):
    """RoPE's inverse frequencies 1 / theta^(2j / d) (Su et al., 2021) and no scaling."""
    dim = config.hidden_size // config.num_attention_heads
    exponents = torch.arange(0, dim, 2, dtype=torch.int64).to(device=device, dtype=torch.float) / dim
    return 1.0 / (config.rope_theta ** exponents), 1.0


def _no_validate(self, *args, **kwargs):
    return None


class Dream(Family):
    name = "dream"
    model_types = ("Dream",)
    logit_shift = 1

    def patch_class(self, cls):
        if getattr(cls, "_flextrap_patched", False):
            return
        module = sys.modules[cls.__module__]
        # transformers 5 dropped the "default" entry of ROPE_INIT_FUNCTIONS (models compute their own).
        if "default" not in module.ROPE_INIT_FUNCTIONS:
            module.ROPE_INIT_FUNCTIONS = {**module.ROPE_INIT_FUNCTIONS, "default": default_rope_parameters}
        # transformers 5 reads `_tied_weights_keys` as a {tied: source} dict, not a list.
        if isinstance(getattr(cls, "_tied_weights_keys", None), list):
            cls._tied_weights_keys = {"lm_head.weight": "model.embed_tokens.weight"}
        # transformers 5 calls GenerationConfig.validate(strict=...); Dream's override takes is_init.
        generation_config = getattr(module, "DreamGenerationConfig", None)
        if generation_config is not None:
            generation_config.validate = _no_validate
        cls._flextrap_patched = True

    def load(self, source, hub, dtype=None):
        model = super().load(source, hub, dtype)
        # transformers 5 builds the model on the meta device and restores saved tensors
        # only: RoPE's non-persistent `inv_freq` buffers would stay uninitialised.
        model.reset_rope_parameters()
        return model

    def tiny_config(self, config, layers, width, heads):
        config.num_hidden_layers, config.max_window_layers, config.hidden_size = layers, layers, width
        config.num_attention_heads, config.num_key_value_heads = heads, max(1, heads // 2)
        config.intermediate_size = 2 * width
        return config

    def forward_kwargs(self, model, attention_mask):
        """Dream's sampler's form: a (batch, 1, n, n) mask over the keys, boolean for
        its SDPA attention (whatever the compute dtype), additive for eager attention;
        position ids counted from each row's first token."""
        if attention_mask is None:
            return {}
        n = attention_mask.shape[1]
        keys = (attention_mask != 0)[:, None, None, :].expand(-1, 1, n, -1)
        if getattr(model, "module", model).config._attn_implementation == "eager":
            keys = torch.zeros(keys.shape, device=keys.device).masked_fill(~keys, torch.finfo(torch.float32).min)
        return {"attention_mask": keys, "position_ids": (attention_mask.cumsum(1) - 1).clamp_min(0)}

DREAM = Dream()
