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
    assert not (out.sequences == MASK).any()


def test_confidence_order_inside_a_block_is_right_to_left_and_blocks_go_left_to_right():
    model, out = run(block_length=4)
    order = commit_order(model.calls, 3).tolist()
    assert order == [4, 3, 2, 1, 8, 7, 6, 5]
    assert out.answers[0].tolist() == [(p % 10) + 2 for p in range(3, 11)]


def test_prompt_is_never_changed_and_all_masks_filled_with_random_remasking():
    g = torch.Generator().manual_seed(0)
    model = StubModel()
    prompt = torch.tensor([[5, 6, 7], [8, 9, 10]])
    out = generate(model, prompt, gen_length=8, steps=4, block_length=4, temperature=1.0,
                   remasking="random", mask_id=MASK, generator=g)
    assert torch.equal(out.sequences[:, :3], prompt) and not (out.sequences == MASK).any()
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


def test_the_forbidden_mask_token_is_never_drawn_and_the_logits_are_kept():
    g = torch.Generator().manual_seed(0)
    logits = torch.tensor([3.0, 1.0, 0.0]).repeat(5000, 1)  # token 0 (the mask) most likely
    before = logits.clone()
    for t in (0, 1.0):
        draws = sample_tokens(logits, t, g, forbid=0)
        assert not (draws == 0).any() and (draws == 1).any()
    assert torch.equal(logits, before)


def test_bad_block_length_is_rejected():
    with pytest.raises(ValueError):
        run(block_length=3)


# --- on a tiny random masked LM (real transformer, learned positions) ---------------

from flextrap.sampling import entropy, padding_is_exact  # noqa: E402


@pytest.fixture(scope="module")
def lm(tiny_lm):
    return tiny_lm


def ids(tok, text):
    return tok(text, add_special_tokens=False).input_ids


SETTINGS = dict(gen_length=8, steps=8, block_length=4, remasking="low_confidence")


def test_t0_is_deterministic_and_commits_one_token_per_step(lm):
    model, tok = lm
    prompt = [ids(tok, "a = 3 , b = 4 ; find b :")]
    runs = [generate(model, prompt, temperature=0.0, mask_id=tok.mask_token_id, trace=True, **SETTINGS)
            for _ in range(2)]
    assert torch.equal(runs[0].sequences, runs[1].sequences)
    steps = runs[0].trace["step"][0]
    assert sorted(steps.tolist()) == list(range(8))  # gen_length tokens in `steps` steps, one each
    assert not (runs[0].answers == tok.mask_token_id).any()


def test_random_remasking_is_seed_reproducible(lm):
    model, tok = lm
    prompt = [ids(tok, "a = 3 , b = 4 ; find b :")] * 3

    def sample(seed):
        g = torch.Generator().manual_seed(seed)
        return generate(model, prompt, temperature=1.0, mask_id=tok.mask_token_id, generator=g,
                        gen_length=8, steps=4, block_length=4, remasking="random", trace=True)

    a, b, c = sample(1), sample(1), sample(2)
    assert torch.equal(a.sequences, b.sequences) and torch.equal(a.trace["step"], b.trace["step"])
    assert not torch.equal(a.trace["step"], c.trace["step"]) or not torch.equal(a.sequences, c.sequences)


def test_mixed_length_batch_equals_each_prompt_alone(lm):
    model, tok = lm
    prompts = [ids(tok, "a = 3 , b = 4 ; find b :"), ids(tok, "find a :"), ids(tok, "c = 1 ; p = c + c ; find p :")]
    assert padding_is_exact(model, tok.pad_token_id, tok.mask_token_id, prompts[0])
    batch = generate(model, prompts, temperature=0.0, mask_id=tok.mask_token_id, pad_id=tok.pad_token_id,
                     trace=True, **SETTINGS)
    assert batch.prompt_lengths == [len(p) for p in prompts]
    for i, prompt in enumerate(prompts):
        alone = generate(model, [prompt], temperature=0.0, mask_id=tok.mask_token_id, trace=True, **SETTINGS)
        assert torch.equal(batch.answers[i], alone.answers[0])
        assert torch.allclose(batch.trace["entropy"][i], alone.trace["entropy"][0], atol=1e-4)


def test_padding_check_detects_a_model_that_ignores_the_mask():
    class IgnoresMask(torch.nn.Module):
        def forward(self, x, attention_mask=None):
            # every position sees the mean of the whole row, pads included
            emb = torch.nn.functional.one_hot(x, V).float()
            return SimpleNamespace(logits=emb + emb.mean(1, keepdim=True))

    model = IgnoresMask()
    assert not padding_is_exact(model, pad_id=1, mask_id=MASK, token_ids=[5, 6, 7, 8, 9])


def test_trace_entropies_equal_a_direct_computation(lm):
    """AR order: at step k the state is prompt + answer[:k] + masks; the entropy of the
    model's distribution at position k is what the trace recorded."""
    model, tok = lm
    prompt = ids(tok, "a = 3 , b = 4 ; find b :")
    g = torch.Generator().manual_seed(0)
    out = generate(model, [prompt], temperature=1.0, mask_id=tok.mask_token_id, generator=g, trace=True,
                   gen_length=6, steps=6, block_length=1, remasking="low_confidence")
    answer = out.answers[0].tolist()
    for k in range(6):
        state = torch.tensor([prompt + answer[:k] + [tok.mask_token_id] * (6 - k)])
        with torch.no_grad():
            probs = torch.softmax(model(state).logits[0, len(prompt) + k].double(), -1)
        assert out.trace["step"][0, k] == k
        # float32 logits, computed at one position by the sampler, at all by the full forward
        assert out.trace["entropy"][0, k].item() == pytest.approx(entropy(probs).item(), abs=1e-6)
        assert out.trace["confidence"][0, k].item() == pytest.approx(probs[answer[k]].item(), abs=1e-6)
        assert out.trace["token"][0, k] == answer[k]


def test_pad_token_must_not_be_the_mask_token(lm):
    model, tok = lm
    with pytest.raises(ValueError, match="pad_id must differ"):
        generate(model, [[5, 6], [7]], temperature=0.0, mask_id=tok.mask_token_id, pad_id=tok.mask_token_id,
                 **SETTINGS)
