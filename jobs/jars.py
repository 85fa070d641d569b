"""Delta Lake's jars for the installed pyspark, fetched once from Maven Central into a project-local folder.

Why not ``spark.jars.packages``: Ivy trusts ~/.m2 entries that hold a POM but no jar and then fails at every
start, and it re-resolves on every session. Maven into ``.jars/`` resolves once, offline afterwards, same on CI.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import shutil
import subprocess
from pathlib import Path

import pyspark

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class DeltaJarsError(RuntimeError):
    pass


def delta_artifacts() -> list[str]:
    """Maven coordinates matching the installed delta-spark and pyspark (same rule as delta's pip_utils)."""
    delta = importlib.metadata.version("delta-spark")
    spark_mm = ".".join(pyspark.__version__.split(".")[:2])
    # Everything else delta-spark depends on (jackson, parquet, hadoop) ships with pyspark; adding the
    # transitive set would put a second, older jackson on the classpath.
    return [f"io.delta:delta-spark_{spark_mm}_2.13:{delta}", f"io.delta:delta-storage:{delta}"]


def jar_name(coordinate: str) -> str:
    _, artifact, version = coordinate.split(":")
    return f"{artifact}-{version}.jar"


def default_jars_dir() -> Path:
    return Path(os.environ.get("MIXLAKE_JARS_DIR", PROJECT_ROOT / ".jars"))


def find_delta_jars(jars_dir: Path | None = None) -> list[Path] | None:
    jars_dir = jars_dir or default_jars_dir()
    paths = [jars_dir / jar_name(c) for c in delta_artifacts()]
    return paths if all(p.is_file() for p in paths) else None


def fetch_delta_jars(jars_dir: Path | None = None) -> list[Path]:
    """Download the Delta jars with Maven (``mvn dependency:copy``); idempotent."""
    jars_dir = jars_dir or default_jars_dir()
    found = find_delta_jars(jars_dir)
    if found:
        return found
    mvn = shutil.which("mvn")
    if not mvn:
        raise DeltaJarsError(
            "Delta's jars are missing and Maven (mvn) is not installed. Install Maven (apt-get install maven) and "
            f"run `make jars`, or download {', '.join(delta_artifacts())} into {jars_dir}."
        )
    jars_dir.mkdir(parents=True, exist_ok=True)
    for coord in delta_artifacts():
        log.info("fetching %s with Maven into %s", coord, jars_dir)
        proc = subprocess.run(
            [mvn, "-q", "-B", "dependency:copy", f"-Dartifact={coord}", f"-DoutputDirectory={jars_dir}"],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr)[-1500:]
            raise DeltaJarsError(f"Maven could not fetch {coord} (exit {proc.returncode}):\n{tail}")
    found = find_delta_jars(jars_dir)
    if not found:
        raise DeltaJarsError(f"Maven finished but the Delta jars are not in {jars_dir}")
    return found


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for p in fetch_delta_jars():
        log.info("%s", p)


if __name__ == "__main__":
    main()
