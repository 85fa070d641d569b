"""dictd dictionaries: tiny hand-made index and gzip data files with exact expected records."""

from __future__ import annotations

import gzip

from pipelines.corpus.dictd import decode_dictd_number, parse_dictd


def _dictd_number(n: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    digits = ""
    while True:
        digits = alphabet[n % 64] + digits
        n //= 64
        if n == 0:
            return digits


def _dictd(entries: list[tuple[str, bytes]], extra_index: list[tuple[str, int]] = ()) -> tuple[str, bytes]:
    """(index text, gzip dict) for entries in order; extra_index adds headwords pointing at entry number i."""
    data, spans = b"", []
    for _, body in entries:
        spans.append((len(data), len(body)))
        data += body
    rows = [(head, *spans[i]) for i, (head, _) in enumerate(entries)]
    rows += [(head, *spans[i]) for head, i in extra_index]
    index = "".join(f"{head}\t{_dictd_number(off)}\t{_dictd_number(n)}\n" for head, off, n in rows)
    return index, gzip.compress(data)


def test_decode_dictd_number():
    assert [decode_dictd_number(s) for s in ("A", "B", "/", "BA", "Fz", "Kj")] == [0, 1, 63, 64, 371, 675]


def test_parse_dictd_skips_metadata_dedupes_spans_and_cleans_gcide_markup():
    index, data = _dictd(
        [
            ("00-database-info", b"00-database-info\n   converted by dictfmt\n"),
            ("Cafe", b"Caf['e] \\Caf['e]\\, n. [F.]\n   A coffee house; see {Coffee}.\n"),
            ("Aeon", b'[AE]on \\[=e]"[o^]n\\, n.\n   An age.\n'),
            ("Aeon", b'Aeon \\Ae"on\\, n. (Gnostic)\n   A power.\n'),
        ],
        extra_index=[("00-gcide-info", 0), ("Cafes", 1)],  # metadata alias and a plural sharing an entry
    )
    records = list(parse_dictd(index, data, "gcide"))
    assert records == [
        {
            "text": "Café \\Café\\, n. [F.]\n   A coffee house; see Coffee.",
            "source": "gcide",
            "url": "gcide://Cafe",
            "meta": {"headword": "Cafe"},
        },
        {
            "text": 'Æon \\ē"ŏn\\, n.\n   An age.',
            "source": "gcide",
            "url": "gcide://Aeon",
            "meta": {"headword": "Aeon"},
        },
        {
            "text": 'Aeon \\Ae"on\\, n. (Gnostic)\n   A power.',
            "source": "gcide",
            "url": "gcide://Aeon#2",
            "meta": {"headword": "Aeon"},
        },
    ]


def test_parse_dictd_leaves_other_dictionaries_brackets_alone_and_quotes_urls():
    index, data = _dictd([("air attack", b"air attack\n    n 1: an attack [syn: {air raid}, {air attack}]\n")])
    (record,) = parse_dictd(index, data, "wordnet")
    assert record["text"] == "air attack\n    n 1: an attack [syn: air raid, air attack]"
    assert record["url"] == "wordnet://air%20attack"
