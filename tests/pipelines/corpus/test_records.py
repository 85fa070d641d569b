"""The shared record helpers (text cap, byte decoding): tiny hand-made inputs with exact expected outputs."""

from __future__ import annotations

from pipelines.corpus.records import decode_text, make_record


def test_make_record_caps_long_texts_at_a_line_boundary():
    line = "x" * 99 + "\n"
    record = make_record(line * 300, "manpages", "man://1/long")
    assert record["text"] == (line * 200).rstrip()
    assert record["meta"] == {"truncated": True}


def test_decode_text_falls_back_to_cp1252():
    assert decode_text("naïve".encode()) == "naïve"
    assert decode_text(b"it\x92s \xa3160") == "it’s £160"
