import pandas as pd
import pytest

from pipelines.topics import STOP_WORDS, ctfidf_top_terms, terms


def test_terms_lowercases_keeps_3_to_30_letter_words_and_drops_stop_words():
    text = "The Quick brown FOX jumps over an ox; see http://www.example.com/index.html"
    assert terms(text) == ["quick", "brown", "fox", "jumps", "example", "index"]


def test_terms_drops_words_with_digits_or_underscores_and_overlong_runs():
    text = "mp3 foo_bar x" + "a" * 31 + " " + "b" * 30 + " don't stop"
    assert terms(text) == ["b" * 30, "stop"]


def test_terms_stops_after_max_terms_and_handles_empty_text():
    assert terms("alpha beta gamma delta epsilon", max_terms=3) == ["alpha", "beta", "gamma"]
    # A long text takes the lazy path; the result is the same head.
    long_text = "The alpha and the beta, " * 1000
    assert terms(long_text, max_terms=3) == ["alpha", "beta", "alpha"]
    assert terms(long_text, max_terms=10_000) == ["alpha", "beta"] * 1000
    assert terms("") == []
    assert terms(None) == []  # Spark passes null texts as None


def test_stop_words_cover_english_and_web_boilerplate():
    assert isinstance(STOP_WORDS, frozenset)
    assert {"the", "and", "http", "www", "com", "html", "nbsp"} <= STOP_WORDS
    assert "python" not in STOP_WORDS


def test_ctfidf_ranks_a_concentrated_term_above_one_frequent_everywhere():
    counts = pd.DataFrame(
        [
            (0, "data", 10),  # frequent in every cluster
            (0, "spark", 6),  # only in cluster 0
            (0, "delta", 6),  # only in cluster 0, ties with spark -> alphabetical
            (1, "data", 10),
            (1, "austen", 5),
            (1, "novel", 1),
            (2, "data", 10),
            (2, "perl", 2),
        ],
        columns=["cluster_id", "term", "count"],
    )
    # A = (22 + 16 + 12) / 3 words per cluster; "data" totals 30, so its idf factor log(1 + A/30) is 0.44.
    # Cluster 0: spark = delta = 6/22 * log(1 + A/6) = 0.363 > data = 10/22 * 0.44 = 0.201.
    # Cluster 1: austen 0.458 > data 0.276 > novel 1/16 * log(1 + A) = 0.180.
    # Cluster 2: perl 2/12 * log(1 + A/2) = 0.372 just beats data 10/12 * 0.44 = 0.368.
    top = ctfidf_top_terms(counts, top_n=3)
    assert top == {0: ["delta", "spark", "data"], 1: ["austen", "data", "novel"], 2: ["perl", "data"]}
    assert ctfidf_top_terms(counts, top_n=1) == {0: ["delta"], 1: ["austen"], 2: ["perl"]}


def test_ctfidf_is_deterministic_under_row_order_and_sums_repeated_pairs():
    counts = pd.DataFrame(
        {"cluster_id": [1, 0, 0, 1, 0], "term": ["b", "a", "c", "a", "a"], "count": [3, 2, 1, 1, 2]}
    )
    top = ctfidf_top_terms(counts, top_n=5)
    assert top == ctfidf_top_terms(counts.iloc[::-1], top_n=5)
    # Cluster 0: a=4 (summed), c=1. a's total is 5; c's is 1; a still wins on its 4x larger share.
    assert top[0] == ["a", "c"]
    assert top[1] == ["b", "a"]


def test_ctfidf_rejects_missing_columns_and_returns_empty_for_no_counts():
    with pytest.raises(ValueError, match="missing columns"):
        ctfidf_top_terms(pd.DataFrame({"cluster_id": [0], "term": ["x"]}))
    assert ctfidf_top_terms(pd.DataFrame({"cluster_id": [], "term": [], "count": []})) == {}
