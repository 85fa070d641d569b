"""Heuristic quality signals, Gopher (Rae et al. 2021, appendix A) / C4 style: computed here, thresholded later.

Reads a document's ``text``; writes the columns of ``SIGNAL_COLUMNS`` (the signal part of ``silver.quality``).
Scoring and deciding are separate: ``signals`` / ``signals_frame`` only measure, ``GOPHER_THRESHOLDS`` with
``gopher_failures`` / ``gopher_pass`` decide, so thresholds can change without rescoring.

Units. *words* = ``text.split()`` (whitespace tokens, kept as they are: no lower-casing, punctuation stays on);
*word chars* = the sum of the words' lengths (whitespace not counted); *lines* = the non-empty lines of the text,
stripped of surrounding whitespace (blank lines would otherwise dilute every line fraction).

| column              | definition                                                             | Gopher keeps |
|---------------------|------------------------------------------------------------------------|--------------|
| n_words             | number of words                                                        | 50..100,000  |
| mean_word_len       | word chars / n_words                                                   | 3..10        |
| symbol_ratio        | (count of '#' + count of '...' + count of '…') / n_words               | <= 0.1 (1)   |
| non_alpha_word_frac | fraction of words with no alphabetic character                         | <= 0.2 (2)   |
| dup_line_frac       | fraction of lines equal to an earlier line                             | <= 0.30      |
| dup_line_char_frac  | chars of those repeated lines / chars of all lines                     | <= 0.20      |
| top_2gram_char_frac | count x chars of the most frequent word 2-gram / word chars (3)        | <= 0.20      |
| dup_5gram_char_frac | chars of words inside a 5-gram occurring more than once / word chars   | <= 0.15      |
| bullet_line_frac    | fraction of lines starting with a bullet (4)                           | <= 0.9       |
| ellipsis_line_frac  | fraction of lines ending with '...' or '…'                             | <= 0.3       |
| stopword_count      | distinct words of {the, be, to, of, and, that, have, with} present (5) | >= 2         |

(1) Gopher bounds '#' and ellipses at 0.1 per word *each*; this column sums them (the schema's definition), which
    is at most twice as strict. (2) Gopher: ">= 80% of words contain an alphabetic character". A letter is a
    Unicode word character that is not a decimal digit or '_' (so the rare '½' or '²' count as letters).
    (3) 0 when no 2-gram occurs twice (a 2-gram seen once is not repetition; RedPajama-V2 does the same);
    overlapping occurrences ("ha ha ha") can push count x chars past the word chars, so the value is clipped to 1.
    (4) A line starting with '•', '‣' or '·', or with '-' / '*' followed by whitespace (a Markdown bullet;
    "--" attributions, "-5", "---" and "*emphasis*" are not bullets); a numbered "1." line is not a bullet.
    (5) Matched case-insensitively on words stripped of surrounding punctuation ("The," counts as "the").
Empty or zero-word text gives zeros everywhere (no NaN, no division error).
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Mapping

import numpy as np
import pandas as pd

SIGNAL_COLUMNS: tuple[str, ...] = (
    "n_words",
    "mean_word_len",
    "symbol_ratio",
    "non_alpha_word_frac",
    "dup_line_frac",
    "dup_line_char_frac",
    "top_2gram_char_frac",
    "dup_5gram_char_frac",
    "bullet_line_frac",
    "ellipsis_line_frac",
    "stopword_count",
)
INT_COLUMNS: frozenset[str] = frozenset({"n_words", "stopword_count"})

STOP_WORDS: frozenset[str] = frozenset({"the", "be", "to", "of", "and", "that", "have", "with"})

# Gopher's rules as inclusive (min, max) bounds per signal; None = unbounded on that side.
GOPHER_THRESHOLDS: dict[str, tuple[float | None, float | None]] = {
    "n_words": (50, 100_000),
    "mean_word_len": (3.0, 10.0),
    "symbol_ratio": (None, 0.1),
    "non_alpha_word_frac": (None, 0.2),
    "dup_line_frac": (None, 0.30),
    "dup_line_char_frac": (None, 0.20),
    "top_2gram_char_frac": (None, 0.20),
    "dup_5gram_char_frac": (None, 0.15),
    "bullet_line_frac": (None, 0.9),
    "ellipsis_line_frac": (None, 0.3),
    "stopword_count": (2, None),
}

# A whitespace token made only of non-alphabetic characters ([^\W\d_] is "a letter"; \s excluded explicitly).
# One C-level findall instead of a Python loop over words: the scan is linear, each token start is tried once.
_NON_ALPHA_WORD = re.compile(r"(?<!\S)(?:(?![^\W\d_])\S)+(?!\S)")
_BULLET_MARKS = ("•", "‣", "·")
_ELLIPSES = ("...", "…")
_PUNCT = string.punctuation + "“”‘’«»…"


def _zeros() -> dict[str, float | int]:
    return {c: (0 if c in INT_COLUMNS else 0.0) for c in SIGNAL_COLUMNS}


def _is_bullet(line: str) -> bool:
    # `line` is stripped and non-empty.
    if line.startswith(_BULLET_MARKS):
        return True
    return line[0] in "-*" and (len(line) == 1 or line[1].isspace())


def _top_2gram_char_frac(words: list[str], word_chars: int) -> float:
    if len(words) < 2:
        return 0.0
    (a, b), count = Counter(zip(words, words[1:], strict=False)).most_common(1)[0]
    if count < 2:
        return 0.0
    return min(1.0, count * (len(a) + len(b)) / word_chars)


def _dup_5gram_char_frac(words: list[str], lengths: list[int], word_chars: int) -> float:
    grams = list(zip(words, words[1:], words[2:], words[3:], words[4:], strict=False))
    counts = Counter(grams)
    if len(counts) == len(grams):  # every 5-gram unique (also covers < 5 words)
        return 0.0
    covered = bytearray(len(words))  # 1 = word lies inside some repeated 5-gram; overlaps marked once
    for i, gram in enumerate(grams):
        if counts[gram] > 1:
            covered[i : i + 5] = b"\x01\x01\x01\x01\x01"
    return sum(n for n, c in zip(lengths, covered, strict=True) if c) / word_chars


def signals(text: str) -> dict[str, float | int]:
    """The signals of one document, keyed by ``SIGNAL_COLUMNS`` (definitions in the module docstring)."""
    if not isinstance(text, str):
        raise TypeError(f"signals() needs a str, got {type(text).__name__}; null texts belong in ops.quarantine")
    words = text.split()
    n_words = len(words)
    if n_words == 0:
        return _zeros()
    lengths = list(map(len, words))
    word_chars = sum(lengths)

    lines = [s for raw in text.splitlines() if (s := raw.strip())]
    seen: set[str] = set()
    n_dup = dup_chars = line_chars = n_bullet = n_ellipsis = 0
    for line in lines:
        line_chars += len(line)
        if line in seen:
            n_dup += 1
            dup_chars += len(line)
        else:
            seen.add(line)
        n_bullet += _is_bullet(line)
        n_ellipsis += line.endswith(_ELLIPSES)
    n_lines = len(lines)  # >= 1: there is at least one word

    lowered = {w.strip(_PUNCT) for w in set(text.lower().split())}
    return {
        "n_words": n_words,
        "mean_word_len": word_chars / n_words,
        "symbol_ratio": (text.count("#") + text.count("...") + text.count("…")) / n_words,
        "non_alpha_word_frac": len(_NON_ALPHA_WORD.findall(text)) / n_words,
        "dup_line_frac": n_dup / n_lines,
        "dup_line_char_frac": dup_chars / line_chars,
        "top_2gram_char_frac": _top_2gram_char_frac(words, word_chars),
        "dup_5gram_char_frac": _dup_5gram_char_frac(words, lengths, word_chars),
        "bullet_line_frac": n_bullet / n_lines,
        "ellipsis_line_frac": n_ellipsis / n_lines,
        "stopword_count": len(STOP_WORDS & lowered),
    }


def signals_frame(texts: pd.Series) -> pd.DataFrame:
    """One row of signals per text, columns in ``SIGNAL_COLUMNS`` order (int32 counts, float64 fractions).

    The index is the input's, so the result lines up with the batch it came from (e.g. its ``doc_id`` column).
    """
    rows = [signals(t) for t in texts]
    data = {
        c: np.fromiter((r[c] for r in rows), dtype=np.int32 if c in INT_COLUMNS else np.float64, count=len(rows))
        for c in SIGNAL_COLUMNS
    }
    return pd.DataFrame(data, index=texts.index, columns=list(SIGNAL_COLUMNS))


def _rule_names(column: str) -> tuple[str, str]:
    return f"{column}_too_low", f"{column}_too_high"


def gopher_failures(row: Mapping) -> list[str]:
    """Names of the Gopher rules a signal row breaks, e.g. ``["n_words_too_low", "stopword_count_too_low"]``.

    Rule names are ``<column>_too_low`` / ``<column>_too_high``, in ``GOPHER_THRESHOLDS`` order; [] = passes.
    """
    failed = []
    for column, (lo, hi) in GOPHER_THRESHOLDS.items():
        too_low, too_high = _rule_names(column)
        value = row[column]
        if lo is not None and value < lo:
            failed.append(too_low)
        if hi is not None and value > hi:
            failed.append(too_high)
    return failed


def gopher_pass(frame: pd.DataFrame) -> pd.Series:
    """Vectorised ``not gopher_failures(row)``: True where a row of ``signals_frame`` passes every Gopher rule."""
    ok = pd.Series(True, index=frame.index)
    for column, (lo, hi) in GOPHER_THRESHOLDS.items():
        if lo is not None:
            ok &= frame[column] >= lo
        if hi is not None:
            ok &= frame[column] <= hi
    return ok
