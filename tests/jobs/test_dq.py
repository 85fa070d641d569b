"""A failed critical expectation fails the job and leaves the table as it was."""

import pytest

from jobs import lake as lake_io
from jobs.dq import DataQualityError, validate_table
from jobs.runs import RunRecord
from schemas.expectations import Expect
from schemas.tables import BRONZE_DOCUMENTS, OPS_DQ_RESULTS, OPS_RUNS


def test_critical_failure_restores_previous_version_and_records_why(spark, tmp_path):
    lake = lake_io.normalize_lake(str(tmp_path / "lake"))
    first = spark.createDataFrame([("a" * 64, "short")], "content_hash string, text string")
    rows = lambda df: (  # noqa: E731
        df.selectExpr(
            "substr(content_hash, 1, 24) as doc_id",
            "text",
            "'t' as source",
            "null as url",
            "null as meta",
            "content_hash",
            "length(text) as n_chars",
            "'f' as input_file",
            "1L as input_line",
            "current_timestamp() as ingested_at",
        )
    )
    lake_io.merge_insert_new(spark, lake, BRONZE_DOCUMENTS, rows(first))
    before = lake_io.version(spark, lake, BRONZE_DOCUMENTS)
    too_long = [Expect("ExpectColumnValuesToBeBetween", {"column": "n_chars", "min_value": 1, "max_value": 6})]

    with pytest.raises(DataQualityError, match="restored to v"):
        with RunRecord(spark, lake, "test", {"x": 1}) as run:
            second = spark.createDataFrame([("b" * 64, "much longer text")], "content_hash string, text string")
            lake_io.merge_insert_new(spark, lake, BRONZE_DOCUMENTS, rows(second))
            run.wrote(BRONZE_DOCUMENTS)
            validate_table(spark, run, BRONZE_DOCUMENTS, before, too_long)

    docs = lake_io.read(spark, lake, BRONZE_DOCUMENTS)[0]
    assert [r.text for r in docs.collect()] == ["short"]  # the bad version's rows are gone
    run_row = lake_io.read(spark, lake, OPS_RUNS)[0].filter(f"run_id = '{run.run_id}'").first()
    assert run_row.status == "failed" and "DataQualityError" in run_row.error
    dq = lake_io.read(spark, lake, OPS_DQ_RESULTS)[0].filter(f"run_id = '{run.run_id}'").collect()
    assert [(r.expectation, r.success, r.severity) for r in dq] == [
        ("expect_column_values_to_be_between", False, "critical")
    ]
