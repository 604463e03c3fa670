"""Model families on test replicas of LLaDA's and Dream's remote code (tests/replicas/),
loaded through the same trust_remote_code path as the real models: loading with the
compatibility fixes, Dream's shifted logits against hand-written loops, the padding
check in bf16, the preflight and its one-line failures."""
import json
import shutil
import subprocess
import sys

import pytest
import torch
from replica_hub import CONFIGS, replica_hub

from flextrap.families import FAMILIES, family_of
from flextrap.grpo import ar_logprobs
from flextrap.models import full_logits, load_model
from flextrap.sampling import generate, padding_is_exact

PROMPTS = ["What is 2 + 3 ?", "Tom has 3 apples and buys 4 more . How many apples does he have now ?"]
SETTINGS = {"layers": 2, "width": 32, "heads": 2, "seed": 0, "gen_length": 6, "atol": 1e-4, "dtype": "bfloat16",
            "prompts": PROMPTS}


@pytest.fixture(scope="module")
def hubs(tmp_path_factory):
    """Hub-like directories with random weights: llada, dream, and LLaDA's mask-ignoring revision."""
    root = tmp_path_factory.mktemp("hubs")
    torch.manual_seed(0)
    return {"llada": replica_hub(root / "a", "llada"), "dream": replica_hub(root / "b", "dream"),
            "llada_old": replica_hub(root / "c", "llada", honour_mask=False)}


def loaded(spec):
    model, tok = load_model(spec, device="cpu")
    return model, tok, [tok(p, add_special_tokens=False).input_ids for p in PROMPTS]


@pytest.mark.parametrize("family,error", [("llada", "all_tied_weights_keys"), ("dream", "KeyError: 'default'")])
def test_the_replicas_reproduce_the_remote_code_breakage_under_plain_transformers(tmp_path, family, error):
    """Without the family's fixes (a fresh process: fixes patch the cached class),
    transformers 5 cannot load either replica, as with the real code."""
    spec = replica_hub(tmp_path, family)
    code = f"from transformers import AutoModel; AutoModel.from_pretrained({spec['hf_id']!r}, trust_remote_code=True)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode != 0 and error in out.stderr


@pytest.mark.parametrize("name", ["llada", "dream", "llada_old"])
def test_each_family_loads_and_its_model_is_recognised(hubs, name):
    model, tok, _ = loaded(hubs[name])
    assert family_of(model) is FAMILIES[name.split("_")[0]]
    ids = torch.tensor([[3, 4, 5, tok.mask_token_id]])
    assert torch.isfinite(full_logits(model, ids)).all()


def test_a_saved_model_loads_back_equal_with_its_code(hubs, tmp_path):
    """A trained model is written with save_pretrained and read back through its family
    (code files copied beside the weights; Dream's RoPE buffers rebuilt)."""
    for name in ("llada", "dream"):
        model, tok, _ = loaded(hubs[name])
        model.save_pretrained(tmp_path / name)
        tok.save_pretrained(tmp_path / name)
        again, _, _ = loaded({"path": str(tmp_path / name), "trust_remote_code": True})
        ids = torch.tensor([[3, 4, 5, tok.mask_token_id, tok.mask_token_id]])
        assert torch.equal(full_logits(again, ids), full_logits(model, ids))


def test_dream_gets_the_mask_form_its_attention_accepts(hubs):
    """A 2-D integer mask, as LLaDA and BERT take it, fails in Dream's SDPA call; the
    family's form gives the logits of the unpadded prompt."""
    model, tok, prompts = loaded(hubs["dream"])
    ids = torch.tensor([[tok.pad_token_id] * 3 + prompts[0]])
    mask = (torch.arange(ids.shape[1]) >= 3).long()[None]
    with pytest.raises(RuntimeError):
        model(ids, attention_mask=mask)
    with torch.no_grad():
        alone = full_logits(model, torch.tensor([prompts[0]]))
        padded = full_logits(model, ids, mask)[:, 3:]
    assert torch.allclose(padded[:, 1:], alone[:, 1:], atol=1e-5)  # column 0 is predicted from a pad


def shifted(model, x):
    """Dream's convention written out: the logits at i - 1 predict token i."""
    return model(x).logits[:, :-1]


def test_dream_ar_logprobs_equal_the_shifted_per_position_computation(hubs):
    model, tok, prompts = loaded(hubs["dream"])
    prompt = torch.tensor([prompts[0]])
    completion = torch.randint(0, len(tok), (1, 6), generator=torch.Generator().manual_seed(0))
    p, expected = prompt.shape[1], []
    with torch.no_grad():
        for k in range(completion.shape[1]):
            x = torch.cat([prompt, completion], 1)
            x[:, p + k:] = tok.mask_token_id
            logp = shifted(model, x)[0, p + k - 1].log_softmax(-1)
            expected.append(logp[completion[0, k]])
        got = ar_logprobs(model, prompt, completion, tok.mask_token_id, chunk=4)
        unshifted = model(torch.cat([prompt, torch.full_like(completion, tok.mask_token_id)], 1)).logits
    assert torch.allclose(got[0], torch.stack(expected), atol=1e-5)
    # the shift matters: the unshifted logits give another first-token log-prob
    assert not torch.isclose(unshifted[0, p].log_softmax(-1)[completion[0, 0]], expected[0], atol=1e-3)


def hand_greedy_ar(model, prompt, n, mask_id, shift):
    """Left to right, one token per step, argmax of the logits that predict it."""
    x = torch.tensor([prompt + [mask_id] * n])
    with torch.no_grad():
        for k in range(n):
            x[0, len(prompt) + k] = model(x).logits[0, len(prompt) + k - shift].argmax()
    return x[0, len(prompt):]


@pytest.mark.parametrize("name,shift", [("dream", 1), ("llada", 0)])
def test_greedy_ar_decoding_equals_a_hand_written_loop_alone_and_in_a_padded_batch(hubs, name, shift):
    model, tok, prompts = loaded(hubs[name])
    kw = dict(gen_length=6, steps=6, block_length=1, temperature=0.0, remasking="low_confidence",
              mask_id=tok.mask_token_id, pad_id=tok.pad_token_id)
    batch = generate(model, prompts, **kw).answers
    for row, prompt in enumerate(prompts):
        by_hand = hand_greedy_ar(model, prompt, 6, tok.mask_token_id, shift)
        assert torch.equal(generate(model, [prompt], **kw).answers[0], by_hand)
        assert torch.equal(batch[row], by_hand)


@pytest.mark.parametrize("name,honoured", [("llada", True), ("dream", True), ("llada_old", False)])
def test_padding_check_holds_in_bf16_and_finds_a_model_that_ignores_the_mask(hubs, name, honoured):
    model, tok, prompts = loaded(hubs[name])
    model.to(torch.bfloat16)
    assert padding_is_exact(model, tok.pad_token_id, tok.mask_token_id, prompts[1]) is honoured


def test_sampling_groups_prompts_by_length_and_names_the_model_that_ignores_the_mask(hubs, capsys):
    from flextrap.sample import Job, prompt_groups

    model, tok, prompts = loaded(hubs["llada_old"])
    jobs = [Job({"id": str(i)}, 0, i, p) for i, p in enumerate(prompts * 2)]
    groups = prompt_groups(model, tok, jobs)
    assert all(len({len(jobs[i].prompt_ids) for i in g}) == 1 and width is None for g, width in groups)
    assert len(groups) == 2
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "llada-hub" in out and "ignores attention_mask" in out


@pytest.mark.parametrize("name", ["llada", "dream", "llada_old"])
def test_preflight_passes_on_each_replica(tmp_path, name):
    from flextrap.preflight import run_checks

    kw = {"honour_mask": False} if name == "llada_old" else {}
    spec = replica_hub(tmp_path, name.split("_")[0], weights=False, **kw)
    report = run_checks(spec, SETTINGS)
    assert all(check["ok"] for check in report.values())
    assert report["padding"]["honoured"] is (name != "llada_old")
    assert ("skipped" in report["mixed_batch_ar"]) is (name == "llada_old")
    assert report["checkpointing"]["modules_recomputed"] > 0
    assert report["load"]["family"] == name.split("_")[0]


def run_preflight(spec, tmp_path, capsys):
    from flextrap.stages.preflight import main

    out = tmp_path / "report.json"
    with pytest.raises(SystemExit) as exit_:
        main(["--model", json.dumps(spec), "--settings", json.dumps(SETTINGS), "--out", str(out)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return exit_.value.code, [line for line in err.splitlines() if line.startswith("error:")], out


def test_a_failing_check_is_one_line_naming_it(tmp_path, capsys, monkeypatch):
    import flextrap.preflight as preflight

    spec = replica_hub(tmp_path, "dream", weights=False)
    monkeypatch.setattr(preflight, "ar_logprobs", lambda *a, **k: torch.zeros(1, SETTINGS["gen_length"]))
    code, err, out = run_preflight(spec, tmp_path, capsys)
    assert code == 1 and len(err) == 1 and not out.exists()
    assert err[0].startswith("error: preflight of ") and "check 'ar_logprobs' failed" in err[0]


def test_code_that_does_not_load_fails_the_load_check_in_one_line(tmp_path, capsys):
    spec = replica_hub(tmp_path, "llada", weights=False)
    shutil.rmtree(tmp_path / "llada-hub" / "__pycache__", ignore_errors=True)
    (tmp_path / "llada-hub" / "modeling_llada.py").write_text("raise ImportError('broken remote code')\n")
    code, err, _ = run_preflight(spec, tmp_path, capsys)
    assert code == 1 and len(err) == 1 and "check 'load' failed" in err[0]


def test_the_preflight_report_lists_every_check(tmp_path, capsys):
    from flextrap.stages.preflight import main

    spec = replica_hub(tmp_path, "llada", weights=False)
    main(["--model", json.dumps(spec), "--settings", json.dumps(SETTINGS), "--out", str(tmp_path / "r.json")])
    report = json.loads((tmp_path / "r.json").read_text())
    assert set(report["checks"]) == {"load", "head_split", "padding", "mixed_batch_ar", "mixed_batch_arbitrary",
                                     "ar_logprobs", "checkpointing"}
    assert report["transformers"] and "passed" in capsys.readouterr().out


def test_every_replica_config_names_a_known_family():
    assert {c["model_type"] for c in CONFIGS.values()} <= {t for f in FAMILIES.values() for t in f.model_types}


@pytest.mark.parametrize("name", ["llada", "dream"])
def test_early_exit_on_each_replica_equals_a_full_decode_cut_at_its_exit(hubs, name):
    """Continuous batching with early exit through each family's conventions (Dream's
    shifted logits, LLaDA's additive mask; mixed prompt lengths, left padding): every
    row's answer, commit steps and passes are those of a full decode of it alone."""
    from conftest import assert_same_row, exit_view, finished_rows

    model, tok, prompts = loaded(hubs[name])
    eos = tok.eos_token_id
    head = model.get_output_embeddings()

    def eos_prone(module, args, out):  # answers end at varied points
        out[..., eos] += 3.0
        return out

    hook = head.register_forward_hook(eos_prone)
    try:
        prompts = [p for p in prompts for _ in range(3)]
        seeds = list(range(7, 7 + len(prompts)))
        width = max(map(len, prompts))
        kw = dict(gen_length=8, steps=8, block_length=4, remasking="low_confidence", temperature=0.8,
                  mask_id=tok.mask_token_id, pad_id=tok.pad_token_id)
        rows = finished_rows(model, prompts, seeds, batch_size=4, eos_id=eos, width=width, **kw)
        for i, (prompt, seed) in enumerate(zip(prompts, seeds)):
            full = generate(model, [prompt], generator=[torch.Generator().manual_seed(seed)], trace=True,
                            width=width, **kw)
            assert_same_row(rows[i], exit_view(full, 0, eos, tok.mask_token_id))
    finally:
        hook.remove()
    assert min(r["nfe"] for r in rows.values()) < 8  # some rows did exit early
