"""The mixture_search DAG: integrity, a light parse, and a real dag.test() run on a copy of the pooled lake."""

from __future__ import annotations

import shutil

import yaml

from jobs import lake as lake_io
from jobs.config import to_dict
from schemas.tables import GOLD_MIXTURE_TRIALS, GOLD_MIXTURES, GOLD_SHARDS


def test_tasks_run_in_order_with_retries(dagbag):
    assert dagbag.import_errors == {}
    dag = dagbag.dags["mixture_search"]
    assert "mixture-search" in dag.tags and all(t.retries >= 1 for t in dag.tasks)
    assert [t.task_id for t in dag.topological_sort()] == [
        "pools",
        "iteration_1",
        "iteration_2",
        "iteration_3",
        "search",
        "shards",
        "export",
    ]


def test_dag_runs_search_to_shards_on_a_real_lake(airflow_db, dagbag, spark, pooled, tmp_path):
    cfg, source_lake = pooled
    lake = str(tmp_path / "lake")
    shutil.copytree(source_lake, lake)  # the pools' .npy paths still point at the original: read-only use
    data = to_dict(cfg)
    data["lake"] = lake
    data["search"]["name"] = "dag-search"
    data["search"]["ratio"] = [1, 1, 1]  # one task per iteration, each with work to do
    data["search"]["total_proxies"] = 3
    data["search"]["baselines"] = ["uniform", "natural"]
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(data))

    run = dagbag.dags["mixture_search"].test(run_conf={"lake": lake, "config": str(config), "repo_id": None})
    assert run.state == "success", f"dag run ended {run.state}"

    lake = lake_io.normalize_lake(lake)
    trials = lake_io.read(spark, lake, GOLD_MIXTURE_TRIALS)[0].filter("study = 'dag-search'").toPandas()
    assert sorted(trials["iteration"]) == [1, 2, 3]  # one proxy per iteration task, none trained twice
    mixtures = lake_io.read(spark, lake, GOLD_MIXTURES)[0].filter("search = 'dag-search'").toPandas()
    assert set(mixtures["method"]) == {"climb", "uniform", "natural"} and mixtures["chosen"].sum() == 1
    shards = lake_io.read(spark, lake, GOLD_SHARDS)[0].toPandas()
    assert set(shards["mixture_id"]) == {"dag-search/climb"} and len(shards) == cfg.shards.n_shards
