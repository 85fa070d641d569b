"""man(7) troff pages (``<name>.<section>[.gz]``), rendered to plain text as man(1) would fill them.

Yields one record per page (none for a page that only ``.so``-redirects): source ``manpages``,
url ``man://<section>/<name>``, meta ``{"name", "section"}``.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator

from pipelines.corpus.records import Record, make_record

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
