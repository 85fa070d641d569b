"""SpamAssassin messages: tiny hand-made inputs with exact expected outputs."""

from __future__ import annotations

import pytest

from pipelines.corpus.mail import parse_spam_assassin

MAIL = (
    "From someone@example.com  Thu Aug 22 13:17:22 2002\n"
    "Received: from localhost\n\tby example.org\n"
    "Subject: Cheap\n  offers =?iso-8859-1?q?caf=E9?=\n"
    "To: you@example.com\n"
    "\n"
    "Buy now!\n"
)


def test_parse_spam_assassin_keeps_subject_and_body_and_labels_by_group():
    (spam,) = parse_spam_assassin({"id": "00001", "group": "spam-2", "text": MAIL})
    assert spam == {
        "text": "Subject: Cheap offers café\n\nBuy now!",
        "source": "mail-spam",
        "url": "mail://spam-2/00001",
        "meta": {"group": "spam-2", "id": "00001"},
    }
    raw = MAIL.replace("Buy now!", "Only £5!")  # the original bytes beat the JSON's U+FFFD
    (ham,) = parse_spam_assassin({"id": "7", "group": "hard-ham-1", "text": "\ufffd"}, raw)
    assert (ham["source"], ham["text"]) == ("mail-ham", "Subject: Cheap offers café\n\nOnly £5!")
    with pytest.raises(ValueError, match="neither"):
        list(parse_spam_assassin({"id": "1", "group": "other", "text": MAIL}))
