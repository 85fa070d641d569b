"""The distill_evaluate DAG: integrity, a light parse of every DAG file, the lambda grid, and a real dag.test() run
on a copy of the sharded test lake with tiny models."""

from __future__ import annotations

import pytest
import yaml

from jobs import lake as lake_io
from jobs.config import ConfigError, to_dict
from schemas.tables import DOWNSTREAM_MODELS, DOWNSTREAM_TRACES, EVAL_PASS_AT_K
from tests.jobs.test_downstream import TINY
from tests.jobs.test_shards import copy_pooled, shared_shard_set

DAG_ID = "distill_evaluate"
GRID = [0.0, 5.0]  # the conf's grid; the config file says otherwise, so the conf must win
# Top-level packages a DAG file must not import when it is parsed: the scheduler parses every file every minute.


def test_lambda_tasks_run_one_at_a_time_after_the_teacher_and_before_evaluate(dagbag):
    assert dagbag.import_errors == {}
    dag = dagbag.dags[DAG_ID]
    assert {"mixlake", "downstream"} <= set(dag.tags) and all(t.retries >= 1 for t in dag.tasks)
    assert dag.max_active_runs == 1
    mapped = dag.task_dict["antidistill"]
    assert mapped.is_mapped and mapped.max_active_tis_per_dagrun == 1
    assert [t.task_id for t in dag.topological_sort()] == [
        "lambda_grid",
        "teacher",
        "baseline",
        "antidistill",
        "evaluate",
    ]
    assert {"baseline", "antidistill"} <= dag.task_dict["teacher"].get_flat_relative_ids(upstream=False)
    assert dag.task_dict["evaluate"].upstream_task_ids == {"baseline", "antidistill"}
    assert "lambda_grid" in mapped.upstream_task_ids  # the grid's XCom is what is expanded


def test_lambda_grid_is_the_conf_else_the_config_and_empty_names_the_fix(dagbag, tmp_path):
    grid = dagbag.dags[DAG_ID].task_dict["lambda_grid"].python_callable
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"downstream": {"lambdas": [0.3, 3]}}))
    params = {"lake": str(tmp_path / "lake"), "config": str(config)}
    assert grid(params={**params, "lambdas": [5, 0.0, 5.0]}) == [5.0, 0.0]  # floats, a repeat mapped once
    assert grid(params={**params, "lambdas": None}) == [0.3, 3.0]
    with pytest.raises(ConfigError, match=r"empty \(the conf's lambdas\).*\"lambdas\": \[0.3, 3.0\]"):
        grid(params={**params, "lambdas": []})
    config.write_text(yaml.safe_dump({"downstream": {"lambdas": []}}))
    with pytest.raises(ConfigError, match=f"downstream.lambdas in {config}"):
        grid(params={**params, "lambdas": None})


@pytest.fixture
def one_thread():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # 2 busy cores: thread contention costs more than it gains on tiny models
    yield
    torch.set_num_threads(threads)


def test_dag_distills_one_student_per_trace_set_and_evaluates_them(
    airflow_db, dagbag, spark, pooled, tmp_path_factory, tmp_path, one_thread
):
    sharded = shared_shard_set(spark, pooled, tmp_path_factory)
    cfg, lake = copy_pooled(sharded[:2], tmp_path)
    data = to_dict(cfg)
    data["downstream"].update(TINY, lambdas=[1.0])  # the conf's GRID must replace these lambdas
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(data))

    run = dagbag.dags[DAG_ID].test(run_conf={"lake": cfg.lake, "config": str(config), "lambdas": GRID})
    assert run.state == "success", f"dag run ended {run.state}"

    tis = {(ti.task_id, ti.map_index): ti for ti in run.get_task_instances()}
    mapped = sorted(i for task_id, i in tis if task_id == "antidistill")
    assert mapped == [0, 1] and all(tis[("antidistill", i)].state == "success" for i in mapped)
    n_traces = TINY["n_train_problems"]  # traces_per_problem is 1
    assert tis[("teacher", -1)].xcom_pull(task_ids="teacher")["models_written"] == 3
    # Each task sampled and distilled its own trace set and nothing else: the overrides reached the jobs.
    for task_id, i in [("baseline", -1), ("antidistill", 0), ("antidistill", 1)]:
        counts = tis[(task_id, i)].xcom_pull(task_ids=task_id, map_indexes=i)
        assert (counts["traces_written"], counts["students_written"], counts["trace_sets_missing"]) == (
            n_traces,
            1,
            0,
        ), (task_id, i, counts)

    sets = (
        lake_io.read(spark, lake, DOWNSTREAM_TRACES)[0]
        .select("trace_set_id", "method", "lam")
        .distinct()
        .collect()
    )
    assert sorted((r.method, r.lam) for r in sets) == sorted(
        [("temperature", 0.0)] + [("antidistillation", lam) for lam in GRID]
    )
    models = lake_io.read(spark, lake, DOWNSTREAM_MODELS)[0].collect()
    students = [r for r in models if r.role == "student"]
    assert sorted(r.trained_on for r in students) == sorted(f"traces:{r.trace_set_id}" for r in sets)
    evaluated = {r.model_id for r in lake_io.read(spark, lake, EVAL_PASS_AT_K)[0].select("model_id").collect()}
    assert evaluated == {r.model_id for r in models if r.role in ("base", "teacher", "student")}
    assert len(evaluated) == 2 + len(sets)
