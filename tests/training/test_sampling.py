"""Batched KV-cache sampling: top-p keeps the right tokens, greedy matches a plain uncached loop, seeds reproduce.

A 300-token BPE and a 2-layer, 32-wide Llama (and GPT-2) pretrained for a few seconds on "a+b=c" lines: enough
that greedy continuations differ from prompt to prompt, so a padding or cache bug shows up as a different text.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from training.lm import LMConfig, new_model, pretrain, prompt_ids
from training.sampling import SampleConfig, cut_at_stop, generate, top_p_filter
from training.tokenizer import encode_documents

PROMPTS = ["1+2=", "13+27=", "5", "29+29=5", "8+"]  # different lengths: the batch is left-padded


@pytest.fixture(scope="module", autouse=True)
def _single_thread(one_thread):
    """Before the module's model fixtures: they train in one thread too."""


@pytest.fixture(scope="module")
def tok(arithmetic_tok):
    return arithmetic_tok


@pytest.fixture(scope="module", params=["llama", "gpt2"])
def model(tok, request):
    # Llama (RoPE) is blind to a shift of all positions; GPT-2's learned absolute positions are not, so a
    # padding / position bug in the loop shows up in GPT-2's texts
    rng = np.random.default_rng(0)
    lines = [f"{a}+{b}={a + b}" for a, b in rng.integers(0, 30, size=(2000, 2))]
    cfg = LMConfig(n_layer=2, n_head=2, n_embd=32, block_size=32, batch_size=8, steps=150, lr=1e-2, warmup_steps=5)
    if request.param == "llama":
        m = new_model(len(tok), cfg)
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            m = GPT2LMHeadModel(GPT2Config(vocab_size=len(tok), n_positions=64, n_embd=32, n_layer=2, n_head=2))
    pretrain(m, encode_documents(tok, lines), cfg)
    return m


def test_top_p_keeps_the_smallest_set_of_likeliest_tokens_that_reaches_p():
    scores = torch.tensor([[0.15, 0.5, 0.05, 0.3]]).log()  # likeliest first: tokens 1, 3, 0, 2

    def kept(top_p):
        return set(torch.isfinite(top_p_filter(scores, top_p))[0].nonzero().flatten().tolist())

    assert kept(1e-6) == {1}
    assert kept(0.5) == {1}  # 0.5 alone reaches 0.5
    assert kept(0.7) == {1, 3}
    assert kept(0.81) == {1, 3, 0}
    assert kept(1.0) == {0, 1, 2, 3}
    filtered = top_p_filter(scores, 0.7)
    assert torch.equal(filtered[0, [1, 3]], scores[0, [1, 3]])  # kept scores are untouched
    with pytest.raises(ValueError, match="top_p"):
        top_p_filter(scores, 0.0)


def test_cached_batched_greedy_equals_an_uncached_loop_one_prompt_at_a_time(tok, model):
    # eos is forbidden for all 10 steps, so every row runs the full length through padding and cache
    cfg = SampleConfig(temperature=0, max_new_tokens=10, min_new_tokens=10, batch_size=len(PROMPTS))
    batched = [texts[0] for texts in generate(model, tok, PROMPTS, 1, cfg)]
    reference = []
    for prompt in PROMPTS:  # no padding, no cache: the whole sequence again at every step
        ids = torch.tensor([prompt_ids(tok, [prompt])[0]])
        with torch.no_grad():
            for _ in range(10):
                logits = model(input_ids=ids).logits[0, -1, : len(tok)]
                logits[tok.eos_token_id] = float("-inf")
                ids = torch.cat([ids, logits.argmax().view(1, 1)], dim=1)
        reference.append(tok.decode(ids[0, -10:]))
    assert batched == reference
    assert len(set(reference)) >= 2  # the model says different things to different prompts (not a trivial match)


def test_tiny_top_p_is_greedy(tok, model):
    greedy = generate(model, tok, PROMPTS, 1, SampleConfig(temperature=0, max_new_tokens=8))
    nucleus = generate(model, tok, PROMPTS, 1, SampleConfig(temperature=1.0, top_p=1e-6, max_new_tokens=8, seed=5))
    assert nucleus == greedy


def test_same_seed_same_samples_other_seed_other_samples(tok, model):
    def sample(seed):
        cfg = SampleConfig(temperature=1.0, top_p=1.0, max_new_tokens=12, seed=seed, batch_size=4)
        return generate(model, tok, PROMPTS, 3, cfg)

    first = sample(0)
    assert [len(texts) for texts in first] == [3] * len(PROMPTS)  # n per prompt, in prompt order
    assert first == sample(0)
    assert first != sample(1)
    assert len({t for texts in first for t in texts}) > len(PROMPTS)  # samples of one prompt differ too


def test_a_row_ends_at_eos_unless_min_new_tokens_forbids_it(tok, model):
    eos_lover = new_model(len(tok), LMConfig(n_layer=1, n_head=2, n_embd=32))
    head = torch.nn.Linear(32, len(tok), bias=True)  # untied head whose bias makes eos the sure next token
    with torch.no_grad():
        head.weight.zero_()
        head.bias.zero_()
        head.bias[tok.eos_token_id] = 50.0
    eos_lover.lm_head = head
    cfg = SampleConfig(temperature=1.0, top_p=1.0, max_new_tokens=6, seed=0)
    assert generate(eos_lover, tok, PROMPTS, 2, cfg) == [["", ""]] * len(PROMPTS)
    forced = generate(eos_lover, tok, PROMPTS, 2, dataclasses.replace(cfg, min_new_tokens=3))
    three = generate(eos_lover, tok, PROMPTS, 2, dataclasses.replace(cfg, min_new_tokens=3, max_new_tokens=3))
    assert forced == three  # three tokens, then eos: the six allowed tokens are not used
    assert all(text for texts in forced for text in texts)


def test_cut_at_stop_cuts_before_the_earliest_stop_string():
    assert cut_at_stop("12=3\nQ: x", ("Q:", "\n")) == "12=3"
    assert cut_at_stop("no stop here", ("Q:",)) == "no stop here"
    assert cut_at_stop("abc", ()) == "abc"


def test_a_stop_string_ends_each_row_where_it_first_appears(tok, model):
    cfg = SampleConfig(temperature=1.0, top_p=1.0, max_new_tokens=12, seed=3, batch_size=4)
    free = generate(model, tok, PROMPTS, 3, cfg)
    stopped = generate(model, tok, PROMPTS, 3, dataclasses.replace(cfg, stop=("=",)))
    # rows draw the same random numbers either way: a stopped row is the free row cut at its first "="
    assert stopped == [[cut_at_stop(t, ("=",)) for t in texts] for texts in free]
    assert any("=" in t for texts in free for t in texts)  # the stop string did end some rows


def test_models_with_fewer_output_tokens_than_the_tokenizer_are_refused(tok):
    small = new_model(len(tok) - 10, LMConfig(n_layer=1, n_head=2, n_embd=32))
    with pytest.raises(ValueError, match="output tokens"):
        generate(small, tok, PROMPTS, 1, SampleConfig(max_new_tokens=2))


def test_sampled_first_tokens_follow_the_model_distribution(tok, model):
    cfg = SampleConfig(temperature=1.0, top_p=1.0, max_new_tokens=1, seed=0, batch_size=400)
    firsts = generate(model, tok, ["3+4="], 400, cfg)[0]
    with torch.no_grad():
        probs = model(input_ids=torch.tensor(prompt_ids(tok, ["3+4="]))).logits[0, -1, : len(tok)].softmax(-1)
    for token in probs.topk(3).indices.tolist():
        text = "" if token == tok.eos_token_id else tok.decode([token])
        share, p = sum(t == text for t in firsts) / len(firsts), float(probs[token])
        assert abs(share - p) < 4 * math.sqrt(p * (1 - p) / len(firsts)) + 1e-3  # within 4 standard errors
