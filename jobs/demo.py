"""``mixlake demo``: build the demo corpus from public packages and run every stage that exists, end to end.

Stages: corpus -> ingest -> embed -> quality -> cluster -> merge -> pools -> search -> shards -> export (a dry
run) -> teacher -> traces -> distill -> evaluate -> report (curation, search and downstream sections).

The demo holds out a tenth of the python-docs pages at ingest (``ingest.holdout_sources``) and searches for the
mixture that best predicts them, like CLIMB's domain-specific searches; a config that names its own holdout
sources or search targets keeps them.
"""

from __future__ import annotations

import logging
from pathlib import Path

from jobs import lake as lake_io
from jobs.build_corpus import build_demo_corpus
from jobs.cluster import run_cluster
from jobs.config import Config
from jobs.console import step
from jobs.distill import run_distill
from jobs.embed import run_embed
from jobs.evaluate import run_evaluate
from jobs.export import run_export
from jobs.ingest import run_ingest
from jobs.merge import run_merge
from jobs.pools import run_pools
from jobs.quality import run_quality
from jobs.report import write_report
from jobs.search import run_search
from jobs.session import build_session
from jobs.shards import run_shards
from jobs.teacher import run_teacher
from jobs.traces import run_traces

log = logging.getLogger(__name__)

DEMO_HOLDOUT = ["python-docs"]


def run_demo(cfg: Config, report_dir: str | None = None) -> tuple[dict[str, dict[str, int]], dict[str, float]]:
    cache_dir = Path(cfg.corpus.cache_dir) if cfg.corpus.cache_dir else None
    with step(f"building the demo corpus ({cfg.corpus.docs} docs, seed {cfg.corpus.seed})"):
        files = build_demo_corpus(docs=cfg.corpus.docs, seed=cfg.corpus.seed, cache_dir=cache_dir)
    lake = lake_io.normalize_lake(cfg.lake)
    with step("starting Spark"):
        spark = build_session(cfg.spark, lake)
    if not cfg.ingest.holdout_sources:
        cfg.ingest.holdout_sources = list(DEMO_HOLDOUT)
    counts = {"ingest": run_ingest(spark, cfg, [str(f) for f in files])}
    counts["embed"] = run_embed(spark, cfg)
    counts["quality"] = run_quality(spark, cfg)
    counts["cluster"] = run_cluster(spark, cfg)
    counts["merge"] = run_merge(spark, cfg)
    counts["pools"] = run_pools(spark, cfg)
    counts["search"] = run_search(spark, cfg)
    counts["shards"] = run_shards(spark, cfg)
    counts["export (dry run)"] = run_export(spark, cfg, dry_run=True)["counts"]
    counts["teacher"] = run_teacher(spark, cfg)
    counts["traces"] = run_traces(spark, cfg)
    counts["distill"] = run_distill(spark, cfg)
    counts["evaluate"] = run_evaluate(spark, cfg)
    report_dir = report_dir or str(Path(lake).parent / "report")
    _, summary = write_report(spark, lake, report_dir, cfg.quality.reference_sources)
    return counts, summary
