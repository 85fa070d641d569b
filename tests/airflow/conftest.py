"""Airflow needs its home and metadata DB before it is first imported: a throwaway SQLite DB per test session."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "airflow_dags"
_home = tempfile.mkdtemp(prefix="mixlake-airflow-")
os.environ["AIRFLOW_HOME"] = _home
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS)
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"


@pytest.fixture(scope="session")
def airflow_db():
    from airflow.utils.db import resetdb

    resetdb()
    return _home


@pytest.fixture(scope="session")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))
