import hashlib

from pipelines.normalize import content_hash, doc_id_for, normalize_text


def test_normalize_unifies_line_endings_spaces_and_blank_runs():
    raw = "  Title\r\n\r\n\r\n\r\nbody\u00a0text  \t\nmore\u200b\x07\n\n\n"
    assert normalize_text(raw) == "Title\n\nbody text\nmore"


def test_normalize_keeps_indentation_and_inner_spacing():
    code = "def f():\n    return  1\n\n        deeper"
    assert normalize_text(code) == code


def test_normalize_composes_nfc():
    decomposed = "Cafe\u0301"
    assert normalize_text(decomposed) == "Caf\u00e9"
    assert content_hash(normalize_text(decomposed)) == content_hash("Caf\u00e9")


def test_content_hash_and_doc_id_are_sha256_based():
    h = content_hash("hello")
    assert h == hashlib.sha256(b"hello").hexdigest()
    assert doc_id_for(h) == h[:24]
