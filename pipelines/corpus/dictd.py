"""dictd dictionaries (gcide, wordnet, foldoc, jargon): a `.index` of base-64 spans into a `.dict[.dz]`.

Yields one record per distinct entry, source = the dictionary's name, url ``<source>://<headword>[#n]``,
meta ``{"headword"}``. gcide's bracketed ASCII accent codes become Unicode; ``{cross reference}`` braces go.
"""

from __future__ import annotations

import gzip
import re
import string
import unicodedata
from collections.abc import Iterator
from urllib.parse import quote

from pipelines.corpus.records import Record, decode_text, make_record

_DICTD_DIGITS = {
    c: i for i, c in enumerate(string.ascii_uppercase + string.ascii_lowercase + string.digits + "+/")
}
_DICTD_META_PREFIXES = ("00-database", "00database")


def decode_dictd_number(digits: str) -> int:
    """A dictd base-64 number: most significant digit first, 'A' is 0."""
    value = 0
    for char in digits:
        value = value * 64 + _DICTD_DIGITS[char]
    return value


# gcide writes accented letters as ASCII codes in brackets: ['e] é, [=a] ā, [i^] ĭ (breve), [ae] æ.
# fmt: off
_MARK_BEFORE = {
    '"': "\u0308", "'": "\u0301", "`": "\u0300", "^": "\u0302", "~": "\u0303", "=": "\u0304", ".": "\u0307",
    ",": "\u0327", "-": "\u0304", "*": "",
}
_GCIDE_WORDS = {
    "ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ", "=ae": "ǣ", "eth": "ð", "thorn": "þ", "ng": "ŋ", "yogh": "ȝ",
    "deg": "°", "sect": "§", "root": "√", "sharp": "♯", "flat": "♭", "aum": "ä", "add": "a̤", "udd": "ṳ",
    "asl": "ȧ", "imac": "ī", "oo": "oo", "=oo": "o͞o", "oo^": "o͝o", "dsdot": "ḍ", "th": "th", "pound": "£",
    "alpha": "α", "beta": "β", "gamma": "γ", "Delta": "Δ", "delta": "δ", "theta": "θ", "iota": "ι", "pi": "π",
    "rho": "ρ", "tau": "τ", "phi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω", "sigma": "σ", "lambda": "λ",
}
# fmt: on
_GCIDE_CODE = re.compile(r"\[([^\[\]\s]{1,6})\]")
_XREF_BRACES = re.compile(r"\{([^{}]*)\}")


def _gcide_code(match: re.Match[str]) -> str:
    code = match.group(1)
    if code in _GCIDE_WORDS:
        return _GCIDE_WORDS[code]
    if len(code) == 2 and code[0] in _MARK_BEFORE and code[1].isalpha():
        return unicodedata.normalize("NFC", code[1] + _MARK_BEFORE[code[0]])
    if len(code) == 2 and code[1] == "^" and code[0].isalpha():
        return unicodedata.normalize("NFC", code[0] + "\u0306")
    return match.group(0)  # a real bracket: [R.], [Obs.], [1913 Webster]


def clean_dictd_entry(text: str, source: str) -> str:
    if source == "gcide":
        text = _GCIDE_CODE.sub(_gcide_code, text)
    text = _XREF_BRACES.sub(r"\1", text)  # {cross reference} markup in all four dictionaries
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


def parse_dictd(index_text: str, dict_data: bytes, source: str) -> Iterator[Record]:
    """One record per distinct entry of a dictd database; `dict_data` is the .dict or the gzip .dict.dz bytes.

    Several headwords often index one entry (gcide: Aerate, Aerated); the entry is emitted once, under its first
    headword. Repeated headwords for distinct entries get a ``#n`` url suffix so urls stay unique.
    """
    if dict_data[:2] == b"\x1f\x8b":
        dict_data = gzip.decompress(dict_data)
    rows = [line.split("\t") for line in index_text.splitlines() if line.count("\t") >= 2]
    spans = [(row[0], decode_dictd_number(row[1]), decode_dictd_number(row[2])) for row in rows]
    meta_spans = {(off, n) for head, off, n in spans if head.startswith(_DICTD_META_PREFIXES)}
    seen: set[tuple[int, int]] = set(meta_spans)  # 00-gcide-long shares the span of 00-database-long
    uses: dict[str, int] = {}
    for headword, offset, length in spans:
        if (offset, length) in seen:
            continue
        seen.add((offset, length))
        text = clean_dictd_entry(decode_text(dict_data[offset : offset + length]), source)
        if not text:
            continue
        uses[headword] = uses.get(headword, 0) + 1
        suffix = f"#{uses[headword]}" if uses[headword] > 1 else ""
        yield make_record(text, source, f"{source}://{quote(headword, safe='')}{suffix}", headword=headword)
