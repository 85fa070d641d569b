"""Executor-side parsing of raw input files into documents or quarantine entries.

Reads: JSONL (optionally .gz), Parquet, Arrow/Hugging Face ``save_to_disk`` files, through fsspec (any file system
it knows). Writes: one ``Parsed`` per record, either a document (``ok``) or a quarantine entry with a reason.
Nothing is dropped here; dedup happens later, in Spark, across all files.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import PurePosixPath
from typing import Any

from pipelines.normalize import content_hash, doc_id_for, normalize_text

FORMATS = ("jsonl", "parquet", "arrow")
PREVIEW_CHARS = 500


@dataclass(frozen=True)
class FieldMap:
    text: str = "text"
    source: str = "source"
    url: str = "url"


@dataclass
class Parsed:
    ok: bool
    input_file: str
    input_line: int
    # document fields (ok)
    doc_id: str | None = None
    text: str | None = None
    source: str | None = None
    url: str | None = None
    meta: str | None = None
    content_hash: str | None = None
    n_chars: int | None = None
    # quarantine fields (not ok)
    reason: str | None = None
    detail: str | None = None
    raw: bytes | None = None
    raw_preview: str | None = None


def detect_format(path: str) -> str | None:
    name = PurePosixPath(path).name.lower()
    if name.endswith((".jsonl", ".jsonl.gz", ".ndjson", ".json", ".json.gz")):
        return "jsonl"
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith(".arrow"):
        return "arrow"
    return None


def default_source_for(path: str) -> str:
    name = PurePosixPath(path).name
    for suffix in (".gz", ".jsonl", ".ndjson", ".json", ".parquet", ".arrow"):
        name = name.removesuffix(suffix)
    return name


def _bad(file: str, line: int, reason: str, detail: str, raw: bytes | None) -> Parsed:
    preview = raw[: PREVIEW_CHARS * 4].decode("utf-8", errors="replace")[:PREVIEW_CHARS] if raw else None
    return Parsed(False, file, line, reason=reason, detail=detail, raw=raw, raw_preview=preview)


def record_to_parsed(
    obj: Any, file: str, line: int, raw: bytes, fields: FieldMap, default_source: str, max_chars: int
) -> Parsed:
    """Validate one decoded record and build the document; every refusal names its reason."""
    if not isinstance(obj, dict):
        return _bad(file, line, "not_an_object", f"expected a JSON object, got {type(obj).__name__}", raw)
    text = obj.get(fields.text)
    if text is None:
        return _bad(file, line, "missing_text", f"no '{fields.text}' field (keys: {sorted(obj)[:10]})", raw)
    if not isinstance(text, str):
        return _bad(file, line, "wrong_type", f"'{fields.text}' is {type(text).__name__}, expected string", raw)
    source = obj.get(fields.source)
    if source is not None and not isinstance(source, str):
        return _bad(
            file, line, "wrong_type", f"'{fields.source}' is {type(source).__name__}, expected string", raw
        )
    url = obj.get(fields.url)
    if url is not None and not isinstance(url, str):
        return _bad(file, line, "wrong_type", f"'{fields.url}' is {type(url).__name__}, expected string", raw)
    text = normalize_text(text)
    if not text:
        return _bad(file, line, "empty_text", "text is empty after whitespace normalisation", raw)
    if len(text) > max_chars:
        return _bad(file, line, "text_too_long", f"{len(text)} chars > ingest.max_chars={max_chars}", raw)
    rest = {k: v for k, v in obj.items() if k not in (fields.text, fields.source, fields.url)}
    h = content_hash(text)
    return Parsed(
        True,
        file,
        line,
        doc_id=doc_id_for(h),
        text=text,
        source=source or default_source,
        url=url or None,
        meta=json.dumps(rest, sort_keys=True, ensure_ascii=False, default=str) if rest else None,
        content_hash=h,
        n_chars=len(text),
    )


def parse_jsonl_bytes(
    lines: Iterator[bytes], file: str, fields: FieldMap, default_source: str, max_chars: int
) -> Iterator[Parsed]:
    for i, raw in enumerate(lines, start=1):
        raw = raw.rstrip(b"\r\n")
        if not raw.strip():
            continue  # blank lines separate nothing in JSONL; not a record, so not quarantined
        try:
            decoded = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            yield _bad(file, i, "not_utf8", f"invalid UTF-8 at byte {e.start}: {e.reason}", raw)
            continue
        try:
            obj = json.loads(decoded)
        except json.JSONDecodeError as e:
            yield _bad(file, i, "invalid_json", f"{e.msg} at column {e.colno}", raw)
            continue
        yield record_to_parsed(obj, file, i, raw, fields, default_source, max_chars)


def _rows_to_parsed(rows: Iterator[dict], file: str, fields: FieldMap, default_source: str, max_chars: int):
    for i, row in enumerate(rows, start=1):
        raw = json.dumps(row, ensure_ascii=False, default=str).encode("utf-8")
        yield record_to_parsed(row, file, i, raw, fields, default_source, max_chars)


def _arrow_batches(f) -> Iterator[Any]:
    import pyarrow as pa

    data = f.read()
    try:  # datasets' save_to_disk writes the streaming format
        yield from pa.ipc.open_stream(data)
    except pa.ArrowInvalid:
        reader = pa.ipc.open_file(data)
        for i in range(reader.num_record_batches):
            yield reader.get_batch(i)


def parse_file(
    path: str, fmt: str, fields: FieldMap, default_source: str = "", max_chars: int = 1_000_000
) -> Iterator[Parsed]:
    """Every record of one file as a Parsed; a file that cannot be read at all is one quarantine entry."""
    import fsspec

    source = default_source or default_source_for(path)
    try:
        if fmt == "jsonl":
            with fsspec.open(path, "rb", compression="infer") as f:
                yield from parse_jsonl_bytes(iter(f), path, fields, source, max_chars)
        elif fmt == "parquet":
            import pyarrow.parquet as pq

            with fsspec.open(path, "rb") as f:
                pf = pq.ParquetFile(f)
                rows = (row for batch in pf.iter_batches(batch_size=1024) for row in batch.to_pylist())
                yield from _rows_to_parsed(rows, path, fields, source, max_chars)
        elif fmt == "arrow":
            with fsspec.open(path, "rb") as f:
                rows = (row for batch in _arrow_batches(f) for row in batch.to_pylist())
                yield from _rows_to_parsed(rows, path, fields, source, max_chars)
        else:
            raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")
    except (OSError, EOFError, ValueError) as e:
        # Corrupt gzip, truncated Parquet, unreadable Arrow: the file is the record we could not accept.
        yield _bad(path, 0, "unreadable_file", f"{type(e).__name__}: {e}"[:1000], None)


def parsed_to_dict(p: Parsed) -> dict[str, Any]:
    return asdict(p)
