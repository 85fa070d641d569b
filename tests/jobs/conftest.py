"""A small curated lake with token pools and a held-out target, built once and shared by the search,
shards and export tests (each of those works on its own copy of nothing: they only add tables)."""

from __future__ import annotations

import json
import random

import pytest

from jobs import lake as lake_io
from jobs.config import load_config
from jobs.stages import run_stage

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
