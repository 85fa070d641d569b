"""Sampling a mixture into shards: which documents, how many times, in which file and order.

Pure transforms (no I/O), so each can be checked on a few rows:

- ``token_targets``: mixture weights and a token budget -> tokens wanted per super-cluster.
- ``sample_plan``: per super-cluster, documents in a seeded order, repeated in further epochs when the pool is
  smaller than its target (at most ``max_repeats`` epochs), taken until the cumulative tokens reach the target.
  The document that crosses the target is taken, so a super-cluster overshoots by less than one document; one
  whose pool is too small even after ``max_repeats`` epochs falls short, and the shortfall is reported, not padded.
- ``assign_shards``: a seeded global shuffle: each sampled row gets a shard (file) and a position in it.
"""

from __future__ import annotations

import pandas as pd
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

FORMAT = "mixlake-shards/1"  # in every shard set's id and manifest: a change in what files hold must change it


def token_targets(weights: dict[int, float], tokens: int) -> dict[int, int]:
    """super_cluster_id -> round(weight * tokens), for every weight > 0 (weights are normalised to sum to 1)."""
    total = sum(weights.values())
    if total <= 0 or any(w < 0 for w in weights.values()):
        raise ValueError(f"mixture weights must be >= 0 with a positive sum, got {weights}")
    return {int(sid): round(w / total * tokens) for sid, w in sorted(weights.items()) if w > 0}


def sample_plan(counts: DataFrame, targets: DataFrame, *, seed: int, max_repeats: int) -> DataFrame:
    """Rows to write: ``doc_id, super_cluster_id, epoch, n_tokens`` (one per document and epoch taken).

    Reads ``counts`` (doc_id, super_cluster_id, n_tokens) and ``targets`` (super_cluster_id, target_tokens).
    Epoch e orders a super-cluster's documents by xxhash64(doc_id, seed, e): each epoch is a fresh permutation,
    and only the epochs a target needs (ceil(target / pool tokens), capped at max_repeats) are materialised.
    """
    if max_repeats < 1:
        raise ValueError(f"max_repeats must be >= 1, got {max_repeats}")
    pool = counts.groupBy("super_cluster_id").agg(F.sum("n_tokens").alias("pool_tokens"))
    epochs = (
        targets.filter(F.col("target_tokens") > 0)
        .join(pool.filter(F.col("pool_tokens") > 0), "super_cluster_id")
        .withColumn(
            "n_epochs",
            F.least(F.lit(max_repeats), F.ceil(F.col("target_tokens") / F.col("pool_tokens"))).cast("int"),
        )
        .select("super_cluster_id", "target_tokens", "n_epochs")
    )
    order = Window.partitionBy("super_cluster_id").orderBy("epoch", "order_key", "doc_id")
    return (
        counts.join(F.broadcast(epochs), "super_cluster_id")
        .withColumn("epoch", F.explode(F.sequence(F.lit(0), F.col("n_epochs") - 1)))
        .withColumn("order_key", F.xxhash64("doc_id", F.lit(seed), "epoch"))
        .withColumn("cum_tokens", F.sum("n_tokens").over(order.rowsBetween(Window.unboundedPreceding, 0)))
        # Tokens before this document are still short of the target: take it (the last one crosses the target).
        .filter(F.col("cum_tokens") - F.col("n_tokens") < F.col("target_tokens"))
        .select("doc_id", "super_cluster_id", F.col("epoch").cast("int").alias("epoch"), "n_tokens")
    )


def assign_shards(plan: DataFrame, *, seed: int, n_shards: int) -> DataFrame:
    """``plan`` plus ``shard`` (0..n_shards-1) and ``shuffle_key`` (the row's position within its shard).

    One seeded hash per row decides both: a uniformly random file and a random place in it, so concatenating the
    files in order is a seeded shuffle of every row, computed without a global sort.
    """
    if n_shards < 1:
        raise ValueError(f"n_shards must be >= 1, got {n_shards}")
    key = F.xxhash64("doc_id", "epoch", F.lit(seed), F.lit("shuffle"))
    return plan.withColumn("shuffle_key", key).withColumn("shard", F.pmod(key, F.lit(n_shards)).cast("int"))


def pool_summary(counts: DataFrame) -> DataFrame:
    """super_cluster_id, pool_docs, pool_tokens of the documents sampling could take."""
    return counts.groupBy("super_cluster_id").agg(
        F.count("*").alias("pool_docs"), F.sum("n_tokens").alias("pool_tokens")
    )


def plan_summary(plan: DataFrame) -> DataFrame:
    """super_cluster_id, rows, tokens, unique_docs, epochs of a sample plan."""
    return plan.groupBy("super_cluster_id").agg(
        F.count("*").alias("rows"),
        F.sum("n_tokens").alias("tokens"),
        F.countDistinct("doc_id").alias("unique_docs"),
        (F.max("epoch") + 1).alias("epochs"),
    )


def build_manifest(
    *,
    shard_set_id: str,
    mixture: dict,
    settings: dict,
    targets: dict[int, int],
    plan_stats: pd.DataFrame,
    pool_stats: pd.DataFrame,
    files: list[dict],
    topics: dict[int, list[str]],
    lineage: dict[str, int],
    run_id: str,
) -> dict:
    """Everything a reader needs to trust the shards: weights, tokens per super-cluster, seeds, versions, files.

    ``plan_stats``: super_cluster_id, rows, tokens, unique_docs, epochs (of the sampled rows); ``pool_stats``:
    super_cluster_id, pool_docs, pool_tokens; ``settings``: the shards config (tokens, max_repeats, seed, ...).
    """
    weights = {int(k): float(v) for k, v in mixture["weights"].items()}
    plan = plan_stats.set_index("super_cluster_id")
    pool = pool_stats.set_index("super_cluster_id")
    supers = []
    for sid in sorted(weights):
        target, tokens = targets.get(sid, 0), int(plan["tokens"].get(sid, 0))
        supers.append(
            {
                "super_cluster_id": sid,
                "weight": weights[sid] / sum(weights.values()),
                "target_tokens": target,
                "tokens": tokens,
                "rows": int(plan["rows"].get(sid, 0)),
                "unique_docs": int(plan["unique_docs"].get(sid, 0)),
                "epochs": int(plan["epochs"].get(sid, 0)),
                "pool_docs": int(pool["pool_docs"].get(sid, 0)),
                "pool_tokens": int(pool["pool_tokens"].get(sid, 0)),
                "shortfall_tokens": max(0, target - tokens),
                "topic_terms": list(topics.get(sid, [])),
            }
        )
    return {
        "format": FORMAT,
        "shard_set_id": shard_set_id,
        **{k: mixture[k] for k in ("mixture_id", "search", "method", "pool_id")},
        "config": settings,
        "seeds": {"sampling": settings["seed"], "shuffle": settings["seed"]},
        "tokenizer": "tokenizer",  # a copy of the pool's tokenizer, beside the data
        "weights": {str(s["super_cluster_id"]): s["weight"] for s in supers},
        "super_clusters": supers,
        "totals": {k: sum(s[k] for s in supers) for k in ("rows", "tokens", "target_tokens", "shortfall_tokens")},
        "files": files,
        "inputs": dict(sorted(lineage.items())),
        "run_id": run_id,
    }


def _size_category(n_rows: int) -> str:
    """The Hub's size_categories label for a row count."""
    for bound, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n_rows < bound:
            return label
    return "1M<n<10M" if n_rows < 10_000_000 else "n>10M"


def dataset_card(manifest: dict) -> str:
    """README.md for a shard folder: Hub YAML metadata (the data_files glob load_dataset follows), then the
    mixture per super-cluster with its topic terms, and where the shards came from. Reads only ``manifest``."""
    import yaml

    totals = manifest["totals"]
    meta = {
        "pretty_name": f"mixlake shards of {manifest['mixture_id']}",
        "license": "other",  # the corpus's licences are the sources'; mixlake cannot vouch for them
        "task_categories": ["text-generation"],
        "size_categories": [_size_category(totals["rows"])],
        "tags": ["mixlake", "climb", "pretraining", "data-mixture"],
        "configs": [{"config_name": "default", "data_files": [{"split": "train", "path": "data/train-*"}]}],
    }
    rows = [
        "| super-cluster | weight | target tokens | tokens | share | epochs | shortfall | topic terms |",
        "|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for sc in manifest["super_clusters"]:
        share = sc["tokens"] / totals["tokens"] if totals["tokens"] else 0.0
        rows.append(
            f"| {sc['super_cluster_id']} | {sc['weight']:.4f} | {sc['target_tokens']:,} | {sc['tokens']:,} "
            f"| {share:.4f} | {sc['epochs']} | {sc['shortfall_tokens']:,} | {', '.join(sc['topic_terms'])} |"
        )
    inputs = "\n".join(f"- `{name}` v{v}" for name, v in sorted(manifest["inputs"].items()))
    config = manifest["config"]
    body = f"""
# {meta["pretty_name"]}

ClimbMix-style pre-training shards: documents of each super-cluster sampled by the weights of mixture
`{manifest["mixture_id"]}` (method `{manifest["method"]}`, search `{manifest["search"]}`) to a budget of
{config["tokens"]:,} tokens, each document used at most {config["max_repeats"]} times, shuffled with seed
{manifest["seeds"]["shuffle"]} into {len(manifest["files"])} Parquet files: {totals["rows"]:,} rows,
{totals["tokens"]:,} tokens. Shortfall: {totals["shortfall_tokens"]:,} tokens (super-clusters whose pool was
too small even with repeats).

## Mixture

{chr(10).join(rows)}

## Columns

- `text`: the document
- `input_ids`: its token ids (int32) from the tokenizer in `tokenizer/`, no special tokens added
- `doc_id`, `super_cluster_id`, `epoch` (0 for a document's first use, 1 for its first repeat, ...), `n_tokens`

## Lineage

Shard set `{manifest["shard_set_id"]}`, written by mixlake run `{manifest["run_id"]}` from token pool
`{manifest["pool_id"]}` and these Delta table versions:

{inputs}

`manifest.json` holds the same numbers, per file as well.

## Loading

```python
from datasets import load_dataset

ds = load_dataset("path/or/repo-id", split="train")
```
"""
    return f"---\n{yaml.safe_dump(meta, sort_keys=False)}---\n{body}"
