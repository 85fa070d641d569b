"""Distill-evaluate DAG: teacher -> temperature baseline -> antidistillation per lambda (mapped) -> evaluate.

Orchestration only; each task calls mixlake stages (``jobs.stages.run_stage``) with config overrides, imported
inside the task so this file parses in milliseconds:

- ``lambda_grid``: the lambdas from conf, else the config's ``downstream.lambdas``; an empty grid fails here,
  before anything trains.
- ``teacher``: base, teacher and proxy student (downstream.models).
- ``baseline``: the temperature trace set(s) (at ``downstream.tau``, or each of ``downstream.temperatures``)
  and their students.
- ``antidistill``: mapped over the grid; each instance samples its lambda's antidistillation trace set(s) and
  distills their students (distill only trains the trace sets the config describes, here one lambda's).
- ``evaluate``: pass@k, coverage and perplexity for the base, the teacher and every student in the lake.

Every model and trace set is named by what made it and reused when it exists, so a rerun (or an Airflow retry)
trains and samples only what is missing: a new lambda in the grid costs one trace set and one student.

Trigger with conf, e.g. ``{"lake": "/data/lake", "config": "/etc/mixlake.yaml", "lambdas": [0.3, 3.0]}``.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Param, dag, task


def _traces_then_distill(params: dict, overrides: dict) -> dict[str, int]:
    """Sample the trace sets the overrides describe, then distill their students; both jobs' counts as one XCom
    (they count different things; a shared key would add up)."""
    from jobs.stages import run_stage

    counts: dict[str, int] = {}
    for stage in ("traces", "distill"):
        for key, n in run_stage(stage, lake=params["lake"], config=params["config"], overrides=overrides).items():
            counts[key] = counts.get(key, 0) + n
    return counts


@dag(
    schedule=None,
    catchup=False,
    # Two runs on one lake would MERGE into the same downstream tables at once (see antidistill).
    max_active_runs=1,
    tags=["mixlake", "downstream"],
    default_args={"retries": 2, "retry_delay": timedelta(minutes=1)},
    params={
        "lake": Param("./lake", type="string", description="lake root: a folder or a Hadoop URI"),
        "config": Param(None, type=["null", "string"], description="mixlake YAML config file"),
        "lambdas": Param(
            None,
            type=["null", "array"],
            items={"type": "number"},
            description="antidistillation lambdas, one mapped task each; none: the config's downstream.lambdas",
        ),
    },
)
def distill_evaluate():
    @task
    def lambda_grid(params=None) -> list[float]:
        from jobs.config import ConfigError, load_config

        grid = params["lambdas"]
        source = "the conf's lambdas"
        if grid is None:
            grid = load_config(params["config"], {"lake": params["lake"]}).downstream.lambdas
            source = f"downstream.lambdas in {params['config'] or 'the default config'}"
        if not grid:
            raise ConfigError(
                f"the lambda grid is empty ({source}); trigger with conf "
                '{"lambdas": [0.3, 3.0]} or set downstream.lambdas in the config file'
            )
        return list(dict.fromkeys(float(lam) for lam in grid))  # a repeated lambda would be one task's work twice

    @task
    def teacher(params=None) -> dict:
        from jobs.stages import run_stage

        return run_stage("teacher", lake=params["lake"], config=params["config"])

    @task
    def baseline(params=None) -> dict:
        return _traces_then_distill(params, {"downstream.methods": ["temperature"]})

    # One instance at a time: each MERGEs into downstream.traces and downstream.models, Delta fails one of two
    # concurrent MERGEs into a table (ConcurrentAppendException), and a failed validation restores the version its
    # job started from, dropping whatever a parallel task committed since. For the same reason the mapped tasks
    # run after the baseline, not beside it. The first instance computes the proxy gradient g; the rest reuse it.
    @task(max_active_tis_per_dagrun=1)
    def antidistill(lam: float, params=None) -> dict:
        overrides = {"downstream.methods": ["antidistillation"], "downstream.lambdas": [lam]}
        return _traces_then_distill(params, overrides)

    @task
    def evaluate(params=None) -> dict:
        from jobs.stages import run_stage

        return run_stage("evaluate", lake=params["lake"], config=params["config"])

    grid = lambda_grid()
    temperature = baseline()
    per_lambda = antidistill.expand(lam=grid)
    grid >> teacher() >> temperature >> per_lambda
    [temperature, per_lambda] >> evaluate()


distill_evaluate()
