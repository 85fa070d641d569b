"""Quality -> cluster -> merge through the real jobs: decisions are rows, and reruns leave the same contents."""

from __future__ import annotations

import pytest
from pyspark.testing import assertDataFrameEqual

from jobs import lake as lake_io
from jobs.config import load_config
from jobs.stages import run_stage
from schemas.tables import GOLD_CLUSTERS, GOLD_SUPER_CLUSTERS, SILVER_ASSIGNMENTS, SILVER_QUALITY
from tests.airflow.test_curation_dag import _tiny_corpus

VOLATILE = {"scored_at", "embedded_at", "run_id"}


def _contents(spark, lake, spec):
    df = lake_io.read(spark, lake, spec)[0]
    return df.select(*[c for c in df.columns if c not in VOLATILE])


@pytest.fixture(scope="module")
def curated(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("curation")
    raw = _tiny_corpus(root / "tiny.jsonl")
    cfg = load_config(
        overrides={
            "lake": str(root / "lake"),
            "quality.reference_sources": ["ref"],
            "cluster.k": 4,
            "cluster.niter": 10,
            "merge.min_docs": 2,
            "merge.min_quality": 0.5,
            "merge.distance_threshold": 0.8,
            "merge.max_token_share": 1.0,
        }
    )
    counts = {"ingest": run_stage("ingest", cfg, inputs=[str(raw)])}
    for stage in ("embed", "quality", "cluster", "merge"):
        counts[stage] = run_stage(stage, cfg)
    return cfg, lake_io.normalize_lake(cfg.lake), counts


def test_quality_scores_separate_reference_from_junk(spark, curated):
    _, lake, counts = curated
    quality = lake_io.read(spark, lake, SILVER_QUALITY)[0]
    docs = spark.read.format("delta").load(f"{lake}/bronze/documents")
    means = {
        r.source: r.m
        for r in quality.join(docs, "doc_id")
        .groupBy("source")
        .agg({"quality_score": "avg"})
        .withColumnRenamed("avg(quality_score)", "m")
        .collect()
    }
    assert means["ref"] - means["junk"] > 0.3, means  # PU setup: ref docs are among the negatives too
    assert counts["quality"]["docs_scored"] == 50


def test_every_prune_and_merge_decision_is_a_row(spark, curated):
    _, lake, counts = curated
    clusters = lake_io.read(spark, lake, GOLD_CLUSTERS)[0].toPandas()
    kept = clusters[clusters["kept"].astype(bool)]
    pruned = clusters[~clusters["kept"].astype(bool)]
    assert kept["prune_reason"].isna().all() and kept["super_cluster_id"].notna().all()
    assert (
        pruned["prune_reason"].isin(["low_quality", "too_small"]).all() and pruned["super_cluster_id"].isna().all()
    )
    assert len(pruned) >= 1 and counts["merge"]["clusters_kept"] == len(kept)
    supers = lake_io.read(spark, lake, GOLD_SUPER_CLUSTERS)[0].toPandas()
    assert sorted(c for ids in supers["cluster_ids"] for c in ids) == sorted(kept["cluster_id"])


def test_rerunning_stages_leaves_the_same_contents(spark, curated):
    cfg, lake, _ = curated
    specs = (SILVER_QUALITY, SILVER_ASSIGNMENTS, GOLD_CLUSTERS, GOLD_SUPER_CLUSTERS)
    before = {s.name: _contents(spark, lake, s).collect() for s in specs}
    for stage in ("embed", "quality", "cluster", "merge"):
        run_stage(stage, cfg)
    for spec in specs:
        expected = spark.createDataFrame(before[spec.name], _contents(spark, lake, spec).schema)
        assertDataFrameEqual(_contents(spark, lake, spec), expected, rtol=1e-5)


def test_token_pools_hold_exactly_the_kept_non_duplicate_documents(spark, curated):
    import numpy as np

    from jobs.pools import load_pools, pool_documents
    from schemas.tables import BRONZE_DOCUMENTS, GOLD_TOKEN_POOLS
    from training.tokenizer import load_tokenizer

    cfg, lake, _ = curated
    cfg.pools.vocab_size = 300  # tiny corpus: a small vocabulary still trains
    first = run_stage("pools", cfg)
    index = lake_io.read(spark, lake, GOLD_TOKEN_POOLS)[0].toPandas()
    (pool_id,) = index["pool_id"].unique()
    members = pool_documents(
        lake_io.read(spark, lake, BRONZE_DOCUMENTS)[0],
        lake_io.read(spark, lake, SILVER_ASSIGNMENTS)[0],
        lake_io.read(spark, lake, GOLD_CLUSTERS)[0],
    ).toPandas()
    assert first["pool_docs"] == len(members) == index["n_docs"].sum()

    tok = load_tokenizer(index["tokenizer_path"].iloc[0])
    pools = load_pools(spark, lake, pool_id)
    assert set(pools) == set(members["super_cluster_id"])
    for sid, tokens in pools.items():
        texts = members[members["super_cluster_id"] == sid].sort_values("doc_id")["text"].tolist()
        assert int((np.asarray(tokens) == tok.eos_token_id).sum()) == len(texts)  # one eos per document
        assert tok.decode(np.asarray(tokens).tolist()).count(texts[0]) == 1  # the text itself is in its pool

    again = run_stage("pools", cfg)
    assert again.get("pools_reused") == 1
    assert lake_io.read(spark, lake, GOLD_TOKEN_POOLS)[0].count() == len(index)
