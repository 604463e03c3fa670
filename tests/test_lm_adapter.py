"""The lm-evaluation-harness adapter (flextrap.lm_adapter): its log-likelihoods against a
per-position computation by hand on the tiny model and the LLaDA and Dream replicas, its
generations against the sampler cut at the stop string."""
from types import SimpleNamespace

import pytest
import torch
from replica_hub import replica_hub

from flextrap.lm_adapter import DiffusionLM, cut_at_stop, mc_loglikelihood, shared_steps
from flextrap.models import full_logits, load_model
from flextrap.sampling import decode_answer, generate

SETTINGS = {"loglikelihood": "ar", "mc_samples": 8, "mc_batch": 4, "batch_size": 4, "chunk": 5, "seed": 0,
            "decoder": "llada", "early_exit": False,
            "sampler": {"gen_length": 8, "steps": 8, "block_length": 4, "temperature": 0.0,
                        "remasking": "low_confidence"}}
PAIRS = [("a = 3 , b = 4 ; find b :", " first b = 4 . answer 4"), ("find a :", " answer 3"),
         ("c = 1 ; find c :", " answer 1"), ("a = 3 , b = 4 ; find b :", " first b = 3 . answer 3")]


def request(*args):
    return SimpleNamespace(args=args)


@torch.no_grad()
def by_hand(model, ctx: list[int], cont: list[int], mask_id: int) -> tuple[float, bool]:
    """sum_k log p(cont_k | ctx, cont_<k, MASK...) from one full forward pass per position."""
    total, greedy = 0.0, True
    for k in range(len(cont)):
        ids = torch.tensor([ctx + cont[:k] + [mask_id] * (len(cont) - k)])
        logp = full_logits(model, ids)[0, len(ctx) + k].float().log_softmax(-1)
        total += float(logp[cont[k]])
        greedy &= int(logp.argmax()) == cont[k]
    return total, greedy


@pytest.fixture(scope="module")
def models(tmp_path_factory, tiny_lm):
    root = tmp_path_factory.mktemp("hubs")
    torch.manual_seed(0)
    out = {"tiny": tiny_lm}
    for family in ("llada", "dream"):
        out[family] = load_model(replica_hub(root / family, family), device="cpu")
    return out


@pytest.mark.parametrize("name", ["tiny", "llada", "dream"])
def test_ar_loglikelihood_is_the_sum_of_each_positions_conditional_by_hand(models, name):
    model, tok = models[name]
    lm = DiffusionLM(model, tok, SETTINGS)
    got = lm.loglikelihood([request(c, x) for c, x in PAIRS])
    assert shared_steps([lm.encode_pair(*pair) for pair in (PAIRS[0], PAIRS[3])])[0][1].sum() < \
        len(lm.encode_pair(*PAIRS[3])[1])  # two pairs here share their first steps
    for (context, continuation), (logp, greedy) in zip(PAIRS, got):
        ctx, cont = lm.encode_pair(context, continuation)
        assert tok(context + continuation, add_special_tokens=False).input_ids == ctx + cont
        want, want_greedy = by_hand(model, ctx, cont, tok.mask_token_id)
        assert logp == pytest.approx(want, abs=1e-4) and greedy == want_greedy


def test_choices_sharing_a_start_compute_their_shared_steps_once():
    ctx = [1, 2]
    pairs = [(ctx, [5, 6, 7]), (ctx, [5, 6, 8]), (ctx, [5, 9, 7]), ([3, 2], [5, 6, 7])]
    wanted, first = shared_steps(pairs)
    assert wanted.tolist() == [[True, True, True], [False, False, True], [False, True, True], [True, True, True]]
    assert first[1].tolist() == [[0, 0], [0, 1], [1, 2]] and first[2].tolist() == [[0, 0], [2, 1], [2, 2]]
    assert first[3].tolist() == [[3, 0], [3, 1], [3, 2]]  # another context shares nothing


def test_rolling_loglikelihood_scores_the_whole_text_after_the_start_token(models):
    model, tok = models["tiny"]
    lm = DiffusionLM(model, tok, SETTINGS)
    text = "a = 3 , b = 4 ; find b :"
    ids = tok(text, add_special_tokens=False).input_ids
    assert lm.loglikelihood_rolling([request(text)])[0] == pytest.approx(
        by_hand(model, [lm.start_id()], ids, tok.mask_token_id)[0], abs=1e-4)


def test_monte_carlo_estimate_is_exact_for_one_token_and_repeats_with_its_seed(models):
    """With one continuation token every draw masks it alone (weight 1): the estimate is
    its exact log-probability given the context; over longer continuations it is a
    seeded estimate that repeats exactly."""
    model, tok = models["tiny"]
    ctx, cont = torch.tensor([5, 6, 7]), torch.tensor([8])
    exact = by_hand(model, [5, 6, 7], [8], tok.mask_token_id)[0]
    est = mc_loglikelihood(model, ctx, cont, tok.mask_token_id, 8, 4, torch.Generator().manual_seed(0))
    assert est == pytest.approx(exact, abs=1e-4)
    lm = DiffusionLM(model, tok, {**SETTINGS, "loglikelihood": "monte_carlo"})
    first, again = (lm.loglikelihood([request(c, x) for c, x in PAIRS]) for _ in range(2))
    assert first == again and all(lp < 0 for lp, _ in first)


@torch.no_grad()
def test_monte_carlo_estimate_of_two_tokens_converges_to_the_bound_by_brute_force(models):
    """L = 2: half the draws mask one token (weight 2, either token alike), half mask both
    (weight 1), so the bound is (log p(x1 | x2) + log p(x2 | x1)) / 2 + (log p(x1 | -) +
    log p(x2 | -)) / 2 with `-` a mask; the estimate's mean over many draws tends to it."""
    model, tok = models["tiny"]
    ctx, cont, m = [5, 6, 7], [8, 9], tok.mask_token_id

    def logp(row, position):
        return float(full_logits(model, torch.tensor([ctx + row]))[0, len(ctx) + position].float()
                     .log_softmax(-1)[cont[position]])

    one = (logp([m, 9], 0) + logp([8, m], 1)) / 2
    both = (logp([m, m], 0) + logp([m, m], 1)) / 2
    est = mc_loglikelihood(model, torch.tensor(ctx), torch.tensor(cont), m, 4096, 256, torch.Generator().manual_seed(0))
    assert est == pytest.approx(one + both, abs=0.02 * abs(one + both))


@pytest.mark.parametrize("early_exit", [False, True])
def test_generation_is_the_samplers_answer_cut_before_the_first_stop_string(models, early_exit):
    model, tok = models["tiny"]
    lm = DiffusionLM(model, tok, {**SETTINGS, "early_exit": early_exit})
    context = "a = 3 , b = 4 ; find b :"
    ids = tok(context, add_special_tokens=False).input_ids
    full = decode_answer(tok, generate(model, [ids], mask_id=tok.mask_token_id,
                                       generator=[torch.Generator().manual_seed(0)], **SETTINGS["sampler"]
                                       ).answers[0].tolist())
    stop = full.split()[2] if len(full.split()) > 2 else "\n"
    got = lm.generate_until([request(context, {"until": [stop]}), request(context, {"until": []})])
    assert got == [full[:full.find(stop)] if stop in full else full, full]
    assert cut_at_stop("first b . answer 4", ["answer", " ."]) == "first b"
    assert cut_at_stop("x y", "z") == "x y"


def test_lm_evals_accuracy_on_a_local_task_is_the_count_by_hand(models, tmp_path, monkeypatch):
    """A multiple-choice task written as lm-eval reads one (a YAML task over local JSON):
    lm-eval's accuracy equals the share of problems whose right choice has the highest
    log-likelihood under the adapter."""
    import json

    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    model, tok = models["tiny"]
    docs = [{"question": c, "choices": [x.strip() for _, x in PAIRS], "label": i} for i, (c, _) in enumerate(PAIRS)]
    data = tmp_path / "mc.jsonl"
    data.write_text("".join(json.dumps(d) + "\n" for d in docs))
    (tmp_path / "mc.yaml").write_text(
        f"task: flextrap_mc\ndataset_path: json\ndataset_kwargs:\n  data_files:\n    test: {data}\n"
        "test_split: test\noutput_type: multiple_choice\ndoc_to_text: '{{question}}'\n"
        "doc_to_choice: '{{choices}}'\ndoc_to_target: '{{label}}'\nmetric_list:\n  - metric: acc\n")
    lm = DiffusionLM(model, tok, SETTINGS)
    out = simple_evaluate(model=lm, tasks=["flextrap_mc"], task_manager=TaskManager(include_path=str(tmp_path)))
    right = 0
    for d in docs:
        scores = [lp for lp, _ in lm.loglikelihood([request(d["question"], " " + c) for c in d["choices"]])]
        right += scores.index(max(scores)) == d["label"]
    assert out["results"]["flextrap_mc"]["acc,none"] == pytest.approx(right / len(docs))
