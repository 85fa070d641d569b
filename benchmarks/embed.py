"""Embed stage docs/s against a plain ``SentenceTransformer.encode`` of the same texts in one process.

    .venv/bin/python benchmarks/embed.py [--docs 2000]

Both sides embed the same demo-corpus texts with the same packaged model; the stage runs through Spark
(mapInPandas, one model per worker, per-chunk Delta commits, validation), the baseline is one encode() call.
Ratio >= 0.9 is the target: Spark's overhead should be small next to the model.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

from jobs.build_corpus import build_demo_corpus
from jobs.config import load_config
from jobs.embed import run_embed
from jobs.ingest import run_ingest
from jobs.session import build_session
from pipelines.embed import EmbedderSpec, encode, setup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=2000)
    args = parser.parse_args()

    files = [str(p) for p in build_demo_corpus(docs=args.docs, seed=0)]
    texts = [json.loads(line)["text"] for f in files for line in open(f)]
    lake = tempfile.mkdtemp(prefix="mixlake-bench-embed-")
    cfg = load_config(overrides={"lake": lake})
    spark = build_session(cfg.spark, lake)
    run_ingest(spark, cfg, files)

    spec = EmbedderSpec()
    setup(spec)  # model load is not what either side is measured on
    t0 = time.perf_counter()
    encode(spec, texts)
    plain = time.perf_counter() - t0

    t0 = time.perf_counter()
    counts = run_embed(spark, cfg)
    stage = time.perf_counter() - t0
    n = counts["docs_embedded"]
    print(f"plain encode : {len(texts) / plain:7.1f} docs/s ({len(texts)} docs, {plain:.1f} s)")
    print(f"embed stage  : {n / stage:7.1f} docs/s ({n} docs, {stage:.1f} s, incl. Delta commits and validation)")
    print(f"ratio stage/plain throughput: {(n / stage) / (len(texts) / plain):.2f}  (target >= 0.9)")


if __name__ == "__main__":
    main()
