"""Test replica of LLaDA's configuration conventions (written for flextrap's tests; not
LLaDA's code): model_type "llada", `use_cache` handed to PretrainedConfig as a keyword
(which transformers 5 no longer stores), OLMo-style field names."""
from transformers import PretrainedConfig


class LLaDAConfig(PretrainedConfig):
    model_type = "llada"

    def __init__(self, use_cache=False, d_model=32, n_heads=2, n_kv_heads=2, n_layers=2, mlp_hidden_size=64,
                 vocab_size=64, embedding_size=64, rope_theta=500000.0, max_sequence_length=256,
                 weight_tying=False, honour_mask=True, **kwargs):
        self.d_model, self.n_heads, self.n_kv_heads, self.n_layers = d_model, n_heads, n_kv_heads, n_layers
        self.mlp_hidden_size, self.vocab_size, self.embedding_size = mlp_hidden_size, vocab_size, embedding_size
        self.rope_theta, self.max_sequence_length = rope_theta, max_sequence_length
        self.weight_tying = weight_tying
        self.honour_mask = honour_mask  # False: the pre-2025-10 revisions, which ignore attention_mask
        super().__init__(use_cache=use_cache, **kwargs)
