"""Test replica of Dream's configuration conventions (written for flextrap's tests; not
Dream's code): model_type "Dream", Qwen2 field names, `rope_scaling` None (RoPE type
"default")."""
from transformers import PretrainedConfig


class DreamConfig(PretrainedConfig):
    model_type = "Dream"

    def __init__(self, vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                 num_attention_heads=2, num_key_value_heads=1, max_window_layers=2, rope_theta=1000000.0,
                 rope_scaling=None, rms_norm_eps=1e-6, initializer_range=0.02, mask_token_id=None, **kwargs):
        self.vocab_size, self.hidden_size, self.intermediate_size = vocab_size, hidden_size, intermediate_size
        self.num_hidden_layers, self.num_attention_heads = num_hidden_layers, num_attention_heads
        self.num_key_value_heads, self.max_window_layers = num_key_value_heads, max_window_layers
        self.rope_theta, self.rope_scaling, self.rms_norm_eps = rope_theta, rope_scaling, rms_norm_eps
        self.initializer_range, self.mask_token_id = initializer_range, mask_token_id
        super().__init__(**kwargs)
