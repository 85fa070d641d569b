import numpy as np
import pytest

from pipelines.clustering import assign, inertia, train_kmeans


def _blobs(n_blobs: int, per_blob: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Tight Gaussian blobs (sd 0.01) around random unit-vector centres: far apart relative to their spread."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_blobs, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    truth = np.repeat(np.arange(n_blobs), per_blob)
    x = centres[truth] + 0.01 * rng.normal(size=(truth.size, dim))
    return x.astype(np.float32), truth


def test_kmeans_recovers_separated_blobs_up_to_permutation():
    x, truth = _blobs(n_blobs=6, per_blob=200, dim=32, seed=1)
    centroids, obj = train_kmeans(x, 6, seed=0)
    assert centroids.shape == (6, 32) and centroids.dtype == np.float32
    labels, _ = assign(x, centroids)
    # Each true blob maps to exactly one label, and the mapping is a bijection.
    mapping = {int(t): set(labels[truth == t].tolist()) for t in range(6)}
    assert all(len(found) == 1 for found in mapping.values())
    assert len(set().union(*mapping.values())) == 6
    # The objective is the inertia of the returned centroids, close to the true blobs' spread (n * d * 0.01^2).
    assert obj == pytest.approx(inertia(x, centroids, labels), rel=1e-4)
    assert obj == pytest.approx(x.shape[0] * 32 * 0.01**2, rel=0.1)


def test_kmeans_same_seed_same_centroids_other_seed_differs():
    x, _ = _blobs(n_blobs=6, per_blob=100, dim=16, seed=2)
    x = x + np.random.default_rng(3).normal(scale=0.5, size=x.shape).astype(np.float32)  # blur the blobs
    a, obj_a = train_kmeans(x, 10, niter=10, seed=7)
    b, obj_b = train_kmeans(x, 10, niter=10, seed=7)
    c, _ = train_kmeans(x, 10, niter=10, seed=8)
    np.testing.assert_array_equal(a, b)
    assert obj_a == obj_b
    assert not np.array_equal(a, c)


def test_kmeans_trains_on_the_whole_sample_not_a_faiss_subsample():
    # faiss would subsample to 256 rows per centroid by default; 2 centroids on 2000 rows must use all rows,
    # so the centroid of a single-blob-per-side sample equals the exact per-side mean.
    rng = np.random.default_rng(4)
    left = rng.normal(size=(1000, 4)) - 20.0
    right = rng.normal(size=(1000, 4)) + 20.0
    x = np.concatenate([left, right]).astype(np.float32)
    centroids, _ = train_kmeans(x, 2, seed=0)
    got = centroids[np.argsort(centroids[:, 0])]
    np.testing.assert_allclose(got, [left.mean(axis=0), right.mean(axis=0)], atol=1e-3)


def test_kmeans_with_fewer_rows_than_k_names_the_fix():
    x = np.zeros((5, 8), dtype=np.float32)
    with pytest.raises(ValueError, match=r"lower cluster\.k or raise cluster\.sample_size"):
        train_kmeans(x, 6)


def test_assign_matches_numpy_nearest_centroid():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(300, 24)).astype(np.float32)
    centroids = rng.normal(size=(17, 24)).astype(np.float32)
    labels, dist = assign(x, centroids)
    full = np.linalg.norm(x[:, None, :].astype(np.float64) - centroids[None, :, :], axis=2)  # (n, k)
    assert labels.dtype == np.int32 and dist.dtype == np.float32
    np.testing.assert_array_equal(labels, full.argmin(axis=1))
    np.testing.assert_allclose(dist, full.min(axis=1), rtol=1e-4, atol=1e-4)  # L2, not squared


def test_assign_row_on_its_centroid_has_zero_distance_and_empty_input_works():
    centroids = np.eye(3, 5, dtype=np.float32)
    labels, dist = assign(centroids[[2, 0]], centroids)
    np.testing.assert_array_equal(labels, [2, 0])
    np.testing.assert_allclose(dist, [0.0, 0.0], atol=1e-3)
    labels, dist = assign(np.empty((0, 5), dtype=np.float32), centroids)
    assert labels.shape == (0,) and labels.dtype == np.int32
    assert dist.shape == (0,) and dist.dtype == np.float32


def test_assign_rejects_mismatched_dims():
    with pytest.raises(ValueError, match="dim"):
        assign(np.zeros((2, 4), dtype=np.float32), np.zeros((3, 5), dtype=np.float32))


def test_inertia_is_sum_of_squared_distances_to_labelled_centroid():
    x = np.array([[0.0, 0.0], [3.0, 4.0], [1.0, 1.0]])
    centroids = np.array([[0.0, 0.0], [1.0, 0.0]])
    labels = np.array([0, 0, 1])
    assert inertia(x, centroids, labels) == pytest.approx(0.0 + 25.0 + 1.0)
