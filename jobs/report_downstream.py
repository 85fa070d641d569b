"""The downstream part of ``mixlake report``: pass@k curves of every evaluated model, and the distillation
trade-off (teacher accuracy on a trace set against its student's pass@1) with its table. Absent until
`mixlake traces` and `mixlake evaluate` have written their tables."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd
from pyspark.sql import SparkSession

from jobs.tradeoff import mart, missing_tables, paired_gaps, tradeoff_rows, tradeoff_summary

SERIES = {  # method -> (the setting its points are labelled by, label format, colour)
    "temperature": ("tau", "τ={:g}", "tab:blue"),
    "antidistillation": ("lam", "λ={:g}", "tab:red"),
}
SUMMARY_COLUMNS = [
    "method",
    "tau",
    "lam",
    "n_seeds",
    "teacher_accuracy_mean",
    "teacher_accuracy_std",
    "student_pass_at_1_mean",
    "student_pass_at_1_std",
    "teacher_pass_at_1",
]
ROW_COLUMNS = [
    "method",
    "tau",
    "lam",
    "seed",
    "n_traces",
    "teacher_accuracy",
    "student_pass_at_1",
    "student_pass_at_n",
]
GAP_COLUMNS = [
    "tau",
    "lam",
    "baseline_tau",
    "n_pairs",
    "teacher_gap_mean",
    "teacher_gap_std",
    "student_gap_mean",
    "student_gap_std",
    "student_gap_t",
]
ROLE_STYLE = {"teacher": {"color": "black", "lw": 2.5}, "base": {"color": "grey", "ls": "--", "lw": 2}}


def _curves_plot(curves: pd.DataFrame, out: Path) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 5))
    for label, group in curves.groupby("model_label", sort=False):
        group = group.sort_values("k")
        style = ROLE_STYLE.get(group["role"].iloc[0], {})
        ax.plot(group["k"], group["pass_at_k"], marker="o", label=label, **style)
    ks = sorted(curves["k"].unique())
    ax.set_xscale("log", base=2)
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.set(xlabel="k (samples per problem)", ylabel="pass@k", ylim=(0, 1.02), title="pass@k on the eval problems")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout(), fig.savefig(out / "pass_at_k_curves.png", dpi=100), plt.close(fig)
    return "pass_at_k_curves.png"


def _tradeoff_plot(rows: list[dict], summary: list[dict], out: Path) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5))
    for method, (setting, fmt, colour) in SERIES.items():
        points = sorted(
            (s for s in summary if s["method"] == method and s["student_pass_at_1_mean"] is not None),
            key=lambda s: s[setting],
        )
        if not points:
            continue
        x = [p["teacher_accuracy_mean"] for p in points]
        y = [p["student_pass_at_1_mean"] for p in points]
        ax.errorbar(
            x,
            y,
            xerr=[p["teacher_accuracy_std"] or 0.0 for p in points],
            yerr=[p["student_pass_at_1_std"] or 0.0 for p in points],
            fmt="-o",
            color=colour,
            capsize=3,
            label=f"{method} (mean over seeds)" if any(p["n_seeds"] > 1 for p in points) else method,
        )
        for p, xi, yi in zip(points, x, y, strict=True):
            ax.annotate(fmt.format(p[setting]), (xi, yi), textcoords="offset points", xytext=(5, 5), fontsize=8)
    for column, name, style in (("teacher_pass_at_1", "teacher", ":"), ("base_pass_at_1", "base", "--")):
        values = {r[column] for r in rows if r[column] is not None}
        if len(values) == 1:  # one reference model; several (teachers, bases) would need a legend of their own
            ax.axhline(values.pop(), color="grey", ls=style, lw=1, label=f"{name} pass@1 (eval)")
    ax.set(
        xlabel="teacher accuracy on the trace set (train problems)",
        ylabel="student pass@1 (eval problems)",
        title="Distillation trade-off: teacher accuracy vs student accuracy",
    )
    ax.legend(fontsize=8)
    fig.tight_layout(), fig.savefig(out / "tradeoff.png", dpi=100), plt.close(fig)
    return "tradeoff.png"


def _numeric(frame: pd.DataFrame) -> pd.DataFrame:
    """Float columns where values may be None (a missing std or student), so the HTML shows them as na_rep."""
    ints = ("method", "n_seeds", "seed", "n_traces", "n_pairs")  # ints (and the method) stay as they are
    columns = [c for c in frame.columns if c not in ints]
    return frame.astype({c: "float64" for c in columns})


def downstream_section(spark: SparkSession, lake: str, out: Path) -> list[str]:
    """HTML parts for the latest eval set (none while the downstream tables do not exist)."""
    if missing_tables(spark, lake):
        return []
    curves = mart(spark, lake, "pass_at_k_curves").toPandas()
    rows = tradeoff_rows(spark, lake)
    if curves.empty or not rows:  # no eval set, or an empty traces table
        return []
    summary = tradeoff_summary(rows)
    images = [("pass@k per model", _curves_plot(curves, out))]
    if any(s["student_pass_at_1_mean"] is not None for s in summary):
        images.append(("Trade-off: teacher accuracy vs student pass@1", _tradeoff_plot(rows, summary, out)))
    table = _numeric(pd.DataFrame(summary)[SUMMARY_COLUMNS])
    every = _numeric(pd.DataFrame(rows)[ROW_COLUMNS])
    fmt = {"index": False, "na_rep": "—", "float_format": lambda v: f"{v:.3f}"}
    return [
        "<h2>Downstream: distillation from the teacher's traces</h2>",
        f"<p>eval set {html.escape(str(curves['eval_set_id'].iloc[0]))} "
        f"({int(curves['n_problems'].iloc[0])} problems, {int(curves['n_samples'].iloc[0])} samples each)</p>",
        *[f"<h3>{html.escape(title)}</h3><img src='{name}'>" for title, name in images],
        "<h3>Trade-off table (mean and sample std over seeds)</h3>",
        "<p>Teacher accuracy: the fraction of a trace set's traces that are correct. Student pass@1: the student "
        "distilled from that trace set, on the eval problems.</p>",
        table.to_html(**fmt),
        *_gaps_part(rows, fmt),
        "<h3>Every trace set</h3>",
        every.to_html(**fmt),
    ]


def _gaps_part(rows: list[dict], fmt: dict) -> list[str]:
    gaps = paired_gaps(rows)
    if not gaps:
        return []
    return [
        "<h3>Antidistillation against temperature sampling at equal teacher accuracy, paired by seed</h3>",
        "<p>Each antidistillation setting against the temperature setting nearest in mean teacher accuracy "
        "(baseline_tau): per seed, the antidistillation set's figure minus the temperature set's; mean and sample "
        "std over the pairs, and the student gap over its standard error (a paired t statistic). The paper's "
        "claim is a student gap well below zero with a teacher gap near zero.</p>",
        _numeric(pd.DataFrame(gaps)[GAP_COLUMNS]).to_html(**fmt),
    ]
