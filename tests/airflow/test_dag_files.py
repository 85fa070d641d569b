"""Every DAG file parses fast: the scheduler re-parses DAG files constantly, so none may import the heavy stack
(Spark, torch, ...) or our jobs at module level; tasks import what they run inside their bodies."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.airflow.conftest import DAGS

HEAVY = {"pyspark", "torch", "optuna", "dask", "sentence_transformers", "transformers", "faiss"}
HEAVY |= {"jobs", "pipelines", "training", "schemas"}  # ours pull in the above


@pytest.mark.parametrize("dag_file", sorted(p.name for p in DAGS.glob("*.py") if p.name != "__init__.py"))
def test_dag_file_parses_without_heavy_imports(dag_file):
    code = (
        f"import runpy, sys; runpy.run_path({str(DAGS / dag_file)!r});"
        f"print('HEAVY', sorted({{m for m in sys.modules if m.partition('.')[0] in {sorted(HEAVY)!r}}}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr[-2000:]
