"""Reading and writing lake tables by name: explicit versions in, MERGE out.

Every job goes through these few functions, so "read at a version" and "rerun changes nothing" hold everywhere.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.session import register_table
from schemas.tables import TableSpec

log = logging.getLogger(__name__)

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def normalize_lake(lake: str) -> str:
    """Absolute path for local lakes (so catalog entries work from any cwd); URIs unchanged."""
    if _SCHEME.match(lake):
        return lake.rstrip("/")
    return str(Path(lake).expanduser().resolve())


def exists(spark: SparkSession, lake: str, spec: TableSpec) -> bool:
    return DeltaTable.isDeltaTable(spark, spec.path(lake))


def version(spark: SparkSession, lake: str, spec: TableSpec) -> int | None:
    """The table's latest committed version, or None when it does not exist yet."""
    if not exists(spark, lake, spec):
        return None
    return DeltaTable.forPath(spark, spec.path(lake)).history(1).select("version").first()[0]


def read(spark: SparkSession, lake: str, spec: TableSpec, at_version: int | None = None) -> tuple[DataFrame, int]:
    """The table at an explicit version (the latest when none is given) and that version."""
    v = version(spark, lake, spec) if at_version is None else at_version
    if v is None:
        raise FileNotFoundError(
            f"table {spec.name} does not exist at {spec.path(lake)}; run the job that writes it first"
        )
    df = spark.read.format("delta").option("versionAsOf", v).load(spec.path(lake))
    return df, v


def ensure_table(spark: SparkSession, lake: str, spec: TableSpec) -> DeltaTable:
    """Create the table with its declared schema if missing, and register its name in the catalog."""
    path = spec.path(lake)
    (
        DeltaTable.createIfNotExists(spark)
        .location(path)
        .addColumns(spec.schema)
        .comment(spec.description)
        .execute()
    )
    register_table(spark, lake, spec.name)
    return DeltaTable.forPath(spark, path)


def conform(df: DataFrame, spec: TableSpec) -> DataFrame:
    """Select and cast to the table's declared columns, in order; a missing column is a bug, so it raises."""
    missing = [f.name for f in spec.schema.fields if f.name not in df.columns]
    if missing:
        raise ValueError(f"{spec.name}: the DataFrame lacks column(s) {missing}; it has {df.columns}")
    return df.select(*[F.col(f.name).cast(f.dataType).alias(f.name) for f in spec.schema.fields])


def merge_insert_new(spark: SparkSession, lake: str, spec: TableSpec, df: DataFrame) -> dict[str, int]:
    """Insert rows whose keys are not in the table yet; existing rows are left exactly as they are.

    Returns Delta's own operation metrics (rows inserted, target rows before) of the commit, if one was made.
    """
    target = ensure_table(spark, lake, spec)
    before = version(spark, lake, spec)
    condition = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in spec.keys)
    (target.alias("t").merge(conform(df, spec).alias("s"), condition).whenNotMatchedInsertAll().execute())
    after = version(spark, lake, spec)
    if after == before:
        return {"rows_inserted": 0}
    metrics = target.history(1).select("operationMetrics").first()[0] or {}
    return {"rows_inserted": int(metrics.get("numTargetRowsInserted", 0))}


def restore(spark: SparkSession, lake: str, spec: TableSpec, to_version: int | None) -> None:
    """Undo a write: back to ``to_version`` (or empty the table if it did not exist before)."""
    table = DeltaTable.forPath(spark, spec.path(lake))
    if to_version is None:
        table.delete()
    else:
        table.restoreToVersion(to_version)


def replace_table(spark: SparkSession, lake: str, spec: TableSpec, df: DataFrame) -> int:
    """Replace the whole table with ``df`` in one commit (for stages that recompute everything); returns rows."""
    ensure_table(spark, lake, spec)
    data = conform(df, spec).persist()
    n = data.count()
    data.write.format("delta").mode("overwrite").save(spec.path(lake))
    data.unpersist()
    return n
