"""The mixture-search part of ``mixlake report``: predicted vs measured, weights per method, best-so-far per
proxy run, and the table of every method's re-measured answer. Absent until a search has finished."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs import lake as lake_io
from jobs.search import comparison
from schemas.tables import GOLD_MIXTURE_TRIALS


def _plots(trials: pd.DataFrame, mixtures: pd.DataFrame, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.stats import spearmanr

    names = []
    proposed = trials[trials["predicted"].notna() & (trials["method"] == "climb")]
    if len(proposed) >= 2:
        fig, ax = plt.subplots(figsize=(5, 5))
        ax.scatter(proposed["predicted"], proposed["objective"], c=proposed["iteration"], cmap="viridis")
        lo = min(proposed["predicted"].min(), proposed["objective"].min())
        hi = max(proposed["predicted"].max(), proposed["objective"].max())
        ax.plot([lo, hi], [lo, hi], "k--", lw=1)
        rho = spearmanr(proposed["predicted"], proposed["objective"]).statistic
        ax.set(
            xlabel="predicted target loss", ylabel="measured target loss", title=f"iterations >= 2 (ρ={rho:.2f})"
        )
        fig.tight_layout(), fig.savefig(out / "predicted_vs_measured.png", dpi=100), plt.close(fig)
        names.append("predicted_vs_measured.png")

    sids = sorted(dict(mixtures["weights"].iloc[0]))
    fig, ax = plt.subplots(figsize=(max(6, len(sids) * 0.6), 4))
    width = 0.8 / len(mixtures)
    for i, r in enumerate(mixtures.itertuples()):
        w = dict(r.weights)
        ax.bar(np.arange(len(sids)) + i * width, [w[s] for s in sids], width, label=r.method)
    ax.set_xticks(np.arange(len(sids)) + 0.4 - width / 2, [str(s) for s in sids])
    ax.set(xlabel="super_cluster_id", ylabel="weight", title="mixture weights per method")
    ax.legend()
    fig.tight_layout(), fig.savefig(out / "weights_per_method.png", dpi=100), plt.close(fig)
    names.append("weights_per_method.png")

    fig, ax = plt.subplots(figsize=(6, 4))
    for method, group in trials.groupby("method"):
        best = group.sort_values("trial_number")["objective"].cummin().to_numpy()
        ax.step(np.arange(1, len(best) + 1), best, where="post", label=f"{method} (best so far)")
    for r in mixtures[mixtures["method"].isin(["uniform", "natural"])].itertuples():
        ax.axhline(r.remeasured_mean, ls=":", color="grey")
        ax.annotate(r.method, (1, r.remeasured_mean), fontsize=8, va="bottom")
    ax.set(xlabel="proxy run", ylabel="target loss", title="best-so-far per proxy run")
    ax.legend()
    fig.tight_layout(), fig.savefig(out / "best_so_far.png", dpi=100), plt.close(fig)
    names.append("best_so_far.png")
    return names


def search_section(spark: SparkSession, lake: str, out: Path) -> list[str]:
    """HTML parts for the latest finished search (none if there is none)."""
    mixtures = comparison(spark, lake)
    if mixtures is None or mixtures.empty:
        return []
    search = mixtures["search"].iloc[0]
    trials = (
        lake_io.read(spark, lake, GOLD_MIXTURE_TRIALS)[0]
        .filter(F.col("study").isin(search, f"{search}-random"))
        .toPandas()
    )
    images = _plots(trials, mixtures, out)
    table = mixtures[["method", "remeasured_mean", "remeasured_std", "search_objective", "proxy_runs", "chosen"]]
    weights = pd.DataFrame([dict(w) for w in mixtures["weights"]], index=mixtures["method"]).round(3)
    return [
        f"<h2>Mixture search {html.escape(search)}</h2>",
        "<p>Target loss of each method's answer, re-measured with fresh seeds (lower is better).</p>",
        table.to_html(index=False, float_format=lambda v: f"{v:.4f}"),
        *[f"<h3>{html.escape(n[:-4].replace('_', ' '))}</h3><img src='{n}'>" for n in images],
        "<h3>weights (rows: method, columns: super_cluster_id)</h3>",
        weights.to_html(),
    ]
