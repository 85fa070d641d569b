"""Byte-level BPE: round-trips, one eos per document in the pool, save/load, determinism. Trained here, offline."""

from __future__ import annotations

import numpy as np
import pytest

from training.tokenizer import EOT, encode_documents, load_tokenizer, save_tokenizer, train_bpe

TEXTS = [f"Document {i}: the quick brown fox jumps over the lazy dog {i * 7}." for i in range(300)] + [
    "Émile a mangé une crème brûlée à Zürich.",
    "東京の天気は晴れです。",
]


@pytest.fixture(scope="module")
def tok():
    return train_bpe(TEXTS, vocab_size=400)


@pytest.mark.parametrize(
    "text",
    [
        "The quick brown fox , jumps .  Twice\n\tindented",
        "Ünïcödé: café, naïve, 東京, Москва, emoji 😀🧪",
        "never-seen bytes \x00\x7f and trailing space ",
    ],
)
def test_decode_encode_round_trips(tok, text):
    ids = tok.encode(text, add_special_tokens=False)
    assert tok.decode(ids) == text


def test_special_token_is_eos_bos_and_pad(tok):
    assert tok.eos_token == tok.bos_token == tok.pad_token == EOT
    assert tok.convert_tokens_to_ids(EOT) == tok.eos_token_id
    assert tok.encode(EOT, add_special_tokens=False) == [tok.eos_token_id]  # one token, not split into bytes


def test_vocab_size_is_what_was_asked_and_merges_are_learned(tok):
    assert len(tok) == 400
    assert len(tok.encode("the quick brown fox", add_special_tokens=False)) < len("the quick brown fox") / 2


def test_training_is_deterministic(tok):
    again = train_bpe(TEXTS, vocab_size=400)
    assert again.backend_tokenizer.to_str() == tok.backend_tokenizer.to_str()


def test_encode_documents_appends_eos_after_every_document(tok):
    docs = ["the lazy dog", "", "café 東京", "fox"]
    pool = encode_documents(tok, docs)
    expected = [i for d in docs for i in [*tok.encode(d, add_special_tokens=False), tok.eos_token_id]]
    assert pool.dtype == np.uint16
    assert pool.tolist() == expected
    assert int((pool == tok.eos_token_id).sum()) == len(docs)
    # splitting at the eos ids gives the documents back
    ends = np.flatnonzero(pool == tok.eos_token_id)
    starts = np.r_[0, ends[:-1] + 1]
    assert [tok.decode(pool[s:e].tolist()) for s, e in zip(starts, ends, strict=True)] == docs


def test_encode_no_documents_is_an_empty_pool(tok):
    pool = encode_documents(tok, [])
    assert pool.shape == (0,) and pool.dtype == np.uint16


def test_save_and_load_give_identical_ids(tok, tmp_path):
    save_tokenizer(tok, tmp_path / "tok")
    loaded = load_tokenizer(tmp_path / "tok")
    text = "Zürich fox 12345 東京 😀 the lazy dog"
    assert loaded.encode(text, add_special_tokens=False) == tok.encode(text, add_special_tokens=False)
    assert loaded.eos_token_id == tok.eos_token_id and len(loaded) == len(tok)
    assert encode_documents(loaded, TEXTS[:20]).tolist() == encode_documents(tok, TEXTS[:20]).tolist()
