"""Text normalisation and content addressing for ingest.

``normalize_text`` is deliberately conservative: it never touches indentation or spaces inside a line (code,
tables and verse keep their shape); it unifies what differs between copies of the same text.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

# Zero-width characters and the BOM: invisible, and they make equal texts hash differently.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
# Unicode spaces other than ' ' (NBSP, en/em spaces, ideographic space) become ' '.
_ODD_SPACES = re.compile("[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
# C0/C1 control characters except tab and newline.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_TRAILING = re.compile(r"[ \t]+\n")
_BLANK_RUNS = re.compile(r"\n{3,}")

DOC_ID_HEX = 24  # 96 bits: collision odds stay negligible well past billions of documents


def normalize_text(text: str) -> str:
    """NFC; \\r\\n and \\r -> \\n; drop invisible and control characters; unify Unicode spaces;
    strip trailing spaces per line; at most one blank line in a row; strip the ends."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub("", text)
    text = _ODD_SPACES.sub(" ", text)
    text = _TRAILING.sub("\n", text + "\n")
    text = _BLANK_RUNS.sub("\n\n", text)
    return text.strip()


def content_hash(text: str) -> str:
    """sha256 hex of the normalised text's UTF-8 bytes: the exact-dedup key."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def doc_id_for(hash_hex: str) -> str:
    """Content-addressed id: the same text has the same doc_id in every lake and every rerun."""
    return hash_hex[:DOC_ID_HEX]
