"""Export through the real job: a dry run lists every file; a push with no network, or no token, fails with a
message that says what to do; and the token never shows in the error, the logs or ops.runs."""

from __future__ import annotations

import copy
import logging
import time
import traceback
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from jobs import lake as lake_io
from jobs.errors import USER_ERRORS
from jobs.export import ExportError, read_token, run_export
from schemas.tables import GOLD_SHARDS, OPS_RUNS
from tests.jobs.test_shards import shared_shard_set

TOKEN = "hf_mixlakeTestSecret0123456789abcdef"  # fake, distinctive: any leak is a plain substring


@pytest.fixture(scope="module")
def shard_set(spark, pooled, tmp_path_factory):
    cfg, lake, _, _ = shared_shard_set(spark, pooled, tmp_path_factory)
    cfg.export.repo_id = "mixlake-test/climbmix-tiny"
    cfg.export.token_env = "MIXLAKE_TEST_HF_TOKEN"
    return cfg, lake


def _export_runs(spark, lake) -> list[str]:
    runs = lake_io.read(spark, lake, OPS_RUNS)[0].filter(F.col("job") == "export")
    return [str(r.asDict()) for r in runs.collect()]


def test_dry_run_lists_every_file_of_the_latest_shard_set_and_needs_no_token(spark, shard_set, monkeypatch):
    cfg, lake = shard_set
    monkeypatch.delenv(cfg.export.token_env, raising=False)
    result = run_export(spark, cfg, dry_run=True)
    runs = lake_io.read(spark, lake, OPS_RUNS)[0].select("run_id", "finished_at")
    index = lake_io.read(spark, lake, GOLD_SHARDS)[0]
    out_dir = index.join(runs, "run_id").orderBy(F.desc("finished_at")).first().out_dir
    on_disk = sorted(
        (p.relative_to(out_dir).as_posix(), p.stat().st_size) for p in Path(out_dir).rglob("*") if p.is_file()
    )
    assert [(f["path"], f["bytes"]) for f in result["files"]] == on_disk
    assert {"README.md", "manifest.json", "data/train-00002-of-00003.parquet", "tokenizer/tokenizer.json"} <= {
        f["path"] for f in result["files"]
    }
    assert result["shards_dir"] == out_dir and result["url"] is None
    assert result["counts"] == {"files": len(on_disk), "bytes": sum(s for _, s in on_disk), "dry_run": 1}


def test_push_without_network_is_a_clear_error_that_never_shows_the_token(
    spark, shard_set, monkeypatch, caplog, capfd
):
    cfg, lake = shard_set
    monkeypatch.setenv(cfg.export.token_env, TOKEN)
    caplog.set_level(logging.DEBUG)
    t0 = time.perf_counter()
    with pytest.raises(ExportError) as info:
        run_export(spark, cfg)
    assert time.perf_counter() - t0 < 30, "no network must fail fast, not wait on the Hub client"
    message = str(info.value)
    # This machine has no route to the Hub; with HF_HUB_OFFLINE set, or a network, the error is as clear.
    assert any(s in message for s in ("cannot reach the Hugging Face Hub", "HF_HUB_OFFLINE", "refused the token"))
    assert isinstance(info.value, USER_ERRORS)  # the CLI prints the message and exits 2, no traceback
    shown = "".join(traceback.format_exception(info.value)) + caplog.text + "".join(capfd.readouterr())
    runs = _export_runs(spark, lake)
    assert any("failed" in r for r in runs)
    assert TOKEN not in shown and not any(TOKEN in r for r in runs)


def test_a_token_inside_a_client_error_is_scrubbed(spark, shard_set, monkeypatch):
    """The Hub client's message can carry the secret (here in the endpoint URL); it is masked before raising."""
    import huggingface_hub.constants

    cfg, lake = shard_set
    monkeypatch.setenv(cfg.export.token_env, TOKEN)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", f"http://127.0.0.1:9/{TOKEN}")
    with pytest.raises(ExportError, match=r"cannot reach the Hugging Face Hub at http://127\.0\.0\.1:9/\*\*\*"):
        run_export(spark, cfg)
    assert not any(TOKEN in r for r in _export_runs(spark, lake))


def test_missing_token_names_the_variable_and_the_file(spark, shard_set, monkeypatch, tmp_path):
    cfg, _ = shard_set
    monkeypatch.delenv(cfg.export.token_env, raising=False)
    with pytest.raises(ExportError, match=r"MIXLAKE_TEST_HF_TOKEN.*token_file"):
        run_export(spark, cfg)
    cfg.export.token_file = str(tmp_path / "token")
    with pytest.raises(ExportError, match=r"token_file .*token does not exist"):
        read_token(cfg.export)
    (tmp_path / "token").write_text(f"  {TOKEN}\n")
    assert read_token(cfg.export) == TOKEN


def test_a_token_pasted_as_the_variable_name_is_refused_unrecorded(spark, shard_set):
    cfg, lake = shard_set
    pasted = copy.deepcopy(cfg)
    pasted.export.token_env = TOKEN
    with pytest.raises(ExportError, match="must name an environment variable") as info:
        run_export(spark, pasted, dry_run=True)
    assert TOKEN not in str(info.value) and not any(TOKEN in r for r in _export_runs(spark, lake))
