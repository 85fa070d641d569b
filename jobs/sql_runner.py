"""``mixlake sql``: run a query or a file from ``sql/`` against the lake, with named Spark SQL parameters.

Parameters are passed to ``spark.sql(query, args=...)`` and bound by Spark as ``:name`` markers; a query string is
never formatted with user values.

Logic several views share lives once, as a parameter-free staging query under ``sql/staging/`` (dbt's ``stg_``
models): a query that names ``stg_<name>`` gets it as a temporary view of that name before it runs.
"""

from __future__ import annotations

import re
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from jobs.jars import PROJECT_ROOT

SQL_DIR = PROJECT_ROOT / "sql"


class SqlInputError(ValueError):
    pass


def resolve_query(file_or_name: str | None, query: str | None) -> tuple[str, str]:
    """(label, SQL text) from ``-e QUERY``, a path, or a bare name found under sql/ (``source_summary``)."""
    if query:
        return "-e", query
    if not file_or_name:
        raise SqlInputError("give a SQL file, a view name from sql/ (see `mixlake sql --list`), or -e QUERY")
    path = Path(file_or_name)
    if not path.is_file():
        matches = sorted(SQL_DIR.rglob(f"{file_or_name.removesuffix('.sql')}.sql"))
        if not matches:
            raise SqlInputError(f"no SQL file {file_or_name!r}; known: {', '.join(available_views())}")
        path = matches[0]
    return str(path), path.read_text()


def available_views() -> list[str]:
    return sorted(p.stem for p in SQL_DIR.rglob("*.sql"))


_PARAM_LINE = re.compile(r"^--\s*param:\s*(\w+)\s*=\s*(\S+)")


def default_params(sql: str) -> dict[str, object]:
    """Defaults declared in a file's header, one per line: ``-- param: name = value  (what it means)``."""
    params = {}
    for line in sql.splitlines():
        m = _PARAM_LINE.match(line.strip())
        if m:
            params[m.group(1)] = _typed(m.group(2))
    return params


def parse_params(pairs: list[str]) -> dict[str, object]:
    """``k=v`` pairs; values that look like integers or floats are passed as numbers."""
    params: dict[str, object] = {}
    for pair in pairs:
        if "=" not in pair:
            raise SqlInputError(f"parameter {pair!r} must look like name=value")
        key, value = pair.split("=", 1)
        params[key.strip()] = _typed(value)
    return params


def _typed(value: str) -> object:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]  # a quoted default in a view's header: '' is the empty string, not two quotes
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def run_sql(spark: SparkSession, sql: str, params: dict[str, object]) -> DataFrame:
    """The query's result; the file's declared defaults apply to parameters not given."""
    merged = {**default_params(sql), **params}
    register_staging(spark, sql)
    return spark.sql(_strip_trailing_semicolon(sql), args=merged or None)


def _strip_trailing_semicolon(sql: str) -> str:
    return sql.strip().rstrip(";").strip()


def register_staging(spark: SparkSession, sql: str, _names: list[str] | None = None) -> list[str]:
    """Create or replace the temp view of every ``sql/staging/stg_*.sql`` that ``sql`` names; their names.

    A staging query may name another staging view: that one is created first (a cycle stops at the view already
    on the list, and Spark then names the view it cannot find).
    """
    names = [] if _names is None else _names
    for path in sorted((SQL_DIR / "staging").glob("stg_*.sql")):
        if path.stem not in names and re.search(rf"\b{path.stem}\b", sql):
            names.append(path.stem)
            body = _strip_trailing_semicolon(path.read_text())
            register_staging(spark, body, names)  # what this view reads, before the view
            spark.sql(f"create or replace temporary view {path.stem} as\n{body}")
    return names
