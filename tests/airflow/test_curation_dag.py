"""The curation DAG: integrity (parses, tags, retries) and a real end-to-end run with dag.test()."""

from __future__ import annotations

import json
import random
import time

import yaml

from jobs import lake as lake_io
from schemas.tables import BRONZE_DOCUMENTS, GOLD_CLUSTERS, GOLD_SUPER_CLUSTERS, SILVER_ASSIGNMENTS


def test_dag_folder_parses_fast_with_tags_and_retries(dagbag):
    assert dagbag.import_errors == {}
    assert "curation" in dagbag.dag_ids
    for dag_id in dagbag.dag_ids:
        dag = dagbag.dags[dag_id]
        assert dag.tags, f"{dag_id} has no tags"
        assert all(t.retries >= 1 for t in dag.tasks), f"{dag_id} has tasks without retries"
    curation = dagbag.dags["curation"]
    assert [t.task_id for t in curation.topological_sort()] == [
        "ingest",
        "embed",
        "quality",
        "cluster",
        "merge",
        "report",
    ]


def _tiny_corpus(path):
    rng = random.Random(0)
    prose = [
        "The committee met on Tuesday to review the harbour plans and the budget for the new bridge.",
        "She walked along the river, thinking about the letter her brother had sent from the city.",
        "Parsing a configuration file requires reading each line and splitting the key from the value.",
    ]
    junk = [
        "BUY NOW!!! $$$ CLICK HERE >>> http://x.example ### FREE FREE FREE",
        "!!!! ### $$$ 100% GUARANTEED ### act now ### limited offer $$$",
    ]
    with open(path, "w") as f:
        for i in range(30):
            words = prose[i % 3].split()
            rng.shuffle(words)
            f.write(json.dumps({"text": f"{prose[i % 3]} {' '.join(words)} ({i})", "source": "ref"}) + "\n")
        for i in range(20):
            f.write(json.dumps({"text": f"{junk[i % 2]} #{i} {'$' * (i % 5)}", "source": "junk"}) + "\n")
    return path


def test_dag_runs_end_to_end_and_leaves_the_tables(airflow_db, dagbag, spark, tmp_path):
    raw = _tiny_corpus(tmp_path / "tiny.jsonl")
    lake = str(tmp_path / "lake")
    config = tmp_path / "c.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "lake": lake,
                "quality": {"reference_sources": ["ref"]},
                "cluster": {"k": 4, "niter": 10},
                "merge": {"min_docs": 2, "min_quality": 0.5, "distance_threshold": 0.8, "max_token_share": 1.0},
            }
        )
    )
    dag = dagbag.dags["curation"]
    t0 = time.perf_counter()
    run = dag.test(
        run_conf={
            "lake": lake,
            "inputs": [str(raw)],
            "config": str(config),
            "report_dir": str(tmp_path / "report"),
        }
    )
    assert run.state == "success", f"dag run ended {run.state}"
    assert time.perf_counter() - t0 < 900

    lake = lake_io.normalize_lake(lake)
    assert lake_io.read(spark, lake, BRONZE_DOCUMENTS)[0].count() == 50
    assignments = lake_io.read(spark, lake, SILVER_ASSIGNMENTS)[0]
    assert assignments.count() == 50 and assignments.select("doc_id").distinct().count() == 50
    clusters = lake_io.read(spark, lake, GOLD_CLUSTERS)[0].toPandas()
    assert clusters["kept"].notna().all()  # merge decided every cluster
    supers = lake_io.read(spark, lake, GOLD_SUPER_CLUSTERS)[0].toPandas()
    assert abs(supers["token_share"].sum() - 1.0) < 1e-6
    # The junk is pruned: no kept cluster is mostly junk, and at least one cluster of ref text is kept.
    kept_sources = set(clusters.loc[clusters["kept"].astype(bool), "top_source"])
    assert kept_sources == {"ref"}
    assert (tmp_path / "report" / "index.html").is_file()
