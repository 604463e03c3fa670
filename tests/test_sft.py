"""The LLaDA SFT loss on hand-checkable cases."""
import math

import torch

from flextrap.sft import forward_process, noised_batch, sft_loss


def test_uniform_logits_give_log_vocab_per_token():
    # One sequence, answer of 4 tokens, 2 masked at p_mask=0.5, vocabulary of 8:
    # each masked token costs log 8, weighted 1/0.5, divided by the answer length 4.
    logits = torch.zeros(1, 6, 8)
    targets = torch.tensor([[1, 2, 3, 4, 5, 6]])
    masked = torch.tensor([[False, False, True, False, True, False]])
    p_mask = torch.full((1, 6), 0.5)
    loss = sft_loss(logits, targets, masked, p_mask, answer_lengths=torch.tensor([4]))
    assert math.isclose(loss.item(), 2 * math.log(8) / 0.5 / 4, rel_tol=1e-6)


def test_hand_computed_two_sequence_batch():
    # Sequence 0: one masked token with logits [2, 0] and target 0 at t=0.25, answer length 2.
    # Sequence 1: one masked token with logits [0, 0] and target 1 at t=1.0, answer length 1.
    logits = torch.tensor([[[2.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [5.0, 5.0]]])
    targets = torch.tensor([[0, 1], [1, 1]])
    masked = torch.tensor([[True, False], [True, False]])
    p_mask = torch.tensor([[0.25, 0.25], [1.0, 1.0]])
    ce0 = -math.log(math.exp(2) / (math.exp(2) + 1))
    ce1 = math.log(2)
    expected = (ce0 / 0.25 / 2 + ce1 / 1.0 / 1) / 2
    loss = sft_loss(logits, targets, masked, p_mask, torch.tensor([2, 1]))
    assert math.isclose(loss.item(), expected, rel_tol=1e-6)


def test_forward_process_never_masks_the_prompt_and_rate_follows_t():
    g = torch.Generator().manual_seed(0)
    answer = torch.zeros(2000, 50, dtype=torch.bool)
    answer[:, 10:] = True
    masked, p_mask = forward_process(answer, g)
    assert not masked[:, :10].any()
    assert torch.all(p_mask >= 1e-3) and torch.all(p_mask <= 1)
    # the realized masking rate of each row tracks its own t
    rate = masked[:, 10:].float().mean(1)
    assert torch.corrcoef(torch.stack([rate, p_mask[:, 0]]))[0, 1] > 0.95


def test_noised_batch_replaces_masked_tokens_only():
    g = torch.Generator().manual_seed(1)
    ids = torch.arange(40).reshape(2, 20)
    answer = torch.ones(2, 20, dtype=torch.bool)
    noisy, masked, _ = noised_batch(ids, answer, mask_id=99, generator=g)
    assert torch.equal(noisy == 99, masked)
    assert torch.equal(noisy[~masked], ids[~masked])
