"""Ingest: raw JSONL / Parquet / Hugging Face dataset files -> bronze.documents (+ ops.quarantine).

Shape: parse config -> session -> list inputs -> parse on executors -> dedup -> MERGE -> validate -> record run.
Rerunning with the same input inserts nothing: documents MERGE on content_hash, quarantine rows on (file, line).

    python -m jobs.ingest --lake ./lake data/*.jsonl
"""

from __future__ import annotations

import argparse
import logging
import math
from dataclasses import asdict

import pyarrow as pa
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from jobs import lake as lake_io
from jobs.config import Config, ConfigError, IngestConfig, load_config
from jobs.console import step
from jobs.dq import validate_table
from jobs.runs import RunRecord, utc_now
from jobs.session import build_session
from pipelines.ingest_parse import FieldMap, Parsed, detect_format, parse_file, parsed_to_dict
from schemas.expectations import bronze_documents
from schemas.tables import BRONZE_DOCUMENTS, BRONZE_HOLDOUT, OPS_QUARANTINE

log = logging.getLogger(__name__)

PARSED_SCHEMA = T.StructType(
    [T.StructField("file_order", T.LongType(), False)]
    + [
        T.StructField(name, dtype, True)
        for name, dtype in [
            ("ok", T.BooleanType()),
            ("input_file", T.StringType()),
            ("input_line", T.LongType()),
            ("doc_id", T.StringType()),
            ("text", T.StringType()),
            ("source", T.StringType()),
            ("url", T.StringType()),
            ("meta", T.StringType()),
            ("content_hash", T.StringType()),
            ("n_chars", T.IntegerType()),
            ("reason", T.StringType()),
            ("detail", T.StringType()),
            ("raw", T.BinaryType()),
            ("raw_preview", T.StringType()),
        ]
    ]
)
assert [f.name for f in PARSED_SCHEMA.fields[1:]] == list(Parsed.__dataclass_fields__), "keep in step with Parsed"

# Directory walks take these; other files in a dataset folder (README.md, dataset_info.json) are not records.
_WALK_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".parquet", ".arrow")


class InputError(ValueError):
    pass


def list_inputs(paths: list[str]) -> list[tuple[int, str, str]]:
    """(order, absolute path or URI, format) for every input file; directories are walked recursively."""
    import fsspec

    found: list[str] = []
    for given in paths:
        fs, root = fsspec.core.url_to_fs(given)
        local = "file" in (fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,))
        matches = fs.glob(root) if any(c in root for c in "*?[") else [root]
        if not matches or not all(fs.exists(m) for m in matches):
            raise InputError(f"input {given!r} does not exist")
        for m in matches:
            if fs.isdir(m):
                walked = sorted(p for p in fs.find(m) if p.lower().endswith(_WALK_SUFFIXES))
                if not walked:
                    raise InputError(f"directory {m!r} holds no {', '.join(_WALK_SUFFIXES)} files")
            elif detect_format(m) is None:
                raise InputError(
                    f"cannot tell the format of {m!r}: name it .jsonl / .jsonl.gz / .json (JSON lines), "
                    ".parquet, or .arrow (Hugging Face save_to_disk)"
                )
            else:
                walked = [m]
            found += walked if local else [fs.unstrip_protocol(p) for p in walked]
    unique = list(dict.fromkeys(found))  # a file named twice is read once
    return [(i, p, detect_format(p)) for i, p in enumerate(unique)]


def _parser(fields: FieldMap, default_source: str, max_chars: int, batch_rows: int = 2048):
    arrow_schema = pa.schema([pa.field(f.name, _arrow_type(f.dataType)) for f in PARSED_SCHEMA.fields])

    def parse_batches(batches):
        for batch in batches:
            columns = (batch.column(c).to_pylist() for c in ("file_order", "path", "fmt"))
            for file_order, path, fmt in zip(*columns, strict=True):
                rows = []
                for parsed in parse_file(path, fmt, fields, default_source, max_chars):
                    rows.append({"file_order": file_order, **parsed_to_dict(parsed)})
                    if len(rows) >= batch_rows:
                        yield pa.RecordBatch.from_pylist(rows, schema=arrow_schema)
                        rows = []
                if rows:
                    yield pa.RecordBatch.from_pylist(rows, schema=arrow_schema)

    return parse_batches


def _arrow_type(dtype: T.DataType) -> pa.DataType:
    return {
        T.LongType(): pa.int64(),
        T.IntegerType(): pa.int32(),
        T.BooleanType(): pa.bool_(),
        T.StringType(): pa.string(),
        T.BinaryType(): pa.binary(),
    }[dtype]


def parse_inputs(spark: SparkSession, files: list[tuple[int, str, str]], cfg: Config) -> DataFrame:
    """One row per input record (documents and refusals alike), parsed on the executors."""
    ing = cfg.ingest
    fields = FieldMap(ing.text_field, ing.source_field, ing.url_field)
    n_tasks = max(1, math.ceil(len(files) / max(1, ing.files_per_task)))
    file_df = spark.createDataFrame(files, "file_order long, path string, fmt string").repartition(n_tasks)
    return file_df.mapInArrow(_parser(fields, ing.default_source, ing.max_chars), PARSED_SCHEMA)


def dedup_first(docs: DataFrame) -> DataFrame:
    """Exact dedup on content_hash, keeping the first copy by input order (file, then line)."""
    first = Window.partitionBy("content_hash").orderBy("file_order", "input_line")
    return docs.withColumn("_rank", F.row_number().over(first)).filter(F.col("_rank") == 1).drop("_rank")


def to_quarantine(bad: DataFrame, job: str, run_id: str, at) -> DataFrame:
    return (
        bad.withColumn(
            "quarantine_id", F.substring(F.sha2(F.concat_ws("\u0000", "input_file", "input_line"), 256), 1, 24)
        )
        .withColumn("job", F.lit(job))
        .withColumn("run_id", F.lit(run_id))
        .withColumn("quarantined_at", F.lit(at).cast("timestamp"))
    )


def held_out(ing: IngestConfig) -> Column:
    """True for the documents of ``holdout_sources`` whose content hash falls in the first ``holdout_fraction``.

    The pick depends on the text alone, so it is the same on every rerun, in any lake, whatever the input order.
    """
    if not ing.holdout_sources:
        return F.lit(False)
    if not 0.0 < ing.holdout_fraction < 1.0:
        raise ConfigError(
            f"ingest.holdout_fraction must be in (0, 1), got {ing.holdout_fraction}; 0.1 holds out a tenth"
        )
    bucket = F.conv(F.substring("content_hash", 1, 8), 16, 10).cast("double") / float(16**8)  # uniform [0, 1)
    return F.col("source").isin(ing.holdout_sources) & (bucket < ing.holdout_fraction)


def split_holdout(spark: SparkSession, lake: str, unique: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(documents, holdout) rows of this ingest; a text already in the other table stays where it is.

    A document that reached bronze.documents first is never moved into the holdout (it may be in pools and shards
    already), and a held-out one never moves back: a text is in at most one of the two tables.
    """
    docs, holdout = unique.filter(~F.col("_holdout")), unique.filter(F.col("_holdout"))

    def not_in(rows: DataFrame, spec) -> DataFrame:
        if not lake_io.exists(spark, lake, spec):
            return rows
        return rows.join(lake_io.read(spark, lake, spec)[0].select("content_hash"), "content_hash", "left_anti")

    return not_in(docs, BRONZE_HOLDOUT), not_in(holdout, BRONZE_DOCUMENTS)


def run_ingest(spark: SparkSession, cfg: Config, paths: list[str]) -> dict[str, int]:
    lake = lake_io.normalize_lake(cfg.lake)
    with step("listing inputs"):
        files = list_inputs(paths)
    run_config = {"ingest": asdict(cfg.ingest), "inputs": [p for _, p, _ in files]}
    with RunRecord(spark, lake, "ingest", run_config) as run:
        run.count("input_files", len(files))
        before = {spec.name: lake_io.version(spark, lake, spec) for spec in (BRONZE_DOCUMENTS, OPS_QUARANTINE)}
        with step(f"parsing {len(files)} file(s)"):
            parsed = parse_inputs(spark, files, cfg).persist()
            by_reason = {r["reason"]: r["count"] for r in parsed.groupBy("reason").count().collect()}
        n_good = by_reason.pop(None, 0)
        run.count("records_in", n_good + sum(by_reason.values()))
        for reason, n in by_reason.items():
            run.count(f"quarantined_{reason}", n)

        now = utc_now()
        with step("writing bronze.documents"):
            unique = (
                dedup_first(parsed.filter(F.col("ok")))
                .withColumn("ingested_at", F.lit(now).cast("timestamp"))
                .withColumn("_holdout", held_out(cfg.ingest))
                .persist()  # counted, then merged: the window runs once
            )
            n_unique = unique.count()
            run.count("duplicates_in_input", n_good - n_unique)
            docs, holdout = split_holdout(spark, lake, unique)
            inserted = lake_io.merge_insert_new(spark, lake, BRONZE_DOCUMENTS, docs)["rows_inserted"]
            run.wrote(BRONZE_DOCUMENTS)
            held = 0
            if cfg.ingest.holdout_sources:
                held = lake_io.merge_insert_new(spark, lake, BRONZE_HOLDOUT, holdout)["rows_inserted"]
                run.wrote(BRONZE_HOLDOUT)
            run.count("already_in_bronze", n_unique - inserted - held)
            run.count("rows_inserted", inserted)
            run.count("holdout_rows_inserted", held)
            unique.unpersist()
        with step("writing ops.quarantine"):
            bad = to_quarantine(parsed.filter(~F.col("ok")), "ingest", run.run_id, now)
            inserted_bad = (
                lake_io.merge_insert_new(spark, lake, OPS_QUARANTINE, bad)["rows_inserted"] if by_reason else 0
            )
            run.count("quarantine_rows_inserted", inserted_bad)
            if not by_reason:
                lake_io.ensure_table(spark, lake, OPS_QUARANTINE)  # an empty quarantine is still a table to query
            run.wrote(OPS_QUARANTINE)
        parsed.unpersist()
        with step("validating"):
            validate_table(
                spark, run, BRONZE_DOCUMENTS, before[BRONZE_DOCUMENTS.name], bronze_documents(cfg.ingest.max_chars)
            )
            validate_table(spark, run, OPS_QUARANTINE, before[OPS_QUARANTINE.name])
    return run.counts


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    parser = parser or argparse.ArgumentParser(prog="python -m jobs.ingest", description=__doc__)
    parser.add_argument("paths", nargs="+", help="JSONL(.gz) / Parquet / Arrow files, directories or globs")
    parser.add_argument("--lake", help="lake root (default ./lake or the config's lake)")
    parser.add_argument("--config", help="YAML config file (see `mixlake config`)")
    parser.add_argument("--source", help="source label for records without one (default: the file's stem)")
    parser.add_argument("--max-chars", type=int, help="quarantine documents longer than this")
    return parser


def main(argv: list[str] | None = None) -> dict[str, int]:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    cfg = load_config(
        args.config,
        {"lake": args.lake, "ingest.default_source": args.source, "ingest.max_chars": args.max_chars},
    )
    spark = build_session(cfg.spark, lake_io.normalize_lake(cfg.lake))
    return run_ingest(spark, cfg, args.paths)


if __name__ == "__main__":
    main()
