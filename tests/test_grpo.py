"""JustGRPO's objective: exact AR log-probs (chunked == one at a time == by hand),
advantages, the loss and its gradient."""
import copy

import pytest
import torch

from flextrap.grpo import ar_logprobs, group_advantages, grpo_loss, top_entropy_positions
from flextrap.models import build_tiny_model, build_word_tokenizer

ARCH = {"hidden_size": 32, "num_layers": 2, "num_heads": 2, "intermediate_size": 64}


@pytest.fixture(scope="module")
def model_and_tok():
    tok = build_word_tokenizer(["a b c d e f g h"])
    torch.manual_seed(0)
    return build_tiny_model(ARCH, tok, max_length=64).eval(), tok


def batch(tok, b=3, p=5, L=6, seed=1):
    g = torch.Generator().manual_seed(seed)
    lo, hi = len(tok.all_special_ids), len(tok)
    return torch.randint(lo, hi, (b, p), generator=g), torch.randint(lo, hi, (b, L), generator=g)


def by_hand(model, prompt, completion, mask_id, order=None):
    """One forward pass per position: log-softmax at position k of [q, o_<k, MASK...]."""
    b, L = completion.shape
    order = list(range(L)) if order is None else order.tolist()
    out = torch.zeros(b, L)
    for step, pos in enumerate(order):
        x = torch.cat([prompt, completion], 1).clone()
        hidden = [q for q in range(L) if q not in order[:step]]
        x[:, prompt.shape[1] + torch.tensor(hidden)] = mask_id
        logits = model(x).logits[:, prompt.shape[1] + pos]
        out[:, pos] = torch.log_softmax(logits, -1).gather(-1, completion[:, pos, None])[:, 0]
    return out


@pytest.mark.parametrize("chunk", [1, 4, 7, 100])
def test_chunked_equals_one_position_at_a_time_and_by_hand(model_and_tok, chunk):
    model, tok = model_and_tok
    prompt, completion = batch(tok)
    with torch.no_grad():
        one = ar_logprobs(model, prompt, completion, tok.mask_token_id, chunk=1)
        got = ar_logprobs(model, prompt, completion, tok.mask_token_id, chunk=chunk)
        hand = by_hand(model, prompt, completion, tok.mask_token_id)
    assert torch.allclose(got, one, atol=1e-5) and torch.allclose(got, hand, atol=1e-5)
    assert (got < 0).all()


def test_fixed_permutation_order_and_position_subset(model_and_tok):
    model, tok = model_and_tok
    prompt, completion = batch(tok)
    order = torch.tensor([3, 0, 5, 1, 4, 2])
    with torch.no_grad():
        got = ar_logprobs(model, prompt, completion, tok.mask_token_id, chunk=5, order=order)
        hand = by_hand(model, prompt, completion, tok.mask_token_id, order=order)
        keep = torch.zeros(3, 6, dtype=torch.bool)
        keep[0, [1, 4]] = keep[2, 0] = True
        some = ar_logprobs(model, prompt, completion, tok.mask_token_id, chunk=2, positions=keep)
        ar = ar_logprobs(model, prompt, completion, tok.mask_token_id)
    assert torch.allclose(got, hand, atol=1e-5)
    assert torch.allclose(some[keep], ar[keep], atol=1e-5) and (some[~keep] == 0).all()


def test_left_padded_prompts_give_the_same_log_probs(model_and_tok):
    model, tok = model_and_tok
    prompt, completion = batch(tok, b=1)
    padded = torch.cat([torch.full((1, 3), tok.pad_token_id), prompt], 1)
    mask = torch.cat([torch.zeros(1, 3, dtype=torch.long), torch.ones(1, 5 + 6, dtype=torch.long)], 1)
    with torch.no_grad():
        a = ar_logprobs(model, prompt, completion, tok.mask_token_id)
        b = ar_logprobs(model, padded, completion, tok.mask_token_id, attention_mask=mask)
    assert torch.allclose(a, b, atol=1e-5)


def test_advantages_match_a_hand_computation():
    rewards = torch.tensor([[1.0, 0.0, 0.0, 1.0], [1.0, 1.0, 1.0, 1.0]])
    adv = group_advantages(rewards, eps=1e-4)
    std = (4 * 0.25 / 3) ** 0.5  # sample std of [1, 0, 0, 1]
    assert torch.allclose(adv[0], torch.tensor([0.5, -0.5, -0.5, 0.5]) / (std + 1e-4))
    assert (adv[1] == 0).all()


def test_loss_scale_and_zero_gradient_with_equal_rewards(model_and_tok):
    model, tok = model_and_tok
    prompt, completion = batch(tok, b=4)
    logp = ar_logprobs(model, prompt, completion, tok.mask_token_id)
    adv = group_advantages(torch.ones(1, 4)).flatten()
    loss = grpo_loss(logp, logp.detach(), adv, clip_eps=0.2, gen_length=6)
    model.zero_grad()
    loss.backward()
    assert loss.item() == 0 and all(p.grad is None or (p.grad == 0).all() for p in model.parameters())
    # ratio 1: loss = -sum_i A_i sum_k 1 / (L * n_active); A = [1, -1, 0, 2] -> -(1 - 1 + 2) * 6 / (6 * 3)
    logp = torch.zeros(4, 6)
    loss = grpo_loss(logp, logp, torch.tensor([1.0, -1.0, 0.0, 2.0]), clip_eps=0.2, gen_length=6)
    assert loss.item() == pytest.approx(-2 / 3)


def test_one_update_raises_the_rewarded_answer_and_lowers_the_other(model_and_tok):
    """The loss's sign: a gradient step on one group (same prompt, rewards [1, 0]) makes
    the rewarded completion more likely and the other less likely under the AR policy."""
    model, tok = copy.deepcopy(model_and_tok)  # the fixture's model stays as it is
    prompt, completion = batch(tok, b=2, seed=3)
    prompt = prompt[:1].expand(2, -1)
    before = ar_logprobs(model, prompt, completion, tok.mask_token_id).sum(1).detach()
    adv = group_advantages(torch.tensor([[1.0, 0.0]])).flatten()
    logp = ar_logprobs(model, prompt, completion, tok.mask_token_id)
    grpo_loss(logp, logp.detach(), adv, clip_eps=0.2, gen_length=6).backward()
    torch.optim.SGD(model.parameters(), lr=0.5).step()
    after = ar_logprobs(model, prompt, completion, tok.mask_token_id).sum(1).detach()
    assert after[0] > before[0] and after[1] < before[1], (before, after)


def test_clipping_stops_the_gradient_beyond_the_trust_region():
    logp = torch.tensor([[0.5, -0.5]], requires_grad=True)  # ratios e^0.5 > 1.2 and e^-0.5 < 0.8
    grpo_loss(logp, torch.zeros(1, 2), torch.tensor([1.0]), clip_eps=0.2, gen_length=2).backward()
    assert logp.grad[0, 0] == 0 and logp.grad[0, 1] != 0  # A > 0: only the too-large ratio is clipped


def test_top_entropy_positions():
    entropy = torch.tensor([[0.1, 0.9, 0.5, 0.3], [2.0, 0.0, 0.0, 1.0]])
    assert top_entropy_positions(entropy, 0.25).tolist() == [[False, True, False, False], [True, False, False, False]]
    assert top_entropy_positions(entropy, 0.5).sum(1).tolist() == [2, 2]
