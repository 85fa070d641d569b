"""Parsers of the demo corpus sources, on tiny hand-made inputs with exact expected outputs."""

from __future__ import annotations

import gzip

import pytest

from pipelines import corpus_sources as cs

FILLER = "Filler sentence that makes this section long enough to be kept as a document. " * 3  # 240 chars


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
    assert [cs.decode_dictd_number(s) for s in ("A", "B", "/", "BA", "Fz", "Kj")] == [0, 1, 63, 64, 371, 675]


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
    records = list(cs.parse_dictd(index, data, "gcide"))
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
    (record,) = cs.parse_dictd(index, data, "wordnet")
    assert record["text"] == "air attack\n    n 1: an attack [syn: air raid, air attack]"
    assert record["url"] == "wordnet://air%20attack"


def test_parse_fortunes_splits_on_percent_lines_and_keeps_ascii_art_indentation():
    text = "First fortune.\n\t-- Someone\n%\n   /\\_/\\\n  ( o.o )\n   > ^ <\n%\n\n%\nLast one.\n%\n"
    records = list(cs.parse_fortunes(text, "art"))
    assert [r["text"] for r in records] == [
        "First fortune.\n\t-- Someone",
        "   /\\_/\\\n  ( o.o )\n   > ^ <",
        "Last one.",
    ]
    assert [r["url"] for r in records] == ["fortune://art/0", "fortune://art/1", "fortune://art/2"]
    assert {r["source"] for r in records} == {"fortunes"}
    assert records[1]["meta"] == {"file": "art"}


def test_split_rst_sections_handles_overlines_and_ignores_transitions():
    text = "*****\nGuide\n*****\n\nIntro :mod:`json` text.\n\n-----\n\nMore.\n\nUsage\n=====\n\nBody.\n"
    assert cs.split_rst_sections(text) == [
        ("", ""),
        ("Guide", "\nIntro :mod:`json` text.\n\n-----\n\nMore.\n"),
        ("Usage", "\nBody."),
    ]


def test_parse_rst_yields_long_sections_with_roles_resolved():
    text = (
        ":mod:`json` --- JSON encoder\n"
        "============================\n\n"
        f"See :func:`~json.dumps` and :pep:`8`. {FILLER}\n\n"
        "Tiny\n----\n\nToo short to keep.\n\n"
        "Basic Usage\n-----------\n\n"
        f"{FILLER}\n"
    )
    records = list(cs.parse_rst(text, "library/json.rst.txt"))
    assert [r["url"] for r in records] == [
        "pydoc://library/json#json-json-encoder",
        "pydoc://library/json#basic-usage",
    ]
    assert records[0]["text"] == f"json --- JSON encoder\n\nSee json.dumps and PEP 8. {FILLER.strip()}"
    assert records[1]["text"] == f"Basic Usage\n\n{FILLER.strip()}"
    assert records[1]["meta"] == {"file": "library/json.rst.txt", "section": "Basic Usage"}
    assert {r["source"] for r in records} == {"python-docs"}


TROFF_PAGE = r""".\" Copyright (C) 2023 Someone
.TH FROB 1 2023-02-05 "Linux man-pages 6.03"
.SH NAME
frob \- twiddle the \fIbits\fP
.SH SYNOPSIS
.nf
.B frob
.RI [ file ]
.fi
.SH DESCRIPTION
The
.B frob
command reads
.IR file ,
one line at a time.
It doesn\(aqt write \(lqanything\(rq.
.PP
.TP
.B \-v
Be verbose.
.SH SEE ALSO
.BR twiddle (1)
"""


def test_troff_to_text_fills_paragraphs_and_strips_macros_and_escapes():
    assert cs.troff_to_text(TROFF_PAGE) == (
        "NAME\n"
        "frob - twiddle the bits\n\n"
        "SYNOPSIS\n"
        "frob\n"
        "[file]\n\n"
        "DESCRIPTION\n"
        "The frob command reads file, one line at a time. It doesn't write “anything”.\n\n"
        "-v\n"
        "Be verbose.\n\n"
        "SEE ALSO\n"
        "twiddle(1)"
    )


def test_parse_manpage_names_the_page_and_skips_so_redirects():
    (record,) = cs.parse_manpage(TROFF_PAGE, "frob.1.gz")
    assert (record["source"], record["url"], record["meta"]) == (
        "manpages",
        "man://1/frob",
        {"name": "frob", "section": "1"},
    )
    assert list(cs.parse_manpage('.\\" alias\n.so man3/frob.3\n', "unfrob.3.gz")) == []


def test_make_record_caps_long_texts_at_a_line_boundary():
    line = "x" * 99 + "\n"
    record = cs.make_record(line * 300, "manpages", "man://1/long")
    assert record["text"] == (line * 200).rstrip()
    assert record["meta"] == {"truncated": True}


POD = f"""=encoding utf8

=head1 NAME

perlfrob - how to frob

=head1 DESCRIPTION

Use B<frob> with C<< $x->frob >> or I<see> L<the guide|perlguide> and L<perlvar/"$_">; 1 E<gt> 0.
{FILLER}

=over 4

=item *

First point.

=item B<-v>

Verbose.

=back

    my $x = B<not markup in verbatim>;

=cut
"""


def test_pod_inline_codes():
    assert cs.pod_inline("B<C<x>> E<lt>E<0x41>E<101> X<idx>L</Taint mode>") == "x <Ae Taint mode"


def test_parse_pod_splits_at_head1_and_strips_markup_lightly():
    records = list(cs.parse_pod(POD, "perlfrob"))
    assert len(records) == 1  # NAME is under 200 characters
    (record,) = records
    assert record["url"] == "perldoc://perlfrob#description"
    assert record["meta"] == {"file": "perlfrob", "section": "DESCRIPTION"}
    assert record["source"] == "perl-docs"
    assert record["text"] == (
        "DESCRIPTION\n\n"
        f"Use frob with $x->frob or see the guide and $_ in perlvar; 1 > 0.\n{FILLER.rstrip()}\n\n"
        "- First point.\n\n"
        "-v\n\n"
        "Verbose.\n\n"
        "    my $x = B<not markup in verbatim>;"
    )


def test_split_chapters_drops_title_page_and_reflows_paragraphs():
    lines = ["EMMA", "", "VOLUME I", "", "CHAPTER I", "", "Emma Woodhouse, handsome,", "clever, and rich.", ""]
    lines += ["She was the youngest.", "", "VOLUME II", "", "CHAPTER I", "", "Mr. Weston was a native."]
    records = list(cs.split_chapters(lines, "emma"))
    assert [r["text"] for r in records] == [
        "CHAPTER I\n\nEmma Woodhouse, handsome, clever, and rich.\n\nShe was the youngest.",
        "CHAPTER I\n\nMr. Weston was a native.",
    ]
    assert [r["url"] for r in records] == ["austen://emma/1", "austen://emma/2"]
    assert records[1]["meta"] == {"book": "Emma", "chapter": 2, "heading": "CHAPTER I"}


MAIL = (
    "From someone@example.com  Thu Aug 22 13:17:22 2002\n"
    "Received: from localhost\n\tby example.org\n"
    "Subject: Cheap\n  offers =?iso-8859-1?q?caf=E9?=\n"
    "To: you@example.com\n"
    "\n"
    "Buy now!\n"
)


def test_parse_spam_assassin_keeps_subject_and_body_and_labels_by_group():
    (spam,) = cs.parse_spam_assassin({"id": "00001", "group": "spam-2", "text": MAIL})
    assert spam == {
        "text": "Subject: Cheap offers café\n\nBuy now!",
        "source": "mail-spam",
        "url": "mail://spam-2/00001",
        "meta": {"group": "spam-2", "id": "00001"},
    }
    raw = MAIL.replace("Buy now!", "Only £5!")  # the original bytes beat the JSON's U+FFFD
    (ham,) = cs.parse_spam_assassin({"id": "7", "group": "hard-ham-1", "text": "\ufffd"}, raw)
    assert (ham["source"], ham["text"]) == ("mail-ham", "Subject: Cheap offers café\n\nOnly £5!")
    with pytest.raises(ValueError, match="neither"):
        list(cs.parse_spam_assassin({"id": "1", "group": "other", "text": MAIL}))


def test_decode_text_falls_back_to_cp1252():
    assert cs.decode_text("naïve".encode()) == "naïve"
    assert cs.decode_text(b"it\x92s \xa3160") == "it’s £160"


def test_stratified_counts():
    assert cs.stratified_counts({"a": 2, "b": 100, "c": 100}, 100) == {"a": 2, "b": 49, "c": 49}
    assert cs.stratified_counts({"a": 50, "b": 50, "c": 50}, 100) == {"a": 34, "b": 33, "c": 33}
    assert cs.stratified_counts({"a": 1, "b": 3, "c": 0}, 100) == {"a": 1, "b": 3, "c": 0}
    assert cs.stratified_counts({"a": 5, "b": 40, "c": 30, "d": 2}, 60) == {"a": 5, "b": 27, "c": 26, "d": 2}


def test_stratified_sample_is_deterministic_and_independent_of_input_order():
    records = {
        name: [cs.make_record(f"{name} {i}", name, f"{name}://{i}") for i in range(n)]
        for name, n in (("a", 3), ("b", 50), ("c", 50))
    }
    shuffled = {name: list(reversed(recs)) for name, recs in reversed(records.items())}
    first, again = cs.stratified_sample(records, 21, seed=7), cs.stratified_sample(shuffled, 21, seed=7)
    assert first == again
    assert {name: len(recs) for name, recs in first.items()} == {"a": 3, "b": 9, "c": 9}
    assert cs.stratified_sample(records, 21, seed=8)["b"] != first["b"]
