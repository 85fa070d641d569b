"""Mixture sampler and proxy LM: weights are respected, the proxy learns what it is fed, runs are reproducible.

Everything is tiny and trained here (a 300-token BPE, a 1-layer 32-wide Llama, 20k training tokens): < 1 s a run.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import torch
from transformers import LlamaForCausalLM

from training.proxy import (
    ProxyConfig,
    bare_torch_loop,
    build_model,
    count_params,
    evaluate_loss,
    lr_at,
    sample_mixture_batches,
    train_proxy,
)
from training.tokenizer import encode_documents, train_bpe

# ---------------------------------------------------------------- sampler


def _pools() -> list[np.ndarray]:
    # distinct id ranges, so every row's pool is readable from its ids; arange, so windows must be contiguous
    return [np.arange(0, 1000, dtype=np.uint16), np.arange(5000, 6000, dtype=np.uint16)]


def test_batches_have_the_promised_shape_dtype_and_token_budget():
    batches = list(sample_mixture_batches(_pools(), [0.5, 0.5], n_tokens=1000, block_size=8, batch_size=4, seed=0))
    assert len(batches) == math.ceil(1000 / (4 * 8))  # 32 tokens a batch; the budget is met, not undershot
    assert all(b.shape == (4, 9) and b.dtype == torch.int64 for b in batches)


def test_weight_one_draws_only_from_that_pool_in_contiguous_windows():
    batches = sample_mixture_batches(_pools(), [1.0, 0.0], n_tokens=4000, block_size=16, batch_size=8, seed=1)
    rows = torch.cat(list(batches)).numpy()
    assert rows.max() < 1000  # nothing from pool 1
    assert (np.diff(rows, axis=1) == 1).all()  # each row is one slice of the pool
    assert len(np.unique(rows[:, 0])) > 10  # offsets vary


def test_equal_weights_give_equal_shares():
    batches = sample_mixture_batches(_pools(), [0.5, 0.5], n_tokens=2000 * 4, block_size=4, batch_size=20, seed=2)
    first = torch.cat(list(batches))[:, 0].numpy()
    assert len(first) == 2000
    share_0 = float((first < 1000).mean())
    assert 0.45 <= share_0 <= 0.55


def test_uneven_weights_give_uneven_shares():
    batches = sample_mixture_batches(_pools(), [0.9, 0.1], n_tokens=2000 * 4, block_size=4, batch_size=20, seed=3)
    share_0 = float((torch.cat(list(batches))[:, 0] < 1000).float().mean())
    assert 0.87 <= share_0 <= 0.93


def test_same_seed_same_batches_other_seed_other_batches():
    def draw(seed):
        return torch.cat(list(sample_mixture_batches(_pools(), [0.3, 0.7], 512, 8, 4, seed)))

    assert torch.equal(draw(0), draw(0))
    assert not torch.equal(draw(0), draw(1))


def test_memmapped_pool_is_sampled_like_an_array(tmp_path):
    path = tmp_path / "pool.bin"
    np.arange(0, 1000, dtype=np.uint16).tofile(path)
    pool = np.memmap(path, dtype=np.uint16, mode="r")
    from_memmap = torch.cat(list(sample_mixture_batches([pool], [1.0], 256, 8, 4, seed=0)))
    from_array = torch.cat(
        list(sample_mixture_batches([np.arange(1000, dtype=np.uint16)], [1.0], 256, 8, 4, seed=0))
    )
    assert torch.equal(from_memmap, from_array)


@pytest.mark.parametrize(
    ("weights", "fix"),
    [
        ([0.6, 0.6], r"w / w.sum\(\)"),
        ([0.3, 0.3], r"w / w.sum\(\)"),
        ([-0.2, 1.2], "clip negatives"),
        ([float("nan"), 1.0], "finite"),
        ([1.0], "one weight per pool"),
        ([0.2, 0.3, 0.5], "one weight per pool"),
    ],
)
def test_bad_weights_raise_before_the_first_batch(weights, fix):
    with pytest.raises(ValueError, match=fix):
        sample_mixture_batches(_pools(), weights, 100, 8, 4, seed=0)  # not iterated: the check is eager


def test_a_pool_shorter_than_a_window_only_matters_when_it_has_weight():
    pools = [np.arange(1000, dtype=np.uint16), np.arange(5, dtype=np.uint16)]
    with pytest.raises(ValueError, match="give it weight 0"):
        sample_mixture_batches(pools, [0.5, 0.5], 100, 8, 4, seed=0)
    rows = torch.cat(list(sample_mixture_batches(pools, [1.0, 0.0], 100, 8, 4, seed=0)))
    assert rows.shape[1] == 9


# ---------------------------------------------------------------- proxy


def _docs_a(seed: int, n: int) -> list[str]:  # "abc abc abc ...": almost perfectly predictable
    rng = np.random.default_rng(seed)
    return [" ".join(["abc"] * int(rng.integers(5, 40))) for _ in range(n)]


def _docs_b(seed: int, n: int) -> list[str]:  # random numbers: another kind of text altogether
    rng = np.random.default_rng(seed)
    return [" ".join(str(x) for x in rng.integers(0, 10**6, int(rng.integers(5, 40)))) for _ in range(n)]


@pytest.fixture(scope="module")
def corpus():
    tok = train_bpe(_docs_a(0, 100) + _docs_b(0, 100), vocab_size=300)
    pools = [encode_documents(tok, _docs_a(1, 300)), encode_documents(tok, _docs_b(1, 300))]
    held_out = {"A": encode_documents(tok, _docs_a(2, 100)), "B": encode_documents(tok, _docs_b(2, 100))}
    cfg = ProxyConfig(
        vocab_size=len(tok),
        n_layer=1,
        n_head=2,
        n_embd=32,
        block_size=32,
        batch_size=16,
        warmup_steps=5,
        train_tokens=20_000,
        eval_tokens=2048,
    )
    return cfg, pools, held_out


def test_default_config_is_a_one_to_five_million_parameter_model():
    n = count_params(build_model(ProxyConfig(vocab_size=4096)))
    assert 1_000_000 <= n <= 5_000_000


def test_schedule_warms_up_linearly_then_decays_to_the_floor():
    cfg = ProxyConfig(vocab_size=300, lr=1e-3, warmup_steps=10, min_lr_ratio=0.1)
    assert lr_at(0, 100, cfg) == pytest.approx(1e-4)
    assert lr_at(4, 100, cfg) == pytest.approx(5e-4)
    assert lr_at(10, 100, cfg) == pytest.approx(1e-3)  # the peak, right after warmup
    lrs = [lr_at(s, 100, cfg) for s in range(10, 100)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:], strict=False))
    assert lr_at(99, 100, cfg) == pytest.approx(1e-4)  # the last step lands on the floor


def test_proxy_trained_on_a_only_knows_a_and_not_b(corpus):
    cfg, pools, held_out = corpus
    result = train_proxy(cfg, pools, [1.0, 0.0], held_out)
    m = result.metrics
    assert m["loss/A"] < 0.5 * m["loss/B"]
    assert m["loss/B"] > math.log(cfg.vocab_size) * 0.8  # no better than ~uniform on text it never saw
    assert m["ppl/A"] == pytest.approx(math.exp(m["loss/A"]))
    assert m["train_loss"] == pytest.approx(m["loss/A"], abs=0.5)  # held-out text of the same kind
    assert result.steps == math.ceil(20_000 / (16 * 32))
    assert result.tokens_per_second > 0 and result.seconds > 0
    assert result.n_params == count_params(build_model(cfg))


def test_eval_loss_follows_the_mixture(corpus):
    cfg, pools, held_out = corpus
    runs = [train_proxy(cfg, pools, [w, 1.0 - w], held_out).metrics for w in (0.0, 0.5, 1.0)]
    loss_a = [m["loss/A"] for m in runs]
    loss_b = [m["loss/B"] for m in runs]
    assert loss_a[0] > loss_a[1] > loss_a[2]  # more A in the mixture, lower loss on A
    assert loss_b[0] < loss_b[1] < loss_b[2]


def test_same_seed_same_metrics_other_seed_other_metrics(corpus):
    cfg, pools, held_out = corpus
    first = train_proxy(cfg, pools, [0.7, 0.3], held_out).metrics
    second = train_proxy(cfg, pools, [0.7, 0.3], held_out).metrics
    other = train_proxy(dataclasses.replace(cfg, seed=1), pools, [0.7, 0.3], held_out).metrics
    assert first == second
    assert first != other


def test_checkpoint_describes_itself_and_reloads_to_the_same_loss(corpus, tmp_path):
    cfg, pools, held_out = corpus
    result = train_proxy(cfg, pools, [0.25, 0.75], held_out, out_dir=tmp_path / "proxy")
    record = json.loads((tmp_path / "proxy" / "proxy.json").read_text())
    assert record["config"]["n_embd"] == 32 and record["weights"] == [0.25, 0.75]
    assert record["metrics"] == result.metrics and record["steps"] == result.steps
    model = LlamaForCausalLM.from_pretrained(tmp_path / "proxy")
    assert evaluate_loss(model, held_out["B"], cfg) == pytest.approx(result.metrics["loss/B"], rel=1e-5)


def test_eval_set_shorter_than_a_block_raises(corpus):
    cfg, pools, _ = corpus
    with pytest.raises(ValueError, match="shorter than block_size"):
        train_proxy(cfg, pools, [1.0, 0.0], {"tiny": np.arange(10, dtype=np.uint16)})


def test_bare_loop_trains_the_same_data_and_reports_throughput(corpus):
    cfg, pools, _ = corpus
    assert bare_torch_loop(cfg, pools, [0.5, 0.5]) > 0


def test_bf16_autocast_path_trains_too(corpus):
    # the path cuda takes with dtype="auto"; on cpu it runs only when asked for
    cfg, pools, held_out = corpus
    m = train_proxy(dataclasses.replace(cfg, dtype="bfloat16"), pools, [1.0, 0.0], held_out).metrics
    assert math.isfinite(m["loss/A"]) and m["loss/A"] < 0.5 * m["loss/B"]
