"""SemDeDup (Abbas et al. 2023, arXiv 2303.09540): near-duplicate documents within one k-means cluster.

The Spark job groups ``silver.assignments`` by cluster and calls ``near_duplicates`` once per cluster (e.g. in
``applyInPandas``); the result fills ``near_dup_of``. Duplicates are flagged, not deleted: later stages decide.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Documents per block of the greedy pass: a (kept, block) float32 similarity matrix is at most ~80 MB for a
# 20k-document cluster, and a block's own (block, block) pass stays small.
_BLOCK = 1024
# Embeddings must be unit vectors (cosine = dot product); this catches un-normalised input, not float noise.
_NORM_TOLERANCE = 1e-3


def near_duplicates(
    doc_ids: Sequence[str],
    embeddings: np.ndarray,
    *,
    threshold: float,
    keep_order: np.ndarray | None = None,
) -> list[str | None]:
    """For one cluster's documents, the doc_id each one near-duplicates, or None if it is kept.

    Greedy, as in SemDeDup: walk the documents in ``keep_order`` (row indices; default ascending doc_id, for
    determinism; pass e.g. descending quality to keep the best copy). A document whose cosine similarity with an
    already kept document is > ``threshold`` is a near-duplicate of the first such kept document (in
    ``keep_order``); otherwise it is kept. ``embeddings`` (n, d) are unit vectors aligned with ``doc_ids``.

    Cost is O(n^2 d) in blockwise matrix products (every document is compared with every kept one): fine up to
    ~20k documents per cluster (seconds). Larger clusters need an ANN index (a faiss range search over the kept
    set) or a finer clustering.
    """
    ids = list(doc_ids)  # a pandas Series from applyInPandas may carry a non-positional index
    n = len(ids)
    x = np.ascontiguousarray(embeddings, dtype=np.float32)
    if x.ndim != 2 or x.shape[0] != n:
        raise ValueError(f"embeddings must have shape ({n}, d) to match doc_ids, got {x.shape}")
    if n == 0:
        return []
    norms = np.linalg.norm(x, axis=1)
    if np.abs(norms - 1.0).max() > _NORM_TOLERANCE:
        raise ValueError(
            "embeddings must be unit vectors (cosine similarity is their dot product); "
            f"norms range {norms.min():.4f}..{norms.max():.4f}: normalise them first"
        )
    if keep_order is None:
        order = np.array(sorted(range(n), key=ids.__getitem__), dtype=np.int64)
    else:
        order = np.asarray(keep_order, dtype=np.int64)
        if order.shape != (n,) or not np.array_equal(np.sort(order), np.arange(n)):
            raise ValueError(f"keep_order must be a permutation of 0..{n - 1} (row indices into doc_ids)")

    dup_of = np.full(n, -1, dtype=np.int64)  # row index of the kept document each row duplicates; -1: kept
    kept = np.empty(n, dtype=np.int64)  # row indices of kept documents, in keep order
    kept_x = np.empty_like(x)  # (n, d): their embeddings, first n_kept rows used
    n_kept = 0
    for start in range(0, n, _BLOCK):
        rows = order[start : start + _BLOCK]  # (B,) in keep order
        block = x[rows]  # (B, d)
        dup = np.full(rows.size, -1, dtype=np.int64)
        if n_kept:
            over = (kept_x[:n_kept] @ block.T) > threshold  # (n_kept, B)
            hit = over.any(axis=0)
            dup[hit] = kept[over.argmax(axis=0)[hit]]  # argmax: the first kept one over the threshold
        # Within the block, in keep order: each survivor is kept and claims the later unclaimed rows near it.
        over = (block @ block.T) > threshold  # (B, B)
        for i in range(rows.size):
            if dup[i] >= 0:
                continue
            claim = over[i, i + 1 :] & (dup[i + 1 :] < 0)
            dup[i + 1 :][claim] = rows[i]
            kept[n_kept] = rows[i]
            kept_x[n_kept] = block[i]
            n_kept += 1
        dup_of[rows] = dup
    return [None if j < 0 else ids[j] for j in dup_of]
