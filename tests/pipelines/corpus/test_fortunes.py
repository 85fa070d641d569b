"""fortune(6) files: tiny hand-made inputs with exact expected outputs."""

from __future__ import annotations

from pipelines.corpus.fortunes import parse_fortunes


def test_parse_fortunes_splits_on_percent_lines_and_keeps_ascii_art_indentation():
    text = "First fortune.\n\t-- Someone\n%\n   /\\_/\\\n  ( o.o )\n   > ^ <\n%\n\n%\nLast one.\n%\n"
    records = list(parse_fortunes(text, "art"))
    assert [r["text"] for r in records] == [
        "First fortune.\n\t-- Someone",
        "   /\\_/\\\n  ( o.o )\n   > ^ <",
        "Last one.",
    ]
    assert [r["url"] for r in records] == ["fortune://art/0", "fortune://art/1", "fortune://art/2"]
    assert {r["source"] for r in records} == {"fortunes"}
    assert records[1]["meta"] == {"file": "art"}
