"""Cluster pruning and merging (CLIMB, arXiv 2504.13161, section 3.1): from K_init clusters to super-clusters.

``prune`` decides which k-means clusters to drop (and says why); ``merge`` groups the kept clusters' centroids
into super-clusters, the units the mixture search weights. Both take thresholds as arguments (``merge.*`` in the
config); the Spark job reads ``gold.clusters`` and writes the decisions back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

TOO_SMALL = "too_small"
LOW_QUALITY = "low_quality"


def prune(stats: pd.DataFrame, *, min_quality: float, min_docs: int) -> pd.Series:
    """Prune reason per cluster, indexed like ``stats``: "too_small", "low_quality" or None (kept).

    Reads ``cluster_id, n_docs, n_tokens, mean_quality``. "too_small" (``n_docs < min_docs``) is checked first;
    "low_quality" is ``mean_quality < min_quality`` or a NaN mean (a cluster with no scored document cannot
    show it is good enough).
    """
    missing = {"cluster_id", "n_docs", "n_tokens", "mean_quality"} - set(stats.columns)
    if missing:
        raise ValueError(
            f"stats is missing columns {sorted(missing)}; expected cluster_id, n_docs, n_tokens, mean_quality"
        )
    quality = stats["mean_quality"].to_numpy(dtype=np.float64)
    reason = np.full(len(stats), None, dtype=object)
    reason[~(quality >= min_quality)] = LOW_QUALITY  # NaN >= x is False, so NaN lands here
    reason[stats["n_docs"].to_numpy() < min_docs] = TOO_SMALL
    return pd.Series(reason, index=stats.index, dtype=object, name="prune_reason")


@dataclass
class MergeResult:
    labels: np.ndarray  # (K,) int32: super-cluster id per input cluster, 0..S-1
    merge_distances: list[float]  # distance of each merge, in merge order
    centroids: np.ndarray  # (S, d) float32: token-weighted mean of member centroids
    n_tokens: np.ndarray  # (S,) int64


def merge(
    centroids: np.ndarray,
    n_tokens: np.ndarray,
    *,
    distance_threshold: float,
    max_token_share: float = 1.0,
    target_k: int | None = None,
) -> MergeResult:
    """Agglomerative merging of the kept clusters' centroids into super-clusters.

    Each group starts as one cluster. A group's centroid is the token-weighted mean of its members' centroids,
    and the distance between groups is the Euclidean distance between their centroids (centroid linkage).
    Repeatedly merge the closest pair of groups whose distance is < ``distance_threshold`` (the paper merges
    centroids closer than 1.5 on its embeddings) and whose combined tokens are at most ``max_token_share`` of
    all tokens. With ``target_k``, the threshold is ignored: merge the closest allowed pair until at most
    ``target_k`` groups remain. Merging stops when no allowed pair remains, so the cap may leave more groups.

    Why the cap: on a narrow corpus most centroids lie within the threshold of their neighbours (random unit
    vectors in 384 dims sit ~1.41 apart, under the paper's 1.5), and each merge pulls the growing group's
    centroid towards everything else, so plain distance merging chains most of the corpus into one group and
    leaves the mixture search nothing to weigh. The cap keeps any one super-cluster from swallowing the corpus.

    ``n_tokens`` must be > 0 per cluster (prune empty clusters first). Super-cluster ids are numbered by
    descending tokens, ties by smallest member index. Memory is a (K, K) float64 matrix (8 MB at K=1000); each
    merge recomputes one row and column: 999 merges of K=1000 random unit vectors (d=384) take ~0.8 s.
    """
    centroids = np.array(centroids, dtype=np.float64)  # (K, d), a copy: merged rows are overwritten
    tokens = np.asarray(n_tokens, dtype=np.int64).copy()  # (K,)
    if centroids.ndim != 2:
        raise ValueError(f"centroids must be a 2-d array (K, d), got shape {centroids.shape}")
    k, d = centroids.shape
    if tokens.shape != (k,):
        raise ValueError(f"n_tokens must have shape ({k},) to match centroids, got {tokens.shape}")
    if k and tokens.min() <= 0:
        raise ValueError("every cluster passed to merge needs n_tokens > 0; prune empty clusters first")
    if not 0.0 < max_token_share <= 1.0:
        raise ValueError(f"max_token_share must be in (0, 1], got {max_token_share}")
    if target_k is not None and target_k < 1:
        raise ValueError(f"target_k must be >= 1 or None, got {target_k}")
    if k == 0:
        return MergeResult(np.empty(0, dtype=np.int32), [], np.empty((0, d), dtype=np.float32), tokens)

    cap = max_token_share * float(tokens.sum())
    # Pairwise Euclidean distances by the Gram expansion, in float64 (K, K); self-pairs and pairs over the cap
    # can never merge. Tokens only grow, so a pair over the cap stays over it: inf is permanent.
    sq_norms = np.einsum("ij,ij->i", centroids, centroids)
    gram = centroids @ centroids.T
    gram = 0.5 * (gram + gram.T)  # BLAS may round (i, j) and (j, i) differently; ties must break the same way
    dist = np.sqrt(np.maximum(sq_norms[:, None] + sq_norms[None, :] - 2.0 * gram, 0.0))
    dist[tokens[:, None] + tokens[None, :] > cap] = np.inf
    np.fill_diagonal(dist, np.inf)

    group = np.arange(k)  # group id per input cluster = the smallest member index (merges keep the smaller)
    active = np.ones(k, dtype=bool)
    n_groups = k
    merge_distances: list[float] = []
    while n_groups > 1 and (target_k is None or n_groups > target_k):
        flat = int(np.argmin(dist))  # ties: smallest row, then smallest column
        a, b = divmod(flat, k)  # a < b: the matrix is symmetric and argmin finds the upper triangle first
        closest = float(dist[a, b])
        if not np.isfinite(closest) or (target_k is None and closest >= distance_threshold):
            break
        merged_tokens = tokens[a] + tokens[b]
        centroids[a] = (tokens[a] * centroids[a] + tokens[b] * centroids[b]) / merged_tokens
        tokens[a] = merged_tokens
        tokens[b] = 0
        active[b] = False
        group[group == b] = a
        n_groups -= 1
        merge_distances.append(closest)
        live = np.flatnonzero(active & (tokens + merged_tokens <= cap))  # groups a may still merge with
        diff = centroids[live] - centroids[a]  # (live, d): exact differences, no Gram cancellation
        row = np.full(k, np.inf)
        row[live] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        row[a] = np.inf
        dist[a, :] = row
        dist[:, a] = row
        dist[b, :] = np.inf
        dist[:, b] = np.inf
    if target_k is not None and n_groups > target_k:
        log.warning(
            "merge stopped at %d super-clusters, above target_k=%d: every remaining pair exceeds "
            "max_token_share=%s (raise it to merge further)",
            n_groups,
            target_k,
            max_token_share,
        )

    roots = np.flatnonzero(active)  # ascending member index
    order = roots[np.argsort(-tokens[roots], kind="stable")]  # descending tokens, ties by smallest member
    new_id = np.empty(k, dtype=np.int32)
    new_id[order] = np.arange(order.size, dtype=np.int32)
    return MergeResult(
        labels=new_id[group],
        merge_distances=merge_distances,
        centroids=centroids[order].astype(np.float32),
        n_tokens=tokens[order],
    )
