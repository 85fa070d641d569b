"""Distill: one student per trace set of downstream.traces -> checkpoints under <lake>/_models, downstream.models.

A student starts from the base model (the teacher's own starting point, so what it gains comes from the traces
alone) and is fine-tuned completion-only on every trace of one set, right or wrong, as distillation does:
(prompt, text + stop string), ``student_steps`` steps at ``finetune_lr``. Its id hashes the trace set, the base
and the training config; a finished checkpoint with its row is reused, so a rerun trains nothing.

    python -m jobs.distill --lake ./lake
"""

from __future__ import annotations

import logging
from dataclasses import asdict

from pyspark.sql import SparkSession

from jobs import lake as lake_io
from jobs.config import Config
from jobs.console import step
from jobs.runs import RunRecord
from jobs.teacher import checkpoint_row, known_models, latest_model, lm_config, model_id_for, write_models
from schemas.tables import DOWNSTREAM_TRACES
from training.tasks import STOP

log = logging.getLogger(__name__)


def run_distill(spark: SparkSession, cfg: Config) -> dict[str, int]:
    from training.lm import finetune_completion_only, load_checkpoint, save_checkpoint

    lake, dcfg = lake_io.normalize_lake(cfg.lake), cfg.downstream
    with RunRecord(spark, lake, "distill", {"downstream": asdict(dcfg)}) as run:
        base_row = latest_model(spark, run, "base")
        traces, traces_version = run.read(DOWNSTREAM_TRACES)
        by_set: dict[str, list[tuple[str, str]]] = {}
        for r in traces.orderBy("trace_set_id", "problem_id", "sample_index").collect():
            by_set.setdefault(r.trace_set_id, []).append((r.prompt, r.text + STOP))
        lm_cfg = lm_config(dcfg, steps=dcfg.student_steps, lr=dcfg.finetune_lr)
        reuse = known_models(spark, lake)
        rows = []
        for trace_set_id, pairs in sorted(by_set.items()):
            student_id = model_id_for("student", trace_set_id, base_row.model_id, asdict(lm_cfg))
            path = f"{lake}/_models/{student_id}"
            if student_id not in reuse:
                model, tokenizer, _ = load_checkpoint(base_row.path)
                with step(
                    f"distilling {student_id} ({lm_cfg.steps} steps on {len(pairs)} traces of {trace_set_id})"
                ):
                    metrics = finetune_completion_only(model, tokenizer, pairs, lm_cfg)
                data = {
                    "base": base_row.model_id,
                    DOWNSTREAM_TRACES.name: traces_version,
                    "trace_set": trace_set_id,
                }
                record = {"config": asdict(lm_cfg), "data": data, "metrics": metrics, "role": "student"}
                save_checkpoint(model, tokenizer, path, record)
                rows.append(
                    checkpoint_row(
                        run, student_id, "student", f"{lake}/_models", f"traces:{trace_set_id}", base_row.model_id
                    )
                )
            else:
                run.count("students_reused", 1)
        if rows:
            write_models(spark, run, rows)
            run.count("students_written", len(rows))
    return run.counts


def main(argv: list[str] | None = None) -> dict[str, int]:
    from jobs.stages import stage_main

    return stage_main("distill", argv, __doc__)


if __name__ == "__main__":
    main()
