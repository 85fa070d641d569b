"""Evaluate a table's great-expectations suite after a write; one ops.dq_results row per expectation.

A failed critical expectation restores the table to its version before the write and raises, so a job writes a
good table version or none.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from jobs import lake as lake_io
from jobs.runs import RunRecord, utc_now
from schemas.expectations import SUITES, Expect, build_suite
from schemas.tables import OPS_DQ_RESULTS, TableSpec

log = logging.getLogger(__name__)


class DataQualityError(RuntimeError):
    pass


def _observed(result: Any) -> str:
    summary = {k: v for k, v in (result.result or {}).items() if k not in ("partial_unexpected_list",)}
    if (result.result or {}).get("partial_unexpected_list"):
        summary["examples"] = result.result["partial_unexpected_list"][:5]
    return json.dumps(summary, default=str)[:4000]


def validate_table(
    spark: SparkSession,
    run: RunRecord,
    spec: TableSpec,
    version_before: int | None,
    expectations: list[Expect] | None = None,
    view: Callable[[DataFrame], DataFrame] | None = None,
) -> list[dict]:
    """Validate ``spec`` at the version the run wrote; record every result; roll back on a critical failure.

    ``view`` derives the columns expectations need (e.g. vector norms) from the table, when they are not stored.
    """
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    expectations = expectations if expectations is not None else SUITES[spec.name]()
    version = run.outputs.get(spec.name)
    if version is None or version == version_before:
        log.info("%s: no new version written, nothing to validate", spec.name)
        return []
    df, version = lake_io.read(spark, run.lake, spec, version)
    df = view(df) if view else df
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    suite = ctx.suites.add(build_suite(f"{spec.name}.suite", expectations))
    batch = (
        ctx.data_sources.add_spark(name="lake")
        .add_dataframe_asset(name=spec.name)
        .add_batch_definition_whole_dataframe("whole")
        .get_batch(batch_parameters={"dataframe": df})
    )
    validation = batch.validate(suite)

    rows, failed_critical = [], []
    evaluated_at = utc_now()
    for result in validation.results:
        cfg = result.expectation_config
        kwargs = {k: v for k, v in cfg.kwargs.items() if k != "batch_id"}
        severity = str(getattr(cfg, "severity", "critical")).split(".")[-1].lower()
        row = {
            "run_id": run.run_id,
            "table_name": spec.name,
            "table_version": version,
            "expectation": cfg.type,
            "column_name": kwargs.get("column"),
            "kwargs": json.dumps(kwargs, sort_keys=True, default=str),
            "severity": severity,
            "success": bool(result.success),
            "observed": _observed(result),
            "evaluated_at": evaluated_at,
        }
        rows.append(row)
        if not result.success and severity == "critical":
            failed_critical.append(row)

    lake_io.merge_insert_new(spark, run.lake, OPS_DQ_RESULTS, spark.createDataFrame(rows, OPS_DQ_RESULTS.schema))
    run.count(f"dq_failed_{spec.table}", sum(not r["success"] for r in rows))
    if failed_critical:
        lake_io.restore(spark, run.lake, spec, version_before)
        run.outputs[spec.name] = lake_io.version(spark, run.lake, spec)
        lines = "\n".join(
            f"  - {r['expectation']}({r['kwargs']}) observed {r['observed'][:300]}" for r in failed_critical
        )
        raise DataQualityError(
            f"{spec.name} v{version} failed {len(failed_critical)} critical expectation(s); the table was "
            f'restored to v{version_before}. Inspect with: mixlake sql -e "select * from ops.dq_results where '
            f"run_id = '{run.run_id}'\"\n{lines}"
        )
    return rows
