"""Embed through Spark with the packaged MiniLM: unit vectors equal to a direct encode, incremental, resumable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

from jobs import lake as lake_io
from jobs.config import load_config
from jobs.embed import run_embed
from jobs.ingest import run_ingest
from pipelines.embed import EmbedderSpec, encode
from schemas.tables import SILVER_EMBEDDINGS
from tests.conftest import write_jsonl

TEXTS = [
    f"Document {i}: " + ("a tale of ships and harbours. " if i % 2 else "notes on parsing JSON. ") * (i + 1)
    for i in range(24)
]


def _lake_with_docs(spark, root: Path, n: int) -> str:
    src = write_jsonl(root / "docs.jsonl", [{"text": t} for t in TEXTS[:n]])
    cfg = load_config(overrides={"lake": str(root / "lake")})
    run_ingest(spark, cfg, [str(src)])
    return lake_io.normalize_lake(cfg.lake)


def test_embeddings_match_direct_encode_and_rerun_is_a_no_op(spark, tmp_path):
    lake = _lake_with_docs(spark, tmp_path, 10)
    cfg = load_config(overrides={"lake": lake, "embed.chunk_docs": 4})
    first = run_embed(spark, cfg)
    assert (first["docs_to_embed"], first["docs_embedded"]) == (10, 10)
    table, version = lake_io.read(spark, lake, SILVER_EMBEDDINGS)
    rows = table.join(spark.read.format("delta").load(f"{lake}/bronze/documents"), "doc_id").collect()
    assert len(rows) == 10 and len({r.chunk for r in rows}) == 3  # 10 docs / 4 per chunk
    got = np.array([r.embedding for r in rows], dtype=np.float32)
    want = encode(EmbedderSpec(), [r.text for r in rows])
    assert got.shape == (10, 384)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(got, want, atol=1e-4)

    again = run_embed(spark, cfg)
    assert (again["docs_to_embed"], again.get("docs_embedded", 0)) == (0, 0)
    assert lake_io.version(spark, lake, SILVER_EMBEDDINGS) == version


def test_killed_midway_resumes_without_redoing_committed_chunks(spark, tmp_path):
    lake = _lake_with_docs(spark, tmp_path, 24)
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"lake": lake, "embed": {"chunk_docs": 2}, "spark": {"master": "local[1]"}}))
    log_dir = Path(lake) / "silver" / "embeddings" / "_delta_log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "jobs.embed", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if len(list(log_dir.glob("*.json"))) >= 3:  # table created + two chunks committed
            break
        time.sleep(0.1)
    assert proc.poll() is None, "the embed job finished before it could be killed; give it more chunks"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()

    done = {r.doc_id: r.run_id for r in spark.read.format("delta").load(f"{lake}/silver/embeddings").collect()}
    assert 0 < len(done) < 24
    counts = run_embed(spark, load_config(config))
    assert counts["docs_to_embed"] == 24 - len(done)
    after = {r.doc_id: r.run_id for r in spark.read.format("delta").load(f"{lake}/silver/embeddings").collect()}
    assert len(after) == 24
    assert all(after[d] == run for d, run in done.items())  # committed chunks were not redone
