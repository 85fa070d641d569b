"""Mixture-search DAG: pools -> CLIMB iterations 1, 2, 3 -> baselines -> shards -> export (CLIMB phase 2).

Orchestration only; each task calls one mixlake stage. The search's Optuna journal is its ledger: a search task
that fails (a lost worker, a killed pod) is retried by Airflow and resumes without retraining a finished proxy.
Each iteration is its own task, so the Airflow grid shows where a long search is. ``search`` (after the
iterations) runs the baselines and re-measures every answer with fresh seeds; export is a dry run unless
``repo_id`` is given (the token comes from the environment or a token file, never from conf).

Trigger with conf, e.g. ``{"lake": "/data/lake", "config": "/etc/mixlake.yaml", "repo_id": "org/climbmix"}``.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Param, dag, task

ITERATIONS = 3  # CLIMB's 4:2:1 split; a config with fewer iterations makes the later tasks no-ops


@dag(
    schedule=None,
    catchup=False,
    tags=["mixlake", "mixture-search"],
    default_args={"retries": 2, "retry_delay": timedelta(minutes=1)},
    params={
        "lake": Param("./lake", type="string", description="lake root: a folder or a Hadoop URI"),
        "config": Param(None, type=["null", "string"], description="mixlake YAML config file"),
        "repo_id": Param(None, type=["null", "string"], description="Hub dataset repo; none: dry-run export"),
    },
)
def mixture_search():
    @task
    def pools(params=None) -> dict:
        from jobs.stages import run_stage

        return run_stage("pools", lake=params["lake"], config=params["config"])

    @task
    def iteration(n: int, params=None) -> dict:
        from jobs.stages import run_stage

        return run_stage("search", lake=params["lake"], config=params["config"], iterations=n)

    @task
    def search(params=None) -> dict:
        from jobs.stages import run_stage

        return run_stage("search", lake=params["lake"], config=params["config"])

    @task
    def shards(params=None) -> dict:
        from jobs.stages import run_stage

        return run_stage("shards", lake=params["lake"], config=params["config"])

    @task
    def export(params=None) -> dict:
        from jobs.stages import run_export

        return run_export(lake=params["lake"], config=params["config"], repo_id=params["repo_id"])

    done = pools()
    for n in range(1, ITERATIONS + 1):
        nxt = iteration.override(task_id=f"iteration_{n}")(n)
        done >> nxt
        done = nxt
    done >> search() >> shards() >> export()


mixture_search()
