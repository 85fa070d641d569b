"""Austen chapters: tiny hand-made inputs with exact expected outputs."""

from __future__ import annotations

from pipelines.corpus.austen import split_chapters


def test_split_chapters_drops_title_page_and_reflows_paragraphs():
    lines = ["EMMA", "", "VOLUME I", "", "CHAPTER I", "", "Emma Woodhouse, handsome,", "clever, and rich.", ""]
    lines += ["She was the youngest.", "", "VOLUME II", "", "CHAPTER I", "", "Mr. Weston was a native."]
    records = list(split_chapters(lines, "emma"))
    assert [r["text"] for r in records] == [
        "CHAPTER I\n\nEmma Woodhouse, handsome, clever, and rich.\n\nShe was the youngest.",
        "CHAPTER I\n\nMr. Weston was a native.",
    ]
    assert [r["url"] for r in records] == ["austen://emma/1", "austen://emma/2"]
    assert records[1]["meta"] == {"book": "Emma", "chapter": 2, "heading": "CHAPTER I"}
