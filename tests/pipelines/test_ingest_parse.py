import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.ingest_parse import FieldMap, default_source_for, detect_format, parse_file, parse_jsonl_bytes

FIELDS = FieldMap()


def _parse(lines: list[bytes], max_chars: int = 100):
    return list(parse_jsonl_bytes(iter(lines), "f.jsonl", FIELDS, "f", max_chars))


def test_each_bad_line_gets_its_reason_and_line_number():
    lines = [
        json.dumps({"text": "good one", "source": "web", "url": "http://x", "lang": "en"}).encode(),
        b'{"text": "unterminated',
        b'{"text": "caf\xe9"}',
        json.dumps({"body": "no text"}).encode(),
        json.dumps({"text": " \n\t "}).encode(),
        json.dumps({"text": 42}).encode(),
        json.dumps(["not", "object"]).encode(),
        json.dumps({"text": "y" * 101}).encode(),
        json.dumps({"text": "ok", "source": 7}).encode(),
        b"",
        json.dumps({"text": "good two"}).encode(),
    ]
    parsed = _parse(lines)
    got = [(p.input_line, p.ok, p.reason) for p in parsed]
    assert got == [
        (1, True, None),
        (2, False, "invalid_json"),
        (3, False, "not_utf8"),
        (4, False, "missing_text"),
        (5, False, "empty_text"),
        (6, False, "wrong_type"),
        (7, False, "not_an_object"),
        (8, False, "text_too_long"),
        (9, False, "wrong_type"),
        (11, True, None),  # the blank line 10 is not a record
    ]
    bad = {p.input_line: p for p in parsed if not p.ok}
    assert bad[3].raw == b'{"text": "caf\xe9"}'  # the exact bytes are kept
    assert "101 chars" in bad[8].detail


def test_good_record_fields_meta_and_default_source():
    first, last = [
        p
        for p in _parse(
            [
                json.dumps({"text": "good  one ", "source": "web", "url": "http://x", "lang": "en"}).encode(),
                json.dumps({"text": "good two"}).encode(),
            ]
        )
    ]
    assert (first.text, first.source, first.url, first.n_chars) == ("good  one", "web", "http://x", 9)
    assert json.loads(first.meta) == {"lang": "en"}
    assert (last.source, last.url, last.meta) == ("f", None, None)
    assert first.doc_id == first.content_hash[:24]


def test_parquet_rows_and_wrong_types(tmp_path):
    path = tmp_path / "part.parquet"
    pq.write_table(pa.table({"text": ["alpha", "", "gamma"], "source": ["s", "s", None], "n": [1, 2, 3]}), path)
    parsed = list(parse_file(str(path), "parquet", FIELDS))
    assert [(p.input_line, p.ok, p.reason, p.source) for p in parsed] == [
        (1, True, None, "s"),
        (2, False, "empty_text", None),
        (3, True, None, "part"),
    ]
    assert json.loads(parsed[0].meta) == {"n": 1}


def test_corrupt_gzip_is_one_unreadable_file_entry(tmp_path):
    path = tmp_path / "broken.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"text": "a"}\n' * 50)[:40])
    parsed = list(parse_file(str(path), "jsonl", FIELDS))
    assert parsed[-1].reason == "unreadable_file" and parsed[-1].input_line == 0


def test_format_detection_and_source_names():
    assert detect_format("a/b.jsonl.gz") == "jsonl"
    assert detect_format("data/train-00000-of-00001.parquet") == "parquet"
    assert detect_format("data-00000-of-00001.arrow") == "arrow"
    assert detect_format("README.md") is None
    assert default_source_for("s3://b/x/wiki.jsonl.gz") == "wiki"
