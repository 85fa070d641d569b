import numpy as np
import pytest

from training.mixtures import (
    budget_split,
    constrain,
    natural,
    sample_dirichlet_mixtures,
    token_prior,
    top_k_resample,
    uniform,
)

TOKENS = [1_000_000, 400_000, 200_000, 50_000, 20_000, 5_000, 1_000, 0]


def _pairwise_l1(w: np.ndarray) -> np.ndarray:
    d = np.abs(w[:, None, :] - w[None, :, :]).sum(axis=2)
    np.fill_diagonal(d, np.inf)
    return d


def test_token_prior_is_token_shares_and_temperature_flattens():
    p1 = token_prior(TOKENS)
    assert p1.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(p1, np.array(TOKENS) / sum(TOKENS))
    p3 = token_prior(TOKENS, temperature=3.0)
    assert p3.sum() == pytest.approx(1.0)
    assert p3[0] < p1[0] and p3[6] > p1[6]  # mass moves from the largest to the smallest cluster
    assert p3.max() / p3[:7].min() == pytest.approx((1_000_000 / 1_000) ** (1 / 3))
    assert p1[7] == p3[7] == 0.0  # an empty cluster stays empty
    sharp = token_prior([10**12, 10**11], temperature=0.05)  # would overflow without scaling first
    assert np.isfinite(sharp).all() and sharp[0] == pytest.approx(1.0)


def test_token_prior_rejects_bad_input():
    with pytest.raises(ValueError, match="temperature"):
        token_prior([1, 2], temperature=0.0)
    with pytest.raises(ValueError, match=">= 0"):
        token_prior([0, 0])


def test_baselines():
    np.testing.assert_allclose(uniform(4), [0.25] * 4)
    np.testing.assert_allclose(natural([3, 1]), [0.75, 0.25])


def test_sampled_mixtures_sum_to_one_and_respect_caps():
    prior = token_prior(TOKENS, temperature=2.0)
    w = sample_dirichlet_mixtures(prior, 2000, max_multiple=3.0, min_weight=0.02, seed=1)
    assert w.dtype == np.float64 and w.shape[1] == len(TOKENS)
    assert 1900 <= len(w) <= 2000
    np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-12)
    assert (w <= 3.0 * prior + 1e-12).all()
    assert not ((w > 0) & (w < 0.02)).any()
    assert (w[:, 7] == 0).all()  # prior 0, cap 0
    # The caps bind: without them some draws put far more than 3x the prior on a small cluster.
    free = sample_dirichlet_mixtures(prior, 2000, max_multiple=np.inf, seed=1)
    assert (free > 3.0 * prior).any()
    assert ((free > 0) & (free < 0.02)).any()


def test_concentration_range_controls_spread_around_the_prior():
    prior = token_prior(TOKENS[:6])
    sparse = sample_dirichlet_mixtures(prior, 500, concentration_range=(0.1, 0.1), max_multiple=np.inf, seed=0)
    tight = sample_dirichlet_mixtures(prior, 500, concentration_range=(100, 100), max_multiple=np.inf, seed=0)
    assert np.abs(tight - prior).sum(axis=1).mean() < 0.2 < np.abs(sparse - prior).sum(axis=1).mean()
    np.testing.assert_allclose(tight.mean(axis=0), prior, atol=0.01)  # Dirichlet mean = prior


def test_sampling_is_deterministic_per_seed():
    prior = uniform(6)
    a = sample_dirichlet_mixtures(prior, 300, min_weight=0.01, min_distance=0.3, seed=7)
    b = sample_dirichlet_mixtures(prior, 300, min_weight=0.01, min_distance=0.3, seed=7)
    c = sample_dirichlet_mixtures(prior, 300, min_weight=0.01, min_distance=0.3, seed=8)
    np.testing.assert_array_equal(a, b)
    assert a.shape != c.shape or not np.array_equal(a, c)


def test_dedup_removes_near_duplicates_and_respects_existing():
    prior = uniform(6)
    everything = sample_dirichlet_mixtures(prior, 400, seed=3)
    assert len(everything) == 400
    assert _pairwise_l1(everything).min() < 0.1  # near-duplicates are there to remove
    kept = sample_dirichlet_mixtures(prior, 400, min_distance=0.6, seed=3)
    assert 1 < len(kept) < 400
    assert _pairwise_l1(kept).min() >= 0.6
    # Kept rows are the earliest draws that passed, in draw order: a subset of the undeduplicated draws.
    assert all(np.any(np.all(everything == row, axis=1)) for row in kept)
    fewer = sample_dirichlet_mixtures(prior, 400, min_distance=1.0, seed=3)
    assert len(fewer) < len(kept)
    # Mixtures already trained count too: nothing new lands within min_distance of them.
    existing = kept[:5]
    more = sample_dirichlet_mixtures(prior, 400, min_distance=0.6, existing=existing, seed=4)
    assert np.abs(more[:, None, :] - existing[None, :, :]).sum(axis=2).min() >= 0.6


def test_sampling_rejects_impossible_caps():
    with pytest.raises(ValueError, match="max_multiple"):
        sample_dirichlet_mixtures(uniform(4), 10, max_multiple=0.5)
    with pytest.raises(ValueError, match="summing to 1"):
        sample_dirichlet_mixtures(np.array([0.5, 0.2]), 10)


def test_constrain_water_fills_and_flags_infeasible_rows():
    prior = np.array([0.5, 0.3, 0.2])
    w, ok = constrain(np.array([[0.9, 0.1, 0.0], [0.0, 0.0, 1.0]]), prior, max_multiple=1.5)
    # Row 0: 0.9 > cap 0.75; the 0.15 left over goes to the other non-zero weight, which stays under its cap.
    np.testing.assert_allclose(w[0], [0.75, 0.25, 0.0])
    # Row 1: 1.0 > cap 0.3, the other weights are all 0, so the rest goes by caps: 0.7 split 0.75 : 0.45.
    np.testing.assert_allclose(w[1], [0.7 * 0.75 / 1.2, 0.7 * 0.45 / 1.2, 0.3])
    assert ok.all()
    # All mass on a cluster whose cap (0.03) is below min_weight (0.05): clipped, refilled by caps, then zeroed.
    prior = np.array([0.49, 0.5, 0.01])
    w, ok = constrain(np.array([[0.0, 0.0, 1.0]]), prior, max_multiple=3.0, min_weight=0.05)
    assert ok[0]
    np.testing.assert_allclose(w[0], [0.49 / 0.99, 0.5 / 0.99, 0.0])
    # Every weight below min_weight: nothing survives, the row is infeasible and all zeros.
    w, ok = constrain(np.array([[0.3, 0.3, 0.4], [0.5, 0.5, 0.0]]), prior, min_weight=0.45)
    assert ok.tolist() == [False, True]
    assert (w[0] == 0).all()
    np.testing.assert_allclose(w[1], [0.5, 0.5, 0.0])


def test_top_k_resample_draws_only_from_the_top():
    rng = np.random.default_rng(0)
    candidates = rng.dirichlet(np.ones(5), 200)
    scores = rng.standard_normal(200)
    scores[3] = np.nan  # a failed prediction is never "best"
    top10 = np.argsort(scores)[:10]
    out = top_k_resample(candidates, scores, k=10, n_out=6, seed=1)
    assert out.shape == (6, 5)
    idx = [int(np.flatnonzero(np.all(candidates == row, axis=1))[0]) for row in out]
    assert set(idx) <= set(top10.tolist()) and len(set(idx)) == 6
    out_all = top_k_resample(candidates, scores, k=10, n_out=10, seed=1)
    assert {tuple(r) for r in out_all} == {tuple(r) for r in candidates[top10]}
    # Higher is better: the top k is the other end.
    hi = top_k_resample(candidates, scores, k=10, n_out=10, lower_is_better=False)
    top10_hi = np.argsort(-np.nan_to_num(scores, nan=-np.inf))[:10]
    assert {tuple(r) for r in hi} == {tuple(r) for r in candidates[top10_hi]}
    np.testing.assert_array_equal(out, top_k_resample(candidates, scores, k=10, n_out=6, seed=1))


def test_top_k_resample_jitter_stays_near_its_rows():
    candidates = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5], [0.9, 0.05, 0.05], [0.1, 0.1, 0.8]])
    scores = np.array([1.0, 2.0, 3.0, 0.5])
    out = top_k_resample(candidates, scores, k=2, n_out=400, jitter=0.01, seed=0)  # rows 3 and 0, 200 each
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    assert len({tuple(r) for r in out}) == 400  # every copy perturbed separately
    near3 = np.abs(out - candidates[3]).sum(axis=1) < np.abs(out - candidates[0]).sum(axis=1)
    assert near3.sum() == 200
    np.testing.assert_allclose(out[near3].mean(axis=0), candidates[3], atol=0.02)
    assert (out[~near3][:, 2] == 0).all()  # a zero weight stays zero
    with pytest.raises(ValueError, match="jitter"):
        top_k_resample(candidates, scores, k=2, n_out=3)


@pytest.mark.parametrize(
    "total,expected",
    [(112, [64, 32, 16]), (14, [8, 4, 2]), (10, [6, 3, 1]), (15, [9, 4, 2]), (2, [2, 0, 0]), (0, [0, 0, 0])],
)
def test_budget_split_sums_exactly_and_front_loads_remainders(total, expected):
    parts = budget_split(total)
    assert parts == expected and sum(parts) == total


def test_budget_split_other_ratios():
    assert budget_split(70, ratio=(1, 1)) == [35, 35]
    assert budget_split(7_000) == [4_000, 2_000, 1_000]
    with pytest.raises(ValueError, match="ratio"):
        budget_split(10, ratio=(1, 0))
