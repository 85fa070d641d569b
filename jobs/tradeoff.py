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


# A temperature trace set is the baseline of an antidistillation one when the two differ only in the Delta term
# (and the proxy that made it): same eval set, teacher, tau, top_p and seed.
PAIR_KEYS = ("eval_set_id", "teacher_id", "tau", "top_p", "seed")


def paired_gaps(rows: list[dict]) -> list[dict]:
    """Antidistillation minus temperature sampling at the same tau, paired by seed: one dict per antidistillation
    setting with an evaluated student and a baseline student of the same seed, in first-seen order.

    Per pair, the teacher accuracy gap (what the Delta term cost the teacher) and the student pass@1 gap (what it
    cost the student); mean and sample std over the pairs, and the student gap in standard errors, a paired t statistic (mean / (std /
    sqrt(n)), None below two pairs): the paper's claim is a student gap well below zero with a teacher gap near it.
    """
    baseline = {
        tuple(r[k] for k in PAIR_KEYS): r
        for r in rows
        if r["method"] == "temperature" and r["student_pass_at_1"] is not None
    }
    groups: dict[tuple, list[tuple[dict, dict]]] = {}
    for r in rows:
        base = baseline.get(tuple(r[k] for k in PAIR_KEYS))
        if r["method"] == "antidistillation" and r["student_pass_at_1"] is not None and base is not None:
            groups.setdefault(tuple(r[k] for k in SETTING_KEYS), []).append((r, base))
    gaps = []
    for key, pairs in groups.items():
        teacher_mean, teacher_std = mean_std(r["teacher_accuracy"] - b["teacher_accuracy"] for r, b in pairs)
        student_mean, student_std = mean_std(r["student_pass_at_1"] - b["student_pass_at_1"] for r, b in pairs)
        n = len(pairs)
        gaps.append(
            {
                **dict(zip(SETTING_KEYS, key, strict=True)),
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
