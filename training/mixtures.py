"""Candidate mixtures over S super-clusters for CLIMB's bootstrapping search (arXiv 2504.13161).

A mixture is a float64 row of S weights summing to 1. Iteration 1 of the search draws Dirichlet mixtures around
the token-count prior (``sample_dirichlet_mixtures``); later iterations rank a large candidate set with the
predictor (``training.predictor``) and draw the next proxies from the best candidates (``top_k_resample``); the
proxy budget is split 4:2:1 across three iterations (``budget_split``). ``uniform`` and ``natural`` are the
baselines every search is compared against. Everything here is pure numpy and deterministic for a seed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

log = logging.getLogger(__name__)

# Values within this of a cap count as on it: water-filling computes caps by division, which rounds.
_CAP_TOLERANCE = 1e-12


def token_prior(n_tokens: Sequence[int], temperature: float = 1.0) -> np.ndarray:
    """The token-count prior p_i ∝ n_i^(1/temperature), (S,) float64 summing to 1.

    ``temperature`` 1 gives token shares; > 1 flattens towards uniform (inf would be uniform over non-empty
    clusters); < 1 sharpens towards the largest cluster. Clusters with 0 tokens get weight 0.
    """
    n = np.asarray(n_tokens, dtype=np.float64)
    if n.ndim != 1 or n.size == 0:
        raise ValueError(f"n_tokens must be a non-empty 1-d sequence, got shape {n.shape}")
    if not np.all(np.isfinite(n)) or n.min() < 0 or n.max() <= 0:
        raise ValueError("n_tokens must be finite, >= 0, with at least one cluster > 0")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    # Divide by the max before the power: 1e12 tokens at temperature 0.05 would overflow float64 otherwise.
    p = (n / n.max()) ** (1.0 / temperature)
    return p / p.sum()


def uniform(S: int) -> np.ndarray:
    """Equal weight on each of S super-clusters, (S,) float64."""
    if S < 1:
        raise ValueError(f"S must be >= 1, got {S}")
    return np.full(S, 1.0 / S)


def natural(n_tokens: Sequence[int]) -> np.ndarray:
    """The corpus as it is: weights proportional to tokens, (S,) float64."""
    return token_prior(n_tokens, temperature=1.0)


def constrain(
    weights: np.ndarray, prior: np.ndarray, *, max_multiple: float = np.inf, min_weight: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Make rows obey ``w_i <= max_multiple * prior_i`` and ``w_i == 0 or w_i >= min_weight``, summing to 1.

    Returns (rows (n, S) float64, feasible (n,) bool). Per row, repeat until both hold: set weights below
    ``min_weight`` to 0 and renormalise; then water-fill the caps (clip the weights over their cap to the cap,
    scale the unclipped ones up to refill the mass, repeat while a scaled weight crosses its cap; if every
    unclipped weight is 0, the mass goes to them in proportion to their caps). A row is infeasible, and
    returned as zeros, when no weight survives (all of them below ``min_weight``, e.g. an even spread with a
    high ``min_weight``), or when the caps of its support sum under 1 and the refill by caps lands below
    ``min_weight`` (about 1 draw in 2,000 with caps 3x a prior over 7 clusters and ``min_weight`` 0.02).
    Clusters with prior 0 have cap 0, also when ``max_multiple`` is inf.
    """
    w = np.array(weights, dtype=np.float64, ndmin=2)  # (n, S), a copy
    prior = np.asarray(prior, dtype=np.float64)
    n, S = w.shape
    if prior.shape != (S,):
        raise ValueError(f"prior must have shape ({S},) to match weights, got {prior.shape}")
    if not max_multiple * prior.sum() >= 1.0 - 1e-9:
        raise ValueError(f"max_multiple={max_multiple} caps sum to {max_multiple * prior.sum():.3g} < 1; use >= 1")
    cap = np.zeros(S)  # prior 0 -> cap 0 (inf * 0 would be NaN)
    cap[prior > 0] = max_multiple * prior[prior > 0]
    cap = np.broadcast_to(cap, (n, S))  # (n, S); inf when uncapped
    feasible = np.ones(n, dtype=bool)
    for _ in range(S + 1):  # each round zeroes at least one more weight unless the refill by caps adds it back
        w[w < min_weight] = 0.0
        total = w.sum(axis=1)
        feasible &= total > 0
        w[feasible] /= total[feasible, None]
        w[~feasible] = 0.0
        clipped = np.zeros((n, S), dtype=bool)
        for _ in range(S):
            over = ~clipped & (w > cap + _CAP_TOLERANCE)
            if not over.any():
                break
            clipped |= over
            w = np.where(clipped, cap, w)
            # room > 0: the clipped weights summed to <= 1 and each was over its cap, so their caps sum below 1
            room = np.where(feasible, 1.0 - np.where(clipped, cap, 0.0).sum(axis=1), 0.0)  # (n,)
            free = np.where(clipped, 0.0, w)
            free_sum = free.sum(axis=1)
            by_cap = np.where(clipped, 0.0, cap)  # fallback when every unclipped weight is 0
            share = np.where(
                free_sum[:, None] > 0,
                free / np.where(free_sum > 0, free_sum, 1.0)[:, None],
                by_cap / np.maximum(by_cap.sum(axis=1), 1e-300)[:, None],
            )
            w = np.where(clipped, cap, room[:, None] * share)
        if not ((w > 0) & (w < min_weight)).any():
            break
    # The refill by caps can put weights under min_weight back (caps of the support sum just under 1), and the
    # rounds then cycle; such rows cannot meet both rules without a search over supports, so they are dropped.
    feasible &= ~((w > 0) & (w < min_weight)).any(axis=1)
    w[~feasible] = 0.0
    return w, feasible


def _dirichlet(rng: np.random.Generator, alpha: np.ndarray) -> np.ndarray:
    """One Dirichlet draw per row of ``alpha`` (n, S), entries >= 0 (0 gives weight 0).

    numpy's ``rng.dirichlet`` takes one alpha for all rows. Gamma draws with small shapes underflow to 0, so we
    work in logs: Gamma(a) = Gamma(a + 1) * U^(1/a) (Marsaglia and Tsang), normalised with a softmax.
    """
    positive = alpha > 0
    a = np.where(positive, alpha, 1.0)
    log_g = np.log(rng.standard_gamma(a + 1.0)) + np.log(1.0 - rng.random(a.shape)) / a  # 1 - U is in (0, 1]
    log_g = np.where(positive, log_g, -np.inf)
    w = np.exp(log_g - log_g.max(axis=1, keepdims=True))
    return w / w.sum(axis=1, keepdims=True)


def _drop_near_duplicates(w: np.ndarray, min_distance: float, existing: np.ndarray) -> np.ndarray:
    """Keep rows in order, skipping each whose L1 distance to ``existing`` or a kept row is < ``min_distance``."""
    kept = np.empty((len(existing) + len(w), w.shape[1]))
    kept[: len(existing)] = existing
    m = len(existing)
    keep = np.zeros(len(w), dtype=bool)
    for i, row in enumerate(w):  # O(n * kept * S): fine for the hundreds of proxies a search trains
        if m and np.abs(kept[:m] - row).sum(axis=1).min() < min_distance:
            continue
        kept[m] = row
        m += 1
        keep[i] = True
    return w[keep]


def sample_dirichlet_mixtures(
    prior: np.ndarray,
    n: int,
    *,
    concentration_range: tuple[float, float] = (0.1, 5.0),
    max_multiple: float = 5.0,
    min_weight: float = 0.0,
    min_distance: float = 0.0,
    existing: np.ndarray | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Draw up to ``n`` Dirichlet mixtures around ``prior``; (m, S) float64 rows summing to 1, m <= n.

    Each draw gets its own concentration c, log-uniform in ``concentration_range``, and alpha = c * S * prior:
    c = 1 with a uniform prior is uniform on the simplex, small c gives sparse mixtures that put most weight on
    a few super-clusters, large c gives mixtures close to the prior (RegMix's 0.1..5.0 range spans both).

    Then each row is constrained (see ``constrain``): no weight above ``max_multiple * prior_i`` (a proxy should
    not see one cluster repeated many epochs over), weights below ``min_weight`` set to 0. Draws that cannot
    satisfy both are dropped. With ``min_distance`` > 0, near-duplicate mixtures are removed: a draw whose L1
    distance (0..2) to an earlier kept draw or to any row of ``existing`` (mixtures already trained) is below
    it is dropped, so no two returned rows, and no returned row and ``existing`` row, are closer than it.
    Dropped draws are not replaced, so m < n then; the counts are logged. Deterministic for a seed.
    """
    prior = np.asarray(prior, dtype=np.float64)
    if prior.ndim != 1 or prior.size == 0 or prior.min() < 0 or not np.isclose(prior.sum(), 1.0):
        raise ValueError("prior must be a non-empty 1-d array of weights >= 0 summing to 1 (see token_prior)")
    S = prior.size
    lo, hi = concentration_range
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if not 0 < lo <= hi:
        raise ValueError(f"concentration_range must satisfy 0 < low <= high, got {concentration_range}")
    if not max_multiple >= 1:
        raise ValueError(f"max_multiple must be >= 1 (below it the caps sum under 1), got {max_multiple}")
    if not 0 <= min_weight < 1:
        raise ValueError(f"min_weight must be in [0, 1), got {min_weight}")
    if min_distance < 0:
        raise ValueError(f"min_distance must be >= 0 (L1, at most 2), got {min_distance}")
    existing = np.empty((0, S)) if existing is None else np.asarray(existing, dtype=np.float64).reshape(-1, S)

    rng = np.random.default_rng(seed)
    c = np.exp(rng.uniform(np.log(lo), np.log(hi), size=n))  # (n,)
    w = _dirichlet(rng, c[:, None] * S * prior[None, :])  # (n, S)
    w, feasible = constrain(w, prior, max_multiple=max_multiple, min_weight=min_weight)
    w = w[feasible]
    n_feasible = len(w)
    if min_distance > 0:
        w = _drop_near_duplicates(w, min_distance, existing)
    log.info(
        "sampled %d of %d mixtures (S=%d): %d dropped as infeasible under the caps, %d as near-duplicates",
        len(w),
        n,
        S,
        n - n_feasible,
        n_feasible - len(w),
    )
    return w


def top_k_resample(
    candidates: np.ndarray,
    scores: np.ndarray,
    k: int,
    n_out: int,
    *,
    lower_is_better: bool = True,
    seed: int = 0,
    jitter: float = 0.0,
) -> np.ndarray:
    """CLIMB's "sample the next proxies from the top": ``n_out`` rows drawn from the best ``k`` candidates.

    ``candidates`` (n, S) are ranked by ``scores`` (n,) (predicted loss: lower is better; NaN ranks last,
    ties by row order). With ``n_out <= k`` the rows are ``n_out`` distinct top-k rows, chosen uniformly
    without replacement. With ``jitter`` > 0 each picked row w is replaced by a draw from Dirichlet(w / jitter):
    its mean is w, the variance of weight i is w_i (1 - w_i) jitter / (1 + jitter) (jitter 0.01 moves a 0.5
    weight by ~0.05), and weights that were 0 stay 0. Jittered rows may cross the caps of
    ``sample_dirichlet_mixtures``; pass them through ``constrain`` to reapply them. ``n_out > k`` needs
    jitter > 0: the top k are then used round-robin (in a shuffled order), each copy jittered separately.
    """
    candidates = np.asarray(candidates, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    if candidates.ndim != 2 or scores.shape != (len(candidates),):
        raise ValueError(f"need candidates (n, S) and scores (n,), got {candidates.shape} and {scores.shape}")
    if not 1 <= k <= len(candidates):
        raise ValueError(f"k must be in [1, {len(candidates)}] (the number of candidates), got {k}")
    if n_out < 0:
        raise ValueError(f"n_out must be >= 0, got {n_out}")
    if jitter < 0:
        raise ValueError(f"jitter must be >= 0, got {jitter}")
    if n_out > k and jitter == 0:
        raise ValueError(f"n_out={n_out} > k={k}: top k gives at most k distinct rows; raise k or set jitter")

    rng = np.random.default_rng(seed)
    key = scores if lower_is_better else -scores
    top = np.argsort(key, kind="stable")[:k]  # NaN sorts last either way
    if n_out <= k:
        picked = rng.choice(top, size=n_out, replace=False)
    else:
        rounds = -(-n_out // k)
        picked = np.concatenate([rng.permutation(top) for _ in range(rounds)])[:n_out]
    rows = candidates[picked]  # (n_out, S)
    if jitter > 0:
        rows = _dirichlet(rng, rows / jitter)
    return rows


def budget_split(total: int, ratio: Sequence[int] = (4, 2, 1)) -> list[int]:
    """Proxies per iteration in the given ratio, summing exactly to ``total``.

    Each iteration gets floor(total * r / sum(ratio)); the remainder goes one each to the earliest iterations.
    112 -> [64, 32, 16] (the paper), 14 -> [8, 4, 2], 10 -> [6, 3, 1].
    """
    if total < 0:
        raise ValueError(f"total must be >= 0, got {total}")
    if len(ratio) == 0 or min(ratio) <= 0:
        raise ValueError(f"ratio must be a non-empty sequence of positive numbers, got {ratio}")
    parts = [int(total * r // sum(ratio)) for r in ratio]
    for i in range(total - sum(parts)):  # fewer than len(ratio) left over
        parts[i] += 1
    return parts
