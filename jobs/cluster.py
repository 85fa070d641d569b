"""Cluster: silver.embeddings (+ quality, bronze) -> silver.assignments and gold.clusters.

faiss k-means trains on a sample collected to the driver; every document is then assigned on the executors against
broadcast centroids; SemDeDup flags near-duplicates within each cluster (flag only, nothing deleted); per-cluster
stats and class-based TF-IDF topic terms make each cluster readable.

    python -m jobs.cluster --lake ./lake
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from jobs import lake as lake_io
from jobs.config import ClusterConfig, Config
from jobs.console import step
from jobs.dq import validate_table
from jobs.runs import RunRecord
from pipelines.clustering import assign, train_kmeans
from pipelines.semdedup import near_duplicates
from pipelines.topics import ctfidf_top_terms, terms
from schemas.expectations import gold_clusters, silver_assignments
from schemas.tables import BRONZE_DOCUMENTS, GOLD_CLUSTERS, SILVER_ASSIGNMENTS, SILVER_EMBEDDINGS, SILVER_QUALITY

log = logging.getLogger(__name__)

CHARS_PER_TOKEN = 4  # token estimate until the tokenizer exists (mixture-search stage); English BPE is ~4 chars


def sample_matrix(embeddings: DataFrame, n_total: int, cfg: ClusterConfig) -> np.ndarray:
    """Up to ``sample_size`` embeddings on the driver, chosen by a seeded hash (same inputs, same sample)."""
    sample = embeddings.select("doc_id", "embedding")
    if n_total > cfg.sample_size:
        sample = sample.orderBy(F.xxhash64("doc_id", F.lit(cfg.seed))).limit(cfg.sample_size)
    rows = sample.orderBy("doc_id").collect()
    return np.array([r.embedding for r in rows], dtype=np.float32)


def assign_all(embeddings: DataFrame, centroids: np.ndarray) -> DataFrame:
    broadcast = embeddings.sparkSession.sparkContext.broadcast(centroids)

    def run(batches):
        for batch in batches:
            x = np.stack(batch["embedding"].to_numpy()).astype(np.float32) if len(batch) else np.zeros((0, 1))
            labels, distances = assign(x, broadcast.value) if len(batch) else (np.zeros(0), np.zeros(0))
            yield pd.DataFrame(
                {
                    "doc_id": batch["doc_id"],
                    "cluster_id": labels.astype(np.int32),
                    "distance": distances.astype(np.float32),
                }
            )

    return embeddings.select("doc_id", "embedding").mapInPandas(
        run, "doc_id string, cluster_id int, distance float"
    )


def flag_near_duplicates(members: DataFrame, threshold: float) -> DataFrame:
    """SemDeDup per cluster: keep the highest-quality copy, flag the others with the doc they duplicate."""

    def run(group: pd.DataFrame) -> pd.DataFrame:
        order = np.lexsort((group["doc_id"].to_numpy(), -group["quality_score"].fillna(0).to_numpy()))
        x = np.stack(group["embedding"].to_numpy()).astype(np.float32)
        dup_of = near_duplicates(group["doc_id"].tolist(), x, threshold=threshold, keep_order=order)
        return pd.DataFrame({"doc_id": group["doc_id"].to_numpy(), "near_dup_of": dup_of})

    return members.groupBy("cluster_id").applyInPandas(run, "doc_id string, near_dup_of string")


def topic_terms(
    docs: DataFrame, assignments: DataFrame, top_n: int, per_cluster: int = 300
) -> dict[int, list[str]]:
    """c-TF-IDF over term counts aggregated by Spark; only each cluster's most frequent terms reach the driver."""
    terms_udf = F.udf(terms, T.ArrayType(T.StringType()))
    counts = (
        docs.select("doc_id", "text")
        .join(assignments.select("doc_id", "cluster_id"), "doc_id")
        .select("cluster_id", F.explode(terms_udf("text")).alias("term"))
        .groupBy("cluster_id", "term")
        .count()
        .withColumn("rank", F.row_number().over(Window.partitionBy("cluster_id").orderBy(F.desc("count"), "term")))
        .filter(F.col("rank") <= per_cluster)
        .drop("rank")
        .toPandas()
    )
    return ctfidf_top_terms(counts, top_n=top_n) if len(counts) else {}


def cluster_stats(docs: DataFrame, quality: DataFrame, assignments: DataFrame) -> DataFrame:
    top_source = Window.partitionBy("cluster_id").orderBy(F.desc("n"), "source")
    sources = (
        assignments.join(docs.select("doc_id", "source"), "doc_id")
        .groupBy("cluster_id", "source")
        .agg(F.count("*").alias("n"))
        .withColumn("rank", F.row_number().over(top_source))
        .filter("rank = 1")
        .select("cluster_id", F.col("source").alias("top_source"))
    )
    return (
        assignments.join(docs.select("doc_id", "n_chars"), "doc_id")
        .join(quality.select("doc_id", "quality_score"), "doc_id", "left")
        .groupBy("cluster_id")
        .agg(
            F.count("*").alias("n_docs"),
            (F.sum("n_chars") / CHARS_PER_TOKEN).cast("long").alias("n_tokens"),
            F.avg("quality_score").alias("mean_quality"),
            F.sum(F.col("near_dup_of").isNotNull().cast("long")).alias("n_near_dups"),
        )
        .join(sources, "cluster_id", "left")
    )


def clustering_id(cfg: ClusterConfig, model: str, embeddings_version: int) -> str:
    """Names the k-means run by what determines it; a rerun of quality (new version, same scores) keeps it."""
    key = repr((sorted(asdict(cfg).items()), model, embeddings_version))
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def run_cluster(spark: SparkSession, cfg: Config) -> dict[str, int]:
    lake = lake_io.normalize_lake(cfg.lake)
    ccfg = cfg.cluster
    with RunRecord(spark, lake, "cluster", {"cluster": asdict(ccfg), "model": cfg.embed.model}) as run:
        before = {s.name: lake_io.version(spark, lake, s) for s in (SILVER_ASSIGNMENTS, GOLD_CLUSTERS)}
        docs, _ = run.read(BRONZE_DOCUMENTS)
        embeddings, _ = run.read(SILVER_EMBEDDINGS)
        quality, _ = run.read(SILVER_QUALITY)
        embeddings = embeddings.filter(F.col("model") == cfg.embed.model).persist()
        n_docs = embeddings.count()
        cid = clustering_id(ccfg, cfg.embed.model, run.inputs[SILVER_EMBEDDINGS.name])
        run.count("docs_in", n_docs)

        with step(f"k-means (k={ccfg.k}) on a sample"):
            x = sample_matrix(embeddings, n_docs, ccfg)
            centroids, sample_inertia = train_kmeans(x, ccfg.k, niter=ccfg.niter, seed=ccfg.seed)
        run.count("sample_size", len(x))
        run.metric("sample_inertia", sample_inertia)

        with step("assigning documents and flagging near-duplicates"):
            assigned = assign_all(embeddings, centroids).persist()
            members = assigned.join(embeddings.select("doc_id", "embedding"), "doc_id").join(
                quality.select("doc_id", "quality_score"), "doc_id", "left"
            )
            flags = flag_near_duplicates(members, ccfg.near_dup_threshold)
            assignments = assigned.join(flags, "doc_id").withColumn("clustering_id", F.lit(cid))
            run.count("assignments", lake_io.replace_table(spark, lake, SILVER_ASSIGNMENTS, assignments))
            run.wrote(SILVER_ASSIGNMENTS)
        assignments, _ = lake_io.read(spark, lake, SILVER_ASSIGNMENTS, run.outputs[SILVER_ASSIGNMENTS.name])
        run.count("near_duplicates", assignments.filter(F.col("near_dup_of").isNotNull()).count())

        with step("cluster stats and topic terms"):
            topics = topic_terms(docs, assignments, ccfg.topic_terms)
            stats = cluster_stats(docs, quality, assignments).toPandas()
            clusters = pd.DataFrame({"cluster_id": np.arange(ccfg.k, dtype=np.int32)}).merge(stats, how="inner")
            clusters["centroid"] = [centroids[i].tolist() for i in clusters["cluster_id"]]
            clusters["topic_terms"] = [topics.get(int(i), []) for i in clusters["cluster_id"]]
            clusters["kept"], clusters["prune_reason"], clusters["super_cluster_id"] = None, None, None
            clusters["clustering_id"] = cid
            frame = spark.createDataFrame(clusters[[f.name for f in GOLD_CLUSTERS.schema]], GOLD_CLUSTERS.schema)
            run.count("clusters", lake_io.replace_table(spark, lake, GOLD_CLUSTERS, frame))
            run.wrote(GOLD_CLUSTERS)
        assigned.unpersist()
        embeddings.unpersist()

        with step("validating"):
            validate_table(
                spark, run, SILVER_ASSIGNMENTS, before[SILVER_ASSIGNMENTS.name], silver_assignments(ccfg.k, n_docs)
            )
            validate_table(spark, run, GOLD_CLUSTERS, before[GOLD_CLUSTERS.name], gold_clusters(ccfg.k))
    return run.counts


def main(argv: list[str] | None = None) -> dict[str, int]:
    from jobs.stages import stage_main

    return stage_main("cluster", argv, __doc__)


if __name__ == "__main__":
    main()
