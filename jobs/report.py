"""``mixlake report``: PNG plots and one HTML page of what the lake holds, plus the curation figures people ask:
do super-clusters line up with the real sources (NMI), and how much spam is pruned vs reference text kept.
"""

from __future__ import annotations

import html
import logging
from pathlib import Path

import numpy as np
import pandas as pd
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs import lake as lake_io
from jobs.report_downstream import downstream_section
from jobs.report_search import search_section
from schemas.tables import BRONZE_DOCUMENTS, GOLD_CLUSTERS, GOLD_SUPER_CLUSTERS, SILVER_ASSIGNMENTS, SILVER_QUALITY

log = logging.getLogger(__name__)

SPAM_SOURCES = ("mail-spam",)  # the demo's labelled junk; other lakes have none, and the figure is then absent
MAX_POINTS = 200_000  # documents pulled to the driver for per-document plots


def _docs_frame(spark: SparkSession, lake: str) -> pd.DataFrame:
    docs, _ = lake_io.read(spark, lake, BRONZE_DOCUMENTS)
    assignments, _ = lake_io.read(spark, lake, SILVER_ASSIGNMENTS)
    quality, _ = lake_io.read(spark, lake, SILVER_QUALITY)
    clusters, _ = lake_io.read(spark, lake, GOLD_CLUSTERS)
    return (
        assignments.join(docs.select("doc_id", "source"), "doc_id")
        .join(quality.select("doc_id", "quality_score"), "doc_id", "left")
        .join(clusters.select("cluster_id", "kept", "super_cluster_id"), "cluster_id")
        .orderBy(F.xxhash64("doc_id"))
        .limit(MAX_POINTS)
        .toPandas()
    )


def curation_summary(frame: pd.DataFrame, reference_sources: list[str]) -> dict[str, float]:
    """NMI of clusters / super-clusters against the source label, and what pruning removed and kept."""
    from sklearn.metrics import normalized_mutual_info_score as nmi

    kept = frame[frame["kept"].fillna(False).astype(bool)]
    summary = {
        "docs": float(len(frame)),
        "nmi_cluster_vs_source": nmi(frame["source"], frame["cluster_id"]),
        "nmi_super_cluster_vs_source": nmi(kept["source"], kept["super_cluster_id"]) if len(kept) else 0.0,
        "kept_doc_fraction": len(kept) / max(1, len(frame)),
        "near_dup_fraction": float(frame["near_dup_of"].notna().mean()),
    }
    spam = frame[frame["source"].isin(SPAM_SOURCES)]
    if len(spam):
        summary["spam_pruned_fraction"] = float((~spam["kept"].fillna(False).astype(bool)).mean())
    reference = frame[frame["source"].isin(reference_sources)]
    if len(reference):
        summary["reference_kept_fraction"] = float(reference["kept"].fillna(False).astype(bool).mean())
    return summary


def _plots(frame: pd.DataFrame, clusters: pd.DataFrame, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    ordered = clusters.sort_values("n_docs", ascending=False)
    colors = ["tab:green" if k else "tab:red" for k in ordered["kept"].fillna(False)]
    fig, ax = plt.subplots(figsize=(12, 4))
    ax.bar(range(len(ordered)), ordered["n_docs"], color=colors)
    ax.set(xlabel="cluster (by size)", ylabel="documents", title="Cluster sizes (green kept, red pruned)")
    fig.tight_layout(), fig.savefig(out / "cluster_sizes.png", dpi=100), plt.close(fig)
    names.append("cluster_sizes.png")

    by_mean = frame.groupby("cluster_id")["quality_score"].mean().sort_values()
    fig, ax = plt.subplots(figsize=(12, 4))
    ax.boxplot(
        [frame.loc[frame["cluster_id"] == c, "quality_score"].dropna() for c in by_mean.index], showfliers=False
    )
    ax.set_xticks(range(1, len(by_mean) + 1), [str(c) for c in by_mean.index], rotation=90, fontsize=7)
    ax.set(xlabel="cluster (by mean quality)", ylabel="quality_score", title="Quality by cluster")
    fig.tight_layout(), fig.savefig(out / "quality_by_cluster.png", dpi=100), plt.close(fig)
    names.append("quality_by_cluster.png")

    centroids = np.stack(clusters["centroid"].to_numpy())
    centred = centroids - centroids.mean(axis=0)
    xy = centred @ np.linalg.svd(centred, full_matrices=False)[2][:2].T  # PCA to 2-D
    fig, ax = plt.subplots(figsize=(7, 6))
    kept = clusters["kept"].fillna(False).to_numpy(dtype=bool)
    ax.scatter(xy[~kept, 0], xy[~kept, 1], c="lightgrey", marker="x", label="pruned")
    sc = ax.scatter(
        xy[kept, 0],
        xy[kept, 1],
        c=clusters.loc[kept, "super_cluster_id"].astype(float),
        cmap="tab20",
        s=np.sqrt(clusters.loc[kept, "n_docs"].astype(float)) * 4,
    )
    ax.set(title="Cluster centroids (PCA), coloured by super-cluster", xlabel="PC1", ylabel="PC2")
    fig.colorbar(sc, ax=ax, label="super_cluster_id"), ax.legend(loc="best")
    fig.tight_layout(), fig.savefig(out / "centroids_pca.png", dpi=100), plt.close(fig)
    names.append("centroids_pca.png")
    return names


def _table(df: pd.DataFrame) -> str:
    return df.to_html(index=False, escape=True, float_format=lambda v: f"{v:.3f}")


def write_report(
    spark: SparkSession, lake: str, out_dir: str, reference_sources: list[str]
) -> tuple[Path, dict[str, float]]:
    """Plots + index.html under ``out_dir``; returns the page and the curation summary shown on it."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    frame = _docs_frame(spark, lake)  # one pass to the driver serves the plots and the summary
    clusters = lake_io.read(spark, lake, GOLD_CLUSTERS)[0].toPandas()
    supers = lake_io.read(spark, lake, GOLD_SUPER_CLUSTERS)[0].toPandas()
    images = _plots(frame, clusters, out)
    summary = curation_summary(frame, reference_sources)
    supers["topic_terms"] = supers["topic_terms"].map(lambda t: ", ".join(t))
    supers["cluster_ids"] = supers["cluster_ids"].map(lambda c: " ".join(map(str, c)))
    decisions = clusters[
        [
            "cluster_id",
            "n_docs",
            "n_tokens",
            "mean_quality",
            "top_source",
            "kept",
            "prune_reason",
            "super_cluster_id",
        ]
    ].sort_values("cluster_id")
    page = "\n".join(
        [
            "<!doctype html><html><head><meta charset='utf-8'><title>mixlake report</title>",
            "<style>body{font-family:sans-serif;margin:2em} table{border-collapse:collapse;font-size:12px}"
            " td,th{border:1px solid #ccc;padding:3px 6px}</style></head><body>",
            f"<h1>mixlake report</h1><p>lake: {html.escape(lake)}</p>",
            "<h2>Summary</h2>",
            _table(pd.DataFrame({"figure": list(summary), "value": list(summary.values())})),
            *[f"<h2>{html.escape(name[:-4].replace('_', ' '))}</h2><img src='{name}'>" for name in images],
            "<h2>Super-clusters</h2>",
            _table(
                supers[
                    [
                        "super_cluster_id",
                        "n_clusters",
                        "n_docs",
                        "n_tokens",
                        "token_share",
                        "mean_quality",
                        "topic_terms",
                        "cluster_ids",
                    ]
                ]
            ),
            "<h2>Cluster decisions</h2>",
            _table(decisions),
            *search_section(spark, lake, out),
            *downstream_section(spark, lake, out),
            "</body></html>",
        ]
    )
    (out / "index.html").write_text(page)
    log.info("report written to %s", out / "index.html")
    return out / "index.html", summary
