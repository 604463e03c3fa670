"""Model building, save/load round trip, and the offline failure of hub models."""
import json
import os
import subprocess
import sys

import pytest
import torch

from flextrap.errors import FlextrapError
from flextrap.models import build_tiny_model, build_word_tokenizer, load_model

ARCH = {"hidden_size": 32, "num_layers": 2, "num_heads": 2, "intermediate_size": 64}


def tiny(tmp_path):
    tok = build_word_tokenizer(["a = 3 , b = 4 ; find b :", "first b = 4 . answer 4"])
    model = build_tiny_model(ARCH, tok, max_length=64)
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    return model.eval(), tok


def test_tokenizer_is_word_level_with_special_tokens():
    tok = build_word_tokenizer(["first b = 4 . answer 4"])
    ids = tok("first b = 4 .", add_special_tokens=False).input_ids
    assert len(ids) == 5 and tok.decode(ids) == "first b = 4 ."
    assert len({tok.mask_token_id, tok.pad_token_id, tok.eos_token_id}) == 3


def test_save_load_round_trip(tmp_path):
    model, tok = tiny(tmp_path)
    loaded, tok2 = load_model({"path": str(tmp_path)}, device="cpu")
    ids = torch.tensor([tok("a = 3 , b = 4 ; find b :", add_special_tokens=False).input_ids + [tok.mask_token_id] * 4])
    out = loaded(ids).logits
    assert out.shape == (1, ids.shape[1], len(tok))
    assert torch.allclose(out, model(ids).logits, atol=1e-6)
    assert tok2.mask_token_id == tok.mask_token_id and tok2.get_vocab() == tok.get_vocab()


def test_left_padding_with_mask_and_shifted_positions_changes_nothing(tmp_path):
    model, tok = tiny(tmp_path)
    ids = torch.tensor([tok("a = 3 , b", add_special_tokens=False).input_ids])
    padded = torch.cat([torch.full((1, 3), tok.pad_token_id), ids], 1)
    mask = torch.cat([torch.zeros(1, 3, dtype=torch.long), torch.ones_like(ids)], 1)
    positions = (mask.cumsum(1) - 1).clamp_min(0)  # learned absolute positions start at the text
    with torch.no_grad():
        a = model(ids).logits
        b = model(padded, attention_mask=mask, position_ids=positions).logits[:, 3:]
        c = model(padded, attention_mask=mask).logits[:, 3:]
    assert torch.allclose(a, b, atol=1e-5)
    assert not torch.allclose(a, c, atol=1e-3)  # unshifted positions do change the output


def test_missing_local_model_is_a_clear_error(tmp_path):
    with pytest.raises(FlextrapError, match="not a saved model"):
        load_model({"path": str(tmp_path / "nothing")}, device="cpu")


def test_hub_model_offline_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    spec = {"hf_id": "GSAI-ML/LLaDA-8B-Instruct", "revision": "08b83a6feb34df1a6011b80c3c00c7563e963b07",
            "trust_remote_code": True, "mask_token_id": 126336}
    with pytest.raises(FlextrapError, match="could not load model GSAI-ML/LLaDA-8B-Instruct.*Pre-download"):
        load_model(spec, device="cpu")


def test_fetch_offline_is_one_line_and_jobs_read_the_cache_only(monkeypatch, tmp_path):
    spec = {"hf_id": "GSAI-ML/LLaDA-8B-Instruct", "revision": "08b83a6feb34df1a6011b80c3c00c7563e963b07"}
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    out = subprocess.run([sys.executable, "-m", "flextrap.fetch", "--model", json.dumps(spec),
                          "--out", str(tmp_path / "llada.fetched.json")], capture_output=True, text=True, env=env)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert out.stderr.startswith("error: could not load model GSAI-ML/LLaDA-8B-Instruct") and "huggingface-cli download" in out.stderr
    assert not (tmp_path / "llada.fetched.json").exists()
    # what a GPU job gets: the cache only, never the network (rule fetch_model downloaded it once)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(FlextrapError, match="could not load model"):
        load_model({**spec, "local_files_only": True, "mask_token_id": 126336}, device="cpu")


def test_logits_at_applies_the_head_only_where_asked_and_equals_the_full_forward(tmp_path):
    from flextrap.models import _HEADS, logits_at
    model, tok = tiny(tmp_path)
    ids = torch.tensor([tok("a = 3 , b = 4 ; find b :", add_special_tokens=False).input_ids + [tok.mask_token_id] * 4])
    with torch.no_grad():
        full = model(ids).logits
        part = logits_at(model, ids, slice(5, 9))
    assert _HEADS[model] is not None  # BERT's split is exact, so it is used
    assert part.shape == (1, 4, len(tok)) and torch.allclose(part, full[:, 5:9], atol=1e-5)
    calls = []
    head = model.get_output_embeddings()
    hook = head.register_forward_hook(lambda m, i, o: calls.append(i[0].shape[1]))
    with torch.no_grad():
        logits_at(model, ids, slice(5, 6))
    hook.remove()
    assert calls == [1]  # the vocabulary projection saw one position, not the whole sequence


def test_logits_at_falls_back_to_the_full_forward_when_the_split_is_not_exact():
    from types import SimpleNamespace

    from flextrap.models import _HEADS, logits_at

    class Softcapped(torch.nn.Module):  # a head followed by a non-linearity: no exact split
        def __init__(self):
            super().__init__()
            self.emb, self.out = torch.nn.Embedding(10, 4), torch.nn.Linear(4, 10)

        def get_input_embeddings(self):
            return self.emb

        def get_output_embeddings(self):
            return self.out

        def forward(self, x, **kw):
            return SimpleNamespace(logits=torch.tanh(self.out(self.emb(x))) * 3)

    model = Softcapped()
    ids = torch.tensor([[1, 2, 3, 4]])
    with torch.no_grad():
        assert torch.allclose(logits_at(model, ids, slice(1, 3)), model(ids).logits[:, 1:3])
    assert _HEADS[model] is None
