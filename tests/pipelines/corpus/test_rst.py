"""reST sections of the Python docs: tiny hand-made inputs with exact expected outputs."""

from __future__ import annotations

from pipelines.corpus.rst import parse_rst, split_rst_sections

FILLER = "Filler sentence that makes this section long enough to be kept as a document. " * 3  # 240 chars


def test_split_rst_sections_handles_overlines_and_ignores_transitions():
    text = "*****\nGuide\n*****\n\nIntro :mod:`json` text.\n\n-----\n\nMore.\n\nUsage\n=====\n\nBody.\n"
    assert split_rst_sections(text) == [
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
    records = list(parse_rst(text, "library/json.rst.txt"))
    assert [r["url"] for r in records] == [
        "pydoc://library/json#json-json-encoder",
        "pydoc://library/json#basic-usage",
    ]
    assert records[0]["text"] == f"json --- JSON encoder\n\nSee json.dumps and PEP 8. {FILLER.strip()}"
    assert records[1]["text"] == f"Basic Usage\n\n{FILLER.strip()}"
    assert records[1]["meta"] == {"file": "library/json.rst.txt", "section": "Basic Usage"}
    assert {r["source"] for r in records} == {"python-docs"}
