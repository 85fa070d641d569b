"""k-means on document embeddings (CLIMB's first step): train on a sample with faiss, assign every document.

The Spark job collects a sample of ``silver.embeddings`` to the driver, calls ``train_kmeans`` once, broadcasts
the centroids and calls ``assign`` per partition. Embeddings are float32 unit vectors; both functions use plain L2
(``spherical=False``) so distances match the ``distance`` column of ``silver.assignments`` (0..2 on unit vectors).
"""

from __future__ import annotations

import logging

import faiss
import numpy as np

log = logging.getLogger(__name__)

# faiss prints a C++ warning below 39 points per centroid; we log it instead (stderr bypasses logging).
MIN_POINTS_PER_CENTROID = 39
# k-means++ seeding (D^2 sampling). faiss's default, k random rows, often lands two seeds in one dense region and
# none in another, and Lloyd's iterations rarely undo that: 8 tight blobs (sd 0.01, d=32) were recovered for 1
# of 40 seeds with random rows, 39 of 40 with k-means++. The price is one more O(n k d) pass, once per clustering
# run on the driver: 100k rows of d=384 at K=1000 took 27 s instead of 18 s (20 iterations, one thread).
INIT_METHOD = faiss.ClusteringInitMethod_KMEANS_PLUS_PLUS
# Rows per block in ``inertia``: each (rows, d) float64 temporary stays ~50 MB at d=384.
_INERTIA_BLOCK = 16_384


def _as_matrix(x: np.ndarray, name: str) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"{name} must be a 2-d array (n, d), got shape {x.shape}")
    return x


def train_kmeans(x: np.ndarray, k: int, *, niter: int = 20, seed: int = 0) -> tuple[np.ndarray, float]:
    """Train k-means on the sample ``x`` (n, d); return (centroids float32 (k, d), inertia).

    Inertia is the sum of squared L2 distances from each sample row to its nearest returned centroid (recomputed
    after the last update, so it describes the centroids returned; faiss's own last ``obj`` is one step stale).
    Seeding is k-means++ (see ``INIT_METHOD``). The same ``x``, ``k``, ``niter`` and ``seed`` give identical
    centroids.
    """
    x = _as_matrix(x, "x")
    n, d = x.shape
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if n < k:
        raise ValueError(
            f"k-means needs at least k={k} sample rows, got {n}: lower cluster.k or raise cluster.sample_size"
        )
    if n < MIN_POINTS_PER_CENTROID * k:
        log.warning(
            "k-means on %d rows for k=%d: fewer than %d rows per centroid; centroids will be noisy "
            "(raise cluster.sample_size or lower cluster.k)",
            n,
            k,
            MIN_POINTS_PER_CENTROID,
        )
    km = faiss.Kmeans(
        d,
        k,
        niter=niter,
        seed=seed,
        spherical=False,
        init_method=INIT_METHOD,
        # faiss silently subsamples to k * max_points_per_centroid rows (default 256 per centroid); the caller
        # already chose the sample size, so train on all of it.
        max_points_per_centroid=n // k + 1,
        min_points_per_centroid=1,  # we log the low-sample warning above instead of faiss's stderr print
        verbose=False,
    )
    km.train(x)
    centroids = np.ascontiguousarray(km.centroids, dtype=np.float32)  # (k, d)
    _, sq_dist = _search(x, centroids)
    return centroids, float(sq_dist.sum(dtype=np.float64))


def _search(x: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centroid per row: (labels int32 (n,), squared L2 distances float32 (n,), clipped at 0)."""
    centroids = _as_matrix(centroids, "centroids")
    if x.shape[1] != centroids.shape[1]:
        raise ValueError(f"x has dim {x.shape[1]} but centroids have dim {centroids.shape[1]}")
    if x.shape[0] == 0:
        return np.empty(0, dtype=np.int32), np.empty(0, dtype=np.float32)
    index = faiss.IndexFlatL2(centroids.shape[1])
    index.add(centroids)
    sq_dist, labels = index.search(x, 1)  # (n, 1) each
    # faiss expands |x|^2 - 2 x.c + |c|^2, which can dip just below 0 for a row on its centroid.
    return labels[:, 0].astype(np.int32), np.maximum(sq_dist[:, 0], 0.0)


def assign(x: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centroid per row of ``x`` (n, d): (labels int32 (n,), L2 distances float32 (n,), not squared)."""
    labels, sq_dist = _search(_as_matrix(x, "x"), centroids)
    return labels, np.sqrt(sq_dist)


def inertia(x: np.ndarray, centroids: np.ndarray, labels: np.ndarray) -> float:
    """Sum of squared L2 distances from each row to its labelled centroid (float64; the k-means objective)."""
    x = np.asarray(x)
    centroids = np.asarray(centroids, dtype=np.float64)
    labels = np.asarray(labels)
    if labels.shape != (x.shape[0],):
        raise ValueError(f"labels must have shape ({x.shape[0]},), got {labels.shape}")
    total = 0.0
    for start in range(0, x.shape[0], _INERTIA_BLOCK):
        stop = start + _INERTIA_BLOCK
        diff = x[start:stop].astype(np.float64) - centroids[labels[start:stop]]  # (block, d)
        total += float(np.einsum("ij,ij->", diff, diff))
    return total
