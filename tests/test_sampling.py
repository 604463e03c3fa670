"""Order invariants of LLaDA's sampler, on a stub model with known logits."""
from types import SimpleNamespace

import pytest
import torch

from flextrap.sampling import generate, num_transfer_tokens, sample_tokens

MASK, V = 0, 12


class StubModel(torch.nn.Module):
    """Predicts token (position % 10 + 2); its confidence grows with the position,
    so confidence order is right-to-left while AR order is left-to-right. Records
    which positions were still masked at every call."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def forward(self, x, attention_mask=None):
        self.calls.append((x == MASK).clone())
        b, n = x.shape
        pos = torch.arange(n, dtype=torch.float)
        logits = torch.full((b, n, V), -5.0)
        logits[:, torch.arange(n), (torch.arange(n) % 10) + 2] = pos / 4
        return SimpleNamespace(logits=logits)


def commit_order(calls, p):
    """The step at which each generated position stopped being masked."""
    steps = torch.stack([c[0, p:] for c in calls] + [torch.zeros_like(calls[0][0, p:])])
    return (steps.float().cumprod(0).sum(0)).long()  # number of calls while masked


def run(block_length, steps=8, gen_length=8, remasking="low_confidence", temperature=0.0):
    model = StubModel()
    prompt = torch.tensor([[5, 6, 7]])
    out = generate(model, prompt, gen_length=gen_length, steps=steps, block_length=block_length,
                   temperature=temperature, remasking=remasking, mask_id=MASK)
    return model, out


def test_ar_order_commits_left_to_right():
    model, out = run(block_length=1)
    order = commit_order(model.calls, 3)
    assert order.tolist() == list(range(1, 9))
    assert not (out == MASK).any()


def test_confidence_order_inside_a_block_is_right_to_left_and_blocks_go_left_to_right():
    model, out = run(block_length=4)
    order = commit_order(model.calls, 3).tolist()
    assert order == [4, 3, 2, 1, 8, 7, 6, 5]
    assert out[0, 3:].tolist() == [(p % 10) + 2 for p in range(3, 11)]


def test_prompt_is_never_changed_and_all_masks_filled_with_random_remasking():
    g = torch.Generator().manual_seed(0)
    model = StubModel()
    prompt = torch.tensor([[5, 6, 7], [8, 9, 10]])
    out = generate(model, prompt, gen_length=8, steps=4, block_length=4, temperature=1.0,
                   remasking="random", mask_id=MASK, generator=g)
    assert torch.equal(out[:, :3], prompt) and not (out == MASK).any()
    assert len(model.calls) == 4  # 2 blocks x 2 steps, 2 tokens per step


def test_num_transfer_tokens_is_llada_schedule():
    sched = num_transfer_tokens(torch.tensor([10, 3]), 4)
    assert sched.tolist() == [[3, 3, 2, 2], [1, 1, 1, 0]]


def test_gumbel_sampling_matches_softmax_at_temperature():
    g = torch.Generator().manual_seed(0)
    logits = torch.tensor([1.0, 0.0, -1.0]).repeat(20000, 1)
    for t in (0.5, 1.0):
        draws = sample_tokens(logits, t, g)
        freq = torch.bincount(draws, minlength=3).double() / len(draws)
        assert torch.allclose(freq, torch.softmax(logits[0].double() / t, 0), atol=0.015)
    assert torch.equal(sample_tokens(logits, 0, g), torch.zeros(20000, dtype=torch.long))


def test_bad_block_length_is_rejected():
    with pytest.raises(ValueError):
        run(block_length=3)
