import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from training.passk import (
    compare_coverage,
    coverage,
    default_ks,
    pass_at_k,
    pass_at_k_exact,
    pass_at_k_table,
    solved_sets,
)


def test_known_values():
    for n in (1, 5, 16, 200):
        c = np.arange(n + 1)
        np.testing.assert_allclose(pass_at_k(n, c, 1), c / n, rtol=0, atol=1e-15)  # pass@1 = c / n
        np.testing.assert_array_equal(pass_at_k(n, c, n), (c > 0).astype(float))  # pass@n: any correct
    assert pass_at_k(4, 2, 2) == pytest.approx(1 - 1 / 6)  # C(2,2) / C(4,2) = 1/6
    assert pass_at_k(10, 0, 3) == 0.0
    assert pass_at_k(10, 8, 3) == 1.0  # n - c = 2 < k: every 3-subset holds a correct sample
    assert isinstance(pass_at_k(10, 3, 2), float)


def test_agrees_with_exact_reference_on_a_grid():
    worst = 0.0
    for n in range(1, 61):
        c = np.arange(n + 1)
        for k in range(1, n + 1):
            exact = np.array([float(pass_at_k_exact(n, ci, k)) for ci in range(n + 1)])
            worst = max(worst, float(np.abs(pass_at_k(n, c, k) - exact).max()))
    assert worst < 1e-13


def test_exact_reference_is_the_binomial_formula():
    assert pass_at_k_exact(5, 2, 2) == Fraction(7, 10)  # 1 - C(3,2)/C(5,2) = 1 - 3/10
    assert pass_at_k_exact(5, 4, 2) == 1  # C(1, 2) = 0
    with pytest.raises(ValueError):
        pass_at_k_exact(3, 1, 4)


def test_monotone_in_k_and_in_c():
    n = 50
    c = np.arange(n + 1)
    table = np.stack([pass_at_k(n, c, k) for k in range(1, n + 1)])  # (k, c)
    assert (np.diff(table, axis=0) >= 0).all()
    assert (np.diff(table, axis=1) >= 0).all()
    assert (np.diff(table[:, 1:-1], axis=0) > 0).any()  # not trivially flat


def test_large_n_is_finite_and_exact():
    n = 1000
    ks = np.arange(1, n + 1)
    p = np.array([pass_at_k(n, 1, k) for k in ks])
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p, ks / n, rtol=0, atol=1e-13)  # one correct sample: pass@k = k / n
    for c, k in [(500, 500), (3, 700), (990, 10), (1, 999)]:
        assert abs(pass_at_k(n, c, k) - float(pass_at_k_exact(n, c, k))) < 1e-12  # C(1000, 500) overflows float
    huge = pass_at_k(10**6, np.array([0, 1, 10**5]), 1000)
    assert np.isfinite(huge).all() and huge[0] == 0.0 and huge[1] == pytest.approx(1e-3) and huge[2] == 1.0


def test_vectorized_over_mixed_n_matches_scalar_calls():
    rng = np.random.default_rng(0)
    n = rng.integers(8, 40, size=500)
    c = rng.integers(0, n + 1)
    got = pass_at_k(n, c, 8)
    want = [pass_at_k(int(a), int(b), 8) for a, b in zip(n, c, strict=True)]
    np.testing.assert_array_equal(got, want)
    grid = pass_at_k(np.array([[10], [20]]), np.array([0, 1, 2]), 2)  # broadcasting
    assert grid.shape == (2, 3) and grid[1, 1] == pytest.approx(0.1)


@pytest.mark.parametrize(
    "n, c, k, match",
    [
        (4, 1, 5, "n >= k"),
        (4, 5, 1, "0 <= c <= n"),
        (4, -1, 1, "0 <= c <= n"),
        (0, 0, 1, "n >= 1"),
        (4, 1, 0, "k must be"),
        (4, 1.5, 1, "whole numbers"),
        ([4, 2], [1, 1], 3, "index \\(1,\\)"),
    ],
)
def test_rejects_bad_input(n, c, k, match):
    with pytest.raises(ValueError, match=match):
        pass_at_k(n, c, k)


def test_default_ks():
    assert default_ks(1) == [1]
    assert default_ks(10) == [1, 2, 4, 8, 10]
    assert default_ks(16) == [1, 2, 4, 8, 16]
    with pytest.raises(ValueError):
        default_ks(0)


def test_table_from_dict_and_dataframe():
    correct = {"a": (4, 0), "b": (4, 1), "c": (4, 4)}
    table = pass_at_k_table(correct)
    assert list(table) == [1, 2, 4]
    assert table[1] == pytest.approx((0 + 0.25 + 1) / 3)
    assert table[2] == pytest.approx((0 + 0.5 + 1) / 3)
    assert table[4] == pytest.approx(2 / 3)
    df = pd.DataFrame({"problem_id": list(correct), "n_samples": [4, 4, 4], "n_correct": [0, 1, 4]})
    assert pass_at_k_table(df, ks=[1, 4]) == {1: table[1], 4: table[4]}
    with pytest.raises(ValueError, match="n_correct"):
        pass_at_k_table(df.drop(columns="n_correct"))
    with pytest.raises(ValueError, match="n >= k"):
        pass_at_k_table(correct, ks=[8])


PER_MODEL = {
    "teacher": {"p1": 8, "p2": 1, "p3": 0, "p4": 3},
    "student": {"p1": 5, "p2": 0, "p3": 0, "p4": 1},
}


def test_solved_sets_at_n_is_any_correct_and_at_small_k_uses_the_threshold():
    at_n = solved_sets(PER_MODEL, k=8, n=8)
    assert at_n == {"teacher": {"p1", "p2", "p4"}, "student": {"p1", "p4"}}
    at_1 = solved_sets(PER_MODEL, k=1, n=8)  # pass@1 = c / 8 >= 0.5
    assert at_1 == {"teacher": {"p1"}, "student": {"p1"}}
    assert solved_sets(PER_MODEL, k=1, n=8, threshold=0.125)["teacher"] == {"p1", "p2", "p4"}
    with pytest.raises(ValueError, match="different problems"):
        solved_sets({**PER_MODEL, "other": {"p1": 1}}, k=8, n=8)
    with pytest.raises(ValueError, match="0 <= c <= n"):
        solved_sets({"m": {"p1": 9}}, k=8, n=8)


def test_coverage_and_comparison():
    assert coverage(PER_MODEL) == {"teacher": 0.75, "student": 0.5}
    sets = solved_sets(PER_MODEL, k=8, n=8)
    cmp = compare_coverage(sets["student"], sets["teacher"])
    assert (cmp.n_a, cmp.n_b, cmp.n_both, cmp.n_only_a, cmp.n_only_b) == (2, 3, 2, 0, 1)
    assert cmp.is_subset and cmp.only_b == {"p2"} and cmp.jaccard == pytest.approx(2 / 3)
    reverse = compare_coverage(sets["teacher"], sets["student"])
    assert not reverse.is_subset and reverse.only_a == {"p2"}
    assert compare_coverage(set(), set()).jaccard == 1.0
    assert compare_coverage({"x"}, {"y"}).jaccard == 0.0
    assert math.isclose(compare_coverage({"x", "y"}, {"y", "z"}).jaccard, 1 / 3)
