"""Teacher: the models the downstream stage starts from -> checkpoints under <lake>/_models and downstream.models.

Three models, all sharing the shard set's tokenizer (antidistillation adds teacher and proxy log-probs token by
token, so they must):

- base: a tiny Llama pretrained on the latest shard set's ``input_ids`` (gold.shards; documents joined by eos).
- teacher: the base fine-tuned (completion-only) on the worked solutions of ``teacher_problems`` train problems
  (the trace problems among them, as a lab's teacher has seen its train set).
- proxy: the student antidistillation poisons against. The paper's proxy is a smaller student of the teacher's
  family; here it is the base after a brief taste of the task (``proxy_steps`` on ``proxy_examples`` worked
  solutions): the same starting point a distilled student has, knowing the answer format but not yet the task,
  so its gradient on held-out teacher traces points where a real student would learn.

``downstream.teacher`` / ``downstream.proxy_student`` paths replace the trained teacher and proxy (both or the
proxy alone; no base then). A model's id hashes what made it; a checkpoint whose ``checkpoint.json`` exists and
whose row is in downstream.models is reused, so a rerun trains nothing.

    python -m jobs.teacher --lake ./lake
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import logging
from dataclasses import asdict
from pathlib import Path

import numpy as np
import yaml
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs import lake as lake_io
from jobs.config import Config, ConfigError, DownstreamConfig
from jobs.console import step
from jobs.dq import validate_table
from jobs.runs import RunRecord, utc_now
from jobs.shards import latest_run_id
from schemas.expectations import downstream_models
from schemas.tables import DOWNSTREAM_MODELS, GOLD_SHARDS
from training.lm import MARKER, LMConfig, finetune_completion_only, new_model, pretrain, save_checkpoint
from training.tasks import STOP, Problem, Task, TaskError, format_prompt, task_from_config
from training.tokenizer import load_tokenizer

log = logging.getLogger(__name__)


# ---------------------------------------------------------------- shared by the downstream jobs


def build_task(cfg: DownstreamConfig) -> Task:
    options = {k: yaml.safe_load(v) for k, v in cfg.task_options.items()}
    if cfg.task == "arithmetic":
        options.setdefault("difficulty", cfg.difficulty)
    try:
        return task_from_config(cfg.task, options)
    except TaskError as e:
        raise ConfigError(f"downstream.task / task_options: {e}") from e


def lm_config(cfg: DownstreamConfig, **changes) -> LMConfig:
    """LMConfig defaults, then ``downstream.lm`` overrides (YAML scalars), then ``changes``, seeded from cfg."""
    known = {f.name: f for f in dataclasses.fields(LMConfig)}
    overrides = {}
    for key, raw in cfg.lm.items():
        if key not in known:
            raise ConfigError(f"unknown downstream.lm key {key!r}; allowed: {', '.join(known)}")
        value = yaml.safe_load(raw)
        overrides[key] = float(value) if known[key].type in ("float", float) and isinstance(value, int) else value
    return dataclasses.replace(LMConfig(), **{"seed": cfg.seed, **overrides, **changes})


def train_problems(task: Task, cfg: DownstreamConfig) -> tuple[list[Problem], list[Problem]]:
    """(train, holdout): the first n_train_problems of the train split, then n_holdout_problems more."""
    problems = task.problems(cfg.n_train_problems + cfg.n_holdout_problems, seed=cfg.seed, split="train")
    return problems[: cfg.n_train_problems], problems[cfg.n_train_problems :]


def solution_pairs(problems: list[Problem]) -> list[tuple[str, str]]:
    """(prompt, completion) as ``format_example`` writes them: " <solution>" and the stop string."""
    return [(format_prompt(p), f" {p.solution}{STOP}") for p in problems]


def model_id_for(role: str, *parts) -> str:
    return f"{role}-{hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]}"


def latest_model(spark: SparkSession, run: RunRecord, role: str):
    """The downstream.models row of ``role`` created last; a ConfigError naming the fix when there is none."""
    if not lake_io.exists(spark, run.lake, DOWNSTREAM_MODELS):
        raise ConfigError("downstream.models does not exist yet; run `mixlake teacher` first")
    models, _ = run.read(DOWNSTREAM_MODELS)
    row = models.filter(F.col("role") == role).orderBy(F.col("created_at").desc(), "model_id").first()
    if row is None:
        raise ConfigError(f"downstream.models has no {role} model; run `mixlake teacher` first")
    return row


def model_row(model_id: str, role: str, path: str, trained_on: str, parent_id, metrics: dict, run_id: str) -> dict:
    return {
        "model_id": model_id,
        "role": role,
        "path": path,
        "trained_on": trained_on,
        "parent_id": parent_id,
        "metrics": {k: float(v) for k, v in metrics.items()},
        "run_id": run_id,
        "created_at": utc_now(),
    }


def known_models(spark: SparkSession, lake: str) -> set[str]:
    """Ids in downstream.models whose checkpoint is finished (its marker exists): those are reused."""
    if not lake_io.exists(spark, lake, DOWNSTREAM_MODELS):
        return set()
    rows = lake_io.read(spark, lake, DOWNSTREAM_MODELS)[0].select("model_id", "path").collect()
    return {r.model_id for r in rows if (Path(r.path) / MARKER).exists()}


# ---------------------------------------------------------------- the job


def latest_shard_tokens(spark: SparkSession, run: RunRecord) -> tuple[str, np.ndarray, str]:
    """(shard_set_id, every document's input_ids then eos, flat; tokenizer path) of the latest shard set."""
    import pyarrow.parquet as pq

    if not lake_io.exists(spark, run.lake, GOLD_SHARDS):
        raise ConfigError(
            "gold.shards has no shard set: the teacher's base model pretrains on shards; run `mixlake shards` "
            "first, or set downstream.teacher and downstream.proxy_student to existing models"
        )
    index, _ = run.read(GOLD_SHARDS)
    latest = latest_run_id(spark, run.lake, [r.run_id for r in index.select("run_id").distinct().collect()])
    rows = index.filter(F.col("run_id") == latest).orderBy("file").collect()
    if not rows:
        raise ConfigError("gold.shards has no shard set with a run in ops.runs; run `mixlake shards` again")
    out_dir = rows[0].out_dir
    tok_path = f"{out_dir}/tokenizer"
    eos = load_tokenizer(tok_path).eos_token_id
    docs = pq.read_table([f"{out_dir}/{r.file}" for r in rows], columns=["input_ids"]).column("input_ids")
    tokens = np.concatenate([np.append(np.asarray(ids, dtype=np.int64), eos) for ids in docs.to_pylist()])
    return rows[0].shard_set_id, tokens, tok_path


def run_teacher(spark: SparkSession, cfg: Config) -> dict[str, int]:
    lake, dcfg = lake_io.normalize_lake(cfg.lake), cfg.downstream
    with RunRecord(spark, lake, "teacher", {"downstream": asdict(dcfg)}) as run:
        reuse = known_models(spark, lake)
        rows = []
        if bool(dcfg.teacher) != bool(dcfg.proxy_student):
            raise ConfigError(
                "set both downstream.teacher and downstream.proxy_student, or neither (then both are trained): "
                "antidistillation needs a proxy student with the teacher's tokenizer"
            )
        if dcfg.teacher:
            for role, path in (("teacher", dcfg.teacher), ("proxy", dcfg.proxy_student)):
                rows.append(model_row(model_id_for(role, path), role, path, "external", None, {}, run.run_id))
        else:
            rows += _train(spark, run, dcfg, reuse)
        if dcfg.student:
            sid = model_id_for("student", dcfg.student)
            rows.append(model_row(sid, "student", dcfg.student, "external", None, {}, run.run_id))
        new = [r for r in rows if r["model_id"] not in reuse]
        run.count("models_reused", len(rows) - len(new))
        if new:
            write_models(spark, run, new)
    return run.counts


def write_models(spark: SparkSession, run: RunRecord, rows: list[dict]) -> None:
    """MERGE model rows into downstream.models and validate the table."""
    before = lake_io.version(spark, run.lake, DOWNSTREAM_MODELS)
    df = spark.createDataFrame(rows, DOWNSTREAM_MODELS.schema)
    run.count("models_written", lake_io.merge_insert_new(spark, run.lake, DOWNSTREAM_MODELS, df)["rows_inserted"])
    run.wrote(DOWNSTREAM_MODELS)
    validate_table(spark, run, DOWNSTREAM_MODELS, before, downstream_models())


def _train(spark: SparkSession, run: RunRecord, dcfg: DownstreamConfig, reuse: set[str]) -> list[dict]:
    from training.lm import load_checkpoint

    task = build_task(dcfg)
    shard_set_id, tokens, tok_path = latest_shard_tokens(spark, run)
    run.count("pretrain_tokens_available", len(tokens))
    tokenizer = load_tokenizer(tok_path)
    train, _ = train_problems(task, dcfg)
    # the teacher's solutions: the first teacher_problems of the train split, the trace problems among them
    try:
        taught = task.problems(max(dcfg.teacher_problems, len(train)), seed=dcfg.seed, split="train")
    except TaskError as e:
        raise ConfigError(f"downstream.teacher_problems: {e}; lower it to what the train split holds") from e
    models_dir = f"{run.lake}/_models"
    base_cfg = lm_config(dcfg, steps=dcfg.pretrain_steps)
    ft_cfg = lm_config(dcfg, steps=dcfg.teacher_steps, lr=dcfg.finetune_lr)
    proxy_cfg = lm_config(dcfg, steps=dcfg.proxy_steps, lr=dcfg.finetune_lr)
    task_key = (dcfg.task, dcfg.difficulty, sorted(dcfg.task_options.items()), [p.problem_id for p in taught])
    base_id = model_id_for("base", shard_set_id, asdict(base_cfg))
    teacher_id = model_id_for("teacher", base_id, asdict(ft_cfg), task_key)
    proxy_id = model_id_for("proxy", base_id, asdict(proxy_cfg), task_key[:3], dcfg.proxy_examples)
    rows, base = [], None
    if base_id in reuse and teacher_id in reuse and proxy_id in reuse:
        log.info("base %s, teacher %s and proxy %s exist; nothing to train", base_id, teacher_id, proxy_id)
    elif base_id in reuse:
        base = load_checkpoint(f"{models_dir}/{base_id}")[0]
    else:
        with step(f"pretraining the base LM ({base_cfg.steps} steps)"):
            base = new_model(len(tokenizer), base_cfg)
            metrics = pretrain(base, tokens, base_cfg)
        record = {"config": asdict(base_cfg), "data": {GOLD_SHARDS.name: shard_set_id}, "metrics": metrics}
        save_checkpoint(base, tokenizer, f"{models_dir}/{base_id}", {**record, "role": "base"})
    rows.append(checkpoint_row(run, base_id, "base", models_dir, f"shards:{shard_set_id}", None))

    plans = (
        ("teacher", teacher_id, ft_cfg, taught),
        ("proxy", proxy_id, proxy_cfg, train[: dcfg.proxy_examples]),
    )
    for role, model_id, lm_cfg, problems in plans:
        if model_id not in reuse:
            pairs = solution_pairs(problems)
            model = copy.deepcopy(base)
            with step(f"fine-tuning the {role} ({lm_cfg.steps} steps on {len(pairs)} solutions)"):
                metrics = finetune_completion_only(model, tokenizer, pairs, lm_cfg)
            data = {"base": base_id, "task": f"{dcfg.task}/train", "problems": len(pairs)}
            record = {"config": asdict(lm_cfg), "data": data, "metrics": metrics, "role": role}
            save_checkpoint(model, tokenizer, f"{models_dir}/{model_id}", record)
        rows.append(checkpoint_row(run, model_id, role, models_dir, f"task:{dcfg.task}/train", base_id))
    return rows


def checkpoint_row(run: RunRecord, model_id: str, role: str, models_dir: str, trained_on: str, parent_id) -> dict:
    """The model's row, its metrics read back from its own checkpoint.json (so a reused one has them too)."""
    path = f"{models_dir}/{model_id}"
    metrics = json.loads((Path(path) / MARKER).read_text())["metrics"]
    return model_row(model_id, role, path, trained_on, parent_id, metrics, run.run_id)


def main(argv: list[str] | None = None) -> dict[str, int]:
    from jobs.stages import stage_main

    return stage_main("teacher", argv, __doc__)


if __name__ == "__main__":
    main()
