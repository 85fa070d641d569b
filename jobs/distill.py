"""Distill: one student per trace set of downstream.traces -> checkpoints under <lake>/_models, downstream.models.

The trace sets are the ones the config describes (``downstream.methods``, ``temperatures``, ``lambdas`` on the
latest teacher), so the Airflow DAG can distill one lambda per mapped task; a described set not sampled yet is
counted as ``trace_sets_missing`` (run `mixlake traces` first).

A student starts from the base model (the teacher's own starting point, so what it gains comes from the traces
alone) and is fine-tuned completion-only on every trace of one set, right or wrong, as distillation does:
(prompt, text + stop string), ``student_steps`` steps at ``finetune_lr``, seeded by the trace set's seed; all
weights, or LoRA adapters merged afterwards with ``student_lora``. Its id hashes the trace set, the base and the
training config; a finished checkpoint with its row is reused, so a rerun trains nothing.

    python -m jobs.distill --lake ./lake
"""

from __future__ import annotations

import logging
from dataclasses import asdict

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs import lake as lake_io
from jobs.config import Config
from jobs.console import step
from jobs.runs import RunRecord
from jobs.teacher import checkpoint_row, known_models, latest_model, lm_config, model_id_for, write_models
from jobs.traces import configured_sets
from schemas.tables import DOWNSTREAM_TRACES
from training.tasks import STOP

log = logging.getLogger(__name__)


def run_distill(spark: SparkSession, cfg: Config) -> dict[str, int]:
    from training.lm import finetune_completion_only, load_checkpoint, save_checkpoint

    lake, dcfg = lake_io.normalize_lake(cfg.lake), cfg.downstream
    with RunRecord(spark, lake, "distill", {"downstream": asdict(dcfg)}) as run:
        base_row = latest_model(spark, run, "base")
        seeds = {s["trace_set_id"]: s["seed"] for s in configured_sets(spark, run, dcfg)[3]}
        wanted = list(seeds)
        traces, traces_version = run.read(DOWNSTREAM_TRACES)
        traces = traces.filter(F.col("trace_set_id").isin(wanted))
        by_set: dict[str, list[tuple[str, str]]] = {}
        for r in traces.orderBy("trace_set_id", "problem_id", "sample_index").collect():
            by_set.setdefault(r.trace_set_id, []).append((r.prompt, r.text + STOP))
        reuse = known_models(spark, lake)
        rows = []
        for trace_set_id, pairs in sorted(by_set.items()):
            # the trace set's seed: replicate trace sets give independent students, not one init trained twice
            lm_cfg = lm_config(dcfg, steps=dcfg.student_steps, lr=dcfg.finetune_lr, seed=seeds[trace_set_id])
            lora = {"lora": True} if dcfg.student_lora else {}  # full fine-tunes keep their ids from before
            student_id = model_id_for("student", trace_set_id, base_row.model_id, asdict(lm_cfg), *lora.items())
            path = f"{lake}/_models/{student_id}"
            if student_id not in reuse:
                model, tokenizer, _ = load_checkpoint(base_row.path)
                with step(
                    f"distilling {student_id} ({lm_cfg.steps} steps on {len(pairs)} traces of {trace_set_id})"
                ):
                    metrics = finetune_completion_only(model, tokenizer, pairs, lm_cfg, lora=dcfg.student_lora)
                data = {
                    "base": base_row.model_id,
                    DOWNSTREAM_TRACES.name: traces_version,
                    "trace_set": trace_set_id,
                }
                config = {**asdict(lm_cfg), "lora": dcfg.student_lora}
                record = {"config": config, "data": data, "metrics": metrics, "role": "student"}
                save_checkpoint(model, tokenizer, path, record)
                rows.append(
                    checkpoint_row(
                        run, student_id, "student", f"{lake}/_models", f"traces:{trace_set_id}", base_row.model_id
                    )
                )
            else:
                run.count("students_reused", 1)
        run.count("trace_sets_missing", len(set(wanted) - set(by_set)))
        if rows:
            write_models(spark, run, rows)
            run.count("students_written", len(rows))
    return run.counts


def main(argv: list[str] | None = None) -> dict[str, int]:
    from jobs.stages import stage_main

    return stage_main("distill", argv, __doc__)


if __name__ == "__main__":
    main()
