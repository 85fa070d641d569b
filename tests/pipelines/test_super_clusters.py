import numpy as np
import pandas as pd
import pytest

from pipelines.super_clusters import merge, prune


def test_prune_reasons_too_small_first_then_low_quality_including_nan():
    stats = pd.DataFrame(
        {
            "cluster_id": [0, 1, 2, 3, 4],
            "n_docs": [100, 5, 100, 5, 100],
            "n_tokens": [1000, 50, 1000, 50, 1000],
            "mean_quality": [0.8, 0.8, 0.2, 0.1, np.nan],
        },
        index=[10, 11, 12, 13, 14],
    )
    reason = prune(stats, min_quality=0.5, min_docs=20)
    assert reason.index.tolist() == [10, 11, 12, 13, 14]
    assert reason.tolist() == [None, "too_small", "low_quality", "too_small", "low_quality"]
    # Thresholds are arguments: relax both and everything with a score is kept.
    assert prune(stats, min_quality=0.0, min_docs=1).tolist() == [None, None, None, None, "low_quality"]


def test_prune_names_missing_columns():
    with pytest.raises(ValueError, match="mean_quality"):
        prune(pd.DataFrame({"cluster_id": [0], "n_docs": [1], "n_tokens": [1]}), min_quality=0.5, min_docs=1)


def _three_groups(seed: int = 0) -> np.ndarray:
    """Nine unit-ish centroids: three tight triples (within ~0.05) around mutually orthogonal directions."""
    rng = np.random.default_rng(seed)
    axes = np.eye(3, 16)
    return np.concatenate([axis + 0.02 * rng.normal(size=(3, 16)) for axis in axes])  # (9, 16)


def test_merge_three_tight_groups_into_three_super_clusters():
    centroids = _three_groups()
    tokens = np.array([10, 10, 10, 50, 50, 50, 20, 20, 20])
    before = centroids.copy()
    result = merge(centroids, tokens, distance_threshold=0.5)
    np.testing.assert_array_equal(centroids, before)  # the caller's array is not modified
    # Members of one triple share a label; the triples differ. Labels by descending tokens: 150, 60, 30.
    assert result.labels.dtype == np.int32
    assert result.labels.tolist() == [2, 2, 2, 0, 0, 0, 1, 1, 1]
    assert result.n_tokens.tolist() == [150, 60, 30]
    assert len(result.merge_distances) == 6 and max(result.merge_distances) < 0.5
    # Group centroids are token-weighted means of their members.
    np.testing.assert_allclose(result.centroids[0], centroids[3:6].mean(axis=0), atol=1e-6)
    assert result.centroids.shape == (3, 16)


def test_merge_group_centroid_is_token_weighted():
    centroids = np.array([[0.0, 0.0], [1.0, 0.0]])
    result = merge(centroids, np.array([3, 1]), distance_threshold=2.0)
    assert result.labels.tolist() == [0, 0]
    np.testing.assert_allclose(result.centroids, [[0.25, 0.0]])
    assert result.merge_distances == [pytest.approx(1.0)]


def test_merge_token_cap_blocks_a_merge_the_threshold_allows():
    centroids = _three_groups()
    tokens = np.array([10, 10, 10, 50, 50, 50, 20, 20, 20])  # total 240
    plain = merge(centroids, tokens, distance_threshold=2.0)
    assert len(set(plain.labels.tolist())) == 1  # orthogonal axes are 1.41 apart: everything merges
    capped = merge(centroids, tokens, distance_threshold=2.0, max_token_share=0.65)
    # 150 + 60 = 210 > 0.65 * 240 = 156, and 150 + 30 = 180 > 156: the big triple stays alone,
    # while the two small triples (60 + 30 = 90) may still merge.
    assert capped.n_tokens.tolist() == [150, 90]
    assert capped.labels.tolist() == [1, 1, 1, 0, 0, 0, 1, 1, 1]


def test_merge_target_k_gives_exactly_target_k_groups_and_ignores_the_threshold():
    centroids = _three_groups()
    tokens = np.array([10, 10, 10, 50, 50, 50, 20, 20, 20])
    # Threshold 0 alone would merge nothing; target_k merges down to 2, closest pairs first.
    two = merge(centroids, tokens, distance_threshold=0.0, target_k=2)
    assert len(two.n_tokens) == 2 and set(two.labels.tolist()) == {0, 1}
    assert len(two.merge_distances) == 7
    # A huge threshold would merge all; target_k stops at 5 even though close pairs remain.
    five = merge(centroids, tokens, distance_threshold=10.0, target_k=5)
    assert len(five.n_tokens) == 5 and len(five.merge_distances) == 4
    assert five.n_tokens.tolist() == sorted(five.n_tokens.tolist(), reverse=True)


def test_merge_target_k_still_honours_the_cap():
    centroids = _three_groups()
    tokens = np.array([10, 10, 10, 50, 50, 50, 20, 20, 20])
    result = merge(centroids, tokens, distance_threshold=0.0, max_token_share=0.65, target_k=1)
    assert result.n_tokens.tolist() == [150, 90]


def test_merge_labels_order_by_descending_tokens_ties_by_smallest_member():
    centroids = np.array([[0.0, 0.0], [10.0, 0.0], [20.0, 0.0], [30.0, 0.0]])
    result = merge(centroids, np.array([5, 7, 5, 9]), distance_threshold=1.0)  # nothing merges
    assert result.merge_distances == []
    assert result.labels.tolist() == [2, 1, 3, 0]
    assert result.n_tokens.tolist() == [9, 7, 5, 5]
    np.testing.assert_array_equal(result.centroids[:, 0], [30.0, 10.0, 0.0, 20.0])


def test_merge_distances_record_centroid_linkage_after_updates():
    # 0 and 1 merge first (distance 1); the merged centroid (token-weighted, at 0.5) is then 2.5 from point 2.
    centroids = np.array([[0.0], [1.0], [3.0]])
    result = merge(centroids, np.array([1, 1, 2]), distance_threshold=3.0)
    assert result.merge_distances == [pytest.approx(1.0), pytest.approx(2.5)]
    assert result.labels.tolist() == [0, 0, 0]


def test_merge_with_equal_tokens_matches_scipy_centroid_linkage():
    # With one token per cluster the token-weighted centroid is scipy's "centroid" linkage (size-weighted), so
    # the merge distances must agree step by step, including the non-monotone steps centroid linkage allows.
    from scipy.cluster.hierarchy import linkage

    points = np.random.default_rng(3).normal(size=(40, 6))
    result = merge(points, np.ones(40, dtype=np.int64), distance_threshold=np.inf)
    np.testing.assert_allclose(result.merge_distances, linkage(points, method="centroid")[:, 2], rtol=1e-9)
    assert result.labels.tolist() == [0] * 40


def test_merge_validates_inputs():
    with pytest.raises(ValueError, match="n_tokens > 0"):
        merge(np.zeros((2, 3)), np.array([1, 0]), distance_threshold=1.0)
    with pytest.raises(ValueError, match="max_token_share"):
        merge(np.zeros((2, 3)), np.array([1, 1]), distance_threshold=1.0, max_token_share=0.0)
    with pytest.raises(ValueError, match="shape"):
        merge(np.zeros((2, 3)), np.array([1, 1, 1]), distance_threshold=1.0)
    empty = merge(np.zeros((0, 3)), np.zeros(0), distance_threshold=1.0)
    assert empty.labels.shape == (0,) and empty.centroids.shape == (0, 3)
