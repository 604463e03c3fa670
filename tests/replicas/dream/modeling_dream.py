"""Test replica of Dream's modeling conventions (written for flextrap's tests; not
Dream's code). What it reproduces: the logits at position i are trained to predict
token i + 1 (the caller shifts them); RoPE from `position_ids`, its inverse frequencies
looked up in ROPE_INIT_FUNCTIONS["default"] and kept in a non-persistent buffer
(`reset_rope_parameters` recomputes them); the attention mask is handed to SDPA as it
is (a 4-D boolean or float mask; a 2-D integer one fails there); a list-typed
`_tied_weights_keys`; a generation config whose validate() takes `is_init`; gradient
checkpointing through transformers' switch."""
import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel
from transformers.modeling_outputs import MaskedLMOutput
from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

from .configuration_dream import DreamConfig
from .generation_utils import DreamGenerationConfig  # noqa: F401  (imported as Dream's modeling file does)


class DreamRotaryEmbedding(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        rope_type = "default" if config.rope_scaling is None else config.rope_scaling["rope_type"]
        self.rope_init_fn = ROPE_INIT_FUNCTIONS[rope_type]
        self.reset_parameters()

    def reset_parameters(self):
        inv_freq, self.scaling = self.rope_init_fn(self.config, None)
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, x, position_ids):
        angles = position_ids.float()[..., None] * self.inv_freq[None, None]
        emb = torch.cat([angles, angles], -1)
        return emb.cos().to(x.dtype)[:, None], emb.sin().to(x.dtype)[:, None]


def rotate(x, cos, sin):
    d = x.shape[-1]
    return x * cos + torch.cat([-x[..., d // 2:], x[..., :d // 2]], -1) * sin


class DreamDecoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        kv = c.hidden_size // c.num_attention_heads * c.num_key_value_heads
        self.q_proj = nn.Linear(c.hidden_size, c.hidden_size)
        self.k_proj, self.v_proj = nn.Linear(c.hidden_size, kv), nn.Linear(c.hidden_size, kv)
        self.o_proj = nn.Linear(c.hidden_size, c.hidden_size, bias=False)
        self.gate = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.up = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.down = nn.Linear(c.intermediate_size, c.hidden_size, bias=False)
        self.norm1, self.norm2 = nn.RMSNorm(c.hidden_size, c.rms_norm_eps), nn.RMSNorm(c.hidden_size, c.rms_norm_eps)

    def forward(self, x, attention_mask, cos, sin):
        b, n, d = x.shape
        heads = lambda t: t.view(b, n, -1, d // self.c.num_attention_heads).transpose(1, 2)
        h = self.norm1(x)
        q, k = rotate(heads(self.q_proj(h)), cos, sin), rotate(heads(self.k_proj(h)), cos, sin)
        v = heads(self.v_proj(h))
        groups = self.c.num_attention_heads // self.c.num_key_value_heads
        k, v = k.repeat_interleave(groups, 1), v.repeat_interleave(groups, 1)
        att = F.scaled_dot_product_attention(q, k, v, attn_mask=attention_mask, is_causal=False)
        x = x + self.o_proj(att.transpose(1, 2).reshape(b, n, d))
        h = self.norm2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class DreamPreTrainedModel(PreTrainedModel):
    config_class = DreamConfig
    base_model_prefix = "model"
    supports_gradient_checkpointing = True

    def _init_weights(self, module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            module.weight.data.normal_(mean=0.0, std=self.config.initializer_range)
        if isinstance(module, nn.Linear) and module.bias is not None:
            module.bias.data.zero_()


class DreamBaseModel(DreamPreTrainedModel):
    def __init__(self, config):
        super().__init__(config)
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList(DreamDecoderLayer(config) for _ in range(config.num_hidden_layers))
        self.norm = nn.RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.rotary_emb = DreamRotaryEmbedding(config)
        self.gradient_checkpointing = False
        self.post_init()

    def forward(self, input_ids, attention_mask=None, position_ids=None):
        x = self.embed_tokens(input_ids)
        if position_ids is None:
            position_ids = torch.arange(x.shape[1], device=x.device)[None]
        cos, sin = self.rotary_emb(x, position_ids)
        for layer in self.layers:
            if self.gradient_checkpointing and self.training:
                x = self._gradient_checkpointing_func(layer.__call__, x, attention_mask, cos, sin)
            else:
                x = layer(x, attention_mask, cos, sin)
        return self.norm(x)


class DreamModel(DreamPreTrainedModel):
    _tied_weights_keys = ["lm_head.weight"]

    def __init__(self, config):
        super().__init__(config)
        self.model = DreamBaseModel(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.post_init()

    def reset_rope_parameters(self):
        self.model.rotary_emb.reset_parameters()

    def get_input_embeddings(self):
        return self.model.embed_tokens

    def get_output_embeddings(self):
        return self.lm_head

    def forward(self, input_ids, attention_mask=None, position_ids=None, **kwargs):
        return MaskedLMOutput(logits=self.lm_head(self.model(input_ids, attention_mask, position_ids)))
