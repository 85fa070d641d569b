"""One Spark session for the whole test run (local[2], few shuffle partitions, UTC, UI off)."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

os.environ.setdefault("MIXLAKE_CACHE", str(Path(__file__).resolve().parent.parent / ".cache" / "test"))


@pytest.fixture(scope="session")
def spark():
    from jobs.config import SparkConfig
    from jobs.session import build_session

    session = build_session(SparkConfig(master="local[2]", shuffle_partitions=2, driver_memory="2g"))
    yield session
    session.stop()


@pytest.fixture
def lake(tmp_path) -> str:
    return str(tmp_path / "lake")


def write_jsonl(path: Path, lines: list) -> Path:
    """Each item: a dict (JSON-encoded), or raw bytes written as they are."""
    with path.open("wb") as f:
        for item in lines:
            f.write(item if isinstance(item, bytes) else json.dumps(item).encode())
            f.write(b"\n")
    return path


# --- a small curated lake with token pools and a held-out target, built once per session --------------
# Shared by the search, shards, export and mixture-search DAG tests; they add tables, and the DAG test works
# on a copy.

TOPICS = {
    "code": "def parse ( line ) : key , value = line . split ( '=' ) return key . strip ( ) , value . strip ( )",
    "prose": "she walked along the river thinking about the letter her brother had sent from the city last spring",
    "dict": "harbour noun a place on the coast where ships may moor in shelter see also port haven anchorage",
}


def topical_corpus(path, per_topic: int = 40, seed: int = 0):
    """Three topics with disjoint vocabularies (learnable by a tiny proxy) and a little spam."""
    rng = random.Random(seed)
    with open(path, "w") as f:
        for source, base in TOPICS.items():
            words = base.split()
            for i in range(per_topic):
                body = " ".join(rng.choice(words) for _ in range(60))
                f.write(json.dumps({"text": f"{base} {body} ({i})", "source": source}) + "\n")
        for i in range(15):
            f.write(
                json.dumps({"text": f"BUY NOW!!! $$$ CLICK >>> ### FREE #{i} {'$' * (i % 5)}", "source": "junk"})
                + "\n"
            )
    return path


@pytest.fixture(scope="session")
def pooled(spark, tmp_path_factory):
    """(cfg, lake) after ingest (code held out at 25%) -> embed -> quality -> cluster -> merge -> pools."""
    from jobs import lake as lake_io
    from jobs.config import load_config
    from jobs.stages import run_stage

    root = tmp_path_factory.mktemp("pooled")
    raw = topical_corpus(root / "topics.jsonl")
    cfg = load_config(
        overrides={
            "lake": str(root / "lake"),
            "ingest.holdout_sources": ["code"],
            "ingest.holdout_fraction": 0.25,
            "quality.reference_sources": ["code", "prose", "dict"],
            "cluster.k": 4,
            "cluster.niter": 10,
            "cluster.near_dup_threshold": 0.999,  # shuffled words of one sentence look alike to MiniLM
            "merge.min_docs": 2,
            "merge.min_quality": 0.3,
            "merge.distance_threshold": 0.05,  # keep the topics apart: one super-cluster each
            "merge.max_token_share": 1.0,
            "pools.vocab_size": 300,
            "search.proxy": {
                "n_layer": "1",
                "n_embd": "32",
                "n_head": "2",
                "block_size": "32",
                "batch_size": "8",
                "train_tokens": "4096",
                "eval_tokens": "1024",
                "warmup_steps": "2",
            },
            "search.total_proxies": 6,
            "search.ratio": [2, 1],
            "search.n_candidates": 200,
            "search.top_k": 10,
            "search.remeasure_seeds": 2,
            "search.workers": 2,
            "shards.tokens": 20_000,
            "shards.n_shards": 3,
        }
    )
    run_stage("ingest", cfg, inputs=[str(raw)])
    for stage in ("embed", "quality", "cluster", "merge", "pools"):
        run_stage(stage, cfg)
    return cfg, lake_io.normalize_lake(cfg.lake)
