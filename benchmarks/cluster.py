"""Clustering: faiss k-means (our path) against Spark MLlib KMeans on the same embeddings and K, side by side,
as time and inertia ratios; and assignment rows/s on the executors with broadcast centroids.

    .venv/bin/python benchmarks/cluster.py --lake /tmp/demo20k/lake [--k 48]

Needs a lake with silver.embeddings (run `mixlake demo` or `mixlake embed` first).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from pyspark.ml.clustering import KMeans
from pyspark.ml.functions import array_to_vector
from pyspark.sql import functions as F

from jobs import lake as lake_io
from jobs.cluster import assign_all
from jobs.session import build_session
from pipelines.clustering import assign, inertia, train_kmeans
from schemas.tables import SILVER_EMBEDDINGS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lake", required=True)
    parser.add_argument("--k", type=int, default=48)
    parser.add_argument("--niter", type=int, default=25)
    args = parser.parse_args()

    lake = lake_io.normalize_lake(args.lake)
    spark = build_session(lake=lake)
    emb = lake_io.read(spark, lake, SILVER_EMBEDDINGS)[0].select("doc_id", "embedding").persist()
    rows = emb.orderBy("doc_id").collect()
    x = np.array([r.embedding for r in rows], dtype=np.float32)

    t0 = time.perf_counter()
    centroids, _ = train_kmeans(x, args.k, niter=args.niter, seed=0)
    faiss_s = time.perf_counter() - t0
    labels = assign(x, centroids)[0]
    faiss_inertia = inertia(x, centroids, labels)

    vectors = emb.select(array_to_vector("embedding").alias("features")).persist()
    vectors.count()
    t0 = time.perf_counter()
    model = KMeans(k=args.k, maxIter=args.niter, seed=0, initMode="k-means||").fit(vectors)
    mllib_s = time.perf_counter() - t0
    mllib_inertia = float(model.summary.trainingCost)

    t0 = time.perf_counter()
    n = assign_all(emb, centroids).agg(F.count("*")).first()[0]
    assign_s = time.perf_counter() - t0

    print(f"{len(x)} embeddings x {x.shape[1]} dims, k={args.k}, {args.niter} iterations")
    print(f"faiss k-means : {faiss_s:6.2f} s  inertia {faiss_inertia:10.2f}")
    print(f"MLlib KMeans  : {mllib_s:6.2f} s  inertia {mllib_inertia:10.2f}")
    print(f"time ratio MLlib/faiss: {mllib_s / faiss_s:.1f}x")
    print(f"inertia ratio faiss/MLlib: {faiss_inertia / mllib_inertia:.3f}  (< 1: faiss found tighter clusters)")
    print(f"assignment on executors: {n / assign_s:,.0f} rows/s ({n} rows, {assign_s:.1f} s)")


if __name__ == "__main__":
    main()
