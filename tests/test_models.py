"""Model building, save/load round trip, and the offline failure of hub models."""
import json
import os
import subprocess
import sys
from types import SimpleNamespace

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
    import huggingface_hub.constants
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # read once, at import
    spec = {"hf_id": "GSAI-ML/LLaDA-8B-Instruct", "revision": "08b83a6feb34df1a6011b80c3c00c7563e963b07",
            "trust_remote_code": True, "mask_token_id": 126336}
    with pytest.raises(FlextrapError, match="could not load model GSAI-ML/LLaDA-8B-Instruct.*Pre-download"):
        load_model(spec, device="cpu")


def test_fetch_offline_is_one_line_and_jobs_read_the_cache_only(monkeypatch, tmp_path):
    spec = {"hf_id": "GSAI-ML/LLaDA-8B-Instruct", "revision": "08b83a6feb34df1a6011b80c3c00c7563e963b07"}
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    out = subprocess.run([sys.executable, "-m", "flextrap.stages.fetch_model", "--model", json.dumps(spec),
                          "--out", str(tmp_path / "llada.fetched.json")], capture_output=True, text=True, env=env)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert out.stderr.startswith("error: could not load model GSAI-ML/LLaDA-8B-Instruct") and "huggingface-cli download" in out.stderr
    assert not (tmp_path / "llada.fetched.json").exists()
    # what a GPU job gets: the cache only, never the network (rule fetch_model downloaded it once)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(FlextrapError, match="could not load model"):
        load_model({**spec, "local_files_only": True, "mask_token_id": 126336}, device="cpu")


def _calls(module, calls):
    return module.register_forward_hook(lambda m, i, o: calls.append(tuple(i[0].shape[:-1])))


def test_logits_at_runs_bert_s_last_layer_and_head_only_where_asked_and_equals_the_full_forward(tmp_path):
    from flextrap.families.bert import _LAST_LAYER
    from flextrap.models import logits_at
    model, tok = tiny(tmp_path)
    ids = torch.tensor([tok("a = 3 , b = 4 ; find b :", add_special_tokens=False).input_ids + [tok.mask_token_id] * 4])
    with torch.no_grad():
        full = model(ids).logits
        part = logits_at(model, ids, slice(5, 9))
    assert _LAST_LAYER[model]  # exact for BERT, so it is used
    assert part.shape == (1, 4, len(tok)) and torch.allclose(part, full[:, 5:9], atol=1e-5)
    head_calls, mlp_calls, first_mlp_calls = [], [], []
    hooks = [_calls(model.get_output_embeddings(), head_calls),
             _calls(model.bert.encoder.layer[-1].intermediate, mlp_calls),
             _calls(model.bert.encoder.layer[0].intermediate, first_mlp_calls)]
    with torch.no_grad():
        logits_at(model, ids, slice(5, 6))
    for hook in hooks:
        hook.remove()
    # the vocabulary projection and the last layer's MLP saw one position; the first layer all
    assert head_calls == [(1, 1)] and mlp_calls == [(1, 1)] and first_mlp_calls == [(1, ids.shape[1])]


@pytest.mark.parametrize("positions", ["row", "rows", "slice"])
def test_bert_last_layer_split_equals_the_full_forward_with_padding_and_gradients(tmp_path, positions):
    from flextrap.head_split import take
    from flextrap.models import logits_at
    model, tok = tiny(tmp_path)
    torch.manual_seed(0)
    ids = torch.randint(0, len(tok), (3, 12))
    attention_mask = torch.ones_like(ids)
    attention_mask[0, :4] = 0  # left padding of the first prompt
    kwargs = {"attention_mask": attention_mask, "position_ids": (attention_mask.cumsum(1) - 1).clamp_min(0)}  # model's own
    cols = {"row": torch.tensor([5, 11, 7]), "rows": torch.tensor([[4, 9], [0, 11], [6, 6]]),
            "slice": slice(8, 12)}[positions]
    weights = torch.randn(len(tok))

    def grads(fn):
        model.zero_grad()
        (fn() * weights).sum().backward()
        return [p.grad.clone() for p in model.parameters() if p.grad is not None]

    full = grads(lambda: take(model(ids, **kwargs).logits, cols))
    split = grads(lambda: logits_at(model, ids, cols, attention_mask))
    assert len(full) == len(split)
    scale = max(float(g.abs().max()) for g in full)
    for a, b in zip(full, split):  # the same sums in another order: float32 rounding, relative to the gradients
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5 * scale)
    with torch.no_grad():
        assert torch.allclose(logits_at(model, ids, cols, attention_mask), take(model(ids, **kwargs).logits, cols),
                              atol=1e-5)


class ToyLM(torch.nn.Module):
    """An embedding and a linear output layer. `softcap`: a non-linearity after the output
    layer, so that no exact body/head split exists."""

    def __init__(self, softcap: bool):
        super().__init__()
        self.softcap = softcap
        self.emb, self.out = torch.nn.Embedding(10, 4), torch.nn.Linear(4, 10)

    def get_input_embeddings(self):
        return self.emb

    def get_output_embeddings(self):
        return self.out

    def forward(self, x, **kw):
        h = self.emb(x)
        return SimpleNamespace(logits=torch.tanh(self.out(h)) * 3 if self.softcap else self.out(torch.tanh(h)))


def test_logits_at_applies_only_the_head_where_asked_for_other_models():
    from flextrap.head_split import _HEADS
    from flextrap.models import logits_at

    model, ids, calls = ToyLM(softcap=False), torch.tensor([[1, 2, 3, 4]]), []
    with torch.no_grad():
        full = model(ids).logits[:, 2]
        hook = _calls(model.out, calls)
        part = logits_at(model, ids, torch.tensor([2]))
    hook.remove()
    assert torch.allclose(part, full)
    assert _HEADS[model] is not None
    assert calls[-1] == (1,)  # after the one-off probe, the output layer saw one row


def test_logits_at_falls_back_to_the_full_forward_when_the_split_is_not_exact():
    from flextrap.head_split import _HEADS
    from flextrap.models import logits_at

    model = ToyLM(softcap=True)
    ids = torch.tensor([[1, 2, 3, 4]])
    with torch.no_grad():
        assert torch.allclose(logits_at(model, ids, slice(1, 3)), model(ids).logits[:, 1:3])
    assert _HEADS[model] is None


def test_a_specs_kind_is_explicit_or_named_by_exactly_one_key():
    from flextrap.model_specs import spec_kind, with_kind

    assert spec_kind({"path": "m"}) == "saved" and spec_kind({"hf_id": "org/m", "revision": "abc"}) == "hub"
    assert with_kind({"path": "m"}) == {"path": "m", "kind": "saved"}
    assert spec_kind({"kind": "hub", "hf_id": "org/m"}) == "hub"
    for bad in ({}, {"path": "m", "hf_id": "org/m"}):
        with pytest.raises(FlextrapError, match="exactly one of `path`"):
            spec_kind(bad)
