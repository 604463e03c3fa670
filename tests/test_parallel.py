"""Parallel decoding (paper Sec. 5): EB-sampler, top-k and threshold rules."""
import pytest
import torch

from flextrap.sampling import chosen_candidates, eb_prefix_length, generate, generate_parallel

PROMPTS = ["a = 3 , b = 4 ; find b :", "find a :", "c = 1 ; p = c + c ; find p :", "b = 2 ; q = b - b ; find q :"]


@pytest.fixture(scope="module")
def lm(tiny_lm):
    model, tok = tiny_lm
    return model, tok, [tok(p, add_special_tokens=False).input_ids for p in PROMPTS]


def parallel(lm, rule, value, **kw):
    model, tok, prompts = lm
    settings = dict(gen_length=16, block_length=8, temperature=0.0, mask_id=tok.mask_token_id,
                    pad_id=tok.pad_token_id, trace=True) | kw
    return generate_parallel(model, prompts, rule=rule, value=value, **settings)


def test_eb_prefix_by_hand():
    h = torch.tensor([0.25, 0.5, 0.75], dtype=torch.float64)  # exact in binary
    assert eb_prefix_length(h, 0.0) == 1
    assert eb_prefix_length(h, 0.25) == 2      # 0.25 + 0.5 - 0.5 = 0.25; with 0.75: 1.5 - 0.75 = 0.75
    assert eb_prefix_length(h, 0.7) == 2
    assert eb_prefix_length(h, 0.75) == 3
    assert eb_prefix_length(torch.tensor([2.0, 0.1]), 0.05) == 1  # sum - max = 0.1


def test_eb_prefix_satisfies_the_bound_and_is_maximal():
    g = torch.Generator().manual_seed(0)
    for _ in range(500):
        h = torch.rand(int(torch.randint(1, 12, (1,), generator=g)), generator=g, dtype=torch.float64) * 2
        gamma = float(torch.rand(1, generator=g)) * 1.5
        n = eb_prefix_length(h, gamma)
        assert 1 <= n <= len(h)
        assert n == 1 or h[:n].sum() - h[:n].max() <= gamma
        assert n == len(h) or h[:n + 1].sum() - h[:n + 1].max() > gamma


def test_threshold_and_top_k_choices():
    h = torch.zeros(4)
    assert chosen_candidates(h, torch.tensor([0.9, 0.95, 0.5, 0.2]), "threshold", 0.8).tolist() == [True, True, False, False]
    assert chosen_candidates(h, torch.tensor([0.3, 0.2, 0.1, 0.1]), "threshold", 0.8).tolist() == [True, False, False, False]
    assert chosen_candidates(h, h, "top_k", 3).tolist() == [True, True, True, False]
    with pytest.raises(ValueError):
        chosen_candidates(h, h, "nope", 1)


def test_gamma_zero_is_one_token_per_step_decoding(lm):
    model, tok, prompts = lm
    eb = parallel(lm, "eb", 0.0)
    one = generate(model, prompts, gen_length=16, steps=16, block_length=8, temperature=0.0,
                   remasking="low_confidence", mask_id=tok.mask_token_id, pad_id=tok.pad_token_id, trace=True)
    assert torch.equal(eb.sequences, one.sequences)
    assert torch.equal(eb.trace["step"], one.trace["step"])
    assert eb.nfe.tolist() == [16] * len(prompts)


def test_larger_gamma_never_needs_more_forward_passes(lm):
    gammas = [0.0, 0.001, 0.01, 0.1, 0.25, 0.5, 1.0, 1.5, 5.0, 100.0]
    nfe = torch.stack([parallel(lm, "eb", g).nfe for g in gammas])
    assert (nfe[1:] <= nfe[:-1]).all(), nfe
    assert nfe[-1].tolist() == [2] * len(PROMPTS)  # unbounded gamma: a whole block per step


@pytest.mark.parametrize("threshold", [0.0, 0.05, 0.2, 0.9, 1.0])
def test_threshold_commits_at_least_one_token_per_step(lm, threshold):
    out = parallel(lm, "threshold", threshold)
    for row, nfe in enumerate(out.nfe.tolist()):
        assert nfe <= 16
        assert set(out.trace["step"][row].tolist()) == set(range(nfe))  # every step committed something
    assert not (out.answers == lm[1].mask_token_id).any()


def test_top_k_takes_ceil_block_over_k_steps_per_block(lm):
    assert parallel(lm, "top_k", 3).nfe.tolist() == [2 * 3] * len(PROMPTS)  # blocks of 8: 3 + 3 + 2


@pytest.mark.parametrize("proxy", ["confidence", "entropy", "margin"])
def test_rows_decode_as_alone_and_blocks_go_left_to_right(lm, proxy):
    model, tok, prompts = lm
    batch = parallel(lm, "eb", 0.3, proxy=proxy)
    for i, prompt in enumerate(prompts):
        alone = generate_parallel(model, [prompt], gen_length=16, block_length=8, temperature=0.0,
                                  mask_id=tok.mask_token_id, rule="eb", value=0.3, proxy=proxy, trace=True)
        assert torch.equal(batch.answers[i], alone.answers[0]) and batch.nfe[i] == alone.nfe[0]
        steps = batch.trace["step"][i]
        assert steps[:8].max() < steps[8:].min()


def test_seeded_rows_reproduce_alone_at_temperature(lm):
    model, tok, prompts = lm
    gens = lambda: [torch.Generator().manual_seed(100 + i) for i in range(len(prompts))]  # noqa: E731
    batch = parallel(lm, "eb", 0.5, temperature=1.0, generator=gens())
    again = parallel(lm, "eb", 0.5, temperature=1.0, generator=gens())
    assert torch.equal(batch.sequences, again.sequences)
    alone = generate_parallel(model, [prompts[2]], gen_length=16, block_length=8, temperature=1.0,
                              mask_id=tok.mask_token_id, rule="eb", value=0.5, generator=[gens()[2]])
    assert torch.equal(batch.answers[2], alone.answers[0])
