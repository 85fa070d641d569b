"""Every table mixlake writes: its name, where it lives under the lake, its columns and its merge keys.

A table named ``schema.name`` lives at ``<lake>/<schema>/<name>``; that layout is a stable interface (DESIGN.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import types as T


@dataclass(frozen=True)
class TableSpec:
    name: str  # "bronze.documents"
    schema: T.StructType
    keys: tuple[str, ...]  # MERGE keys: a rerun with the same input matches these and inserts nothing
    description: str

    @property
    def database(self) -> str:
        return self.name.split(".")[0]

    @property
    def table(self) -> str:
        return self.name.split(".")[1]

    def path(self, lake: str) -> str:
        return f"{lake.rstrip('/')}/{self.database}/{self.table}"


def _fields(*fields: tuple[str, T.DataType, bool]) -> T.StructType:
    return T.StructType([T.StructField(n, t, nullable) for n, t, nullable in fields])


BRONZE_DOCUMENTS = TableSpec(
    name="bronze.documents",
    schema=_fields(
        ("doc_id", T.StringType(), False),  # first 24 hex chars of content_hash: same text, same id, any lake
        ("text", T.StringType(), False),  # NFC, whitespace-normalised
        ("source", T.StringType(), False),  # the record's source label, else the ingest default
        ("url", T.StringType(), True),
        ("meta", T.StringType(), True),  # JSON object of the record's other fields
        ("content_hash", T.StringType(), False),  # sha256 hex of text; exact-dedup key
        ("n_chars", T.IntegerType(), False),
        ("input_file", T.StringType(), False),  # where the first copy came from (lineage)
        ("input_line", T.LongType(), False),  # 1-based line (JSONL) or row (Parquet / Arrow)
        ("ingested_at", T.TimestampType(), False),
    ),
    keys=("content_hash",),
    description="Raw documents after normalisation and exact dedup; one row per distinct text.",
)

OPS_QUARANTINE = TableSpec(
    name="ops.quarantine",
    schema=_fields(
        ("quarantine_id", T.StringType(), False),  # sha256(file, line)[:24]: a rerun finds the same row
        ("job", T.StringType(), False),
        ("input_file", T.StringType(), False),
        ("input_line", T.LongType(), False),
        ("reason", T.StringType(), False),  # one of schemas.tables.QUARANTINE_REASONS
        ("detail", T.StringType(), True),  # human-readable: the parser error, the offending type, the length
        ("raw", T.BinaryType(), True),  # the record's exact bytes: nothing is lost
        ("raw_preview", T.StringType(), True),  # first 500 chars, undecodable bytes replaced
        ("run_id", T.StringType(), False),
        ("quarantined_at", T.TimestampType(), False),
    ),
    keys=("quarantine_id",),
    description="Records a job could not accept, with the file, line and reason; nothing is silently dropped.",
)

QUARANTINE_REASONS = (
    "invalid_json",  # the line does not parse as JSON
    "not_utf8",  # the bytes are not valid UTF-8
    "not_an_object",  # valid JSON but not an object
    "missing_text",  # no text field (or null)
    "empty_text",  # text is empty after normalisation
    "text_too_long",  # over ingest.max_chars
    "wrong_type",  # a field has the wrong type (text not a string, meta not an object, ...)
    "unreadable_file",  # the whole file could not be read (corrupt Parquet, bad gzip); line is 0
)

OPS_RUNS = TableSpec(
    name="ops.runs",
    schema=_fields(
        ("run_id", T.StringType(), False),
        ("job", T.StringType(), False),
        ("status", T.StringType(), False),  # succeeded | failed
        ("config_hash", T.StringType(), False),  # sha256 of the canonical JSON of the job's config
        ("config", T.StringType(), False),  # that JSON
        ("inputs", T.MapType(T.StringType(), T.LongType()), False),  # table or file set -> version read
        ("outputs", T.MapType(T.StringType(), T.LongType()), False),  # table -> version written
        ("counts", T.MapType(T.StringType(), T.LongType()), False),  # in / out / dropped_<reason> ...
        ("error", T.StringType(), True),
        ("started_at", T.TimestampType(), False),
        ("finished_at", T.TimestampType(), False),
        ("seconds", T.DoubleType(), False),
        ("mixlake_version", T.StringType(), False),
    ),
    keys=("run_id",),
    description="One row per job run: lineage from any output version back to the inputs and config.",
)

OPS_DQ_RESULTS = TableSpec(
    name="ops.dq_results",
    schema=_fields(
        ("run_id", T.StringType(), False),
        ("table_name", T.StringType(), False),
        ("table_version", T.LongType(), False),
        ("expectation", T.StringType(), False),  # great-expectations type, e.g. expect_column_values_to_be_unique
        ("column_name", T.StringType(), True),
        ("kwargs", T.StringType(), False),  # JSON
        ("severity", T.StringType(), False),  # critical | warning | info
        ("success", T.BooleanType(), False),
        ("observed", T.StringType(), True),  # JSON of the expectation's result summary
        ("evaluated_at", T.TimestampType(), False),
    ),
    keys=("run_id", "table_name", "expectation", "column_name", "kwargs"),
    description="One row per expectation evaluated at a stage boundary.",
)

ALL_TABLES: tuple[TableSpec, ...] = (BRONZE_DOCUMENTS, OPS_QUARANTINE, OPS_RUNS, OPS_DQ_RESULTS)
BY_NAME = {t.name: t for t in ALL_TABLES}
