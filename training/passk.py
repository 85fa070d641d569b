"""pass@k and coverage: how many problems a model can solve given k tries, and which ones.

Each model draws n samples per problem and a verifier (``training.tasks``) marks c of them correct. The unbiased
estimator of pass@k (Chen et al. 2021) is ``1 - C(n - c, k) / C(n, k)``: the chance that k samples drawn without
replacement from the n miss every correct one. The binomials overflow float64 past n ~ 1000, so it is computed as
the product ``prod_{i = n-c+1}^{n} (1 - k / i)``, every factor in (0, 1).

"Does RL really incentivize reasoning capacity beyond the base model?" (Yue et al., arXiv 2504.13837) reads pass@k
at large k as coverage: the set of problems a model solves at all. Comparing those sets between models (is the
student's inside the teacher's?) is what ``solved_sets`` and ``compare_coverage`` are for.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

log = logging.getLogger(__name__)


def pass_at_k(n, c, k: int) -> np.ndarray | float:
    """Unbiased pass@k for n samples with c correct, vectorized over (broadcastable) arrays of n and c.

    Returns float64 of the broadcast shape of n and c, or a float when both are scalars. Exactly 1.0 where
    n - c < k (every k-subset holds a correct sample). Each factor is formed as ``(i - k) / i`` rather than
    ``1 - k / i``: one rounding per factor instead of a cancellation near i = k; the running product is a cumprod
    per distinct n, so 10,000 problems with the same n cost one pass over n factors and a gather.
    """
    n_arr, c_arr = np.broadcast_arrays(_as_ints(n, "n"), _as_ints(c, "c"))
    k = _check_k(k)
    _check_counts(n_arr, c_arr, k)
    n_flat, c_flat = n_arr.ravel(), c_arr.ravel()
    out = np.ones(n_flat.shape, dtype=np.float64)
    todo = np.flatnonzero(n_flat - c_flat >= k)  # elsewhere every k-subset holds a correct sample: 1.0
    order = todo[np.argsort(n_flat[todo], kind="stable")]  # grouped by n, one cumprod per group
    values, starts = np.unique(n_flat[order], return_index=True)
    groups = np.split(order, starts[1:]) if order.size else []
    for n_value, group in zip(values, groups, strict=True):
        i = np.arange(n_value, k, -1, dtype=np.float64)  # n, n-1, ..., k+1
        # miss[j] = C(n - j, k) / C(n, k): the chance k draws avoid j correct samples, for j = 0 .. n - k
        miss = np.concatenate(([1.0], np.cumprod((i - k) / i)))
        out[group] = 1.0 - miss[c_flat[group]]
    out = out.reshape(n_arr.shape)
    return float(out) if out.ndim == 0 else out


def pass_at_k_exact(n: int, c: int, k: int) -> Fraction:
    """The exact pass@k as a fraction of big integers: the reference ``pass_at_k`` is tested against."""
    if not 1 <= k <= n or not 0 <= c <= n:
        raise ValueError(f"need 1 <= k <= n and 0 <= c <= n, got n={n}, c={c}, k={k}")
    return 1 - Fraction(math.comb(n - c, k), math.comb(n, k))  # comb(m, k) is 0 when k > m


def default_ks(n: int) -> list[int]:
    """1, 2, 4, ... up to n, with n itself last: the k grid of pass@k curves for n samples per problem."""
    if n < 1:
        raise ValueError(f"n must be >= 1 samples per problem, got {n}")
    ks = [2**e for e in range(n.bit_length()) if 2**e < n]
    return ks + [n]


def pass_at_k_table(correct, ks: Sequence[int] | None = None) -> dict[int, float]:
    """Mean pass@k over problems, ``{k: mean}``, for each k in ``ks`` (default ``default_ks`` of the smallest n).

    ``correct`` is ``{problem_id: (n_samples, n_correct)}`` or a DataFrame (pandas or anything with columns)
    holding ``n_samples`` and ``n_correct``, one row per problem. Every k must be <= every problem's n.
    """
    if hasattr(correct, "columns"):
        missing = {"n_samples", "n_correct"} - set(correct.columns)
        if missing:
            raise ValueError(f"the table lacks columns {sorted(missing)}; it needs n_samples and n_correct")
        n, c = np.asarray(correct["n_samples"]), np.asarray(correct["n_correct"])
    else:
        pairs = list(correct.values())
        n = np.array([p[0] for p in pairs], dtype=np.int64)
        c = np.array([p[1] for p in pairs], dtype=np.int64)
    if n.size == 0:
        raise ValueError("no problems: pass@k of an empty set is undefined")
    ks = default_ks(int(n.min())) if ks is None else list(ks)
    return {k: float(np.mean(pass_at_k(n, c, k))) for k in ks}


def solved_sets(
    per_model: Mapping[str, Mapping[str, int]], k: int, n: int, *, threshold: float = 0.5
) -> dict[str, frozenset[str]]:
    """The problems each model solves at k: ``{model: frozenset(problem_id)}``.

    ``per_model`` is ``{model: {problem_id: n_correct}}``, every model with n samples on the same problems.
    A model solves a problem at k when its pass@k estimate is >= ``threshold`` (default 0.5: more likely than
    not to get it right in k tries). At k = n the estimate is 1 when c >= 1 and 0 otherwise, so for any threshold
    in (0, 1] this is exactly the coverage definition of arXiv 2504.13837: solved when at least one of the n
    samples is correct. Use k = n for coverage comparisons; smaller k asks which problems are reliably solved.
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    _check_same_problems(per_model)
    solved = {}
    for model, counts in per_model.items():
        ids = list(counts)
        p = np.atleast_1d(pass_at_k(n, np.array([counts[i] for i in ids], dtype=np.int64), k))
        solved[model] = frozenset(i for i, v in zip(ids, p, strict=True) if v >= threshold)
    return solved


def coverage(per_model: Mapping[str, Mapping[str, int]]) -> dict[str, float]:
    """Fraction of problems each model solves at all (at least one correct sample), ``{model: fraction}``."""
    _check_same_problems(per_model)
    return {model: sum(c > 0 for c in counts.values()) / len(counts) for model, counts in per_model.items()}


@dataclass(frozen=True)
class CoverageComparison:
    n_a: int  # |A|
    n_b: int  # |B|
    n_both: int  # |A ∩ B|
    n_only_a: int  # |A - B|: what A solves and B does not
    n_only_b: int  # |B - A|
    is_subset: bool  # A ⊆ B, e.g. "the student solves nothing the teacher cannot"
    jaccard: float  # |A ∩ B| / |A ∪ B|; 1.0 for two empty sets (they are identical)
    only_a: frozenset[str]  # the problem ids behind n_only_a, to read the problems
    only_b: frozenset[str]


def compare_coverage(a: frozenset[str] | set[str], b: frozenset[str] | set[str]) -> CoverageComparison:
    """Overlap of two solved sets (from ``solved_sets``); ``is_subset`` asks whether A lies inside B."""
    a, b = frozenset(a), frozenset(b)
    union = a | b
    return CoverageComparison(
        n_a=len(a),
        n_b=len(b),
        n_both=len(a & b),
        n_only_a=len(a - b),
        n_only_b=len(b - a),
        is_subset=a <= b,
        jaccard=len(a & b) / len(union) if union else 1.0,
        only_a=a - b,
        only_b=b - a,
    )


def _check_same_problems(per_model: Mapping[str, Mapping[str, int]]) -> None:
    if not per_model:
        raise ValueError("no models given")
    (first, ref), *rest = per_model.items()
    if not ref:
        raise ValueError(f"model {first!r} has no problems")
    for model, counts in rest:
        if counts.keys() != ref.keys():
            raise ValueError(
                f"models {first!r} and {model!r} were evaluated on different problems "
                f"({len(ref.keys() - counts.keys())} only in the first, {len(counts.keys() - ref.keys())} only "
                "in the second); solved sets only compare on the same problems, so restrict both to the shared ids"
            )


def _as_ints(x, name: str) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype == bool or not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise TypeError(f"{name} must be integer counts, got dtype {a.dtype}")
    if np.issubdtype(a.dtype, np.floating):
        if not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
            raise ValueError(f"{name} must be whole numbers of samples, got {a.ravel()[:5].tolist()}...")
        a = a.astype(np.int64)
    return a.astype(np.int64, copy=False)


def _check_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    return int(k)


def _check_counts(n: np.ndarray, c: np.ndarray, k: int) -> None:
    for bad, what in (
        (n < 1, "n >= 1 samples"),
        ((c < 0) | (c > n), "0 <= c <= n correct samples"),
        (n < k, f"n >= k = {k} samples (pass@{k} needs at least {k} samples per problem; draw more or lower k)"),
    ):
        if bad.any():
            first = np.argwhere(bad)[0]
            at = tuple(int(i) for i in first)
            raise ValueError(
                f"need {what}: {int(bad.sum())} entries break it, the first at index {at} "
                f"with n={int(n[tuple(first)])}, c={int(c[tuple(first)])}"
            )
