"""Perl POD (``.pod`` files of perl-doc), split at ``=head1``.

Yields one record per ``=head1`` section of at least MIN_SECTION_CHARS, as plain text with formatting codes
(B<> C<> L<> E<> ...) resolved: source ``perl-docs``, url ``perldoc://<name>#<slug>``,
meta ``{"file", "section"}``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

from pipelines.corpus.records import MIN_SECTION_CHARS, Record, make_record, slugify, unique_slug

_POD_ENTITIES = {"lt": "<", "gt": ">", "verbar": "|", "sol": "/", "quot": '"', "amp": "&", "apos": "'"}
_POD_DROP = ("=over", "=back", "=cut", "=pod", "=encoding", "=for", "=begin", "=end")


def _pod_code(code: str, body: str) -> str:
    if code in "XZ":  # index entries and null codes carry no text
        return ""
    if code == "E":
        if body.lower().startswith("0x"):
            return chr(int(body, 16))
        if body.isdigit():  # perlpodspec: a leading 0 means octal
            return chr(int(body, 8 if body.startswith("0") else 10))
        return _POD_ENTITIES.get(body, html.unescape(f"&{body};"))
    if code == "L":
        if "|" in body:
            return body.split("|", 1)[0]
        page, _, section = body.partition("/")
        section = section.strip('"')
        return f"{section} in {page}" if page and section else section or page
    return body


def pod_inline(text: str) -> str:
    """B<> C<> I<> L<> E<> ... with the `C<< a->b >>` form; innermost codes first so nesting resolves."""
    for n in (4, 3, 2):
        pattern = rf"([A-Z])<{{{n}}}\s+(.+?)\s+>{{{n}}}"
        text = re.sub(pattern, lambda m: _pod_code(m.group(1), m.group(2)), text, flags=re.DOTALL)
    single = re.compile(r"([A-Z])<([^<>]*)>")
    while (new := single.sub(lambda m: _pod_code(m.group(1), m.group(2)), text)) != text:
        text = new
    return text


def pod_to_text(pod: str) -> str:
    """Commands become their text (=head2 X -> X, =item * -> -); verbatim (indented) paragraphs stay as is."""
    out = []
    bullet = ""  # `=item *` has its text in the next paragraph
    for para in re.split(r"\n[ \t]*\n", pod.strip("\n")):
        para = para.strip("\n").rstrip()  # leading spaces mark verbatim paragraphs: keep them
        if not para or para.startswith(_POD_DROP):
            continue
        if para.startswith("=item"):
            item = para.removeprefix("=item").strip()
            if item in ("", "*"):
                bullet = "- "
                continue
            para = item
        elif para.startswith("=head"):
            para = para.split(None, 1)[1] if " " in para else ""
        if not para[0].isspace():
            para = pod_inline(para)
        out.append(bullet + para)
        bullet = ""
    return "\n\n".join(p for p in out if p.strip())


def parse_pod(pod: str, name: str) -> Iterator[Record]:
    """One record per `=head1` section of at least MIN_SECTION_CHARS (title first)."""
    used: set[str] = set()
    for chunk in re.split(r"^(?==head1\b)", pod, flags=re.MULTILINE):
        if not chunk.startswith("=head1"):
            continue  # =encoding / =for lines before the first heading
        title_line, _, body = chunk.partition("\n")
        title = pod_inline(title_line.removeprefix("=head1").strip())
        text = f"{title}\n\n{pod_to_text(body)}"
        if len(text) < MIN_SECTION_CHARS:
            continue
        url = f"perldoc://{name}#{unique_slug(slugify(title), used)}"
        yield make_record(text, "perl-docs", url, file=name, section=title)
