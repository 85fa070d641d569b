"""Quality: bronze.documents + silver.embeddings -> silver.quality (heuristic signals and a model score per doc).

The classifier is trained DCLM-style on the driver: embeddings of documents from ``quality.reference_sources``
against a random sample of the whole corpus, then broadcast and applied on the executors. Scores are stored, never
thresholded here: pruning applies thresholds later, so they change without rescoring.

    python -m jobs.quality --lake ./lake
"""

from __future__ import annotations

import logging
from dataclasses import asdict

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import lake as lake_io
from jobs.config import Config, QualityConfig
from jobs.console import step
from jobs.dq import validate_table
from jobs.runs import RunRecord, utc_now
from pipelines.quality_model import QualityModel, train_quality_model
from pipelines.quality_signals import SIGNAL_COLUMNS, signals_frame
from schemas.expectations import silver_quality
from schemas.tables import BRONZE_DOCUMENTS, SILVER_EMBEDDINGS, SILVER_QUALITY

log = logging.getLogger(__name__)

_INT_SIGNALS = ("n_words", "stopword_count")
SIGNALS_DDL = "doc_id string, " + ", ".join(
    f"{c} {'int' if c in _INT_SIGNALS else 'double'}" for c in SIGNAL_COLUMNS
)


def heuristic_signals(docs: DataFrame) -> DataFrame:
    """doc_id + every signal column, computed per partition with pandas."""

    def run(batches):
        for batch in batches:
            yield pd.concat([batch[["doc_id"]].reset_index(drop=True), signals_frame(batch["text"])], axis=1)

    return docs.select("doc_id", "text").mapInPandas(run, SIGNALS_DDL)


def _collect_vectors(df: DataFrame) -> np.ndarray:
    rows = df.select("embedding").collect()
    return np.array([r.embedding for r in rows], dtype=np.float32).reshape(len(rows), -1)


def train_on_lake(docs: DataFrame, embeddings: DataFrame, cfg: QualityConfig) -> QualityModel:
    """Positives: reference sources' embeddings; negatives: a uniform sample of the corpus (DCLM's recipe)."""
    labelled = embeddings.join(docs.select("doc_id", "source"), "doc_id")
    is_ref = F.col("source").isin(cfg.reference_sources)
    positives = (
        labelled.filter(is_ref).orderBy(F.xxhash64("doc_id", F.lit(cfg.seed))).limit(cfg.max_reference_docs)
    )
    negatives = labelled.orderBy(F.xxhash64("doc_id", F.lit(cfg.seed + 1))).limit(cfg.max_negative_docs)
    return train_quality_model(_collect_vectors(positives), _collect_vectors(negatives), c=cfg.c, seed=cfg.seed)


def score(embeddings: DataFrame, model: QualityModel) -> DataFrame:
    model_json = model.to_json()  # small: shipped with the closure to every task

    def run(batches):
        scorer = QualityModel.from_json(model_json)
        for batch in batches:
            vectors = np.stack(batch["embedding"].to_numpy()) if len(batch) else np.zeros((0, 1), np.float32)
            yield pd.DataFrame({"doc_id": batch["doc_id"], "model_score": scorer.score(vectors)})

    return embeddings.select("doc_id", "embedding").mapInPandas(run, "doc_id string, model_score double")


def run_quality(spark: SparkSession, cfg: Config) -> dict[str, int]:
    lake = lake_io.normalize_lake(cfg.lake)
    with RunRecord(spark, lake, "quality", {"quality": asdict(cfg.quality), "model": cfg.embed.model}) as run:
        before = lake_io.version(spark, lake, SILVER_QUALITY)
        docs, _ = run.read(BRONZE_DOCUMENTS)
        embeddings, _ = run.read(SILVER_EMBEDDINGS)
        embeddings = embeddings.filter(F.col("model") == cfg.embed.model)
        with step("training the quality classifier"):
            model = train_on_lake(docs, embeddings, cfg.quality)
        for key, value in model.metrics.items():
            run.metric(f"classifier_{key}", value)
        log.info("quality classifier %s: %s", model.model_id, model.metrics)
        with step("scoring documents"):
            quality = (
                heuristic_signals(docs)
                .join(score(embeddings, model), "doc_id")
                .withColumn("quality_score", F.col("model_score"))
                .withColumn("quality_model", F.lit(model.model_id))
                .withColumn("scored_at", F.lit(utc_now()).cast("timestamp"))
            )
            run.count("docs_scored", lake_io.replace_table(spark, lake, SILVER_QUALITY, quality))
        run.wrote(SILVER_QUALITY)
        with step("validating silver.quality"):
            validate_table(spark, run, SILVER_QUALITY, before, silver_quality())
    return run.counts


def main(argv: list[str] | None = None) -> dict[str, int]:
    from jobs.stages import stage_main

    return stage_main("quality", argv, __doc__)


if __name__ == "__main__":
    main()
