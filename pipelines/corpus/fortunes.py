"""fortune(6) files: entries separated by a line holding only ``%``.

Yields one record per non-empty entry, source ``fortunes``, url ``fortune://<file>/<n>``, meta ``{"file"}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pipelines.corpus.records import Record, make_record


def parse_fortunes(text: str, file_name: str) -> Iterator[Record]:
    """Entries separated by a line holding only '%'. Leading spaces are kept: ASCII art is the point."""
    entries = re.split(r"^%[ \t]*$", text, flags=re.MULTILINE)
    kept = [entry.strip("\n").rstrip() for entry in entries]
    for number, entry in enumerate(e for e in kept if e.strip()):
        yield make_record(entry, "fortunes", f"fortune://{file_name}/{number}", file=file_name)
