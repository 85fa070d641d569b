"""The corpus record and the helpers every parser shares.

A record is ``{"text": str, "source": str, "url": str, "meta": dict}``; ``make_record`` builds one, trimming and
capping the text. ``slugify`` and ``unique_slug`` make url fragments, ``decode_text`` turns file bytes into text.
"""

from __future__ import annotations

import re
from typing import Any

Record = dict[str, Any]

# Long pages (perlfunc, some spam with inline attachments) would dominate token counts and embedding time;
# one document is capped, at a line boundary, and meta says so.
MAX_DOC_CHARS = 20_000
# reST and POD sections shorter than this (a bare NAME, a one-line stub) carry too little text to be a document.
MIN_SECTION_CHARS = 200


def make_record(
    text: str, source: str, url: str | None, max_chars: int | None = MAX_DOC_CHARS, **meta: Any
) -> Record:
    """One corpus document: leading blank lines and trailing space go, the text is capped at `max_chars` (None:
    no cap). The first line keeps its indentation: ASCII art starts with spaces."""
    text = re.sub(r"^(?:[ \t]*\n)+", "", text).rstrip()
    if max_chars is not None and len(text) > max_chars:
        cut = text.rfind("\n", 0, max_chars)
        text = text[: cut if cut > max_chars // 2 else max_chars].rstrip()
        meta["truncated"] = True
    return {"text": text, "source": source, "url": url, "meta": meta}


def slugify(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return slug or "untitled"


def unique_slug(slug: str, used: set[str]) -> str:
    """`slug`, or `slug-2`, `slug-3` ... if taken; the result is added to `used`."""
    candidate, n = slug, 1
    while candidate in used:
        n += 1
        candidate = f"{slug}-{n}"
    used.add(candidate)
    return candidate


def decode_text(raw: bytes) -> str:
    """UTF-8, else cp1252: gcide and old mail carry stray Windows bytes (0x92 for a quote) in an UTF-8 file."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")
