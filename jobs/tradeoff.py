"""``mixlake tradeoff``: the antidistillation paper's Figure 1 as a table: the teacher's accuracy on each trace
set against the accuracy of the student distilled from it, per seed and then per setting (mean and spread).

The rows come from the ``tradeoff`` mart (sql/marts/tradeoff.sql) on the latest eval set; ``tradeoff_summary``
groups replicate seeds of one setting. A good antidistillation setting keeps teacher accuracy near the
temperature baseline while its student's pass@1 falls below the students of equally accurate temperature sets.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable

from pyspark.sql import DataFrame, SparkSession

from jobs import lake as lake_io
from jobs.config import ConfigError
from jobs.session import register_lake_tables
from jobs.sql_runner import resolve_query, run_sql
from schemas.tables import DOWNSTREAM_TRACES, EVAL_PASS_AT_K

# A setting is everything that made a trace set except its seed, and the eval set its student was scored on:
# rows that differ only in seed are replicates, and are averaged.
SETTING_KEYS = ("eval_set_id", "teacher_id", "proxy_id", "method", "tau", "top_p", "lam", "eps")

# What the marts read, in pipeline order, with the command that writes each.
_NEEDED = (
    (DOWNSTREAM_TRACES, "`mixlake teacher` then `mixlake traces` (then `mixlake distill` and `mixlake evaluate`)"),
    (EVAL_PASS_AT_K, "`mixlake distill` then `mixlake evaluate`"),
)


def missing_tables(spark: SparkSession, lake: str) -> str | None:
    """What to run before the downstream marts can answer (None when their tables exist)."""
    for spec, fix in _NEEDED:
        if not lake_io.exists(spark, lake, spec):
            return f"{spec.name} does not exist yet in {lake}; run {fix} first"
    return None


def mart(spark: SparkSession, lake: str, name: str, params: dict[str, object] | None = None) -> DataFrame:
    """A view from sql/ run against ``lake`` (its tables registered by name first: the catalog is per process)."""
    register_lake_tables(spark, lake)
    return run_sql(spark, resolve_query(name, None)[1], params or {})


def tradeoff_rows(spark: SparkSession, lake: str, eval_set_id: str = "latest") -> list[dict]:
    """The tradeoff mart's rows: one per trace set, ordered by method, tau, lam, seed."""
    lake = lake_io.normalize_lake(lake)
    problem = missing_tables(spark, lake)
    if problem:
        raise ConfigError(problem)
    return [r.asDict() for r in mart(spark, lake, "tradeoff", {"eval_set_id": eval_set_id}).collect()]


def mean_std(values: Iterable[float | None]) -> tuple[float | None, float | None]:
    """(mean, sample std) of the values that are not None; std is None below two values, both None for none."""
    present = [v for v in values if v is not None]
    if not present:
        return None, None
    return statistics.fmean(present), statistics.stdev(present) if len(present) > 1 else None


def tradeoff_summary(rows: list[dict]) -> list[dict]:
    """One dict per setting (SETTING_KEYS), in first-seen order: seeds, and mean / std over them of the teacher's
    accuracy and of the student's pass@1 (students not evaluated yet are left out of the student figures)."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault(tuple(r[k] for k in SETTING_KEYS), []).append(r)
    summary = []
    for key, group in groups.items():
        teacher_mean, teacher_std = mean_std(r["teacher_accuracy"] for r in group)
        student_mean, student_std = mean_std(r["student_pass_at_1"] for r in group)
        summary.append(
            {
                **dict(zip(SETTING_KEYS, key, strict=True)),
                "n_seeds": len(group),
                "seeds": sorted(r["seed"] for r in group),
                "teacher_accuracy_mean": teacher_mean,
                "teacher_accuracy_std": teacher_std,
                "n_students": sum(r["student_pass_at_1"] is not None for r in group),
                "student_pass_at_1_mean": student_mean,
                "student_pass_at_1_std": student_std,
                "teacher_pass_at_1": group[0]["teacher_pass_at_1"],
            }
        )
    return summary


# The baseline of an antidistillation setting is a temperature setting of the same eval set, teacher and top_p
# (paired by seed): the one whose mean teacher accuracy is nearest, as the paper's Figure 1 compares students at
# equal teacher accuracy. Heat costs the teacher accuracy too; the claim is that Delta costs the student more.
BASELINE_KEYS = ("eval_set_id", "teacher_id", "top_p")


def paired_gaps(rows: list[dict]) -> list[dict]:
    """Antidistillation minus temperature sampling at (nearly) equal teacher accuracy, paired by seed: one dict per
    antidistillation setting with evaluated students and a baseline student of the same seed, in first-seen order.

    The baseline is the temperature setting (a tau of the grid) whose mean teacher accuracy over seeds is nearest
    the antidistillation setting's (``baseline_tau``; the lower tau on a tie). Per pair, the teacher accuracy gap
    (what is left of the accuracy difference) and the student pass@1 gap; mean and sample std over the pairs, and
    the student gap in standard errors, a paired t statistic (mean / (std / sqrt(n)); None below two pairs).
    The paper's claim is a student gap well below zero with a teacher gap near zero.
    """
    temperature: dict[tuple, dict[float, dict[int, dict]]] = {}  # baseline key -> tau -> seed -> row
    for r in rows:
        if r["method"] == "temperature":
            temperature.setdefault(tuple(r[k] for k in BASELINE_KEYS), {}).setdefault(r["tau"], {})[r["seed"]] = r
    settings: dict[tuple, list[dict]] = {}
    for r in rows:
        if r["method"] == "antidistillation":
            settings.setdefault(tuple(r[k] for k in SETTING_KEYS), []).append(r)
    gaps = []
    for key, group in settings.items():
        taus = temperature.get(tuple(group[0][k] for k in BASELINE_KEYS))
        if not taus:
            continue
        accuracy = mean_std(r["teacher_accuracy"] for r in group)[0]
        tau_accuracy = {t: mean_std(b["teacher_accuracy"] for b in taus[t].values())[0] for t in sorted(taus)}
        tau = min(tau_accuracy, key=lambda t: abs(tau_accuracy[t] - accuracy))  # the lower tau on a tie
        pairs = [
            (r, taus[tau][r["seed"]])
            for r in group
            if r["student_pass_at_1"] is not None
            and r["seed"] in taus[tau]
            and taus[tau][r["seed"]]["student_pass_at_1"] is not None
        ]
        if not pairs:
            continue
        teacher_mean, teacher_std = mean_std(r["teacher_accuracy"] - b["teacher_accuracy"] for r, b in pairs)
        student_mean, student_std = mean_std(r["student_pass_at_1"] - b["student_pass_at_1"] for r, b in pairs)
        n = len(pairs)
        gaps.append(
            {
                **dict(zip(SETTING_KEYS, key, strict=True)),
                "baseline_tau": tau,
                "n_pairs": n,
                "seeds": sorted(r["seed"] for r, _ in pairs),
                "teacher_gap_mean": teacher_mean,
                "teacher_gap_std": teacher_std,
                "student_gap_mean": student_mean,
                "student_gap_std": student_std,
                "student_gap_t": None if not student_std else student_mean / (student_std / math.sqrt(n)),
            }
        )
    return gaps
