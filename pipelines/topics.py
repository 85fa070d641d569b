"""Human-readable topic terms per cluster by class-based TF-IDF (BERTopic's c-TF-IDF, Grootendorst 2022).

``terms`` runs in a Spark UDF over every document; Spark explodes and counts (cluster_id, term) pairs, and the
driver calls ``ctfidf_top_terms`` on that small table. A cluster's terms are for people reading
``gold.clusters`` and ``gold.super_clusters``; nothing downstream decides on them.
"""

from __future__ import annotations

import re
from itertools import islice

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

# Boilerplate of web pages, mail and markup, plus the stems the tokenizer leaves from English contractions
# ("don't" -> "don"): frequent everywhere, so they would only crowd out the distinctive terms.
_EXTRA_STOP_WORDS = {
    "http", "https", "www", "com", "org", "net", "edu", "html", "htm", "php", "xml",
    "nbsp", "amp", "quot", "apos", "href", "src", "div", "span", "img", "mailto",
    "wrote", "writes",
    "aren", "couldn", "didn", "doesn", "don", "hadn", "hasn", "haven", "isn", "shouldn", "wasn", "weren",
    "won", "wouldn",
}  # fmt: skip
STOP_WORDS: frozenset[str] = frozenset(ENGLISH_STOP_WORDS) | frozenset(_EXTRA_STOP_WORDS)

# ASCII letters only, 3..30 long, and a whole word: "mp3", "foo_bar" and 40-letter runs give no token.
_TOKEN = re.compile(r"\b[a-z]{3,30}\b")
# Texts longer than this many characters per wanted term are scanned lazily, stopping at max_terms.
_FINDALL_MAX_CHARS_PER_TERM = 32


def terms(text: str, max_terms: int = 2000) -> list[str]:
    """Lowercase alphabetic tokens (3..30 letters) of ``text`` minus ``STOP_WORDS``; the first ``max_terms``.

    A null text (Spark passes None) has no terms.
    """
    if not text:
        return []
    stop = STOP_WORDS
    lower = text.lower()
    if len(lower) <= _FINDALL_MAX_CHARS_PER_TERM * max_terms:
        tokens = _TOKEN.findall(lower)  # ~1.4x faster than finditer on a typical few-KB document
    else:
        tokens = (m.group() for m in _TOKEN.finditer(lower))  # a huge document costs no more than its head
    return list(islice((t for t in tokens if t not in stop), max_terms))


def ctfidf_top_terms(counts: pd.DataFrame, top_n: int = 8) -> dict[int, list[str]]:
    """Top ``top_n`` terms per cluster by c-TF-IDF, best first, ties broken alphabetically.

    Reads columns ``cluster_id, term, count`` (one row per pair; repeated pairs are summed). The weight of term t
    in cluster c is ``(count(t, c) / words(c)) * log(1 + A / count(t))`` where ``words(c)`` is the cluster's
    total count, ``count(t)`` the term's total over all clusters and ``A`` the mean words per cluster: a term
    frequent everywhere scores low, a term concentrated in one cluster scores high.
    """
    missing = {"cluster_id", "term", "count"} - set(counts.columns)
    if missing:
        raise ValueError(f"counts is missing columns {sorted(missing)}; expected cluster_id, term, count")
    if (counts["count"] < 0).any():
        raise ValueError("counts has negative values in column 'count'; expected term counts >= 0")
    df = (
        counts.loc[counts["count"] > 0, ["cluster_id", "term", "count"]]
        .groupby(["cluster_id", "term"], as_index=False, sort=False)["count"]
        .sum()
    )
    if df.empty:
        return {}
    count = df["count"].to_numpy(dtype=np.float64)
    words_in_cluster = df.groupby("cluster_id")["count"].transform("sum").to_numpy(dtype=np.float64)
    term_total = df.groupby("term")["count"].transform("sum").to_numpy(dtype=np.float64)
    mean_words = float(df.groupby("cluster_id")["count"].sum().mean())  # A
    df["weight"] = (count / words_in_cluster) * np.log1p(mean_words / term_total)
    top = (
        df.sort_values(["cluster_id", "weight", "term"], ascending=[True, False, True], kind="mergesort")
        .groupby("cluster_id", sort=True)
        .head(top_n)
    )
    return {int(cid): list(group) for cid, group in top.groupby("cluster_id", sort=True)["term"]}
