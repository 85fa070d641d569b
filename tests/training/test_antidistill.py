"""Antidistillation sampling: lambda 0 is temperature sampling, Delta is the proxy's directional derivative along
the held-out gradient, and a positive lambda steers the teacher away from the tokens the held-out traces teach.

A 300-token BPE on "a+b=c" lines, a 2-layer teacher and a 1-layer proxy (32 wide) pretrained here in seconds.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from safetensors import safe_open

from training.antidistill import (
    AntidistillConfig,
    antidistill_generate,
    antidistill_scores,
    check_same_tokenizer,
    gradient_norm,
    load_gradient,
    perturbed_pair,
    proxy_gradient,
    save_gradient,
)
from training.lm import (
    LMConfig,
    collate,
    completion_loss,
    encode_pairs,
    finetune_completion_only,
    new_model,
    pretrain,
    prompt_ids,
)
from training.sampling import SampleConfig, generate
from training.tokenizer import encode_documents, train_bpe

PROMPTS = ["1+2=", "13+27=", "5", "29+29=5"]
HOLDOUT = [(f"{a}+{b}=", f"{a + b}") for a, b in [(3, 4), (5, 9), (12, 7), (20, 6)]]
EPS = 1e-2


@pytest.fixture(scope="module", autouse=True)
def _single_thread(one_thread):
    """Before the module's model fixtures: they train in one thread too."""


@pytest.fixture(scope="module")
def tok(arithmetic_tok):
    return arithmetic_tok


def _trained(tok, n_layer: int, seed: int):
    rng = np.random.default_rng(seed)
    lines = [f"{a}+{b}={a + b}" for a, b in rng.integers(0, 30, size=(2000, 2))]
    cfg = LMConfig(
        n_layer=n_layer, n_head=2, n_embd=32, block_size=32, batch_size=8, steps=150, lr=1e-2, seed=seed
    )
    model = new_model(len(tok), cfg)
    pretrain(model, encode_documents(tok, lines), cfg)
    return model


@pytest.fixture(scope="module")
def teacher(tok):
    return _trained(tok, n_layer=2, seed=0)


@pytest.fixture(scope="module")
def proxy(tok):
    return _trained(tok, n_layer=1, seed=1)


@pytest.fixture(scope="module")
def grad(tok, proxy):
    return proxy_gradient(proxy, tok, HOLDOUT, LMConfig(batch_size=2, device="cpu"))


@pytest.fixture(scope="module")
def pair(proxy, grad):
    return perturbed_pair(proxy, grad, EPS)


def _last_logprobs(model, tok, prompt: str) -> torch.Tensor:
    with torch.no_grad():
        return F.log_softmax(model(input_ids=torch.tensor(prompt_ids(tok, [prompt]))).logits[0, -1], dim=-1)


def test_lambda_zero_reproduces_temperature_sampling(tok, teacher, pair):
    plus, minus = pair
    cfg = AntidistillConfig(lam=0.0, tau=0.8, top_p=0.9, max_new_tokens=10, seed=7, batch_size=5)
    poisoned = antidistill_generate(teacher, plus, minus, tok, PROMPTS, 3, cfg)
    plain = generate(
        teacher, tok, PROMPTS, 3, SampleConfig(temperature=0.8, top_p=0.9, max_new_tokens=10, seed=7, batch_size=5)
    )
    assert poisoned == plain
    assert len({t for texts in plain for t in texts}) > len(PROMPTS)  # real samples, not one repeated string
    stronger = antidistill_generate(teacher, plus, minus, tok, PROMPTS, 3, dataclasses.replace(cfg, lam=1.0))
    assert stronger != plain


def test_delta_is_the_directional_derivative_along_the_unit_gradient(tok, proxy, grad, pair):
    plus, minus = pair
    delta = (_last_logprobs(plus, tok, "3+4=") - _last_logprobs(minus, tok, "3+4=")) / (2 * EPS)  # (V,)
    ids = torch.tensor(prompt_ids(tok, ["3+4="]))
    logprobs = F.log_softmax(proxy(input_ids=ids).logits[0, -1], dim=-1)
    names, params = zip(*proxy.named_parameters(), strict=True)
    norm = gradient_norm(grad)
    tokens = logprobs.topk(10).indices.tolist() + logprobs.topk(10, largest=False).indices.tolist()
    exact = []
    for token in tokens:  # <d log p(token) / d theta, g / |g|> by backprop, one token at a time
        d = torch.autograd.grad(logprobs[token], params, retain_graph=True)
        exact.append(sum(float((di * grad[n]).sum()) for n, di in zip(names, d, strict=True)) / norm)
    exact = torch.tensor(exact)
    assert exact.abs().max() > 1.0  # a derivative worth measuring
    assert (delta[tokens] - exact).abs().max() < 5e-3 * exact.abs().max()


def test_positive_lambda_steers_away_from_what_the_holdout_teaches(tok, proxy, pair):
    plus, minus = pair
    for prompt, answer in HOLDOUT:  # learning a held-out answer lowers the held-out loss: Delta < 0 there
        first = tok(answer, add_special_tokens=False)["input_ids"][0]
        delta = (_last_logprobs(plus, tok, prompt) - _last_logprobs(minus, tok, prompt)) / (2 * EPS)
        assert delta[first] < 0
    # a teacher that has learnt the held-out answers says "7" after "3+4=" often; lambda = 1 makes it rare ...
    knower = copy.deepcopy(proxy)
    finetune_completion_only(knower, tok, HOLDOUT, LMConfig(n_layer=1, n_head=2, n_embd=32, steps=40, lr=3e-3))
    seven = tok("7", add_special_tokens=False)["input_ids"][0]
    ids = torch.tensor(prompt_ids(tok, ["3+4="]))
    with torch.no_grad():
        logits = [model(input_ids=ids).logits[:, -1] for model in (knower, plus, minus)]
    p0 = antidistill_scores(*logits, AntidistillConfig(lam=0.0)).softmax(-1)[0, seven]
    p1 = antidistill_scores(*logits, AntidistillConfig(lam=1.0)).softmax(-1)[0, seven]
    assert p0 > 0.1 and p1 < p0 / 5
    # ... in the samples too
    cfg = AntidistillConfig(lam=0.0, top_p=1.0, max_new_tokens=1, batch_size=300)
    share = {}
    for lam in (0.0, 1.0):
        firsts = antidistill_generate(knower, plus, minus, tok, ["3+4="], 300, dataclasses.replace(cfg, lam=lam))[
            0
        ]
        share[lam] = sum(t == "7" for t in firsts) / 300
    assert share[1.0] < share[0.0] / 3


def test_all_three_caches_match_an_uncached_recomputation(tok, teacher, pair):
    plus, minus = pair
    cfg = AntidistillConfig(lam=0.5, top_p=1e-6, max_new_tokens=6, min_new_tokens=6, batch_size=len(PROMPTS))
    cached = [texts[0] for texts in antidistill_generate(teacher, plus, minus, tok, PROMPTS, 1, cfg)]
    reference = []
    for prompt in PROMPTS:  # argmax of the adjusted scores, whole sequence again at every step, no padding
        ids = torch.tensor(prompt_ids(tok, [prompt]))
        with torch.no_grad():
            for _ in range(6):
                logits = [m(input_ids=ids).logits[:, -1, : len(tok)] for m in (teacher, plus, minus)]
                scores = antidistill_scores(*logits, cfg)
                scores[:, tok.eos_token_id] = float("-inf")
                ids = torch.cat([ids, scores.argmax(-1, keepdim=True)], dim=1)
        reference.append(tok.decode(ids[0, -6:]))
    assert cached == reference


def test_gradient_is_the_mean_completion_loss_gradient_however_it_is_batched(tok, proxy, grad):
    one_at_a_time = proxy_gradient(proxy, tok, HOLDOUT, LMConfig(batch_size=1, device="cpu"))
    batch = collate(encode_pairs(tok, HOLDOUT), tok.eos_token_id)
    proxy.zero_grad()
    completion_loss(proxy, batch).backward()  # one batch, mean over all completion tokens
    expected = {name: p.grad.clone() for name, p in proxy.named_parameters()}
    proxy.zero_grad(set_to_none=True)
    assert set(grad) == set(expected) and "lm_head.weight" not in grad  # the tied head is the embedding
    for name in expected:
        torch.testing.assert_close(grad[name], expected[name], rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(one_at_a_time[name], expected[name], rtol=1e-4, atol=1e-6)
    assert all(p.grad is None for p in proxy.parameters())  # nothing left behind on the proxy


def test_gradient_round_trips_through_a_file(grad, tmp_path):
    path = tmp_path / "grad.safetensors"
    save_gradient(grad, path, metadata={"holdout": "4 pairs"})
    loaded = load_gradient(path)
    assert set(loaded) == set(grad) and all(torch.equal(loaded[k], grad[k]) for k in grad)
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    assert float(meta["norm"]) == pytest.approx(gradient_norm(grad)) and meta["holdout"] == "4 pairs"


def test_perturbed_pair_steps_eps_along_the_unit_gradient_and_leaves_the_proxy_alone(proxy, grad, pair):
    plus, minus = pair
    norm = gradient_norm(grad)
    for (name, p0), p_plus, p_minus in zip(
        proxy.named_parameters(), plus.parameters(), minus.parameters(), strict=True
    ):
        torch.testing.assert_close(
            p_plus - p_minus, 2 * EPS * grad[name] / norm, rtol=1e-3, atol=5e-7
        )  # ulps at |w| ~ 1
        assert not torch.equal(p0, p_plus)
    assert plus.lm_head.weight is plus.model.embed_tokens.weight  # ties survive the copy
    assert not plus.training and not any(p.requires_grad for p in plus.parameters())
    raw_plus, _ = perturbed_pair(proxy, grad, EPS, normalize=False)
    name = "model.embed_tokens.weight"
    torch.testing.assert_close(raw_plus.get_parameter(name) - proxy.get_parameter(name), EPS * grad[name])


def test_a_gradient_of_another_model_is_refused(proxy, grad):
    with pytest.raises(ValueError, match="does not match the proxy"):
        perturbed_pair(proxy, {k: v for k, v in grad.items() if "layers.0.mlp" not in k}, EPS)


def test_a_proxy_with_another_tokenizer_fails_fast(tok):
    check_same_tokenizer(tok, tok)
    other = train_bpe(["the quick brown fox jumps over the lazy dog"] * 20, vocab_size=300)
    with pytest.raises(ValueError, match="vocabularies differ.*teacher's tokenizer"):
        check_same_tokenizer(tok, other)


def test_antidistillation_needs_a_positive_temperature(tok, teacher, pair):
    with pytest.raises(ValueError, match="tau"):
        antidistill_generate(teacher, *pair, tok, PROMPTS, 1, AntidistillConfig(lam=1.0, tau=0.0))
