"""The slot probe: slots of a solution, and accuracy 1 for a model that knows the answer."""
import random
import types

import pytest
import torch
from conftest import WORDS

from flextrap.errors import FlextrapError
from flextrap.models import build_word_tokenizer
from flextrap.pretrain import encode
from flextrap.slot_probe import slot_accuracy
from flextrap.tasks.synthetic import SLOTS, slot_names
from flextrap.tasks.synthetic import make_problem, write_prompt, write_solution

SETTINGS = {"task": "synthetic", "template": "plain", "gen_length": 48, "mask_ratio": 0.5, "seed": 0, "batch_size": 3}


def records(n=7):
    rng = random.Random(0)
    out = []
    for _ in range(n):
        problem = make_problem(rng, 3, 5, rng.randint(2, 3), 10)
        out.append({"prompts": {"plain": write_prompt(problem)}, "solution": write_solution(problem, rng)})
    return out


def test_slot_names_follow_the_step_template():
    names = slot_names("first p = a + b = 3 + 5 = 8 . answer 8")
    assert names == ["conn", "var", None, "x", "op", "y", None, "X", "op2", "Y", None, "Z", None, None, "V"]
    with pytest.raises(FlextrapError, match="not a synthetic-task solution"):
        slot_names("first p = a + b = 3 + 5 = 8 answer 8")


class Oracle(torch.nn.Module):
    """Predicts the gold token at every position (the gold ids are given up front)."""

    def __init__(self, gold, vocab):
        super().__init__()
        self.gold, self.vocab = gold, vocab
        self.config = types.SimpleNamespace(max_position_embeddings=128)
        self.dummy = torch.nn.Parameter(torch.zeros(1))
        self.offset = 0

    def forward(self, input_ids, attention_mask=None):
        rows = self.gold[self.offset:self.offset + len(input_ids)]
        self.offset += len(input_ids)
        return types.SimpleNamespace(logits=torch.nn.functional.one_hot(rows, self.vocab).float())


def test_an_oracle_scores_one_on_every_slot_and_every_slot_is_probed():
    tok = build_word_tokenizer([WORDS])
    recs = records()
    gold, _, _ = encode(recs, tok, "plain", SETTINGS["gen_length"], 128)
    result = slot_accuracy(Oracle(gold, len(tok)), tok, recs, SETTINGS)
    assert set(result) == set(SLOTS)
    assert all(r["masked"] > 0 and r["accuracy"] == 1.0 for r in result.values()), result


def test_a_model_that_predicts_the_mask_token_scores_zero():
    from flextrap.models import build_tiny_model

    tok = build_word_tokenizer([WORDS])
    torch.manual_seed(0)
    model = build_tiny_model({"hidden_size": 32, "num_layers": 1, "num_heads": 2, "intermediate_size": 64},
                             tok, max_length=128).eval()
    recs = records()
    masked_input, _, _ = encode(recs, tok, "plain", SETTINGS["gen_length"], 128)
    wrong = torch.full_like(masked_input, tok.mask_token_id)
    result = slot_accuracy(Oracle(wrong, len(tok)), tok, recs, SETTINGS)
    assert all(r["accuracy"] == 0.0 for r in result.values())
    real = slot_accuracy(model, tok, recs, SETTINGS)  # a real (random) BERT runs through the same path
    assert all(0.0 <= r["accuracy"] <= 1.0 for r in real.values())


@pytest.mark.parametrize("step_style, absent", [("letters", set()), ("constants", {"k"}), ("totals", {"k", "x"})])
def test_the_probe_scores_the_forks_tasks_own_slots(step_style, absent):
    from flextrap.tasks import forks, prepare

    recs = prepare("forks", "test", {"templates": ["plain"], "generator": {
        "seed": 1, "n_train": 5, "n_test": 7, "moves": 3, "steps": 3, "modulus": 10, "right_multisets": [1, 2],
        "step_style": step_style}})
    tok = build_word_tokenizer([r["prompts"]["plain"] + " " + r["solution"] for r in recs])
    gold, _, _ = encode(recs, tok, "plain", SETTINGS["gen_length"], 128)
    result = slot_accuracy(Oracle(gold, len(tok)), tok, recs, {**SETTINGS, "task": "forks"})
    assert list(result) == [k for k in forks.SLOTS if k not in absent]  # a slot the style never writes is left out
    assert all(r["masked"] > 0 and r["accuracy"] == 1.0 for r in result.values()), result
