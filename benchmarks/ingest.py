"""Ingest throughput: `mixlake ingest` against a plain `spark.read.json(...).write.format("delta")` of the same
files, in the same Spark session and run, printed as a ratio (these machines are noisy; absolute times drift).

    .venv/bin/python benchmarks/ingest.py [--docs 20000] [--repeats 2]

The plain baseline does none of ingest's work (UTF-8 and type checks, quarantine, normalisation, hashing, dedup,
MERGE, great-expectations, run records), so the ratio is the price of those guarantees. Both sides are timed from
cold tables; the best of --repeats runs is kept for each, alternating order.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from jobs.build_corpus import build_demo_corpus
from jobs.config import SparkConfig, load_config
from jobs.ingest import run_ingest
from jobs.session import build_session


def plain(spark, files: list[str], out: str) -> None:
    spark.read.json(files).write.format("delta").mode("overwrite").save(out)


def mixlake(spark, files: list[str], lake: str) -> None:
    run_ingest(spark, load_config(overrides={"lake": lake}), files)


def timed(fn, *args) -> float:
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    files = [str(p) for p in build_demo_corpus(docs=args.docs, seed=0)]
    n_bytes = sum(Path(f).stat().st_size for f in files)
    spark = build_session(SparkConfig())
    work = Path(tempfile.mkdtemp(prefix="mixlake-bench-"))
    plain(spark, files[:1], str(work / "warmup"))  # JVM and Python workers warm before either side is timed

    best = {"plain": float("inf"), "mixlake": float("inf")}
    for r in range(args.repeats):
        order = ["plain", "mixlake"] if r % 2 == 0 else ["mixlake", "plain"]
        for side in order:
            target = work / f"{side}-{r}"
            seconds = timed(plain if side == "plain" else mixlake, spark, files, str(target))
            best[side] = min(best[side], seconds)
            shutil.rmtree(target, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)

    mb = n_bytes / 1e6
    print(f"input: {len(files)} files, {args.docs} docs, {mb:.1f} MB")
    for side, seconds in best.items():
        print(f"{side:8s} {seconds:7.1f} s  {args.docs / seconds:8.0f} docs/s  {mb / seconds:6.2f} MB/s")
    print(
        f"ratio mixlake/plain throughput: {best['plain'] / best['mixlake']:.2f}  (1.00 = as fast as a bare write)"
    )


if __name__ == "__main__":
    main()
