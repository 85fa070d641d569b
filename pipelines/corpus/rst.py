"""Python docs reST sources (``_sources/<relpath>.rst.txt``), split at section titles.

Yields one record per section of at least MIN_SECTION_CHARS, title first, with roles such as
``:func:`~os.path.join``` resolved to their text: source ``python-docs``, url ``pydoc://<doc>#<slug>``,
meta ``{"file", "section"}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from pipelines.corpus.records import MIN_SECTION_CHARS, Record, make_record, slugify, unique_slug

_RST_ADORNMENT = re.compile(r"^([=\-~^*\"#+])\1+[ \t]*$")
_RST_ROLE = re.compile(r":([\w.:+-]+):`[~!]?([^`]*?)(?:\s*<[^`>]*>)?`")


def _is_rst_title(lines: Sequence[str], i: int) -> bool:
    title, under = lines[i], lines[i + 1]
    return (
        bool(title.strip())
        and not title[0].isspace()
        and not _RST_ADORNMENT.match(title)
        and bool(_RST_ADORNMENT.match(under))
        and len(under.rstrip()) >= len(title.rstrip())
    )


def split_rst_sections(text: str) -> list[tuple[str, str]]:
    """(title, body) per reST section; a title is a line underlined (optionally also overlined) with = - ~ ^ *
    " # + at least as long as the title. Text before the first title comes back with title ''."""
    lines = text.splitlines()
    titles = [i for i in range(len(lines) - 1) if _is_rst_title(lines, i)]
    starts = []
    for i in titles:
        has_overline = i > 0 and lines[i - 1].rstrip() == lines[i + 1].rstrip()
        starts.append((i - 1 if has_overline else i, i))
    sections = [("", "\n".join(lines[: starts[0][0] if starts else len(lines)]))]
    for n, (_start, title_at) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(lines)
        sections.append((lines[title_at].strip(), "\n".join(lines[title_at + 2 : end])))
    return sections


def parse_rst(text: str, relpath: str) -> Iterator[Record]:
    """Python docs `_sources/<relpath>.rst.txt` -> one record per section of at least MIN_SECTION_CHARS."""
    doc = relpath.removesuffix(".txt").removesuffix(".rst")
    used: set[str] = set()
    for title, body in split_rst_sections(text):
        title, body = _RST_ROLE.sub(_rst_role, title), _RST_ROLE.sub(_rst_role, body).strip()
        section_text = f"{title}\n\n{body}" if title else body
        if len(section_text) < MIN_SECTION_CHARS:
            continue
        slug = unique_slug(slugify(title) if title else "intro", used)
        yield make_record(section_text, "python-docs", f"pydoc://{doc}#{slug}", file=relpath, section=title)


def _rst_role(match: re.Match[str]) -> str:
    """:func:`~os.path.join` -> os.path.join; :pep:`8` -> PEP 8 (the role is the noun there)."""
    role, text = match.group(1), match.group(2)
    return f"{role.upper()} {text}" if role in ("pep", "rfc") else text
