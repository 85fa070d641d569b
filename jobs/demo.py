"""``mixlake demo``: build the demo corpus from public packages and run every stage that exists, end to end.

Stages so far: demo corpus -> ingest (bronze.documents, ops.quarantine). Later stages join this list as they land.
"""

from __future__ import annotations

import logging
from pathlib import Path

from jobs import lake as lake_io
from jobs.build_corpus import build_demo_corpus
from jobs.config import Config
from jobs.console import step
from jobs.ingest import run_ingest
from jobs.session import build_session

log = logging.getLogger(__name__)


def run_demo(cfg: Config) -> dict[str, dict[str, int]]:
    cache_dir = Path(cfg.corpus.cache_dir) if cfg.corpus.cache_dir else None
    with step(f"building the demo corpus ({cfg.corpus.docs} docs, seed {cfg.corpus.seed})"):
        files = build_demo_corpus(docs=cfg.corpus.docs, seed=cfg.corpus.seed, cache_dir=cache_dir)
    lake = lake_io.normalize_lake(cfg.lake)
    with step("starting Spark"):
        spark = build_session(cfg.spark, lake)
    counts = {"ingest": run_ingest(spark, cfg, [str(f) for f in files])}
    return counts
