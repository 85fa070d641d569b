"""Jane Austen's six novels from r-cran-janeaustenr's R lazy-load database (``Rdata.rdx`` + ``Rdata.rdb``).

Yields one record per chapter, uncapped, paragraphs reflowed: source ``austen``, url ``austen://<book>/<n>``,
meta ``{"book", "chapter", "heading"}``.
"""

from __future__ import annotations

import gzip
import re
import struct
import warnings
import zlib
from collections.abc import Iterator, Sequence
from typing import Any

from pipelines.corpus.records import Record, make_record

# fmt: off
AUSTEN_TITLES = {
    "emma": "Emma", "mansfieldpark": "Mansfield Park", "northangerabbey": "Northanger Abbey",
    "persuasion": "Persuasion", "prideprejudice": "Pride and Prejudice",
    "sensesensibility": "Sense and Sensibility",
}
# fmt: on
_CHAPTER = re.compile(r"^(CHAPTER|Chapter)\b")


def _r_unserialize(raw: bytes) -> Any:
    import rdata  # heavy import kept local: only the Austen source needs it

    with warnings.catch_warnings():  # rdata warns "Unknown file type: assumed RDS" on bare serialized objects
        warnings.simplefilter("ignore", UserWarning)
        return rdata.conversion.convert(rdata.parser.parse_data(raw))


def read_r_lazyload(rdx: bytes, rdb: bytes) -> dict[str, Any]:
    """Objects of an R lazy-load database (`.rdx` index + `.rdb` blobs), by name.

    The .rdx is a compressed serialized list whose `variables` maps a name to (offset, length) in the .rdb; a blob
    is a 4-byte big-endian uncompressed length then zlib data (R's default `compress = TRUE`).
    """
    index = _r_unserialize(gzip.decompress(rdx) if rdx[:2] == b"\x1f\x8b" else zlib.decompress(rdx))
    objects = {}
    for name, (offset, length) in index["variables"].items():
        blob = rdb[int(offset) : int(offset) + int(length)]
        (size,) = struct.unpack(">I", blob[:4])
        raw = zlib.decompress(blob[4:])
        if len(raw) != size:
            raise ValueError(f"R lazy-load object {name!r}: {len(raw)} bytes after zlib, index says {size}")
        objects[str(name)] = _r_unserialize(raw)
    return objects


def split_chapters(lines: Sequence[str], book: str) -> Iterator[Record]:
    """Chapters of a novel given one line per element (blank lines between paragraphs); the title page before
    CHAPTER 1 is dropped. Paragraph lines are joined so a chapter reads as prose, not 70-column lines."""
    chapters: list[list[str]] = []
    for line in lines:
        if _CHAPTER.match(line):
            chapters.append([])
        if chapters and not re.match(r"^VOLUME [IVX]+$|^THE END$|^FINIS$", line.strip()):
            chapters[-1].append(line)
    for number, chapter in enumerate(chapters, start=1):
        paragraphs = re.split(r"\n\s*\n", "\n".join(chapter))
        text = "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())
        meta = {"book": AUSTEN_TITLES.get(book, book), "chapter": number, "heading": chapter[0].strip()}
        # no cap: a chapter is prose that was asked for whole (the longest is ~38k chars)
        yield make_record(text, "austen", f"austen://{book}/{number}", max_chars=None, **meta)


def parse_austen(rdx: bytes, rdb: bytes) -> Iterator[Record]:
    for book, lines in sorted(read_r_lazyload(rdx, rdb).items()):
        yield from split_chapters([str(line) for line in lines], book)
