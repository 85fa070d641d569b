"""troff man pages: tiny hand-made inputs with exact expected outputs."""

from __future__ import annotations

from pipelines.corpus.troff import parse_manpage, troff_to_text

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
    assert troff_to_text(TROFF_PAGE) == (
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
    (record,) = parse_manpage(TROFF_PAGE, "frob.1.gz")
    assert (record["source"], record["url"], record["meta"]) == (
        "manpages",
        "man://1/frob",
        {"name": "frob", "section": "1"},
    )
    assert list(parse_manpage('.\\" alias\n.so man3/frob.3\n', "unfrob.3.gz")) == []
