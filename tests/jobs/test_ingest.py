"""Ingest through the real path: Spark, delta-spark MERGE, great-expectations, ops tables."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from jobs import lake as lake_io
from jobs.config import load_config
from jobs.ingest import InputError, list_inputs, run_ingest
from pipelines.normalize import content_hash
from schemas.tables import BRONZE_DOCUMENTS, BRONZE_HOLDOUT, OPS_DQ_RESULTS, OPS_QUARANTINE, OPS_RUNS
from tests.conftest import write_jsonl

GOOD = [
    {"text": "The quick brown fox.", "source": "web", "url": "http://a", "lang": "en"},
    {"text": "Second   document\r\n\r\n\r\nwith a gap.", "source": "web"},
    {"text": "The quick brown fox."},  # exact duplicate of line 1: counted, first kept
    {"text": "No source given here."},
]
BAD = {
    "invalid_json": b'{"text": "unterminated',
    "not_utf8": b'{"text": "caf\xe9"}',
    "missing_text": json.dumps({"body": "x"}).encode(),
    "empty_text": json.dumps({"text": "   "}).encode(),
    "wrong_type": json.dumps({"text": 5}).encode(),
    "not_an_object": b"[1, 2, 3]",
    "text_too_long": json.dumps({"text": "z" * 300}).encode(),
}


@pytest.fixture(scope="module")
def ingested(spark, tmp_path_factory):
    """Ingest one mixed file twice into a fresh lake; keep what each run saw."""
    root = tmp_path_factory.mktemp("ingest")
    lines = [
        GOOD[0],
        BAD["invalid_json"],
        GOOD[1],
        BAD["not_utf8"],
        BAD["missing_text"],
        GOOD[2],
        BAD["empty_text"],
        BAD["wrong_type"],
        BAD["not_an_object"],
        BAD["text_too_long"],
        GOOD[3],
    ]
    src = write_jsonl(root / "mixed.jsonl", lines)
    cfg = load_config(overrides={"lake": str(root / "lake"), "ingest.max_chars": 200})
    lake = lake_io.normalize_lake(cfg.lake)
    first = run_ingest(spark, cfg, [str(src)])
    snapshot = {
        s.name: (lake_io.version(spark, lake, s), lake_io.read(spark, lake, s)[0].collect())
        for s in (BRONZE_DOCUMENTS, OPS_QUARANTINE)
    }
    second = run_ingest(spark, cfg, [str(src)])
    return {
        "src": src,
        "lake": lake,
        "cfg": cfg,
        "first": first,
        "second": second,
        "snapshot": snapshot,
        "lines": lines,
    }


def test_good_lines_land_in_bronze_normalised_and_deduplicated(spark, ingested):
    docs, _ = lake_io.read(spark, ingested["lake"], BRONZE_DOCUMENTS)
    src = str(ingested["src"])
    expected = spark.createDataFrame(
        [
            ("The quick brown fox.", "web", "http://a", 1),
            ("Second   document\n\nwith a gap.", "web", None, 3),
            ("No source given here.", "mixed", None, 11),
        ],
        "text string, source string, url string, input_line long",
    )
    assertDataFrameEqual(docs.select("text", "source", "url", "input_line"), expected)
    row = docs.filter(F.col("input_line") == 1).first()
    assert row.content_hash == content_hash("The quick brown fox.") and row.doc_id == row.content_hash[:24]
    assert json.loads(row.meta) == {"lang": "en"} and row.input_file == src
    assert ingested["first"]["duplicates_in_input"] == 1


def test_every_bad_line_is_quarantined_with_its_reason(spark, ingested):
    q, _ = lake_io.read(spark, ingested["lake"], OPS_QUARANTINE)
    got = {(r.input_line, r.reason) for r in q.collect()}
    expected = {
        (i + 1, reason) for i, line in enumerate(ingested["lines"]) for reason, b in BAD.items() if line is b
    }
    assert got == expected and len(got) == len(BAD)
    raw = {r.reason: r.raw for r in q.collect()}
    assert raw["not_utf8"] == BAD["not_utf8"]  # the exact bytes survive
    counts = ingested["first"]
    assert counts["records_in"] == len(ingested["lines"])
    assert all(counts[f"quarantined_{reason}"] == 1 for reason in BAD)


def test_rerun_changes_nothing(spark, ingested):
    lake = ingested["lake"]
    for spec in (BRONZE_DOCUMENTS, OPS_QUARANTINE):
        version_before, rows_before = ingested["snapshot"][spec.name]
        assert lake_io.version(spark, lake, spec) == version_before
        assertDataFrameEqual(lake_io.read(spark, lake, spec)[0], spark.createDataFrame(rows_before, spec.schema))
    second = ingested["second"]
    assert (second["rows_inserted"], second["already_in_bronze"], second["quarantine_rows_inserted"]) == (0, 3, 0)


def test_runs_record_lineage_and_dq_results(spark, ingested):
    lake = ingested["lake"]
    runs = lake_io.read(spark, lake, OPS_RUNS)[0].filter("job = 'ingest'").orderBy("started_at").collect()
    assert [r.status for r in runs] == ["succeeded", "succeeded"]
    assert runs[0].config_hash == runs[1].config_hash
    assert runs[0].outputs[BRONZE_DOCUMENTS.name] == ingested["snapshot"][BRONZE_DOCUMENTS.name][0]
    assert runs[0].counts["rows_inserted"] == 3
    dq = lake_io.read(spark, lake, OPS_DQ_RESULTS)[0].filter(F.col("run_id") == runs[0].run_id).collect()
    by_table = {}
    for r in dq:
        by_table.setdefault(r.table_name, []).append(r)
    assert {"bronze.documents", "ops.quarantine"} <= set(by_table)
    assert all(r.success for r in dq)
    assert any(
        r.expectation == "expect_column_values_to_be_unique" and r.column_name == "doc_id"
        for r in by_table["bronze.documents"]
    )


def test_bronze_is_a_delta_spark_table_readable_by_delta_rs(ingested):
    table = DeltaTable(f"{ingested['lake']}/bronze/documents")
    assert table.to_pyarrow_table().num_rows == 3
    engines = {c.get("engineInfo", "") for c in table.history()}
    assert any("Delta-Lake/" in e and "Apache-Spark" in e for e in engines)  # written by delta-spark itself
    writers = {c.get("userMetadata") for c in table.history() if c.get("operation") == "MERGE"}
    assert any(w and w.startswith("ingest:") for w in writers)


def test_parquet_and_hf_dataset_dirs(spark, tmp_path):
    import datasets

    pq.write_table(
        pa.table({"text": ["parquet doc one", "parquet doc two"], "source": ["pq", "pq"]}),
        tmp_path / "part.parquet",
    )
    hf_dir = tmp_path / "hf"
    datasets.Dataset.from_dict({"text": ["arrow doc", "parquet doc one"], "id": [1, 2]}).save_to_disk(str(hf_dir))
    cfg = load_config(overrides={"lake": str(tmp_path / "lake")})
    counts = run_ingest(spark, cfg, [str(tmp_path / "part.parquet"), str(hf_dir)])
    docs = lake_io.read(spark, lake_io.normalize_lake(cfg.lake), BRONZE_DOCUMENTS)[0]
    assert sorted((r.text, r.source) for r in docs.collect()) == [
        ("arrow doc", "data-00000-of-00001"),
        ("parquet doc one", "pq"),
        ("parquet doc two", "pq"),
    ]
    assert counts["duplicates_in_input"] == 1  # the HF copy of "parquet doc one" comes later in input order


def test_missing_and_unknown_inputs_fail_fast(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        list_inputs([str(tmp_path / "nope.jsonl")])
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InputError, match="cannot tell the format"):
        list_inputs([str(tmp_path / "notes.txt")])


def test_holdout_slice_is_deterministic_and_never_in_documents(spark, tmp_path):
    rows = [{"text": f"target doc number {i}", "source": "target"} for i in range(200)]
    rows += [{"text": f"other doc number {i}", "source": "other"} for i in range(50)]
    write_jsonl(tmp_path / "in.jsonl", rows)
    overrides = {
        "lake": str(tmp_path / "lake"),
        "ingest.holdout_sources": ["target"],
        "ingest.holdout_fraction": 0.25,
    }
    cfg = load_config(overrides=overrides)
    lake = lake_io.normalize_lake(cfg.lake)
    first = run_ingest(spark, cfg, [str(tmp_path / "in.jsonl")])
    docs = {r.content_hash: r.source for r in lake_io.read(spark, lake, BRONZE_DOCUMENTS)[0].collect()}
    held = {r.content_hash: r.source for r in lake_io.read(spark, lake, BRONZE_HOLDOUT)[0].collect()}

    expected = {content_hash(r["text"]) for r in rows[:200] if int(content_hash(r["text"])[:8], 16) / 16**8 < 0.25}
    assert set(held) == expected and set(held.values()) == {"target"}
    assert 25 < len(held) < 75  # about a quarter of 200
    assert not set(held) & set(docs) and len(held) + len(docs) == 250
    assert first["holdout_rows_inserted"] == len(held)

    # a second ingest without the holdout setting must not copy held-out texts into bronze.documents
    run_ingest(spark, load_config(overrides={"lake": str(tmp_path / "lake")}), [str(tmp_path / "in.jsonl")])
    again = {r.content_hash for r in lake_io.read(spark, lake, BRONZE_DOCUMENTS)[0].collect()}
    assert again == set(docs)
