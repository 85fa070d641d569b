"""Evaluate: n samples per eval problem for every model -> eval.samples, eval.pass_at_k, eval.coverage,
eval.perplexity.

Models are the downstream.models rows of role base, teacher and student (the proxy student is a tool of
antidistillation, not a result). Each samples ``downstream.n_samples`` completions per eval problem at
``eval_temperature`` (the model's own distribution), graded by the task's verifier. pass@k is the unbiased
estimator for k = 1, 2, 4, ..., n, averaged over problems (training.passk). Coverage compares the solved sets at
k = n (solved: at least one correct sample) of every ordered pair of models. Perplexity: each trace set of
downstream.traces scored by the base and the teacher (how surprising the teacher finds its own poisoned traces),
and by the student distilled from it (how well it learned them).

An eval set is named by the task, the eval problems, n and the sampling settings; a model already sampled in it is
not sampled again, and the tables are MERGEd on their keys, so a rerun inserts nothing.

    python -m jobs.evaluate --lake ./lake
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict
from itertools import permutations

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs import lake as lake_io
from jobs.config import Config, ConfigError
from jobs.console import step
from jobs.dq import validate_table
from jobs.runs import RunRecord
from jobs.teacher import build_task, model_id_for
from jobs.traces import sample_config
from schemas.expectations import eval_coverage, eval_pass_at_k, eval_samples
from schemas.tables import (
    DOWNSTREAM_MODELS,
    DOWNSTREAM_TRACES,
    EVAL_COVERAGE,
    EVAL_PASS_AT_K,
    EVAL_PERPLEXITY,
    EVAL_SAMPLES,
)
from training.passk import compare_coverage, default_ks, pass_at_k_table, solved_sets
from training.tasks import STOP, extract_answer, format_prompt

log = logging.getLogger(__name__)

EVALUATED_ROLES = ("base", "teacher", "student")


def run_evaluate(spark: SparkSession, cfg: Config) -> dict[str, int]:
    from training.lm import load_model
    from training.sampling import SampleConfig, generate

    lake, dcfg = lake_io.normalize_lake(cfg.lake), cfg.downstream
    if dcfg.n_samples < 1 or dcfg.n_eval_problems < 1:
        raise ConfigError("downstream.n_samples and downstream.n_eval_problems must be at least 1")
    with RunRecord(spark, lake, "evaluate", {"downstream": asdict(dcfg)}) as run:
        if not lake_io.exists(spark, lake, DOWNSTREAM_MODELS):
            raise ConfigError("downstream.models does not exist yet; run `mixlake teacher` first")
        models_df, _ = run.read(DOWNSTREAM_MODELS)
        models = models_df.filter(F.col("role").isin(list(EVALUATED_ROLES))).orderBy("model_id").collect()
        if not models:
            raise ConfigError("downstream.models has no base, teacher or student; run `mixlake teacher` first")
        task = build_task(dcfg)
        problems = task.problems(dcfg.n_eval_problems, seed=dcfg.seed, split="eval")
        scfg = SampleConfig(**sample_config(dcfg, dcfg.eval_temperature, dcfg.seed))
        key = (dcfg.task, dcfg.difficulty, sorted(dcfg.task_options.items()), [p.problem_id for p in problems])
        eval_set_id = model_id_for("eval", *key, asdict(scfg), dcfg.n_samples)

        sampled = set()
        if lake_io.exists(spark, lake, EVAL_SAMPLES):
            table, _ = run.read(EVAL_SAMPLES)
            sampled = {
                r.model_id
                for r in table.filter(F.col("eval_set_id") == eval_set_id).select("model_id").distinct().collect()
            }
        prompts = [format_prompt(p) for p in problems]
        before = lake_io.version(spark, lake, EVAL_SAMPLES)
        for m in models:
            if m.model_id in sampled:
                run.count("models_reused", 1)
                continue
            model, tokenizer = load_model(m.path)
            with step(f"sampling {len(prompts)} x {dcfg.n_samples} from {m.model_id}"):
                texts = generate(model, tokenizer, prompts, dcfg.n_samples, scfg)
            rows = [
                {
                    "eval_set_id": eval_set_id,
                    "model_id": m.model_id,
                    "problem_id": p.problem_id,
                    "sample_index": i,
                    "text": text,
                    "answer": extract_answer(text),
                    "correct": task.verify(p, text),
                    "run_id": run.run_id,
                }
                for p, samples in zip(problems, texts, strict=True)
                for i, text in enumerate(samples)
            ]
            df = spark.createDataFrame(rows, EVAL_SAMPLES.schema)
            run.count("samples_written", lake_io.merge_insert_new(spark, lake, EVAL_SAMPLES, df)["rows_inserted"])
            run.wrote(EVAL_SAMPLES)  # one commit per model: a crash keeps the models already sampled

        validate_table(spark, run, EVAL_SAMPLES, before, eval_samples())
        samples, _ = run.read(EVAL_SAMPLES)
        counts = (
            samples.filter(F.col("eval_set_id") == eval_set_id)
            .filter(F.col("model_id").isin([m.model_id for m in models]))
            .groupBy("model_id", "problem_id")
            .agg(F.count("*").alias("n_samples"), F.sum(F.col("correct").cast("int")).alias("n_correct"))
            .collect()
        )
        per_model: dict[str, dict[str, int]] = {}
        for r in counts:
            if r.n_samples != dcfg.n_samples:  # a bug, not bad input: one commit holds a model's whole sample
                raise RuntimeError(
                    f"{r.model_id} has {r.n_samples} samples of {r.problem_id}, not {dcfg.n_samples}"
                )
            per_model.setdefault(r.model_id, {})[r.problem_id] = r.n_correct
        _write_pass_at_k(spark, run, eval_set_id, per_model, dcfg.n_samples)
        _write_coverage(spark, run, eval_set_id, per_model, dcfg.n_samples)
        _write_perplexity(spark, run, models)
    return run.counts


def _write_pass_at_k(spark, run: RunRecord, eval_set_id: str, per_model: dict, n: int) -> None:
    rows = []
    for model_id, correct in sorted(per_model.items()):
        table = pass_at_k_table({pid: (n, c) for pid, c in correct.items()}, default_ks(n))
        for k, value in table.items():
            rows.append(
                {
                    "eval_set_id": eval_set_id,
                    "model_id": model_id,
                    "k": k,
                    "n_samples": n,
                    "n_problems": len(correct),
                    "pass_at_k": value,
                    "run_id": run.run_id,
                }
            )
            run.metric(f"pass@{k}/{model_id}", value)
    before = lake_io.version(spark, run.lake, EVAL_PASS_AT_K)
    df = spark.createDataFrame(rows, EVAL_PASS_AT_K.schema)
    run.count("pass_at_k_written", lake_io.merge_insert_new(spark, run.lake, EVAL_PASS_AT_K, df)["rows_inserted"])
    run.wrote(EVAL_PASS_AT_K)
    view = lambda t: t.withColumn("n_minus_k", F.col("n_samples") - F.col("k"))  # noqa: E731
    validate_table(spark, run, EVAL_PASS_AT_K, before, eval_pass_at_k(), view=view)


def _write_coverage(spark, run: RunRecord, eval_set_id: str, per_model: dict, n: int) -> None:
    if len(per_model) < 2:
        return
    solved = solved_sets(per_model, k=n, n=n)
    rows = []
    for a, b in permutations(sorted(solved), 2):
        c = compare_coverage(solved[a], solved[b])
        rows.append(
            {
                "eval_set_id": eval_set_id,
                "model_a": a,
                "model_b": b,
                "k": n,
                "n_a": c.n_a,
                "n_b": c.n_b,
                "n_both": c.n_both,
                "n_only_a": c.n_only_a,
                "n_only_b": c.n_only_b,
                "a_subset_of_b": c.is_subset,
                "jaccard": c.jaccard,
                "only_a": sorted(c.only_a),
                "run_id": run.run_id,
            }
        )
    before = lake_io.version(spark, run.lake, EVAL_COVERAGE)
    df = spark.createDataFrame(rows, EVAL_COVERAGE.schema)
    run.count("coverage_written", lake_io.merge_insert_new(spark, run.lake, EVAL_COVERAGE, df)["rows_inserted"])
    run.wrote(EVAL_COVERAGE)
    validate_table(spark, run, EVAL_COVERAGE, before, eval_coverage())


def _write_perplexity(spark, run: RunRecord, models: list) -> None:
    """Every trace set under every evaluated model, skipping (trace set, model) pairs already scored."""
    from training.lm import completion_nll, load_model

    if not lake_io.exists(spark, run.lake, DOWNSTREAM_TRACES):
        return
    traces, _ = run.read(DOWNSTREAM_TRACES)
    done = set()
    if lake_io.exists(spark, run.lake, EVAL_PERPLEXITY):
        table, _ = run.read(EVAL_PERPLEXITY)
        done = {(r.trace_set_id, r.model_id) for r in table.select("trace_set_id", "model_id").collect()}
    by_set: dict[str, list[tuple[str, str]]] = {}
    for r in traces.orderBy("trace_set_id", "problem_id", "sample_index").collect():
        by_set.setdefault(r.trace_set_id, []).append((r.prompt, r.text + STOP))
    rows = []
    for m in models:
        # a student is scored on the traces it learned from; base and teacher on every set (O(sets), not O(sets^2))
        scored = [m.trained_on.removeprefix("traces:")] if m.role == "student" else sorted(by_set)
        todo = [s for s in scored if s in by_set and (s, m.model_id) not in done]
        if not todo:
            continue
        model, tokenizer = load_model(m.path)
        for trace_set_id in todo:
            nll = completion_nll(model, tokenizer, by_set[trace_set_id])
            rows.append(
                {
                    "trace_set_id": trace_set_id,
                    "model_id": m.model_id,
                    "n_traces": len(by_set[trace_set_id]),
                    "nll": nll,
                    "perplexity": math.exp(nll),
                    "run_id": run.run_id,
                }
            )
    if rows:
        df = spark.createDataFrame(rows, EVAL_PERPLEXITY.schema)
        written = lake_io.merge_insert_new(spark, run.lake, EVAL_PERPLEXITY, df)["rows_inserted"]
        run.count("perplexity_written", written)
        run.wrote(EVAL_PERPLEXITY)


def main(argv: list[str] | None = None) -> dict[str, int]:
    from jobs.stages import stage_main

    return stage_main("evaluate", argv, __doc__)


if __name__ == "__main__":
    main()
