"""``jobs.tradeoff`` without the downstream pipeline: seeds grouped into settings on hand-made rows, and the fix
named on a lake that has no downstream tables. The marts themselves are tested on the pipeline's lake at the end
of tests/jobs/test_downstream.py (one pipeline per session is what the 2-core budget allows)."""

from __future__ import annotations

import statistics

import pytest

from jobs.cli import main
from jobs.config import ConfigError
from jobs.tradeoff import paired_gaps, tradeoff_rows, tradeoff_summary


def _row(method: str, lam: float, seed: int, teacher_accuracy: float, student, teacher_id: str = "teacher-a"):
    return {
        "eval_set_id": "eval-1",
        "teacher_id": teacher_id,
        "proxy_id": None if method == "temperature" else "proxy-a",
        "method": method,
        "tau": 1.0,
        "top_p": 0.95,
        "lam": lam,
        "eps": None if method == "temperature" else 0.01,
        "seed": seed,
        "teacher_accuracy": teacher_accuracy,
        "student_pass_at_1": student,
        "teacher_pass_at_1": 0.9,
    }


def test_tradeoff_summary_averages_the_seeds_of_one_setting():
    rows = [
        _row("antidistillation", 3.0, 2, 0.70, 0.10),
        _row("antidistillation", 3.0, 0, 0.50, 0.20),
        _row("antidistillation", 3.0, 1, 0.60, None),  # distilled, not evaluated yet
        _row("antidistillation", 5.0, 0, 0.40, 0.05),
        _row("temperature", 0.0, 0, 0.80, 0.30),
        _row("temperature", 0.0, 0, 0.20, 0.60, teacher_id="teacher-b"),  # another teacher: not a replicate
    ]
    summary = tradeoff_summary(rows)
    assert [(s["method"], s["lam"], s["teacher_id"]) for s in summary] == [
        ("antidistillation", 3.0, "teacher-a"),
        ("antidistillation", 5.0, "teacher-a"),
        ("temperature", 0.0, "teacher-a"),
        ("temperature", 0.0, "teacher-b"),
    ]
    three = summary[0]
    assert three["n_seeds"] == 3 and three["seeds"] == [0, 1, 2] and three["n_students"] == 2
    assert three["teacher_accuracy_mean"] == pytest.approx(0.6)
    assert three["teacher_accuracy_std"] == pytest.approx(0.1)  # sample std of 0.5, 0.6, 0.7
    assert three["student_pass_at_1_mean"] == pytest.approx(0.15)
    assert three["student_pass_at_1_std"] == pytest.approx(statistics.stdev([0.1, 0.2]))
    assert three["teacher_pass_at_1"] == 0.9
    one = summary[1]
    assert (one["n_seeds"], one["teacher_accuracy_mean"], one["student_pass_at_1_mean"]) == (1, 0.40, 0.05)
    assert one["teacher_accuracy_std"] is None and one["student_pass_at_1_std"] is None
    assert summary[3]["teacher_accuracy_mean"] == 0.20 and summary[3]["n_seeds"] == 1
    assert tradeoff_summary([]) == []


def test_paired_gaps_against_the_temperature_setting_of_nearest_teacher_accuracy():
    def hot(seed: int, teacher_accuracy: float, student):  # a temperature set at tau 1.5
        return _row("temperature", 0.0, seed, teacher_accuracy, student) | {"tau": 1.5}

    rows = [
        _row("temperature", 0.0, 0, 0.90, 0.50),
        _row("temperature", 0.0, 1, 0.80, 0.40),  # tau 1: mean teacher accuracy 0.85
        hot(0, 0.60, 0.45),
        hot(1, 0.50, 0.35),
        hot(2, 0.55, None),  # tau 1.5: mean 0.55; seed 2's student not evaluated: no pair
        _row("antidistillation", 0.3, 0, 0.88, 0.30),
        _row("antidistillation", 0.3, 1, 0.82, 0.30),
        _row("antidistillation", 0.3, 2, 0.80, 0.10),  # mean 0.833: nearest tau 1, which has no seed 2
        _row("antidistillation", 1.0, 0, 0.60, 0.05),
        _row("antidistillation", 1.0, 1, 0.50, 0.15),
        _row("antidistillation", 1.0, 2, 0.55, 0.25),  # mean 0.55: nearest tau 1.5
        _row("antidistillation", 0.3, 0, 0.70, 0.00, teacher_id="teacher-b"),  # no temperature set: no baseline
    ]
    gaps = paired_gaps(rows)
    assert [(g["lam"], g["baseline_tau"], g["teacher_id"], g["n_pairs"], g["seeds"]) for g in gaps] == [
        (0.3, 1.0, "teacher-a", 2, [0, 1]),
        (1.0, 1.5, "teacher-a", 2, [0, 1]),
    ]
    mild, strong = gaps
    assert mild["teacher_gap_mean"] == pytest.approx(0.0)  # -0.02 and +0.02
    assert mild["student_gap_mean"] == pytest.approx(-0.15)  # -0.2 and -0.1
    assert mild["student_gap_std"] == pytest.approx(statistics.stdev([-0.2, -0.1]))
    assert mild["student_gap_t"] == pytest.approx(-3.0)  # -0.15 / (0.0707 / sqrt(2))
    assert strong["teacher_gap_mean"] == pytest.approx(0.0)
    assert strong["student_gap_mean"] == pytest.approx(-0.3)  # -0.4 and -0.2
    one = paired_gaps(rows[:2] + rows[5:6])[0]
    assert one["n_pairs"] == 1 and one["student_gap_mean"] == pytest.approx(-0.2) and one["student_gap_t"] is None
    assert paired_gaps([r for r in rows if r["method"] == "antidistillation"]) == []


def test_tradeoff_without_downstream_tables_names_the_fix(spark, tmp_path, capsys):
    empty = str(tmp_path / "empty")
    with pytest.raises(ConfigError, match="downstream.traces does not exist yet"):
        tradeoff_rows(spark, empty)
    assert main(["tradeoff", "--lake", empty]) == 2
    assert "run `mixlake teacher` then `mixlake traces`" in " ".join(capsys.readouterr().err.split())  # unwrapped
