"""Test replica of LLaDA's modeling conventions (written for flextrap's tests; not
LLaDA's code). What it reproduces: the wrapper's __init__ never calls post_init();
tie_weights() takes no arguments; forward reads `self.config.use_cache`; the untied
output layer is `model.transformer.ff_out`; a 2-D attention_mask becomes an additive
bias (or is ignored, `honour_mask: false`); no position_ids argument (RoPE over absolute
positions); activation checkpointing through `model.set_activation_checkpointing`."""
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint
from transformers import PreTrainedModel
from transformers.modeling_outputs import CausalLMOutputWithPast

from .configuration_llada import LLaDAConfig


def rotate(x, positions, theta):
    d = x.shape[-1]
    inv = 1.0 / theta ** (torch.arange(0, d, 2, device=x.device).float() / d)
    angles = positions.float()[:, None] * inv[None]
    cos, sin = torch.cat([angles.cos()] * 2, -1).to(x.dtype), torch.cat([angles.sin()] * 2, -1).to(x.dtype)
    half = torch.cat([-x[..., d // 2:], x[..., :d // 2]], -1)
    return x * cos + half * sin


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.attn_norm, self.ff_norm = nn.RMSNorm(c.d_model), nn.RMSNorm(c.d_model)
        self.q, self.k, self.v = (nn.Linear(c.d_model, c.d_model, bias=False) for _ in range(3))
        self.attn_out = nn.Linear(c.d_model, c.d_model, bias=False)
        self.ff_proj = nn.Linear(c.d_model, c.mlp_hidden_size, bias=False)
        self.up = nn.Linear(c.d_model, c.mlp_hidden_size, bias=False)
        self.ff_out = nn.Linear(c.mlp_hidden_size, c.d_model, bias=False)

    def forward(self, x, bias):
        b, n, d = x.shape
        h = self.attn_norm(x)
        heads = lambda t: t.view(b, n, self.c.n_heads, -1).transpose(1, 2)
        pos = torch.arange(n, device=x.device)
        q, k = rotate(heads(self.q(h)), pos, self.c.rope_theta), rotate(heads(self.k(h)), pos, self.c.rope_theta)
        att = F.scaled_dot_product_attention(q, k, heads(self.v(h)), attn_mask=bias, is_causal=False)
        x = x + self.attn_out(att.transpose(1, 2).reshape(b, n, d))
        h = self.ff_norm(x)
        return x + self.ff_out(F.silu(self.ff_proj(h)) * self.up(h))


class LLaDAModel(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config, self.checkpointing = config, None
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config.embedding_size, config.d_model),
            blocks=nn.ModuleList(Block(config) for _ in range(config.n_layers)),
            ln_f=nn.RMSNorm(config.d_model)))
        if not config.weight_tying:
            self.transformer.update({"ff_out": nn.Linear(config.d_model, config.embedding_size, bias=False)})

    def set_activation_checkpointing(self, strategy):
        self.checkpointing = strategy

    def reset_parameters(self):
        for p in self.parameters():
            nn.init.normal_(p, std=0.02) if p.dim() > 1 else nn.init.ones_(p)

    def forward(self, input_ids, attention_mask=None):
        x = self.transformer.wte(input_ids)
        bias = None
        if attention_mask is not None and 0 in attention_mask and self.config.honour_mask:
            bias = (1.0 - attention_mask.float())[:, None, None, :] * torch.finfo(torch.float).min
            bias = bias.to(x.dtype)
        for block in self.transformer.blocks:
            if self.checkpointing == "whole_layer" and self.training:
                x = checkpoint(block, x, bias, use_reentrant=False)
            else:
                x = block(x, bias)
        x = self.transformer.ln_f(x)
        return self.transformer.ff_out(x)


class LLaDAModelLM(PreTrainedModel):
    config_class = LLaDAConfig
    base_model_prefix = "model"

    def __init__(self, config, model=None, init_params=False):
        super().__init__(config)  # no post_init(), as in LLaDA
        self.model = model or LLaDAModel(config)

    def forward(self, input_ids=None, attention_mask=None, use_cache=None, return_dict=None, **kwargs):
        if use_cache is None:
            use_cache = self.config.use_cache
        assert not use_cache, "no KV cache for a masked diffusion model"
        return CausalLMOutputWithPast(logits=self.model(input_ids, attention_mask), past_key_values=None)

    def get_input_embeddings(self):
        return self.model.transformer.wte

    def get_output_embeddings(self):
        return self.model.transformer.wte if self.config.weight_tying else self.model.transformer.ff_out

    def tie_weights(self):
        if self.config.weight_tying:
            self.model.transformer.ff_out = self.model.transformer.wte
