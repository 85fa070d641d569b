import numpy as np
import pandas as pd
import pytest

from pipelines.quality_signals import (
    GOPHER_THRESHOLDS,
    SIGNAL_COLUMNS,
    gopher_failures,
    gopher_pass,
    signals,
    signals_frame,
)

PARAGRAPH = (
    "The committee met on Tuesday to review the budget for the coming year. After a long discussion of the "
    "costs of maintaining the old library building, the members agreed that the roof should be repaired before "
    "winter and that the reading room would stay open with shorter hours. A small group will report on the "
    "options for a new heating system at the next meeting, and the treasurer promised to publish the accounts "
    "online so that residents can follow how the money is spent."
)


def test_columns_and_types():
    s = signals(PARAGRAPH)
    assert tuple(s) == SIGNAL_COLUMNS
    assert isinstance(s["n_words"], int) and isinstance(s["stopword_count"], int)
    assert all(isinstance(s[c], float) for c in SIGNAL_COLUMNS if c not in ("n_words", "stopword_count"))


@pytest.mark.parametrize("text", ["", "   \n\n\t  "])
def test_empty_text_is_all_zeros(text):
    s = signals(text)
    assert s == {c: 0 for c in SIGNAL_COLUMNS}
    assert isinstance(s["mean_word_len"], float) and isinstance(s["n_words"], int)


def test_repeated_line():
    s = signals("the cat sat\nthe cat sat\n\nand that was all")
    assert s["n_words"] == 10
    assert s["mean_word_len"] == pytest.approx(31 / 10)
    assert s["dup_line_frac"] == pytest.approx(1 / 3)  # the blank line does not count
    assert s["dup_line_char_frac"] == pytest.approx(11 / 38)
    assert s["top_2gram_char_frac"] == pytest.approx(2 * 6 / 31)  # "the cat" twice, 6 word chars
    assert s["dup_5gram_char_frac"] == 0.0  # no 5-gram repeats
    assert s["stopword_count"] == 3  # the, and, that
    assert s["symbol_ratio"] == s["bullet_line_frac"] == s["ellipsis_line_frac"] == s["non_alpha_word_frac"] == 0


def test_duplicate_5grams_count_covered_words_once():
    s = signals("one two three four five six one two three four five")
    assert s["dup_5gram_char_frac"] == pytest.approx(38 / 41)  # every word but "six"
    assert s["top_2gram_char_frac"] == pytest.approx(2 * 6 / 41)
    # Overlapping repeated 5-grams (abcde and bcdef both twice) cover each word once: 1.0, not 20/12.
    assert signals("a b c d e f a b c d e f")["dup_5gram_char_frac"] == 1.0


def test_top_2gram_is_zero_without_repetition_and_clipped_at_one():
    assert signals("alpha beta gamma delta")["top_2gram_char_frac"] == 0.0
    # "ha ha" occurs 6 times in 7 words: 6 * 4 chars > 14 word chars, so the fraction is clipped.
    assert signals(" ".join(["ha"] * 7))["top_2gram_char_frac"] == 1.0


def test_bullets():
    text = (
        "Shopping:\n- eggs\n* milk\n\n• bread\n‣ jam\n· tea\n  - indented\n"
        "1. butter\n-- Anon\n*bold*\n-5 degrees\n---"
    )
    # bullets: - * • ‣ · and the indented "-"; not: title, "1.", "--", "*bold*", "-5", "---"
    assert signals(text)["bullet_line_frac"] == pytest.approx(6 / 12)


def test_ellipses_and_hashes():
    s = signals("# Title\nwait for it...\nand then…\n## sub\nthe end.")
    assert s["n_words"] == 11
    assert s["symbol_ratio"] == pytest.approx((3 + 1 + 1) / 11)  # three '#', one '...', one '…'
    assert s["ellipsis_line_frac"] == pytest.approx(2 / 5)
    assert s["non_alpha_word_frac"] == pytest.approx(2 / 11)  # "#" and "##"
    assert s["stopword_count"] == 2


def test_numbers_only():
    s = signals("1 2 3\n4.5 -6 7,000")
    assert s["n_words"] == 6
    assert s["non_alpha_word_frac"] == 1.0
    assert s["mean_word_len"] == pytest.approx(13 / 6)
    assert s["stopword_count"] == 0
    assert s["bullet_line_frac"] == 0.0


def test_stopwords_ignore_case_and_surrounding_punctuation():
    # the, be, of, with count; "to-do" and "That's" are other words; "have" is absent.
    assert signals("The, BE to-do (of) That's with With")["stopword_count"] == 4


def test_non_alpha_matches_a_per_word_check():
    text = "café 42 é1 _ -- x1 ... (7) naïve 3.14 — Ωmega 2024-01-01 hello!"
    words = text.split()
    expected = sum(not any(ch.isalpha() for ch in w) for w in words) / len(words)
    assert signals(text)["non_alpha_word_frac"] == pytest.approx(expected)
    assert expected == pytest.approx(8 / 14)


def test_signals_frame_dtypes_order_index_and_values():
    texts = pd.Series(["", PARAGRAPH, "1 2 3"], index=[10, 20, 30])
    frame = signals_frame(texts)
    assert list(frame.columns) == list(SIGNAL_COLUMNS)
    assert list(frame.index) == [10, 20, 30]
    for c in SIGNAL_COLUMNS:
        assert frame[c].dtype == (np.int32 if c in ("n_words", "stopword_count") else np.float64)
    for idx, text in texts.items():
        assert frame.loc[idx].to_dict() == pytest.approx(signals(text))
    empty = signals_frame(pd.Series([], dtype=object))
    assert len(empty) == 0 and empty["n_words"].dtype == np.int32


def test_signals_reject_non_strings():
    with pytest.raises(TypeError, match="quarantine"):
        signals_frame(pd.Series(["ok", None]))


def test_gopher_passes_a_normal_paragraph():
    assert gopher_failures(signals(PARAGRAPH)) == []


def test_gopher_flags_spam():
    spam = "\n".join(["BUY NOW!!! CHEAP PILLS ### $$$ 100% OFF..."] * 12)
    failed = gopher_failures(signals(spam))
    for rule in (
        "symbol_ratio_too_high",
        "dup_line_frac_too_high",
        "dup_line_char_frac_too_high",
        "top_2gram_char_frac_too_high",
        "dup_5gram_char_frac_too_high",
        "ellipsis_line_frac_too_high",
        "stopword_count_too_low",
    ):
        assert rule in failed
    assert "n_words_too_low" not in failed  # 96 words


def test_gopher_flags_a_list():
    items = ["- apples", "- pears", "- plums", "- figs", "- dates", "- limes", "- kiwis", "- grapes"]
    failed = gopher_failures(signals("\n".join(items * 2)))
    assert failed == [
        "n_words_too_low",
        "non_alpha_word_frac_too_high",  # every other word is a "-"
        "dup_line_frac_too_high",
        "dup_line_char_frac_too_high",
        "dup_5gram_char_frac_too_high",
        "bullet_line_frac_too_high",
        "stopword_count_too_low",
    ]


def test_gopher_bounds_are_inclusive():
    at_bounds = {c: (lo if lo is not None else hi) for c, (lo, hi) in GOPHER_THRESHOLDS.items()}
    assert gopher_failures(at_bounds) == []
    assert gopher_failures({**at_bounds, "n_words": 49}) == ["n_words_too_low"]
    assert gopher_failures({**at_bounds, "n_words": 100_001}) == ["n_words_too_high"]
    assert gopher_failures({**at_bounds, "mean_word_len": 10.5}) == ["mean_word_len_too_high"]


def test_gopher_pass_agrees_with_gopher_failures():
    spam = "\n".join(["BUY NOW!!! CHEAP PILLS ### $$$ 100% OFF..."] * 12)
    frame = signals_frame(pd.Series([PARAGRAPH, spam, "", "1 2 3", PARAGRAPH + "\n" + PARAGRAPH]))
    expected = [not gopher_failures(row) for row in frame.to_dict("records")]
    assert gopher_pass(frame).tolist() == expected == [True, False, False, False, False]
