"""Pools: kept, non-duplicate documents of each super-cluster -> one token array per super-cluster.

Every proxy run of the mixture search samples from these arrays (memory-mapped .npy files), so text is tokenized
once. The tokenizer is any Hugging Face path from config, or a byte-level BPE trained here on a sample of kept
text. A pool is named by what made it (tokenizer, config, input versions); a rerun with the same inputs finds
the pool's rows in gold.token_pools and does nothing. Executors write the shards: one per super-cluster and task.

    python -m jobs.pools --lake ./lake
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import asdict

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import lake as lake_io
from jobs.config import Config, PoolsConfig
from jobs.console import step
from jobs.runs import RunRecord
from schemas.tables import (
    BRONZE_DOCUMENTS,
    GOLD_CLUSTERS,
    GOLD_SUPER_CLUSTERS,
    GOLD_TOKEN_POOLS,
    SILVER_ASSIGNMENTS,
)
from training.tokenizer import encode_documents, load_tokenizer, save_tokenizer, train_bpe

log = logging.getLogger(__name__)


def pool_documents(docs: DataFrame, assignments: DataFrame, clusters: DataFrame) -> DataFrame:
    """doc_id, text, super_cluster_id of every document in a kept cluster that is not a near-duplicate."""
    kept = clusters.filter(F.col("kept")).select("cluster_id", "super_cluster_id")
    return (
        assignments.filter(F.col("near_dup_of").isNull())
        .join(kept, "cluster_id")
        .join(docs.select("doc_id", "text"), "doc_id")
        .select("doc_id", "text", "super_cluster_id")
    )


def tokenizer_for(cfg: PoolsConfig, members: DataFrame, out_dir: str) -> str:
    """Path of the tokenizer to use: the configured one, or a BPE trained on a seeded sample of pool text."""
    if cfg.tokenizer:
        return cfg.tokenizer
    sample = (
        members.orderBy(F.xxhash64("doc_id", F.lit(cfg.seed)))
        .limit(cfg.tokenizer_sample_docs)
        .orderBy("doc_id")
        .select("text")
        .collect()
    )
    tok = train_bpe((r.text for r in sample), vocab_size=cfg.vocab_size)
    save_tokenizer(tok, out_dir)
    return out_dir


def write_shards(members: DataFrame, tokenizer_path: str, pool_dir: str) -> DataFrame:
    """Each task tokenizes its documents and writes one .npy shard per super-cluster it holds."""

    def run(batches):
        import fsspec

        frames = list(batches)
        if not frames:
            return
        frame = pd.concat(frames, ignore_index=True).sort_values("doc_id")
        tok = load_tokenizer(tokenizer_path)
        rows = []
        for sid, group in frame.groupby("super_cluster_id"):
            tokens = encode_documents(tok, group["text"].tolist())
            path = f"{pool_dir}/sc={int(sid)}/part-{uuid.uuid4().hex[:12]}.npy"
            with fsspec.open(path, "wb", auto_mkdir=True) as f:
                np.save(f, tokens)
            rows.append(
                {
                    "super_cluster_id": int(sid),
                    "shard_path": path,
                    "n_docs": len(group),
                    "n_tokens": int(len(tokens)),
                }
            )
        yield pd.DataFrame(rows)

    schema = "super_cluster_id int, shard_path string, n_docs long, n_tokens long"
    return members.repartition("super_cluster_id").mapInPandas(run, schema)


def pool_id_for(cfg: PoolsConfig, inputs: dict[str, int]) -> str:
    return hashlib.sha256(repr((sorted(asdict(cfg).items()), sorted(inputs.items()))).encode()).hexdigest()[:16]


def run_pools(spark: SparkSession, cfg: Config) -> dict[str, int]:
    lake = lake_io.normalize_lake(cfg.lake)
    with RunRecord(spark, lake, "pools", {"pools": asdict(cfg.pools)}) as run:
        docs, _ = run.read(BRONZE_DOCUMENTS)
        assignments, _ = run.read(SILVER_ASSIGNMENTS)
        clusters, _ = run.read(GOLD_CLUSTERS)
        run.read(GOLD_SUPER_CLUSTERS)
        pool_id = pool_id_for(cfg.pools, run.inputs)
        if lake_io.exists(spark, lake, GOLD_TOKEN_POOLS):
            index, _ = run.read(GOLD_TOKEN_POOLS)
            if index.filter(F.col("pool_id") == pool_id).limit(1).count():
                log.info("pool %s already built from these inputs; nothing to do", pool_id)
                run.count("pools_reused", 1)
                return run.counts
        pool_dir = f"{lake}/_pools/{pool_id}"
        members = pool_documents(docs, assignments, clusters).persist()
        with step("tokenizer"):
            tokenizer_path = tokenizer_for(cfg.pools, members, f"{pool_dir}/tokenizer")
        with step("tokenizing pools"):
            shards = write_shards(members, tokenizer_path, pool_dir).toPandas()
        members.unpersist()
        # The index rows are the completion marker: written last, in one commit, after every shard exists.
        shards["pool_id"], shards["tokenizer_path"] = pool_id, tokenizer_path
        shards["inputs"] = [dict(run.inputs)] * len(shards)
        index = spark.createDataFrame(shards[[f.name for f in GOLD_TOKEN_POOLS.schema]], GOLD_TOKEN_POOLS.schema)
        lake_io.merge_insert_new(spark, lake, GOLD_TOKEN_POOLS, index)
        run.wrote(GOLD_TOKEN_POOLS)
        run.count("super_clusters", int(shards["super_cluster_id"].nunique()))
        run.count("pool_docs", int(shards["n_docs"].sum()))
        run.count("pool_tokens", int(shards["n_tokens"].sum()))
    return run.counts


def load_pools(spark: SparkSession, lake: str, pool_id: str) -> dict[int, np.ndarray]:
    """super_cluster_id -> its token array (shards memory-mapped, concatenated in path order)."""
    index, _ = lake_io.read(spark, lake, GOLD_TOKEN_POOLS)
    rows = index.filter(F.col("pool_id") == pool_id).orderBy("super_cluster_id", "shard_path").collect()
    pools: dict[int, list] = {}
    for r in rows:
        pools.setdefault(r.super_cluster_id, []).append(np.load(r.shard_path, mmap_mode="r"))
    return {sid: parts[0] if len(parts) == 1 else np.concatenate(parts) for sid, parts in pools.items()}


def main(argv: list[str] | None = None) -> dict[str, int]:
    from jobs.stages import stage_main

    return stage_main("pools", argv, __doc__)


if __name__ == "__main__":
    main()
