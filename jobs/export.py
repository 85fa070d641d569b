"""Export: a shard folder (``mixlake shards``) -> a dataset repo on the Hugging Face Hub.

The folder already is a Hub dataset (data/train-*.parquet, README.md with the card's YAML, manifest.json,
tokenizer/), so the push uploads it as it is. ``dry_run`` lists every file and its size and needs no token.

The token comes from the environment variable ``export.token_env`` (HF_TOKEN) or the file ``export.token_file``,
is read at push time, and is never logged, stored in config, tables or ops.runs, nor shown in an error: every
message from the Hub client is scrubbed of it before it is raised. A Hub that cannot be reached fails in seconds
with a message that says so, not a traceback.

    mixlake export --lake ./lake --repo-id my-org/climbmix-demo [--dry-run]
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import asdict
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs import lake as lake_io
from jobs.config import Config, ConfigError, ExportConfig
from jobs.runs import RunRecord
from jobs.shards import latest_run_id
from schemas.tables import GOLD_SHARDS

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10.0  # the reachability check; the Hub client itself has no timeout and would wait minutes
HIDDEN = [".*", "*/.*"]  # fnmatch over relative paths: any file or folder whose name starts with a dot
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ExportError(ConfigError):
    """The export cannot go ahead (no token, no network, Hub refusal); the message says what to do."""


def resolve_shards_dir(spark: SparkSession, run: RunRecord, cfg: ExportConfig) -> str:
    """``export.shards_dir``, or the folder of the shard set whose run finished last."""
    if cfg.shards_dir:
        return lake_io.normalize_lake(cfg.shards_dir)
    if not lake_io.exists(spark, run.lake, GOLD_SHARDS):
        raise ExportError("gold.shards has no shard set yet; run `mixlake shards` first, or set export.shards_dir")
    index, _ = run.read(GOLD_SHARDS)
    run_ids = [r.run_id for r in index.select("run_id").distinct().collect()]
    latest = latest_run_id(spark, run.lake, run_ids)
    if latest is None:
        raise ExportError("no gold.shards row has a run in ops.runs; set export.shards_dir to the folder to push")
    return index.filter(F.col("run_id") == latest).select("out_dir").first().out_dir


def upload_files(shards_dir: str) -> list[tuple[str, int]]:
    """(path relative to the folder, bytes) of every file a push uploads, sorted; hidden files are skipped."""
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", shards_dir) and not shards_dir.startswith("file://"):
        raise ExportError(
            f"export uploads a local folder; copy {shards_dir} to this machine and set export.shards_dir"
        )
    root = Path(shards_dir.removeprefix("file://"))
    if not (root / "README.md").is_file() or not list(root.glob("data/train-*.parquet")):
        raise ExportError(
            f"{shards_dir} is not a shard folder (it needs README.md and data/train-*.parquet); run "
            "`mixlake shards`, or set export.shards_dir to a folder it wrote"
        )
    files = [p for p in root.rglob("*") if p.is_file()]
    rel = [(p.relative_to(root).as_posix(), p.stat().st_size) for p in files]
    return sorted((path, size) for path, size in rel if not any(part.startswith(".") for part in path.split("/")))


def check_token_env(cfg: ExportConfig) -> None:
    """A token pasted into ``export.token_env`` would be stored in ops.runs with the config: refuse it unseen."""
    if not _ENV_NAME.match(cfg.token_env) or cfg.token_env.startswith("hf_"):
        raise ExportError(
            "export.token_env must name an environment variable (like HF_TOKEN), and its value does not look like "
            "one (it was not recorded). Put the token in that variable or in export.token_file instead."
        )


def read_token(cfg: ExportConfig) -> str:
    """The Hub token: from ``export.token_file`` when set, else from the environment variable ``token_env``."""
    if cfg.token_file:
        path = Path(cfg.token_file).expanduser()
        if not path.is_file():
            raise ExportError(f"export.token_file {path} does not exist; write a Hugging Face write token into it")
        token = path.read_text().strip()
        if not token:
            raise ExportError(f"export.token_file {path} is empty; write a Hugging Face write token into it")
        return token
    token = os.environ.get(cfg.token_env, "").strip()
    if not token:
        raise ExportError(
            f"no Hugging Face token: set the environment variable {cfg.token_env} (export.token_env) or "
            "export.token_file (--token-file) to a write token; --dry-run needs none"
        )
    return token


def scrub(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text


def push(shards_dir: str, cfg: ExportConfig, token: str, message: str) -> str:
    """Create the dataset repo if needed and upload the folder in one commit; returns the commit URL."""
    from huggingface_hub import HfApi, constants
    from huggingface_hub.utils import get_session

    if constants.is_offline_mode():
        raise ExportError(
            "HF_HUB_OFFLINE is set, so the Hub cannot be reached; unset it to push, or use --dry-run"
        )
    failure = None
    try:
        get_session().head(constants.ENDPOINT, timeout=CONNECT_TIMEOUT_S)  # any HTTP answer: the Hub is there
    except Exception as e:  # noqa: BLE001 - every way of not reaching the Hub gets the same actionable message
        failure = (
            f"cannot reach the Hugging Face Hub at {constants.ENDPOINT} ({type(e).__name__}: {e}); check the "
            "network or proxy (HTTPS_PROXY, HF_ENDPOINT), or use --dry-run to see what would be uploaded"
        )
    if failure is None:
        try:
            api = HfApi(token=token)
            api.create_repo(cfg.repo_id, repo_type="dataset", private=cfg.private, exist_ok=True)
            commit = api.upload_folder(
                folder_path=shards_dir,
                repo_id=cfg.repo_id,
                repo_type="dataset",
                commit_message=message,
                ignore_patterns=HIDDEN,
            )
            return str(commit.commit_url)
        except Exception as e:  # noqa: BLE001 - re-raised below, scrubbed of the token
            status = getattr(getattr(e, "response", None), "status_code", None)
            hint = (
                f"; the Hub refused the token (HTTP {status}): it needs write access to {cfg.repo_id}"
                if status in (401, 403)
                else ""
            )
            failure = f"pushing {shards_dir} to {cfg.repo_id} failed: {type(e).__name__}: {e}{hint}"
    # Raised outside the except blocks, so the Hub client's exception (and whatever it holds) is not chained.
    raise ExportError(scrub(failure, token))


def run_export(spark: SparkSession, cfg: Config, dry_run: bool = False) -> dict:
    """Push (or, with ``dry_run``, list) the shard folder; returns repo_id, shards_dir, files, url and counts."""
    lake = lake_io.normalize_lake(cfg.lake)
    ecfg = cfg.export
    check_token_env(ecfg)
    with RunRecord(spark, lake, "export", {"export": asdict(ecfg), "dry_run": dry_run}) as run:
        shards_dir = resolve_shards_dir(spark, run, ecfg)
        files = upload_files(shards_dir)
        run.count("files", len(files))
        run.count("bytes", sum(size for _, size in files))
        target = f"datasets/{ecfg.repo_id}" if ecfg.repo_id else "(export.repo_id not set)"
        for path, size in files:
            log.info("%s %s (%d bytes) -> %s", "would upload" if dry_run else "uploading", path, size, target)
        url = None
        if dry_run:
            run.count("dry_run", 1)
        else:
            if not ecfg.repo_id:
                raise ExportError(
                    "no Hub repo to push to: set export.repo_id (--repo-id), e.g. my-org/climbmix-demo"
                )
            token = read_token(ecfg)
            url = push(shards_dir, ecfg, token, f"mixlake shards from {Path(shards_dir).name}")
            run.count("pushed", 1)
            log.info("pushed %d files to %s: %s", len(files), target, url)
    return {
        "repo_id": ecfg.repo_id,
        "shards_dir": shards_dir,
        "files": [{"path": p, "bytes": s} for p, s in files],
        "url": url,
        "counts": dict(run.counts),
    }
