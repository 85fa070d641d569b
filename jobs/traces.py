"""Traces: the teacher answers the train problems -> downstream.traces, one trace set per method and setting.

Methods (``downstream.methods``): ``temperature`` samples softmax(log p_teacher / tau) with top-p;
``antidistillation`` samples softmax(log p_teacher / tau + lambda * Delta) (training.antidistill) once per lambda
in ``downstream.lambdas``. Delta needs g, the gradient of the proxy student's loss on held-out teacher traces:
the teacher samples one temperature trace per holdout problem, g is computed on them once and stored beside the
teacher (``<teacher>/grad-<proxy>-<hash>.safetensors``) and reused by every lambda and every rerun.

A trace set is named by what made it (teacher, proxy, method, settings, seed, problems); a set already in the
table is not sampled again, so a rerun inserts nothing.

    python -m jobs.traces --lake ./lake
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import asdict
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs import lake as lake_io
from jobs.config import Config, ConfigError, DownstreamConfig
from jobs.console import step
from jobs.dq import validate_table
from jobs.runs import RunRecord
from jobs.teacher import build_task, latest_model, lm_config, model_id_for, train_problems
from schemas.expectations import downstream_traces
from schemas.tables import DOWNSTREAM_TRACES
from training.tasks import STOP, Problem, Task, extract_answer, format_prompt

log = logging.getLogger(__name__)

METHODS = ("temperature", "antidistillation")


def trace_sets(dcfg: DownstreamConfig, teacher_id: str, proxy_id: str, problem_ids: list[str]) -> list[dict]:
    """One description per trace set to sample, with its id: the method's settings and nothing else."""
    unknown = set(dcfg.methods) - set(METHODS)
    if unknown or not dcfg.methods:
        raise ConfigError(f"downstream.methods {dcfg.methods}: use a non-empty subset of {list(METHODS)}")
    if "antidistillation" in dcfg.methods and not dcfg.lambdas:
        raise ConfigError("downstream.lambdas is empty; give at least one lambda for antidistillation")
    sets = []
    if any(t <= 0 for t in [dcfg.tau, *dcfg.temperatures]):
        raise ConfigError("downstream.tau and downstream.temperatures must be > 0 (greedy traces have no spread)")
    grid = {
        "temperature": [(float(t), 0.0) for t in dict.fromkeys(dcfg.temperatures or [dcfg.tau])],
        "antidistillation": [(dcfg.tau, float(lam)) for lam in dict.fromkeys(dcfg.lambdas)],
    }
    seeds = dict.fromkeys(dcfg.trace_seeds or [dcfg.seed])
    for method, seed in itertools.product(dict.fromkeys(dcfg.methods), seeds):
        for tau, lam in grid[method]:
            settings = {
                "teacher_id": teacher_id,
                "proxy_id": proxy_id if method == "antidistillation" else None,
                "method": method,
                "tau": tau,
                "top_p": dcfg.top_p,
                "lam": lam,
                "eps": dcfg.eps if method == "antidistillation" else None,
                "seed": seed,
            }
            key = (settings, dcfg.max_new_tokens, dcfg.traces_per_problem, problem_ids)
            sets.append({"trace_set_id": model_id_for("traces", *key), **settings})
    return sets


def configured_sets(spark: SparkSession, run: RunRecord, dcfg: DownstreamConfig):
    """(task, teacher row, proxy row or None, trace sets): what this config samples from the latest models."""
    teacher_row = latest_model(spark, run, "teacher")
    proxy_row = latest_model(spark, run, "proxy") if "antidistillation" in dcfg.methods else None
    task = build_task(dcfg)
    train, _ = train_problems(task, dcfg)
    proxy_id = proxy_row.model_id if proxy_row else None
    sets = trace_sets(dcfg, teacher_row.model_id, proxy_id, [p.problem_id for p in train])
    return task, teacher_row, proxy_row, sets


def trace_rows(task: Task, problems: list[Problem], texts: list[list[str]], trace_set: dict, run_id: str):
    for problem, samples in zip(problems, texts, strict=True):
        for i, text in enumerate(samples):
            yield {
                **trace_set,
                "problem_id": problem.problem_id,
                "sample_index": i,
                "prompt": format_prompt(problem),
                "text": text,
                "answer": extract_answer(text),
                "correct": task.verify(problem, text),
                "run_id": run_id,
            }


def proxy_grad(teacher, proxy, tokenizer, holdout: list[Problem], dcfg: DownstreamConfig, teacher_row, proxy_id):
    """g of the proxy's loss on the teacher's temperature traces of the holdout problems, computed once."""
    from training.antidistill import load_gradient, proxy_gradient, save_gradient
    from training.sampling import SampleConfig, generate

    cfg = sample_config(dcfg, dcfg.tau, seed=dcfg.seed + 1)  # not the train traces' random numbers
    prompts = [format_prompt(p) for p in holdout]
    key = (proxy_id, [p.problem_id for p in holdout], asdict(SampleConfig(**cfg)))
    path = Path(teacher_row.path) / f"grad-{model_id_for('g', *key)}.safetensors"
    if path.exists():
        return load_gradient(path)
    texts = generate(teacher, tokenizer, prompts, 1, SampleConfig(**cfg))
    pairs = [(p, t[0] + STOP) for p, t in zip(prompts, texts, strict=True)]
    grad = proxy_gradient(proxy, tokenizer, pairs, lm_config(dcfg))
    save_gradient(grad, path, {"proxy_id": proxy_id, "holdout_problems": len(holdout)})
    return grad


def sample_config(dcfg: DownstreamConfig, temperature: float, seed: int) -> dict:
    return {
        "temperature": temperature,
        "top_p": dcfg.top_p,
        "max_new_tokens": dcfg.max_new_tokens,
        "seed": seed,
        "batch_size": dcfg.batch_size,
        "stop": (STOP,),
    }


def run_traces(spark: SparkSession, cfg: Config) -> dict[str, int]:
    from training.antidistill import AntidistillConfig, antidistill_generate, check_same_tokenizer, perturbed_pair
    from training.lm import load_model
    from training.sampling import SampleConfig, generate

    lake, dcfg = lake_io.normalize_lake(cfg.lake), cfg.downstream
    with RunRecord(spark, lake, "traces", {"downstream": asdict(dcfg)}) as run:
        task, teacher_row, proxy_row, sets = configured_sets(spark, run, dcfg)
        train, holdout = train_problems(task, dcfg)
        done = set()
        if lake_io.exists(spark, lake, DOWNSTREAM_TRACES):
            table, _ = run.read(DOWNSTREAM_TRACES)
            done = {r.trace_set_id for r in table.select("trace_set_id").distinct().collect()}
        todo = [s for s in sets if s["trace_set_id"] not in done]
        run.count("trace_sets_reused", len(sets) - len(todo))
        if not todo:
            return run.counts
        before = lake_io.version(spark, lake, DOWNSTREAM_TRACES)
        teacher, tokenizer = load_model(teacher_row.path)
        prompts = [format_prompt(p) for p in train]
        plus = minus = None
        for trace_set in todo:
            label = f"{trace_set['method']} tau={trace_set['tau']} lambda={trace_set['lam']}"
            with step(f"sampling {len(prompts)} x {dcfg.traces_per_problem} traces ({label})"):
                if trace_set["method"] == "temperature":
                    scfg = SampleConfig(**sample_config(dcfg, trace_set["tau"], trace_set["seed"]))
                    texts = generate(teacher, tokenizer, prompts, dcfg.traces_per_problem, scfg)
                else:
                    if plus is None:
                        proxy, proxy_tok = load_model(proxy_row.path)
                        check_same_tokenizer(tokenizer, proxy_tok)
                        grad = proxy_grad(
                            teacher, proxy, tokenizer, holdout, dcfg, teacher_row, proxy_row.model_id
                        )
                        plus, minus = perturbed_pair(proxy, grad, dcfg.eps)
                    settings = sample_config(dcfg, dcfg.tau, trace_set["seed"])
                    del settings["temperature"]
                    acfg = AntidistillConfig(lam=trace_set["lam"], tau=dcfg.tau, eps=dcfg.eps, **settings)
                    texts = antidistill_generate(
                        teacher, plus, minus, tokenizer, prompts, dcfg.traces_per_problem, acfg
                    )
            rows = list(trace_rows(task, train, texts, trace_set, run.run_id))
            df = spark.createDataFrame(rows, DOWNSTREAM_TRACES.schema)
            inserted = lake_io.merge_insert_new(spark, lake, DOWNSTREAM_TRACES, df)["rows_inserted"]
            run.wrote(DOWNSTREAM_TRACES)  # one commit per trace set: a crash keeps the finished ones
            run.count("traces_written", inserted)
            run.metric(
                f"accuracy/{trace_set['method']}/tau={trace_set['tau']}/lam={trace_set['lam']}",
                sum(r["correct"] for r in rows) / len(rows),
            )
        validate_table(spark, run, DOWNSTREAM_TRACES, before, downstream_traces())
    return run.counts


def read_trace_set(spark: SparkSession, run: RunRecord, trace_set_id: str) -> list:
    table, _ = run.read(DOWNSTREAM_TRACES)
    return table.filter(F.col("trace_set_id") == trace_set_id).orderBy("problem_id", "sample_index").collect()


def main(argv: list[str] | None = None) -> dict[str, int]:
    from jobs.stages import stage_main

    return stage_main("traces", argv, __doc__)


if __name__ == "__main__":
    main()
