"""The downstream jobs through real Spark / Delta on a copy of the sharded test lake, with tiny models: teacher
(base, teacher, proxy checkpoints and rows), traces (temperature and antidistillation), evaluate (samples,
pass@k, coverage). One pipeline per module; each test checks one stage's tables against what its inputs imply."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from pyspark.sql import functions as F

from jobs import lake as lake_io
from jobs.config import ConfigError
from jobs.teacher import run_teacher
from schemas.tables import DOWNSTREAM_MODELS, OPS_RUNS
from tests.jobs.test_shards import copy_pooled, shared_shard_set

TINY = {
    "lm": {
        "n_layer": "1",
        "n_head": "2",
        "n_embd": "32",
        "block_size": "64",
        "batch_size": "8",
        "warmup_steps": "2",
    },
    "pretrain_steps": 20,
    "teacher_steps": 30,
    "proxy_steps": 5,
    "proxy_examples": 8,
    "student_steps": 10,
    "n_train_problems": 12,
    "n_holdout_problems": 4,
    "n_eval_problems": 6,
    "lambdas": [1.0],
    "max_new_tokens": 24,
    "n_samples": 4,
    "batch_size": 32,
}


@pytest.fixture(scope="module")
def downstream(spark, pooled, tmp_path_factory):
    """(cfg, lake, teacher counts) on a private copy of the shared shard set's lake."""
    torch.set_num_threads(1)  # 2 busy cores: thread contention costs more than it gains on tiny models
    sharded_cfg, sharded_lake, _, _ = shared_shard_set(spark, pooled, tmp_path_factory)
    cfg, lake = copy_pooled((sharded_cfg, sharded_lake), tmp_path_factory.mktemp("downstream"))
    for key, value in TINY.items():
        setattr(cfg.downstream, key, value)
    counts = run_teacher(spark, cfg)
    return cfg, lake, counts


def _models(spark, lake) -> dict[str, dict]:
    return {r.role: r.asDict() for r in lake_io.read(spark, lake, DOWNSTREAM_MODELS)[0].collect()}


def test_teacher_writes_three_self_describing_checkpoints(spark, downstream):
    cfg, lake, counts = downstream
    models = _models(spark, lake)
    assert set(models) == {"base", "teacher", "proxy"}
    assert counts["models_written"] == 3
    assert models["teacher"]["parent_id"] == models["base"]["model_id"] == models["proxy"]["parent_id"]
    assert models["base"]["trained_on"].startswith("shards:")
    for role, row in models.items():
        assert row["path"].startswith(f"{lake}/_models/")
        record = json.loads((Path(row["path"]) / "checkpoint.json").read_text())
        assert record["role"] == role
        assert row["metrics"]["train_loss"] == pytest.approx(record["metrics"]["train_loss"])
    steps = {
        role: json.loads((Path(r["path"]) / "checkpoint.json").read_text())["config"]["steps"]
        for role, r in models.items()
    }
    assert steps == {"base": 20, "teacher": 30, "proxy": 5}
    # Fine-tuning on worked solutions lowers the loss on them.
    assert models["teacher"]["metrics"]["train_loss"] < models["teacher"]["metrics"]["first_loss"]


def test_teacher_rerun_reuses_everything(spark, downstream):
    cfg, lake, _ = downstream
    before = lake_io.version(spark, lake, DOWNSTREAM_MODELS)
    counts = run_teacher(spark, cfg)
    assert counts["models_reused"] == 3 and "models_written" not in counts
    assert lake_io.version(spark, lake, DOWNSTREAM_MODELS) == before


def test_teacher_without_shards_names_the_fix(spark, tmp_path, downstream):
    cfg, _, _ = downstream
    cfg = cfg.__class__(**{**cfg.__dict__, "lake": str(tmp_path / "empty")})
    with pytest.raises(ConfigError, match="mixlake shards"):
        run_teacher(spark, cfg)
    runs = lake_io.read(spark, lake_io.normalize_lake(cfg.lake), OPS_RUNS)[0]
    assert runs.filter(F.col("status") == "failed").count() == 1
