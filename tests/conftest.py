"""One Spark session for the whole test run (local[2], few shuffle partitions, UTC, UI off)."""

from __future__ import annotations

import json
import os
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
