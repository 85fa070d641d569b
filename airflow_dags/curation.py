"""Curation DAG: ingest -> embed -> quality -> cluster -> merge -> report (CLIMB phase 1).

Orchestration only: each task calls one mixlake stage (``jobs.stages``), imported inside the task so this file
parses in milliseconds. A task is a transaction: each stage writes whole Delta versions or nothing, and reruns are
idempotent, so Airflow's retries are safe.

Trigger with conf, e.g. ``{"lake": "/data/lake", "inputs": ["/data/raw/*.jsonl"], "config": "/etc/mixlake.yaml"}``.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Param, dag, task


@dag(
    schedule=None,
    catchup=False,
    tags=["mixlake", "curation"],
    default_args={"retries": 2, "retry_delay": timedelta(minutes=2)},
    params={
        "lake": Param("./lake", type="string", description="lake root: a folder or a Hadoop URI"),
        "inputs": Param([], type="array", description="raw files, folders or globs to ingest"),
        "config": Param(None, type=["null", "string"], description="mixlake YAML config file"),
        "report_dir": Param(None, type=["null", "string"], description="where the HTML report goes"),
    },
)
def curation():
    @task
    def ingest(params=None) -> dict:
        from jobs.stages import run_stage

        return run_stage("ingest", lake=params["lake"], config=params["config"], inputs=list(params["inputs"]))

    @task
    def stage(name: str, params=None) -> dict:
        from jobs.stages import run_stage

        return run_stage(name, lake=params["lake"], config=params["config"])

    @task
    def report(params=None) -> dict:
        from jobs.stages import run_report

        return run_report(lake=params["lake"], config=params["config"], out_dir=params["report_dir"])

    done = ingest()
    for name in ("embed", "quality", "cluster", "merge"):
        nxt = stage.override(task_id=name)(name)
        done >> nxt
        done = nxt
    done >> report()


curation()
