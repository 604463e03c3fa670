import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow"))
FIXTURES = Path(__file__).parent / "fixtures"

import pytest  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402

# The embedded default's code-grading limits (config grading.code), as graders.grade
# takes them and as sandbox.run_python takes them.
CODE_LIMITS = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["grading"]["code"]
RUN_LIMITS = {"timeout": CODE_LIMITS["timeout_s"], **{k: v for k, v in CODE_LIMITS.items() if k != "timeout_s"}}

WORDS = "a b c d e f g h p q r s t = + - * ; , . : find answer first then so therefore 0 1 2 3 4 5 6 7 8 9"


def cut_at_exit(answer: list, steps: list, eos_id: int) -> int:
    """Brute force: the forward passes after which the text of a full decode (answer ids,
    commit step per position) is fixed: the first step after which every position before
    the first committed EOS is committed."""
    for t in range(max(steps) + 1):
        committed = [s <= t for s in steps]
        end = next((i for i, (c, tok) in enumerate(zip(committed, answer)) if c and tok == eos_id), len(answer))
        if all(committed[:end]):
            return t + 1
    raise AssertionError("a full decode commits every position")


# Early exit: what a full decode's row looks like cut at its exit, and the rows of
# a continuous-batching decode (tests/test_continuous.py, tests/test_families.py).

def exit_view(gen, row: int, eos_id: int, mask_id: int) -> dict:
    """Row `row` of a full `generate` decode as early exit would leave it."""
    answer, steps = gen.answers[row].tolist(), gen.trace["step"][row].tolist()
    nfe = cut_at_exit(answer, steps, eos_id)
    kept = [s < nfe for s in steps]
    view = {"answer": [a if k else mask_id for a, k in zip(answer, kept)], "nfe": nfe,
            "step": [s if k else -1 for s, k in zip(steps, kept)]}
    for field in ("entropy", "confidence"):
        view[field] = [v if k else 0.0 for v, k in zip(gen.trace[field][row].tolist(), kept)]
    return view


def assert_same_row(row: dict, view: dict) -> None:
    assert {k: row[k] for k in ("answer", "nfe", "step")} == {k: view[k] for k in ("answer", "nfe", "step")}
    for field in ("entropy", "confidence"):
        assert row[field] == pytest.approx(view[field], abs=1e-6)


def finished_rows(model, prompts, seeds, **kwargs) -> dict:
    out = {}
    from flextrap.continuous import generate_continuous

    for done in generate_continuous(model, prompts, seeds, **kwargs):
        for f in done:
            assert f.index not in out
            out[f.index] = {"answer": f.answer, "nfe": f.nfe, **f.trace}
    assert sorted(out) == list(range(len(prompts)))
    return out


@pytest.fixture(scope="module")
def tiny_lm():
    """(model, tokenizer): a tiny random masked LM (real BERT, learned positions) over the synthetic task's words."""
    from flextrap.models import build_tiny_model, build_word_tokenizer

    torch.manual_seed(0)
    tok = build_word_tokenizer([WORDS])
    model = build_tiny_model({"hidden_size": 32, "num_layers": 2, "num_heads": 2, "intermediate_size": 64},
                             tok, max_length=64).eval()
    return model, tok


# Six synthetic test problems and the sampling settings of the sampling tests.
SYNTHETIC_SPEC = {"splits": ["test"], "templates": ["plain"],
                  "generator": {"seed": 5, "n_train": 0, "n_test": 6, "n_leaves": 3, "n_defs": 4, "steps": [2, 3],
                                "modulus": 10, "ops": ["+", "-"]}}
SAMPLE_SETTINGS = {"template": "plain", "decoder": "llada", "n_samples": 3, "batch_size": 4, "seed": 0, "code_limits": {},
                   "early_exit": False, "sampler": {"gen_length": 16, "steps": 16, "temperature": 0.8,
                                                    "block_length": 4, "remasking": "low_confidence"}}


@pytest.fixture(scope="module")
def synthetic_setup():
    """(model, tokenizer, records): a tiny random model over six synthetic test problems."""
    from flextrap.models import build_tiny_model, build_word_tokenizer
    from flextrap.tasks import prepare

    records = prepare("synthetic", "test", SYNTHETIC_SPEC)
    tok = build_word_tokenizer([r["prompts"]["plain"] for r in records] + ["first then so therefore answer"])
    torch.manual_seed(0)
    arch = {"hidden_size": 32, "num_layers": 2, "num_heads": 2, "intermediate_size": 64}
    return build_tiny_model(arch, tok, max_length=128).eval(), tok, records
