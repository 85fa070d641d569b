"""ops.runs: one row per job run, written last, with the versions read and written and the counts.

Usage in a job::

    with RunRecord(spark, lake, "ingest", cfg.ingest) as run:
        df, v = run.read(BRONZE_DOCUMENTS)      # recorded as an input version
        ...
        run.wrote(BRONZE_DOCUMENTS)             # records the version now current
        run.count("rows_out", n)

A failure is recorded too (status failed, the error) and then re-raised.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import logging
import time
import uuid
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from jobs import lake as lake_io
from jobs.config import canonical_json, config_hash
from schemas.tables import OPS_RUNS, TableSpec

log = logging.getLogger(__name__)

USER_METADATA_KEY = "spark.databricks.delta.commitInfo.userMetadata"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)  # Spark TimestampType is UTC here (session tz UTC)


class RunRecord:
    def __init__(self, spark: SparkSession, lake: str, job: str, config: Any):
        self.spark, self.lake, self.job = spark, lake, job
        self.run_id = uuid.uuid4().hex
        self.config_json = canonical_json(config)
        self.config_hash = config_hash(config)
        self.inputs: dict[str, int] = {}
        self.outputs: dict[str, int] = {}
        self.counts: dict[str, int] = {}
        self.metrics: dict[str, float] = {}

    def read(self, spec: TableSpec, at_version: int | None = None) -> tuple[DataFrame, int]:
        df, v = lake_io.read(self.spark, self.lake, spec, at_version)
        self.inputs[spec.name] = v
        return df, v

    def input(self, name: str, version: int) -> None:
        """Record a non-table input (e.g. a set of files, by a content fingerprint)."""
        self.inputs[name] = version

    def wrote(self, spec: TableSpec) -> int:
        v = lake_io.version(self.spark, self.lake, spec)
        self.outputs[spec.name] = v
        return v

    def count(self, key: str, n: int) -> None:
        self.counts[key] = self.counts.get(key, 0) + int(n)

    def metric(self, key: str, value: float) -> None:
        self.metrics[key] = float(value)

    def __enter__(self) -> RunRecord:
        self._t0, self._started = time.perf_counter(), utc_now()
        # Every Delta commit of this run carries "<job>:<run_id>" in its history, so `mixlake tables` and
        # `DESCRIBE HISTORY` name the writer of each version.
        self.spark.conf.set(USER_METADATA_KEY, f"{self.job}:{self.run_id}")
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        error = None if exc is None else f"{exc_type.__name__}: {exc}"[:4000]
        try:
            self._write("failed" if exc else "succeeded", error)
        finally:
            self.spark.conf.unset(USER_METADATA_KEY)
        return False

    def _write(self, status: str, error: str | None) -> None:
        row = {
            "run_id": self.run_id,
            "job": self.job,
            "status": status,
            "config_hash": self.config_hash,
            "config": self.config_json,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "counts": self.counts,
            "metrics": self.metrics,
            "error": error,
            "started_at": self._started,
            "finished_at": utc_now(),
            "seconds": time.perf_counter() - self._t0,
            "mixlake_version": importlib.metadata.version("mixlake"),
        }
        df = self.spark.createDataFrame([row], schema=OPS_RUNS.schema)
        lake_io.merge_insert_new(self.spark, self.lake, OPS_RUNS, df)
        log.info("%s run %s %s in %.1fs %s", self.job, self.run_id, status, row["seconds"], self.counts)
