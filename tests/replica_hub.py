"""Hub-like model directories built from the test replicas in tests/replicas/ (remote
code + config.json with auto_map + tokenizer, optionally random weights), loaded
through the same `trust_remote_code` path as the real LLaDA and Dream."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from flextrap.families import family_named
from flextrap.models import build_word_tokenizer

REPLICAS = Path(__file__).parent / "replicas"
WORDS = ["What is 2 + 3 ?", "Tom has 3 apples and buys 4 more . How many apples does he have now ?",
         "first b = 4 . answer 4 so therefore"]
EXTRA_VOCAB = 7  # the model's vocabulary is larger than the tokenizer's, as LLaDA's and Dream's are

CONFIGS = {
    "llada": {"model_type": "llada", "architectures": ["LLaDAModelLM"],
              "auto_map": {"AutoConfig": "configuration_llada.LLaDAConfig",
                           "AutoModel": "modeling_llada.LLaDAModelLM"},
              "d_model": 32, "n_heads": 2, "n_kv_heads": 2, "n_layers": 2, "mlp_hidden_size": 64},
    "dream": {"model_type": "Dream", "architectures": ["DreamModel"],
              "auto_map": {"AutoConfig": "configuration_dream.DreamConfig", "AutoModel": "modeling_dream.DreamModel"},
              "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
              "num_key_value_heads": 1},
}


def replica_hub(root: Path, family: str, weights: bool = True, **config) -> dict:
    """A directory like a fetched hub snapshot of `family`'s replica; returns its model
    spec. `config` overrides config.json fields (honour_mask=False: the mask-ignoring
    LLaDA revision)."""
    out = root / f"{family}-hub"
    out.mkdir(parents=True)
    for code in (REPLICAS / family).glob("*.py"):
        shutil.copy(code, out)
    tokenizer = build_word_tokenizer(WORDS)
    vocab = len(tokenizer) + EXTRA_VOCAB
    fields = {**CONFIGS[family], "vocab_size": vocab, "embedding_size": vocab, **config,
              "pad_token_id": tokenizer.pad_token_id, "eos_token_id": tokenizer.eos_token_id}
    (out / "config.json").write_text(json.dumps(fields, indent=1))
    tokenizer.save_pretrained(out)
    spec = {"hf_id": str(out), "family": family, "trust_remote_code": True}
    if weights:
        fam, hub = family_named(family), {"trust_remote_code": True}
        fam.from_config(fam.load_config(str(out), hub), str(out), hub).save_pretrained(out)
    return spec
