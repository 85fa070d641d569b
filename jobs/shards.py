"""Shards: a mixture from gold.mixtures -> ClimbMix-style Parquet shards in the Hugging Face layout.

Documents of each super-cluster are sampled by the mixture's weights to a token budget (``pipelines.shards``),
shuffled with a seed, and written by the executors as ``data/train-00000-of-000NN.parquet`` (text, input_ids,
doc_id, super_cluster_id, epoch, n_tokens), beside ``manifest.json``, a dataset card (``README.md``) and the
tokenizer. ``datasets.load_dataset(<out_dir>)`` loads the folder; ``mixlake export`` pushes it to the Hub.

Which mixture: ``shards.mixture``, or else the chosen row (chosen = true) of the search run that finished last
(by ops.runs.finished_at of the rows' run_id). Which documents: the mixture's token pool names the tokenizer and
the table versions it was built from; the same versions are read here, so the shards hold exactly the documents
the search sampled from (kept clusters, no near-duplicates; bronze.holdout is never among them).

A shard set is named by the mixture, its pool, the budget, the seed and the output folder; its gold.shards rows
are the completion marker, written last. A rerun finds them and does nothing.

    python -m jobs.shards --lake ./lake
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict

import pandas as pd
import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import lake as lake_io
from jobs.config import Config, ConfigError, ShardsConfig
from jobs.console import step
from jobs.dq import validate_table
from jobs.pools import pool_documents
from jobs.runs import RunRecord
from pipelines.shards import (
    FORMAT,
    assign_shards,
    build_manifest,
    dataset_card,
    plan_summary,
    pool_summary,
    sample_plan,
    token_targets,
)
from schemas.expectations import gold_shards
from schemas.tables import (
    BRONZE_DOCUMENTS,
    GOLD_CLUSTERS,
    GOLD_MIXTURES,
    GOLD_SHARDS,
    GOLD_SUPER_CLUSTERS,
    GOLD_TOKEN_POOLS,
    OPS_RUNS,
    SILVER_ASSIGNMENTS,
)
from training.tokenizer import load_tokenizer

log = logging.getLogger(__name__)

ROW_GROUP_ROWS = 1000  # Parquet row group size, fixed so file bytes never depend on Spark's Arrow batch size
PARQUET_SCHEMA = pa.schema(
    [
        ("text", pa.string()),
        ("input_ids", pa.list_(pa.int32())),
        ("doc_id", pa.string()),
        ("super_cluster_id", pa.int32()),
        ("epoch", pa.int32()),
        ("n_tokens", pa.int32()),
    ]
)


class ShardsError(ConfigError):
    """The mixture or the output folder cannot be used; the message says which and what to set instead."""


def shard_file(i: int, n: int) -> str:
    return f"data/train-{i:05d}-of-{n:05d}.parquet"


def latest_run_id(spark: SparkSession, lake: str, run_ids: list[str]) -> str | None:
    """The run among ``run_ids`` that finished last (ops.runs), ties by run_id; None if none has a row."""
    runs, _ = lake_io.read(spark, lake, OPS_RUNS)
    row = (
        runs.filter(F.col("run_id").isin(run_ids))
        .orderBy(F.col("finished_at").desc(), F.col("run_id").desc())
        .select("run_id")
        .first()
    )
    return row.run_id if row else None


def pick_mixture(spark: SparkSession, lake: str, mixtures: DataFrame, mixture_id: str):
    """The gold.mixtures row to shard: ``mixture_id``, or the chosen row of the latest search run."""
    if mixture_id:
        rows = mixtures.filter(F.col("mixture_id") == mixture_id).collect()
        if not rows:
            known = [r.mixture_id for r in mixtures.select("mixture_id").orderBy("mixture_id").limit(20).collect()]
            raise ShardsError(
                f"shards.mixture={mixture_id!r} is not in gold.mixtures; known mixture ids: "
                f"{', '.join(known) or '(none)'}. Set shards.mixture to one of them, or leave it empty for the "
                "chosen mixture of the latest search."
            )
        return rows[0]
    chosen = mixtures.filter(F.col("chosen")).collect()
    if not chosen:
        raise ShardsError(
            "gold.mixtures has no chosen mixture; run `mixlake search` first, or set shards.mixture to a "
            "mixture_id"
        )
    latest = latest_run_id(spark, lake, sorted({r.run_id for r in chosen}))
    rows = [r for r in chosen if r.run_id == latest]
    if len(rows) != 1:
        ids = sorted(r.mixture_id for r in (rows or chosen))
        raise ShardsError(
            f"cannot tell which chosen mixture is the latest search's (candidates: {', '.join(ids)}); "
            "set shards.mixture to one of them"
        )
    return rows[0]


def shard_set_id_for(cfg: ShardsConfig, mixture) -> str:
    weights = sorted((int(k), float(v)) for k, v in mixture.weights.items())
    key = (FORMAT, mixture.mixture_id, weights, mixture.pool_id, cfg.tokens, cfg.max_repeats, cfg.n_shards,
           cfg.seed, cfg.out_dir)  # fmt: skip
    return hashlib.sha256(repr(key).encode()).hexdigest()[:16]


def encode(tok, texts: pd.Series) -> list[list[int]]:
    """Each text's token ids, no special tokens: what ``input_ids`` holds and ``n_tokens`` counts."""
    return tok(texts.tolist(), add_special_tokens=False, return_attention_mask=False)["input_ids"]


def count_tokens(members: DataFrame, tokenizer_path: str) -> DataFrame:
    """doc_id, super_cluster_id, n_tokens (the document's ids, no special tokens) of every member."""

    def run(batches):
        tok = load_tokenizer(tokenizer_path)
        for b in batches:
            lengths = [len(ids) for ids in encode(tok, b["text"])]
            yield pd.DataFrame(
                {"doc_id": b["doc_id"], "super_cluster_id": b["super_cluster_id"], "n_tokens": lengths}
            )

    return members.mapInPandas(run, "doc_id string, super_cluster_id int, n_tokens long")


class _ParquetShard:
    """One output file, written in fixed-size row groups as rows arrive; summarised per super-cluster on close."""

    def __init__(self, path: str):
        import fsspec
        import pyarrow.parquet as pq

        self.path = path
        self._file = fsspec.open(path, "wb", auto_mkdir=True).open()
        self._writer = pq.ParquetWriter(self._file, PARQUET_SCHEMA)
        self._buffer: list[pa.Table] = []
        self._buffered = 0

    def add(self, table: pa.Table) -> None:
        self._buffer.append(table)
        self._buffered += table.num_rows
        while self._buffered >= ROW_GROUP_ROWS:
            self._flush(ROW_GROUP_ROWS)

    def _flush(self, n: int) -> None:
        data = pa.concat_tables(self._buffer)
        self._writer.write_table(data.slice(0, n), row_group_size=n)
        rest = data.slice(n)
        self._buffer, self._buffered = [rest], rest.num_rows

    def close(self) -> None:
        if self._buffered:
            self._flush(self._buffered)
        self._writer.close()
        self._file.close()


def file_digest(path: str) -> tuple[int, str]:
    """(bytes, sha256) of a written file."""
    import fsspec

    digest, size = hashlib.sha256(), 0
    with fsspec.open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def write_parquet_shards(rows: DataFrame, tokenizer_path: str, out_dir: str, n_shards: int) -> DataFrame:
    """Each task tokenizes its rows and writes the shards it holds, rows in shuffle order.

    Reads ``shard, shuffle_key, doc_id, epoch, super_cluster_id, n_tokens, text``; returns one row per shard and
    super-cluster written: ``shard, file, super_cluster_id, n_rows, n_tokens``. A shard with no rows gets no file.
    """

    def run(batches):
        tok, shard, current, stats = None, None, None, []
        for batch in batches:
            tok = tok if tok is not None else load_tokenizer(tokenizer_path)
            for sid, part in batch.groupby("shard", sort=True):  # the partition is sorted by shard, then key
                if sid != shard:
                    if current is not None:
                        current.close()
                    shard, current = int(sid), _ParquetShard(f"{out_dir}/{shard_file(int(sid), n_shards)}")
                ids = encode(tok, part["text"])
                lengths = [len(x) for x in ids]
                if lengths != part["n_tokens"].tolist():
                    raise RuntimeError(f"tokenizer {tokenizer_path} gave other token counts than when sampling")
                current.add(
                    pa.table(
                        [
                            pa.array(part["text"].tolist(), pa.string()),
                            pa.array(ids, pa.list_(pa.int32())),
                            pa.array(part["doc_id"].tolist(), pa.string()),
                            pa.array(part["super_cluster_id"].tolist(), pa.int32()),
                            pa.array(part["epoch"].tolist(), pa.int32()),
                            pa.array(lengths, pa.int32()),
                        ],
                        schema=PARQUET_SCHEMA,
                    )
                )
                for sc, group in part.groupby("super_cluster_id"):
                    stats.append((shard, int(sc), len(group), int(group["n_tokens"].sum())))
        if current is None:  # an empty partition (range partitioning leaves some): no file, no rows
            return
        current.close()
        frame = pd.DataFrame(stats, columns=["shard", "super_cluster_id", "n_rows", "n_tokens"])
        frame = frame.groupby(["shard", "super_cluster_id"], as_index=False).sum()
        frame["file"] = [shard_file(s, n_shards) for s in frame["shard"]]
        yield frame[["shard", "file", "super_cluster_id", "n_rows", "n_tokens"]]

    return (
        rows.repartitionByRange(n_shards, "shard")
        .sortWithinPartitions("shard", "shuffle_key", "doc_id", "epoch")
        .mapInPandas(run, "shard int, file string, super_cluster_id int, n_rows long, n_tokens long")
    )


def copy_tree(src: str, dst: str) -> None:
    """Copy every file under ``src`` to ``dst`` (any fsspec file systems; for the small tokenizer folder)."""
    import fsspec

    fs, root = fsspec.core.url_to_fs(src)
    for path in sorted(fs.find(root)):
        with (
            fs.open(path, "rb") as f,
            fsspec.open(f"{dst}/{path[len(root) :].lstrip('/')}", "wb", auto_mkdir=True) as g,
        ):
            g.write(f.read())


def clear_data_files(out_dir: str) -> None:
    """Remove ``data/train-*.parquet`` left by an interrupted attempt (files of another shard count would be
    picked up by the card's glob)."""
    import fsspec

    fs, root = fsspec.core.url_to_fs(out_dir)
    for path in fs.glob(f"{root}/data/train-*.parquet"):
        fs.rm(path)


def already_written(spark: SparkSession, lake: str, shard_set_id: str, out_dir: str) -> bool:
    """True when gold.shards holds the shard set (its completion marker); refuses a folder another set owns."""
    if not lake_io.exists(spark, lake, GOLD_SHARDS):
        return False
    index, _ = lake_io.read(spark, lake, GOLD_SHARDS)
    if index.filter(F.col("shard_set_id") == shard_set_id).limit(1).count():
        log.info("shard set %s already written to %s; nothing to do", shard_set_id, out_dir)
        return True
    other = index.filter((F.col("out_dir") == out_dir) & (F.col("shard_set_id") != shard_set_id)).first()
    if other:
        raise ShardsError(
            f"{out_dir} already holds shard set {other.shard_set_id} (mixture {other.mixture_id}); set "
            "shards.out_dir to a new folder, or leave it empty for one folder per shard set under the lake"
        )
    return False


def _write_text(path: str, text: str) -> None:
    import fsspec

    with fsspec.open(path, "w", auto_mkdir=True, encoding="utf-8") as f:
        f.write(text)


def file_entries(written: pd.DataFrame, out_dir: str, n_shards: int) -> list[dict]:
    """One manifest entry per file, from the writers' per-super-cluster rows; a shard no row hashed to gets an
    empty file, so "-of-N" stays true."""
    files = []
    for i in range(n_shards):
        name, mine = shard_file(i, n_shards), written[written["shard"] == i]
        if mine.empty:
            _ParquetShard(f"{out_dir}/{name}").close()
        size, sha = file_digest(f"{out_dir}/{name}")
        by_super = zip(mine["super_cluster_id"], mine["n_tokens"], strict=True)
        files.append(
            {
                "file": name,
                "n_rows": int(mine["n_rows"].sum()),
                "n_tokens": int(mine["n_tokens"].sum()),
                "super_cluster_tokens": {str(int(s)): int(t) for s, t in by_super},
                "bytes": size,
                "sha256": sha,
            }
        )
    return files


def _record(run: RunRecord, manifest: dict, max_repeats: int) -> None:
    totals, supers = manifest["totals"], manifest["super_clusters"]
    unique = sum(s["unique_docs"] for s in supers)
    run.count("shard_files", len(manifest["files"]))
    run.count("empty_files", sum(f["n_rows"] == 0 for f in manifest["files"]))
    run.count("shard_rows", totals["rows"])
    run.count("shard_tokens", totals["tokens"])
    run.count("target_tokens", totals["target_tokens"])
    run.count("unique_docs", unique)
    run.count("repeated_rows", totals["rows"] - unique)
    run.count("shortfall_tokens", totals["shortfall_tokens"])
    run.count("super_clusters_short", sum(s["shortfall_tokens"] > 0 for s in supers))
    if totals["tokens"]:
        run.metric("max_share_error", max(abs(s["tokens"] / totals["tokens"] - s["weight"]) for s in supers))
    if totals["shortfall_tokens"]:
        log.warning(
            "%d of %d target tokens missing: super-clusters too small even used %d times each (see manifest.json)",
            totals["shortfall_tokens"],
            totals["target_tokens"],
            max_repeats,
        )


def check_config(cfg: ShardsConfig) -> None:
    for key, value in (("tokens", cfg.tokens), ("max_repeats", cfg.max_repeats), ("n_shards", cfg.n_shards)):
        if value < 1:
            raise ShardsError(f"shards.{key} must be at least 1, got {value}; fix it in your config")


def run_shards(spark: SparkSession, cfg: Config) -> dict[str, int]:
    lake, scfg = lake_io.normalize_lake(cfg.lake), cfg.shards
    check_config(scfg)
    with RunRecord(spark, lake, "shards", {"shards": asdict(scfg)}) as run:
        mixtures, _ = run.read(GOLD_MIXTURES)
        mixture = pick_mixture(spark, lake, mixtures, scfg.mixture)
        try:
            targets = token_targets(dict(mixture.weights), scfg.tokens)
        except ValueError as e:
            raise ShardsError(f"mixture {mixture.mixture_id}: {e}") from e
        shard_set_id = shard_set_id_for(scfg, mixture)
        out_dir = lake_io.normalize_lake(scfg.out_dir) if scfg.out_dir else f"{lake}/_shards/{shard_set_id}"
        log.info("mixture %s -> shard set %s at %s", mixture.mixture_id, shard_set_id, out_dir)
        if already_written(spark, lake, shard_set_id, out_dir):
            run.count("shards_reused", 1)
            return run.counts

        pools, _ = run.read(GOLD_TOKEN_POOLS)
        pool = pools.filter(F.col("pool_id") == mixture.pool_id).first()
        if pool is None:
            raise ShardsError(
                f"mixture {mixture.mixture_id} was searched on token pool {mixture.pool_id}, which "
                "gold.token_pools does not hold; run `mixlake pools` and `mixlake search` again"
            )
        # The versions the pool was built from: the shards hold exactly the documents the search sampled.
        docs, _ = run.read(BRONZE_DOCUMENTS, pool.inputs[BRONZE_DOCUMENTS.name])
        assignments, _ = run.read(SILVER_ASSIGNMENTS, pool.inputs[SILVER_ASSIGNMENTS.name])
        clusters, _ = run.read(GOLD_CLUSTERS, pool.inputs[GOLD_CLUSTERS.name])
        supers, _ = run.read(GOLD_SUPER_CLUSTERS, pool.inputs[GOLD_SUPER_CLUSTERS.name])
        lineage = dict(run.inputs)
        members = pool_documents(docs, assignments, clusters).filter(F.col("super_cluster_id").isin(list(targets)))
        members = members.persist()  # counted, then joined back for the text: read and joined once

        with step("counting tokens"):
            counts = count_tokens(members, pool.tokenizer_path).persist()
            pool_stats = pool_summary(counts).toPandas()
        with step("sampling"):
            target_df = spark.createDataFrame(list(targets.items()), "super_cluster_id int, target_tokens long")
            plan = sample_plan(counts, target_df, seed=scfg.seed, max_repeats=scfg.max_repeats)
            plan = assign_shards(plan, seed=scfg.seed, n_shards=scfg.n_shards).persist()
            plan_stats = plan_summary(plan).toPandas()
        with step(f"writing {scfg.n_shards} Parquet shards"):
            clear_data_files(out_dir)
            rows = plan.join(members.select("doc_id", "text"), "doc_id")
            written = write_parquet_shards(rows, pool.tokenizer_path, out_dir, scfg.n_shards).toPandas()
            files = file_entries(written, out_dir, scfg.n_shards)
        for frame in (members, counts, plan):
            frame.unpersist()
        by_file = written.groupby("super_cluster_id")["n_tokens"].sum().to_dict()
        planned = plan_stats.set_index("super_cluster_id")["tokens"].to_dict()
        if by_file != planned:  # a bug, not bad input: the files must hold what was sampled
            raise RuntimeError(f"shards hold {by_file} tokens per super-cluster, the plan {planned}")

        topics = {r.super_cluster_id: r.topic_terms for r in supers.collect()}
        manifest = build_manifest(
            shard_set_id=shard_set_id,
            mixture=mixture.asDict(),
            settings={k: v for k, v in asdict(scfg).items() if k != "mixture"},
            targets=targets,
            plan_stats=plan_stats,
            pool_stats=pool_stats,
            files=files,
            topics=topics,
            lineage=lineage,
            run_id=run.run_id,
        )
        with step("manifest, dataset card and tokenizer"):
            copy_tree(pool.tokenizer_path, f"{out_dir}/tokenizer")
            _write_text(f"{out_dir}/manifest.json", json.dumps(manifest, indent=2, sort_keys=True) + "\n")
            _write_text(f"{out_dir}/README.md", dataset_card(manifest))

        # The gold.shards rows are the completion marker: one commit, after every file exists.
        before = lake_io.version(spark, lake, GOLD_SHARDS)
        index = [
            {
                "shard_set_id": shard_set_id,
                "file": f["file"],
                "out_dir": out_dir,
                "mixture_id": mixture.mixture_id,
                "n_rows": f["n_rows"],
                "n_tokens": f["n_tokens"],
                "super_cluster_tokens": {int(k): v for k, v in f["super_cluster_tokens"].items()},
                "run_id": run.run_id,
                "inputs": lineage,
            }
            for f in files
        ]
        lake_io.merge_insert_new(spark, lake, GOLD_SHARDS, spark.createDataFrame(index, GOLD_SHARDS.schema))
        run.wrote(GOLD_SHARDS)
        with step("validating"):
            validate_table(
                spark,
                run,
                GOLD_SHARDS,
                before,
                gold_shards(scfg.n_shards, manifest["totals"]["tokens"]),
                view=lambda df: df.filter(F.col("shard_set_id") == shard_set_id),
            )
        _record(run, manifest, scfg.max_repeats)
    return run.counts


def main(argv: list[str] | None = None) -> dict[str, int]:
    from jobs.stages import stage_main

    return stage_main("shards", argv, __doc__)


if __name__ == "__main__":
    main()
