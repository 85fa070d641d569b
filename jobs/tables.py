"""``mixlake tables``: every lake table with its version, rows and last writer, read with delta-rs (no Spark).

Row counts come from the Delta log's per-file statistics, so listing a large lake costs a log read, not a scan.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import fsspec
from deltalake import DeltaTable


@dataclass
class TableInfo:
    name: str
    path: str
    version: int
    rows: int
    last_operation: str
    last_writer: str  # "<job>:<run_id>" from the commit's userMetadata, or "-" for writes outside mixlake
    last_write: str


def find_tables(lake: str) -> list[tuple[str, str]]:
    """(schema.table, path) for every Delta table under ``<lake>/<schema>/<table>``."""
    fs, root = fsspec.core.url_to_fs(lake)
    if not fs.exists(root):
        return []
    found = []
    for log_dir in sorted(fs.glob(f"{root.rstrip('/')}/*/*/_delta_log")):
        table_dir = log_dir.rsplit("/", 1)[0]
        schema, table = table_dir.rstrip("/").split("/")[-2:]
        path = table_dir if lake.startswith("/") or "://" not in lake else fs.unstrip_protocol(table_dir)
        found.append((f"{schema}.{table}", path))
    return found


def describe(name: str, path: str) -> TableInfo:
    table = DeltaTable(path)
    last = table.history(1)[0]
    rows = table.get_add_actions(flatten=True).column("num_records").to_pylist()
    when = dt.datetime.fromtimestamp(last["timestamp"] / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    return TableInfo(
        name=name,
        path=path,
        version=table.version(),
        rows=sum(int(r or 0) for r in rows),
        last_operation=str(last.get("operation", "?")),
        last_writer=str(last.get("userMetadata") or "-"),
        last_write=when,
    )


def list_tables(lake: str) -> list[TableInfo]:
    return [describe(name, path) for name, path in find_tables(lake)]
