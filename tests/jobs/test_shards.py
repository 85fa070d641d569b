"""Shards through the real job on a copy of the pooled lake: the folder loads with `datasets`, its numbers match
the manifest and gold.shards, shares follow the weights, repeats are capped and a too-small pool is a recorded
shortfall, held-out text never appears, and reruns are reused or byte-identical."""

from __future__ import annotations

import copy
import json
import shutil
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from pyspark.sql import functions as F

from jobs import lake as lake_io
from jobs.runs import RunRecord
from jobs.shards import ShardsError, file_entries, pick_mixture, run_shards, shard_file, write_parquet_shards
from pipelines.shards import sample_plan
from schemas.tables import BRONZE_DOCUMENTS, BRONZE_HOLDOUT, GOLD_MIXTURES, GOLD_SHARDS, GOLD_TOKEN_POOLS, OPS_RUNS
from training.tokenizer import load_tokenizer

MIXTURE = "shards-test/climb"
MAX_REPEATS = 2
# Targets as multiples of a pool's tokens: the smallest pool cannot reach its target even in MAX_REPEATS epochs
# (a shortfall); the next smallest needs a second epoch and reaches it; the others need one.
SHORT, REPEATED = 2.5, 1.5
FILES = [f"data/train-{i:05d}-of-00003.parquet" for i in range(3)]  # the fixture's shards.n_shards is 3
_SHARED: dict = {}  # one shard set per session, shared with test_export


def copy_pooled(pooled, root: Path):
    """(cfg, lake) of a private copy of the session's pooled lake: other test modules add their own mixtures."""
    cfg, lake = pooled
    shutil.copytree(lake, root / "lake")
    cfg = copy.deepcopy(cfg)
    cfg.lake = str(root / "lake")
    return cfg, lake_io.normalize_lake(cfg.lake)


def pool_tokens(spark, lake) -> tuple[str, dict[int, int]]:
    """(pool_id, super_cluster_id -> tokens without the end-of-text separators) of the lake's pool."""
    rows = lake_io.read(spark, lake, GOLD_TOKEN_POOLS)[0].orderBy("pool_id").collect()
    sizes = Counter()
    for r in rows:
        if r.pool_id == rows[0].pool_id:
            sizes[r.super_cluster_id] += r.n_tokens - r.n_docs
    return rows[0].pool_id, dict(sizes)


def mixture_row(mixture_id: str, weights: dict[int, float], pool_id: str, run_id: str, chosen: bool) -> dict:
    search, method = mixture_id.split("/")
    return {
        "mixture_id": mixture_id,
        "search": search,
        "method": method,
        "weights": weights,
        "search_objective": 3.0,
        "remeasured_mean": 3.0,
        "remeasured_std": 0.0,
        "remeasured_seeds": [1, 2],
        "proxy_runs": 6,
        "chosen": chosen,
        "target": "holdout",
        "pool_id": pool_id,
        "run_id": run_id,
        "inputs": {GOLD_TOKEN_POOLS.name: 0},
    }


def insert_mixtures(spark, lake, rows: list[dict]) -> None:
    lake_io.merge_insert_new(spark, lake, GOLD_MIXTURES, spark.createDataFrame(rows, GOLD_MIXTURES.schema))


def mixture_weights(spark, lake, budget: int) -> tuple[dict[int, float], int, int]:
    """(weights, the short super-cluster, the repeated one): see SHORT and REPEATED."""
    _, sizes = pool_tokens(spark, lake)
    short, repeated, *rest = sorted(sizes, key=sizes.get)
    weights = {short: SHORT * sizes[short] / budget, repeated: REPEATED * sizes[repeated] / budget}
    left = 1 - sum(weights.values())
    assert left > 0 and all(left / len(rest) * budget < sizes[s] for s in rest), (
        f"setup needs other pools: {sizes}"
    )
    return weights | {s: left / len(rest) for s in rest}, short, repeated


def shared_shard_set(spark, pooled, tmp_path_factory):
    """(cfg, lake, counts, out_dir): MIXTURE written as a search would (in a recorded run, with its run_id) into a
    copy of the pooled lake, then sharded; once per session."""
    if not _SHARED:
        cfg, lake = copy_pooled(pooled, tmp_path_factory.mktemp("shards"))
        cfg.shards.mixture, cfg.shards.max_repeats = MIXTURE, MAX_REPEATS
        pool_id, _ = pool_tokens(spark, lake)
        weights = mixture_weights(spark, lake, cfg.shards.tokens)[0]
        with RunRecord(spark, lake, "test-search", {}) as run:
            insert_mixtures(spark, lake, [mixture_row(MIXTURE, weights, pool_id, run.run_id, chosen=True)])
        counts = run_shards(spark, cfg)
        out_dir = lake_io.read(spark, lake, GOLD_SHARDS)[0].select("out_dir").first().out_dir
        _SHARED.update(cfg=cfg, lake=lake, counts=counts, out_dir=out_dir)
    return copy.deepcopy(_SHARED["cfg"]), _SHARED["lake"], _SHARED["counts"], _SHARED["out_dir"]


@pytest.fixture(scope="module")
def sharded(spark, pooled, tmp_path_factory):
    return shared_shard_set(spark, pooled, tmp_path_factory)


def _manifest(out_dir: str) -> dict:
    return json.loads((Path(out_dir) / "manifest.json").read_text())


def _rows(out_dir: str):
    return pq.read_table([str(Path(out_dir) / f) for f in FILES]).to_pandas()


def test_shards_load_with_datasets_and_match_the_manifest(spark, sharded, tmp_path):
    import datasets

    _, lake, counts, out_dir = sharded
    manifest = _manifest(out_dir)
    assert sorted(p.relative_to(out_dir).as_posix() for p in Path(out_dir).glob("data/*")) == FILES
    assert [f["file"] for f in manifest["files"]] == FILES

    ds = datasets.load_dataset(out_dir, split="train", cache_dir=str(tmp_path / "hf-cache"))
    frame = ds.to_pandas()
    assert set(ds.column_names) == {"text", "input_ids", "doc_id", "super_cluster_id", "n_tokens", "epoch"}
    assert len(frame) == manifest["totals"]["rows"] == counts["shard_rows"]
    assert frame["input_ids"].map(len).tolist() == frame["n_tokens"].tolist()
    tokens = frame.groupby("super_cluster_id")["n_tokens"].sum().to_dict()
    assert tokens == {s["super_cluster_id"]: s["tokens"] for s in manifest["super_clusters"]}
    assert sum(tokens.values()) == manifest["totals"]["tokens"] == counts["shard_tokens"]

    # gold.shards: one row per file with the same numbers, and lineage down to the documents' version.
    index = (
        lake_io.read(spark, lake, GOLD_SHARDS)[0]
        .filter(F.col("shard_set_id") == manifest["shard_set_id"])
        .orderBy("file")
        .collect()
    )
    assert [r.file for r in index] == FILES and {r.out_dir for r in index} == {out_dir}
    assert [r.n_rows for r in index] == [f["n_rows"] for f in manifest["files"]]
    assert [dict(r.super_cluster_tokens) for r in index] == [
        {int(k): v for k, v in f["super_cluster_tokens"].items()} for f in manifest["files"]
    ]
    assert index[0].inputs == manifest["inputs"] and BRONZE_DOCUMENTS.name in manifest["inputs"]
    card = (Path(out_dir) / "README.md").read_text()
    assert card.startswith("---\n") and "path: data/train-*" in card and "text-generation" in card


def test_token_shares_follow_the_weights_repeats_are_capped_and_shortfall_recorded(spark, sharded):
    cfg, lake, counts, out_dir = sharded
    manifest, frame = _manifest(out_dir), _rows(out_dir)
    weights, short, repeated = mixture_weights(spark, lake, cfg.shards.tokens)
    _, sizes = pool_tokens(spark, lake)
    assert manifest["weights"] == {str(k): pytest.approx(v) for k, v in weights.items()}
    supers = {sc["super_cluster_id"]: sc for sc in manifest["super_clusters"]}
    for sid, sc in supers.items():
        target = round(weights[sid] * cfg.shards.tokens)
        assert sc["target_tokens"] == target
        if sid == short:  # every document MAX_REPEATS times, the rest a recorded shortfall, not padding
            assert sc["tokens"] == MAX_REPEATS * sizes[sid] and sc["epochs"] == MAX_REPEATS
            assert sc["shortfall_tokens"] == target - sc["tokens"] > 0
        else:  # taken until the target is reached: over by less than one document
            biggest_doc = frame.loc[frame["super_cluster_id"] == sid, "n_tokens"].max()
            assert target <= sc["tokens"] < target + biggest_doc and sc["shortfall_tokens"] == 0, sc
    assert supers[repeated]["epochs"] == 2 and frame.loc[frame["super_cluster_id"] == repeated, "epoch"].max() == 1
    assert (frame[frame["super_cluster_id"] == short].groupby("doc_id").size() == MAX_REPEATS).all()
    assert frame.groupby("doc_id").size().max() == MAX_REPEATS and not frame.duplicated(["doc_id", "epoch"]).any()
    assert counts["repeated_rows"] == len(frame) - frame["doc_id"].nunique()
    assert counts["shortfall_tokens"] == supers[short]["shortfall_tokens"] and counts["super_clusters_short"] == 1


def test_no_held_out_document_is_in_the_shards(spark, sharded):
    _, lake, _, out_dir = sharded
    texts = set(_rows(out_dir)["text"])
    holdout = {r.text for r in lake_io.read(spark, lake, BRONZE_HOLDOUT)[0].select("text").collect()}
    docs = lake_io.read(spark, lake, BRONZE_DOCUMENTS)[0]
    code = {r.text for r in docs.filter(F.col("source") == "code").select("text").collect()}
    assert holdout and texts & code, "the held-out source must be in the shards for this check to mean anything"
    assert not texts & holdout


def test_input_ids_decode_back_to_the_text(sharded):
    _, _, _, out_dir = sharded
    tok = load_tokenizer(Path(out_dir) / "tokenizer")
    frame = _rows(out_dir)
    assert len(frame) > 0
    assert tok.batch_decode(frame["input_ids"].tolist()) == frame["text"].tolist()


def test_rerun_is_reused_and_a_fresh_folder_is_byte_identical(spark, sharded, tmp_path):
    cfg, lake, _, out_dir = sharded
    before = lake_io.read(spark, lake, GOLD_SHARDS)[0].count()
    assert run_shards(spark, cfg) == {"shards_reused": 1}
    assert lake_io.read(spark, lake, GOLD_SHARDS)[0].count() == before

    cfg.shards.out_dir = str(tmp_path / "fresh")
    assert "shards_reused" not in run_shards(spark, cfg)
    for name in FILES:
        assert (tmp_path / "fresh" / name).read_bytes() == (Path(out_dir) / name).read_bytes(), name
    fresh = _manifest(cfg.shards.out_dir)
    assert (
        fresh["files"] == _manifest(out_dir)["files"]
        and fresh["shard_set_id"] != _manifest(out_dir)["shard_set_id"]
    )
    assert lake_io.read(spark, lake, GOLD_SHARDS)[0].count() == before + len(FILES)


def test_default_mixture_is_the_chosen_one_of_the_latest_search(spark, sharded):
    _, lake, _, _ = sharded
    mixtures = lake_io.read(spark, lake, GOLD_MIXTURES)[0]
    assert pick_mixture(spark, lake, mixtures, "").mixture_id == MIXTURE  # the latest chosen one so far
    pool_id, _ = pool_tokens(spark, lake)
    with RunRecord(spark, lake, "test-search", {}) as newer:
        rows = [
            mixture_row("newer-search/climb", {0: 1.0}, pool_id, newer.run_id, chosen=True),
            mixture_row("newer-search/random", {0: 1.0}, pool_id, newer.run_id, chosen=False),
        ]
        insert_mixtures(spark, lake, rows)
    mixtures = lake_io.read(spark, lake, GOLD_MIXTURES)[0]
    assert pick_mixture(spark, lake, mixtures, "").mixture_id == "newer-search/climb"
    assert pick_mixture(spark, lake, mixtures, MIXTURE).mixture_id == MIXTURE


def test_an_unknown_mixture_is_a_clear_error(spark, sharded):
    cfg, lake, _, _ = sharded
    cfg.shards.mixture = "no-such/mixture"
    before = lake_io.version(spark, lake, GOLD_SHARDS)
    with pytest.raises(ShardsError, match="no-such/mixture.*known mixture ids: .*shards-test/climb"):
        run_shards(spark, cfg)
    assert lake_io.version(spark, lake, GOLD_SHARDS) == before
    runs = lake_io.read(spark, lake, OPS_RUNS)[0].filter(F.col("job") == "shards")
    assert runs.orderBy(F.desc("finished_at")).first().status == "failed"


def test_writers_leave_no_file_for_an_empty_shard_and_the_job_fills_it(spark, sharded, tmp_path):
    """More shards than rows: some tasks get no rows at all; every "-of-N" file still exists and loads."""
    _, _, _, out_dir = sharded
    tokenizer = str(Path(out_dir) / "tokenizer")
    tok = load_tokenizer(tokenizer)
    docs = [(0, 5, "d1", "one two three"), (3, 1, "d2", "four"), (3, 2, "d3", "five six")]
    rows = spark.createDataFrame(
        [(shard, key, doc, 0, 7, len(tok(text)["input_ids"]), text) for shard, key, doc, text in docs],
        "shard int, shuffle_key long, doc_id string, epoch int, super_cluster_id int, n_tokens long, text string",
    )
    written = write_parquet_shards(rows, tokenizer, str(tmp_path), 5).toPandas()
    assert sorted(written["file"]) == [shard_file(0, 5), shard_file(3, 5)]
    assert [f["n_rows"] for f in file_entries(written, str(tmp_path), 5)] == [1, 0, 0, 2, 0]
    tables = [pq.read_table(tmp_path / shard_file(i, 5)) for i in range(5)]
    assert [t.num_rows for t in tables] == [1, 0, 0, 2, 0]
    assert tables[3].column("doc_id").to_pylist() == ["d2", "d3"]  # in shuffle-key order


def test_sample_plan_takes_documents_until_the_target_and_caps_epochs(spark):
    counts = spark.createDataFrame(
        [("a", 1, 10), ("b", 1, 10), ("c", 1, 10), ("d", 2, 5), ("e", 3, 7)],
        "doc_id string, super_cluster_id int, n_tokens long",
    )
    targets = spark.createDataFrame([(1, 15), (2, 12), (3, 0)], "super_cluster_id int, target_tokens long")
    plan = sample_plan(counts, targets, seed=0, max_repeats=2).toPandas()
    first = plan[plan["super_cluster_id"] == 1]
    # 10 tokens before the second document are short of 15: it is taken and crosses; the third is not.
    assert len(first) == 2 and first["n_tokens"].sum() == 20 and set(first["epoch"]) == {0}
    # 12 tokens from a 5-token pool would need 3 epochs; max_repeats caps it at 2 (10 tokens, 2 short).
    assert sorted(plan.loc[plan["super_cluster_id"] == 2, "epoch"]) == [0, 1]
    assert 3 not in set(plan["super_cluster_id"])  # weight 0: nothing
    again = sample_plan(counts, targets, seed=0, max_repeats=2).toPandas()
    assert sorted(map(tuple, again.values.tolist())) == sorted(map(tuple, plan.values.tolist()))


def test_shard_manifest_mart_lists_every_file_with_its_tokens(spark, sharded):
    from jobs.session import build_session
    from jobs.sql_runner import resolve_query, run_sql

    cfg, lake, counts, out_dir = sharded
    session = build_session(cfg.spark, lake)  # registers gold.shards by name
    rows = run_sql(session, resolve_query("shard_manifest", None)[1], {"mixture_id": MIXTURE}).collect()
    rows = [r for r in rows if r.out_dir == out_dir]  # other tests add shard sets of the same mixture
    assert [r.file for r in rows] == FILES
    assert sum(r.n_tokens for r in rows) == counts["shard_tokens"]
    assert abs(sum(r.token_fraction_of_set for r in rows) - 1) < 1e-3
    assert run_sql(session, resolve_query("shard_manifest", None)[1], {"mixture_id": "nope"}).count() == 0
