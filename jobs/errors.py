"""Errors that mean "the input or the config is wrong": the CLI prints their message (which names the fix) and
exits 2, with no traceback."""

from __future__ import annotations

from jobs.config import ConfigError
from jobs.dq import DataQualityError
from jobs.ingest import InputError
from jobs.jars import DeltaJarsError
from jobs.sql_runner import SqlInputError


def _spark_analysis_error() -> tuple[type[BaseException], ...]:
    from pyspark.errors import AnalysisException, ParseException

    return (AnalysisException, ParseException)


USER_ERRORS: tuple[type[BaseException], ...] = (
    ConfigError,
    InputError,
    DeltaJarsError,
    DataQualityError,
    SqlInputError,
    FileNotFoundError,
    *_spark_analysis_error(),
)
