"""Embed: bronze.documents -> silver.embeddings, incrementally, one Delta commit per chunk.

Only documents without an embedding for the configured model are embedded, so a rerun after a crash finishes the
rest without redoing committed chunks. The model loads once per Python worker (pipelines.embed.setup).

    python -m jobs.embed --lake ./lake
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import asdict

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import lake as lake_io
from jobs.config import Config, EmbedConfig
from jobs.console import progress, step
from jobs.dq import validate_table
from jobs.runs import RunRecord, utc_now
from pipelines.embed import EmbedderSpec, model_dim, process
from schemas.expectations import silver_embeddings
from schemas.tables import BRONZE_DOCUMENTS, SILVER_EMBEDDINGS

log = logging.getLogger(__name__)


def embedder_spec(cfg: EmbedConfig, parallel_tasks: int) -> EmbedderSpec:
    threads = cfg.torch_threads or max(1, (os.cpu_count() or 1) // max(1, parallel_tasks))
    return EmbedderSpec(cfg.model, cfg.device, cfg.batch_size, cfg.max_seq_length, cfg.offline, threads)


def documents_to_embed(spark: SparkSession, lake: str, docs: DataFrame, model: str) -> DataFrame:
    """Documents with no embedding for ``model`` yet (all of them on a first run)."""
    if not lake_io.exists(spark, lake, SILVER_EMBEDDINGS):
        return docs
    done, _ = lake_io.read(spark, lake, SILVER_EMBEDDINGS)
    return docs.join(done.filter(F.col("model") == model).select("doc_id"), "doc_id", "left_anti")


def embed_chunk(
    todo: DataFrame, spec: EmbedderSpec, dim: int, chunk: int, run_id: str, partitions: int
) -> DataFrame:
    def run(batches):
        yield from process(spec, batches)

    return (
        todo.filter(F.col("chunk") == chunk)
        .select("doc_id", "text")
        .repartition(partitions)
        .mapInPandas(run, "doc_id string, embedding array<float>")
        .withColumn("model", F.lit(spec.model))
        .withColumn("dim", F.lit(dim))
        .withColumn("chunk", F.lit(chunk))
        .withColumn("run_id", F.lit(run_id))
        .withColumn("embedded_at", F.lit(utc_now()).cast("timestamp"))
    )


def run_embed(spark: SparkSession, cfg: Config) -> dict[str, int]:
    lake = lake_io.normalize_lake(cfg.lake)
    parallel = spark.sparkContext.defaultParallelism
    spec = embedder_spec(cfg.embed, parallel)
    with RunRecord(spark, lake, "embed", {"embed": asdict(cfg.embed)}) as run:
        before = lake_io.version(spark, lake, SILVER_EMBEDDINGS)
        docs, _ = run.read(BRONZE_DOCUMENTS)
        if before is not None:
            run.input(SILVER_EMBEDDINGS.name, before)
        with step("finding documents without an embedding"):
            todo = documents_to_embed(spark, lake, docs.select("doc_id", "text"), spec.model)
            n_todo = todo.count()
            n_chunks = max(1, math.ceil(n_todo / cfg.embed.chunk_docs))
            todo = todo.withColumn("chunk", F.pmod(F.xxhash64("doc_id"), F.lit(n_chunks)).cast("int")).persist()
        run.count("docs_in", docs.count())
        run.count("docs_to_embed", n_todo)
        dim = model_dim(spec)  # loads the model on the driver once: fails fast on a bad model path
        with progress(f"embedding {n_todo} docs with {spec.model}", n_chunks) as advance:
            for chunk in range(n_chunks if n_todo else 0):
                out = embed_chunk(todo, spec, dim, chunk, run.run_id, parallel)
                run.count(
                    "docs_embedded", lake_io.merge_insert_new(spark, lake, SILVER_EMBEDDINGS, out)["rows_inserted"]
                )
                advance()
        todo.unpersist()
        run.wrote(SILVER_EMBEDDINGS)
        with step("validating silver.embeddings"):
            validate_table(spark, run, SILVER_EMBEDDINGS, before, silver_embeddings(dim), view=embedding_checks)
    return run.counts


def embedding_checks(df: DataFrame) -> DataFrame:
    """Columns the expectations need: vector length and L2 norm."""
    return df.select(
        "doc_id",
        "model",
        "dim",
        F.size("embedding").alias("n_values"),
        F.sqrt(F.aggregate("embedding", F.lit(0.0).cast("double"), lambda acc, x: acc + x * x)).alias("norm"),
    )


def main(argv: list[str] | None = None) -> dict[str, int]:
    from jobs.stages import stage_main

    return stage_main("embed", argv, __doc__)


if __name__ == "__main__":
    main()
