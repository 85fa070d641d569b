"""The stages by name: what the CLI subcommands and the Airflow tasks both call.

``run_stage("embed", lake="./lake", config="c.yaml")`` loads the config, gets the process's Spark session and runs
the job; it returns the run's counts (JSON-serialisable, so an Airflow task can return them as its XCom).
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from jobs import lake as lake_io
from jobs.config import Config, load_config

HELP = {
    "ingest": "raw files -> bronze.documents and ops.quarantine",
    "embed": "bronze.documents -> silver.embeddings (incremental; resumes after a crash)",
    "quality": "heuristic signals + DCLM-style classifier score -> silver.quality",
    "cluster": "faiss k-means, assignment, SemDeDup flags, topic terms -> silver.assignments, gold.clusters",
    "merge": "prune low-quality / small clusters, merge the rest -> gold.super_clusters",
    "pools": "tokenizer + one token array per super-cluster (what proxy runs sample) -> gold.token_pools",
    "search": "CLIMB bootstrapping search + baselines, proxies on Dask -> gold.mixture_trials, gold.mixtures",
    "shards": "the chosen mixture -> ClimbMix-style Parquet shards, manifest and dataset card -> gold.shards",
    "teacher": "shards -> base LM; teacher and proxy student fine-tuned on the task -> downstream.models",
    "traces": "teacher traces on the task: temperature and antidistillation sampling -> downstream.traces",
    "distill": "one student per trace set, fine-tuned on its traces -> downstream.models",
    "evaluate": "n samples per eval problem per model -> eval.samples, pass_at_k, coverage, perplexity",
}


def _runner(stage: str) -> Callable:
    """``jobs.<stage>.run_<stage>``, imported on use: a DAG file or `mixlake --help` must not pay for every job."""
    if stage not in HELP:
        raise ValueError(f"unknown stage {stage!r}; known: {', '.join(HELP)}")
    return getattr(import_module(f"jobs.{stage}"), f"run_{stage}")


def run_stage(
    stage: str,
    cfg: Config | None = None,
    *,
    lake: str | None = None,
    config: str | None = None,
    inputs: list[str] | None = None,
    overrides: dict | None = None,
    **options,
) -> dict[str, int]:
    """``overrides`` are dotted config keys over the file (``{"downstream.lambdas": [3.0]}``); ``options`` go to
    the job as keywords (e.g. ``iterations=1`` for search)."""
    from jobs.session import build_session

    cfg = cfg or load_config(config, {**(overrides or {}), "lake": lake})
    spark = build_session(cfg.spark, lake_io.normalize_lake(cfg.lake))
    if stage == "ingest":
        if not inputs:
            raise ValueError("the ingest stage needs input paths")
        return _runner(stage)(spark, cfg, inputs)
    return _runner(stage)(spark, cfg, **options)


def run_export(
    lake: str | None = None, config: str | None = None, repo_id: str | None = None, dry_run: bool | None = None
) -> dict:
    """Export the latest shard set; a dry run (the default when no repo id is configured) only lists the files."""
    from jobs.export import run_export as export
    from jobs.session import build_session

    cfg = load_config(config, {"lake": lake, "export.repo_id": repo_id})
    spark = build_session(cfg.spark, lake_io.normalize_lake(cfg.lake))
    return export(spark, cfg, dry_run=not cfg.export.repo_id if dry_run is None else dry_run)


def run_report(lake: str | None = None, config: str | None = None, out_dir: str | None = None) -> dict[str, float]:
    from pathlib import Path

    from jobs.report import write_report
    from jobs.session import build_session

    cfg = load_config(config, {"lake": lake})
    root = lake_io.normalize_lake(cfg.lake)
    spark = build_session(cfg.spark, root)
    _, summary = write_report(
        spark, root, out_dir or str(Path(root).parent / "report"), cfg.quality.reference_sources
    )
    return summary


def stage_main(stage: str, argv: list[str] | None, doc: str | None) -> dict[str, int]:
    """``python -m jobs.<stage> [--lake DIR] [--config FILE]``: the spark-submit / module entry point."""
    import argparse
    import logging

    parser = argparse.ArgumentParser(prog=f"python -m jobs.{stage}", description=doc)
    parser.add_argument("--lake", help="lake root (default ./lake or the config's lake)")
    parser.add_argument("--config", help="YAML config file (see `mixlake config`)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    return run_stage(stage, lake=args.lake, config=args.config)
