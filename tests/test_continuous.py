"""Early exit and continuous batching (flextrap.continuous): a row leaves exactly when its
text is fixed, and every row's answer, commit steps and forward-pass count are those of
a full decode cut at that point, whatever rows share its batch (its entropies and
confidences to float rounding: CPU BLAS kernels round by the number of rows)."""
from types import SimpleNamespace

import pytest
import torch

from flextrap.continuous import text_is_fixed
from flextrap.orders import RANKINGS
from conftest import assert_same_row, exit_view, finished_rows
from flextrap.sampling import generate

MASK, EOS, V = 0, 1, 12


# --- hand-built cases on a stub model with known logits ----------------------------

class TargetModel(torch.nn.Module):
    """Predicts `target[i]` at answer position i with confidence `conf[i]` (the rest
    of the probability spread evenly); records the masked answer positions per call."""

    def __init__(self, prompt_len, target, conf):
        super().__init__()
        self.p, self.target, self.conf, self.calls = prompt_len, target, conf, []

    def forward(self, x, attention_mask=None):
        self.calls.append((x[:, self.p:] == MASK).clone())
        b, n = x.shape
        logits = torch.zeros(b, n, V)
        for i, (tok, c) in enumerate(zip(self.target, self.conf)):
            logits[:, self.p + i, tok] = c
        return SimpleNamespace(logits=logits)


def decode(target, conf, block_length, steps=None):
    model = TargetModel(2, target, conf)
    n = len(target)
    rows = finished_rows(model, [[5, 6]], [0], batch_size=1, gen_length=n, steps=steps or n,
                         block_length=block_length, temperature=0.0, remasking="low_confidence",
                         mask_id=MASK, eos_id=EOS)
    return rows[0], model


def test_ar_order_exits_right_after_committing_the_first_eos():
    row, model = decode([4, 5, EOS, EOS, 7, 8], [1.0] * 6, block_length=1)
    assert row["nfe"] == 3 == len(model.calls)
    assert row["answer"] == [4, 5, EOS, MASK, MASK, MASK] and row["step"] == [0, 1, 2, -1, -1, -1]


def test_an_eos_committed_early_far_right_waits_for_the_masked_positions_before_it():
    # block of 4, confidence right to left: the EOS at position 3 is committed first,
    # then 2, 1, 0; the text is fixed only when position 0 is committed (4 passes).
    row, model = decode([4, 5, 6, EOS, 7, 8, 9, EOS], [1, 2, 3, 4, 5, 6, 7, 8], block_length=4)
    assert row["nfe"] == 4 == len(model.calls)
    assert [c[0].tolist() for c in model.calls][1] == [True, True, True, False] + [True] * 4
    assert row["step"] == [3, 2, 1, 0, -1, -1, -1, -1]


def test_a_committed_eos_inside_the_answer_fixes_the_text_before_the_block_ends():
    # EOS at position 1 committed second: once positions 0 and 1 are in, 2-3 cannot change the text
    row, model = decode([4, EOS, 6, 7, 8, 9, 10, 11], [5, 4, 1, 0.5, 1, 1, 1, 1], block_length=4)
    assert row["nfe"] == 2 and row["answer"] == [4, EOS] + [MASK] * 6


def test_without_an_eos_a_row_runs_every_step():
    row, model = decode([4, 5, 6, 7], [1, 2, 3, 4], block_length=2)
    assert row["nfe"] == 4 and row["answer"] == [4, 5, 6, 7]


def test_text_is_fixed_reads_only_committed_eos():
    assert not text_is_fixed(torch.tensor([MASK, 4, EOS, MASK]), MASK, EOS)
    assert text_is_fixed(torch.tensor([3, 4, EOS, MASK]), MASK, EOS)
    assert not text_is_fixed(torch.tensor([3, MASK, 4]), MASK, EOS)
    assert text_is_fixed(torch.tensor([3, 5, 4]), MASK, None)


# --- on a tiny random masked LM: equal to a full decode, bit for bit ---------------

def eos_prone(tiny_lm):
    """The tiny random LM with its EOS logit raised, so that answers end at varied points."""
    import copy

    model, tok = tiny_lm
    model = copy.deepcopy(model)
    with torch.no_grad():
        model.cls.predictions.decoder.bias[tok.eos_token_id] += 2.5
    return model, tok


ORDERS = {"ar": dict(block_length=1, remasking="low_confidence", temperature=0.7),
          "greedy": dict(block_length=4, remasking="low_confidence", temperature=0.0),
          # every ranking of the registry, and a fixed priority (JustGRPO-Random's rollouts)
          **{name: dict(block_length=4, remasking=name, temperature=0.8) for name in RANKINGS},
          "fixed_priority": dict(block_length=16, remasking="low_confidence", temperature=1.0,
                                 priority=torch.randperm(16, generator=torch.Generator().manual_seed(3)).double())}


@pytest.mark.parametrize("order", ORDERS)
def test_every_row_equals_a_full_decode_cut_at_its_exit(tiny_lm, order):
    model, tok = eos_prone(tiny_lm)
    words = ["a = 3 , b = 4 ; find b :", "find a :", "c = 1 ; p = c + c ; find p :", "q = 2 ; find q :"]
    prompts = [tok(w, add_special_tokens=False).input_ids for w in words for _ in range(3)]
    seeds = list(range(100, 100 + len(prompts)))
    width = max(map(len, prompts))
    kw = dict(gen_length=16, steps=16, mask_id=tok.mask_token_id, pad_id=tok.pad_token_id, **ORDERS[order])
    rows = finished_rows(model, prompts, seeds, batch_size=5, eos_id=tok.eos_token_id, width=width, **kw)
    nfe = []
    for i, (prompt, seed) in enumerate(zip(prompts, seeds)):  # one prompt at a time, at the same width
        full = generate(model, [prompt], generator=[torch.Generator().manual_seed(seed)], trace=True,
                        width=width, **kw)
        assert_same_row(rows[i], exit_view(full, 0, tok.eos_token_id, tok.mask_token_id))
        nfe.append(rows[i]["nfe"])
    assert min(nfe) < 16  # some rows did exit early


def test_a_batch_decode_equals_one_prompt_at_a_time_at_one_width(tiny_lm):
    model, tok = tiny_lm
    prompts = [tok(w, add_special_tokens=False).input_ids for w in ("find a :", "c = 1 ; find c :", "b = 2 ; find b :")]
    kw = dict(gen_length=8, steps=8, block_length=4, temperature=0.9, remasking="low_confidence",
              mask_id=tok.mask_token_id, pad_id=tok.pad_token_id, trace=True, width=12)
    batch = generate(model, prompts, generator=[torch.Generator().manual_seed(i) for i in range(3)], **kw)
    for i, prompt in enumerate(prompts):
        alone = generate(model, [prompt], generator=[torch.Generator().manual_seed(i)], **kw)
        assert torch.equal(batch.answers[i], alone.answers[0])
        assert torch.equal(batch.trace["step"][i], alone.trace["step"][0])
        assert torch.allclose(batch.trace["entropy"][i], alone.trace["entropy"][0], atol=1e-6)
