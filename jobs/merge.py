"""Prune and merge: gold.clusters -> gold.clusters (kept, prune_reason, super_cluster_id) + gold.super_clusters.

Clusters whose mean quality or size is under the thresholds are pruned, with the reason kept in the row; kept
clusters whose centroids are close are merged into super-clusters, with a cap on any super-cluster's token share.

    python -m jobs.merge --lake ./lake
"""

from __future__ import annotations

import logging
from dataclasses import asdict

import numpy as np
import pandas as pd
from pyspark.sql import SparkSession

from jobs import lake as lake_io
from jobs.config import Config, MergeConfig
from jobs.console import step
from jobs.dq import validate_table
from jobs.runs import RunRecord
from pipelines.super_clusters import merge, prune
from schemas.expectations import gold_super_clusters
from schemas.tables import GOLD_CLUSTERS, GOLD_SUPER_CLUSTERS

log = logging.getLogger(__name__)


def decide(clusters: pd.DataFrame, cfg: MergeConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(clusters with kept / prune_reason / super_cluster_id, one row per super-cluster)."""
    clusters = clusters.sort_values("cluster_id").reset_index(drop=True)
    clusters["prune_reason"] = prune(clusters, min_quality=cfg.min_quality, min_docs=cfg.min_docs)
    clusters["kept"] = clusters["prune_reason"].isna()
    kept = clusters[clusters["kept"]]
    if kept.empty:
        raise ValueError(
            f"every cluster was pruned (merge.min_quality={cfg.min_quality}, merge.min_docs={cfg.min_docs}); "
            "lower the thresholds in your config"
        )
    result = merge(
        np.stack(kept["centroid"].to_numpy()).astype(np.float32),
        kept["n_tokens"].to_numpy(dtype=np.float64),
        distance_threshold=cfg.distance_threshold,
        max_token_share=cfg.max_token_share,
        target_k=cfg.target_k or None,
    )
    clusters["super_cluster_id"] = pd.Series(dtype="Int32")
    clusters.loc[kept.index, "super_cluster_id"] = result.labels
    kept = clusters[clusters["kept"]]

    total_tokens = kept["n_tokens"].sum()
    rows = []
    for sid, members in kept.groupby("super_cluster_id"):
        members = members.sort_values("n_tokens", ascending=False)
        weights = members["n_docs"].to_numpy(dtype=np.float64)
        rows.append(
            {
                "super_cluster_id": int(sid),
                "cluster_ids": [int(c) for c in members["cluster_id"]],
                "n_clusters": len(members),
                "n_docs": int(members["n_docs"].sum()),
                "n_tokens": int(members["n_tokens"].sum()),
                "token_share": float(members["n_tokens"].sum() / total_tokens),
                "mean_quality": float(np.average(members["mean_quality"].fillna(0), weights=weights)),
                # The biggest member clusters' terms first: a readable label without recounting text.
                "topic_terms": list(dict.fromkeys(t for terms in members["topic_terms"] for t in terms))[:8],
                "centroid": result.centroids[int(sid)].tolist(),
                "clustering_id": members["clustering_id"].iloc[0],
            }
        )
    return clusters, pd.DataFrame(rows)


def run_merge(spark: SparkSession, cfg: Config) -> dict[str, int]:
    lake = lake_io.normalize_lake(cfg.lake)
    with RunRecord(spark, lake, "merge", {"merge": asdict(cfg.merge)}) as run:
        before = lake_io.version(spark, lake, GOLD_SUPER_CLUSTERS)
        clusters_df, _ = run.read(GOLD_CLUSTERS)
        with step("pruning and merging clusters"):
            clusters, supers = decide(clusters_df.toPandas(), cfg.merge)
        run.count("clusters_in", len(clusters))
        run.count("clusters_kept", int(clusters["kept"].sum()))
        for reason, n in clusters["prune_reason"].value_counts().items():
            run.count(f"pruned_{reason}", int(n))
        run.count("super_clusters", len(supers))
        run.metric("max_token_share", float(supers["token_share"].max()))
        clusters["super_cluster_id"] = (
            clusters["super_cluster_id"].astype(object).where(clusters["super_cluster_id"].notna(), None)
        )
        with step("writing gold.clusters and gold.super_clusters"):
            cols = [f.name for f in GOLD_CLUSTERS.schema]
            lake_io.replace_table(
                spark, lake, GOLD_CLUSTERS, spark.createDataFrame(clusters[cols], GOLD_CLUSTERS.schema)
            )
            run.wrote(GOLD_CLUSTERS)
            cols = [f.name for f in GOLD_SUPER_CLUSTERS.schema]
            lake_io.replace_table(
                spark, lake, GOLD_SUPER_CLUSTERS, spark.createDataFrame(supers[cols], GOLD_SUPER_CLUSTERS.schema)
            )
            run.wrote(GOLD_SUPER_CLUSTERS)
        with step("validating"):
            validate_table(spark, run, GOLD_SUPER_CLUSTERS, before, gold_super_clusters(cfg.merge.max_token_share))
    return run.counts


def main(argv: list[str] | None = None) -> dict[str, int]:
    from jobs.stages import stage_main

    return stage_main("merge", argv, __doc__)


if __name__ == "__main__":
    main()
