"""The downstream jobs through real Spark / Delta on a copy of the sharded test lake, with tiny models: teacher
(base, teacher, proxy checkpoints and rows), traces (temperature and antidistillation), evaluate (samples,
pass@k, coverage). One pipeline per module; each test checks one stage's tables against what its inputs imply."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from pyspark.sql import functions as F

from jobs import lake as lake_io
from jobs.config import ConfigError
from jobs.distill import run_distill
from jobs.evaluate import run_evaluate
from jobs.teacher import build_task, run_teacher, train_problems
from jobs.traces import run_traces
from schemas.tables import (
    DOWNSTREAM_MODELS,
    DOWNSTREAM_TRACES,
    EVAL_COVERAGE,
    EVAL_PASS_AT_K,
    EVAL_PERPLEXITY,
    EVAL_SAMPLES,
    OPS_RUNS,
)
from tests.jobs.test_shards import copy_pooled, shared_shard_set
from training.tasks import extract_answer

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
    "temperatures": [],  # one temperature set (at tau); the grid itself is test_trace_sets_cover_the_grid's
    "lambdas": [0.0, 5.0],  # lambda 0 must reproduce temperature sampling; 5 must change some trace
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


@pytest.fixture(scope="module")
def traced(spark, downstream):
    cfg, lake, _ = downstream
    return cfg, lake, run_traces(spark, cfg)


def test_traces_one_set_per_method_and_lambda_graded_by_the_task(spark, traced):
    cfg, lake, counts = traced
    rows = lake_io.read(spark, lake, DOWNSTREAM_TRACES)[0].collect()
    train, _ = train_problems(build_task(cfg.downstream), cfg.downstream)
    by_id = {p.problem_id: p for p in train}
    sets = {}
    for r in rows:
        sets.setdefault((r.method, r.lam), []).append(r)
    assert sorted(sets) == [("antidistillation", 0.0), ("antidistillation", 5.0), ("temperature", 0.0)]
    assert counts["traces_written"] == 3 * len(train)
    for (method, _), set_rows in sets.items():
        assert sorted(r.problem_id for r in set_rows) == sorted(by_id)
        assert {r.eps for r in set_rows} == ({None} if method == "temperature" else {cfg.downstream.eps})
        assert {r.proxy_id is None for r in set_rows} == {method == "temperature"}
        for r in set_rows:
            assert r.answer == extract_answer(r.text)
            assert r.correct == (r.answer == by_id[r.problem_id].answer)
            assert r.prompt.startswith("Q: ") and "\n\n" not in r.text
    texts = {key: {r.problem_id: r.text for r in set_rows} for key, set_rows in sets.items()}
    # Same seed, same loop: antidistillation at lambda 0 is temperature sampling token for token; at 5 it is not.
    assert texts[("antidistillation", 0.0)] == texts[("temperature", 0.0)]
    assert texts[("antidistillation", 5.0)] != texts[("temperature", 0.0)]
    teacher = _models(spark, lake)["teacher"]
    assert len(list(Path(teacher["path"]).glob("grad-*.safetensors"))) == 1  # g computed once, for both lambdas


def test_traces_rerun_samples_nothing(spark, traced):
    cfg, lake, _ = traced
    before = lake_io.version(spark, lake, DOWNSTREAM_TRACES)
    counts = run_traces(spark, cfg)
    assert counts["trace_sets_reused"] == 3 and "traces_written" not in counts
    assert lake_io.version(spark, lake, DOWNSTREAM_TRACES) == before


@pytest.fixture(scope="module")
def distilled(spark, traced):
    cfg, lake, _ = traced
    return cfg, lake, run_distill(spark, cfg)


def test_distill_one_student_per_trace_set_from_the_base(spark, distilled):
    cfg, lake, counts = distilled
    models = lake_io.read(spark, lake, DOWNSTREAM_MODELS)[0].collect()
    students = [r for r in models if r.role == "student"]
    base = next(r for r in models if r.role == "base")
    trace_sets = {r.trace_set_id for r in lake_io.read(spark, lake, DOWNSTREAM_TRACES)[0].collect()}
    assert counts["students_written"] == 3
    assert sorted(r.trained_on for r in students) == sorted(f"traces:{t}" for t in trace_sets)
    assert {r.parent_id for r in students} == {base.model_id}
    for r in students:
        record = json.loads((Path(r.path) / "checkpoint.json").read_text())
        assert record["data"]["trace_set"] == r.trained_on.removeprefix("traces:")
        assert record["config"]["steps"] == cfg.downstream.student_steps
    again = run_distill(spark, cfg)
    assert again["students_reused"] == 3 and "students_written" not in again


@pytest.fixture(scope="module")
def evaluated(spark, distilled):
    cfg, lake, _ = distilled
    return cfg, lake, run_evaluate(spark, cfg)


def test_evaluate_samples_pass_at_k_and_coverage_agree(spark, evaluated):
    cfg, lake, _ = evaluated
    d = cfg.downstream
    models = {r.model_id: r.role for r in lake_io.read(spark, lake, DOWNSTREAM_MODELS)[0].collect()}
    evaluated_ids = {m for m, role in models.items() if role != "proxy"}
    samples = lake_io.read(spark, lake, EVAL_SAMPLES)[0].collect()
    assert {r.model_id for r in samples} == evaluated_ids
    assert len(samples) == len(evaluated_ids) * d.n_eval_problems * d.n_samples
    eval_ids = {p.problem_id for p in build_task(d).problems(d.n_eval_problems, seed=d.seed, split="eval")}
    assert {r.problem_id for r in samples} == eval_ids
    assert all(r.answer == extract_answer(r.text) for r in samples)

    passk = {(r.model_id, r.k): r.pass_at_k for r in lake_io.read(spark, lake, EVAL_PASS_AT_K)[0].collect()}
    assert set(passk) == {(m, k) for m in evaluated_ids for k in (1, 2, 4)}
    solved = {m: set() for m in evaluated_ids}
    for m in evaluated_ids:
        mine = [r for r in samples if r.model_id == m]
        assert passk[(m, 1)] == pytest.approx(sum(r.correct for r in mine) / len(mine))  # pass@1: mean accuracy
        assert passk[(m, 1)] <= passk[(m, 2)] <= passk[(m, 4)]
        solved[m] = {r.problem_id for r in mine if r.correct}
        assert passk[(m, 4)] == pytest.approx(len(solved[m]) / d.n_eval_problems)  # k = n: any sample correct

    coverage = lake_io.read(spark, lake, EVAL_COVERAGE)[0].collect()
    assert len(coverage) == len(evaluated_ids) * (len(evaluated_ids) - 1)
    for r in coverage:
        a, b = solved[r.model_a], solved[r.model_b]
        assert (r.n_a, r.n_b, r.n_both, r.n_only_a) == (len(a), len(b), len(a & b), len(a - b))
        assert r.a_subset_of_b == (a <= b) and sorted(r.only_a) == sorted(a - b)

    ppl = lake_io.read(spark, lake, EVAL_PERPLEXITY)[0].collect()
    sets = {r.trace_set_id for r in lake_io.read(spark, lake, DOWNSTREAM_TRACES)[0].collect()}
    models = [r for r in lake_io.read(spark, lake, DOWNSTREAM_MODELS)[0].collect() if r.model_id in evaluated_ids]
    expected = {(s, m.model_id) for m in models if m.role != "student" for s in sets}
    expected |= {(m.trained_on.removeprefix("traces:"), m.model_id) for m in models if m.role == "student"}
    assert {(r.trace_set_id, r.model_id) for r in ppl} == expected  # a student only on its own traces
    assert all(r.perplexity == pytest.approx(math.exp(r.nll)) and r.nll > 0 for r in ppl)


def test_evaluate_rerun_inserts_nothing(spark, evaluated):
    cfg, lake, _ = evaluated
    tables = (EVAL_SAMPLES, EVAL_PASS_AT_K, EVAL_COVERAGE, EVAL_PERPLEXITY)
    before = [lake_io.version(spark, lake, t) for t in tables]
    counts = run_evaluate(spark, cfg)
    assert counts["models_reused"] == 5 and "samples_written" not in counts
    assert [lake_io.version(spark, lake, t) for t in tables] == before


def test_teacher_path_without_proxy_path_names_the_fix(spark, downstream, tmp_path):
    cfg, _, _ = downstream
    cfg = cfg.__class__(**{**cfg.__dict__, "lake": str(tmp_path / "other")})
    cfg.downstream = cfg.downstream.__class__(**{**cfg.downstream.__dict__, "teacher": str(tmp_path / "t")})
    with pytest.raises(ConfigError, match="proxy_student"):
        run_teacher(spark, cfg)


# ------------------------------------------------------- the downstream marts, the report and `mixlake tradeoff`


def _pass_at_k(spark, lake) -> dict[tuple[str, int], float]:
    return {(r.model_id, r.k): r.pass_at_k for r in lake_io.read(spark, lake, EVAL_PASS_AT_K)[0].collect()}


def test_tradeoff_mart_one_row_per_trace_set_from_the_tables(spark, evaluated, capsys):
    from jobs.cli import main
    from jobs.tradeoff import tradeoff_rows

    cfg, lake, _ = evaluated
    traces = lake_io.read(spark, lake, DOWNSTREAM_TRACES)[0].collect()
    models = lake_io.read(spark, lake, DOWNSTREAM_MODELS)[0].collect()
    passk = _pass_at_k(spark, lake)
    student_of = {r.trained_on.removeprefix("traces:"): r for r in models if r.role == "student"}
    teacher = next(r.model_id for r in models if r.role == "teacher")
    base = next(r.model_id for r in models if r.role == "base")
    n = cfg.downstream.n_samples

    rows = tradeoff_rows(spark, lake)
    assert sorted(r["trace_set_id"] for r in rows) == sorted({t.trace_set_id for t in traces})
    assert [(r["method"], r["lam"]) for r in rows] == [
        ("antidistillation", 0.0),
        ("antidistillation", 5.0),
        ("temperature", 0.0),
    ]
    for r in rows:
        mine = [t for t in traces if t.trace_set_id == r["trace_set_id"]]
        assert r["n_traces"] == len(mine) == cfg.downstream.n_train_problems
        assert r["teacher_accuracy"] == pytest.approx(sum(t.correct for t in mine) / len(mine))
        assert r["student_id"] == student_of[r["trace_set_id"]].model_id
        assert r["student_pass_at_1"] == passk[(r["student_id"], 1)]
        assert r["student_pass_at_n"] == passk[(r["student_id"], n)] and r["n_samples"] == n
        assert r["teacher_pass_at_1"] == passk[(teacher, 1)] and r["base_pass_at_1"] == passk[(base, 1)]
        assert (r["seed"], r["tau"], r["teacher_id"]) == (cfg.downstream.seed, cfg.downstream.tau, teacher)

    from jobs.tradeoff import paired_gaps

    zero, five = paired_gaps(rows)  # each antidistillation set against the only temperature set, same seed
    assert (zero["lam"], zero["baseline_tau"], zero["n_pairs"], five["lam"], five["n_pairs"]) == (
        0.0,
        1.0,
        1,
        5.0,
        1,
    )
    assert zero["teacher_gap_mean"] == 0.0  # lambda 0 samples the temperature set's very traces
    ad5, plain = rows[1], rows[2]
    assert five["teacher_gap_mean"] == pytest.approx(ad5["teacher_accuracy"] - plain["teacher_accuracy"])
    assert five["student_gap_mean"] == pytest.approx(ad5["student_pass_at_1"] - plain["student_pass_at_1"])

    assert main(["tradeoff", "--lake", lake]) == 0
    printed = capsys.readouterr().out
    # rows, settings, then the paired table's title ("antidistillation minus the temperature set nearest ...")
    assert printed.count("antidistillation") == 5 and printed.count("temperature") == 3
    assert "nearest in teacher accuracy" in printed


def test_pass_at_k_curves_and_coverage_marts(spark, evaluated):
    from jobs.tradeoff import mart
    from training.passk import default_ks

    cfg, lake, _ = evaluated
    passk = _pass_at_k(spark, lake)
    models = {r.model_id: r for r in lake_io.read(spark, lake, DOWNSTREAM_MODELS)[0].collect()}
    settings = {
        r.trace_set_id: f"student {r.method} tau={r.tau} lam={r.lam} seed={r.seed}"
        for r in lake_io.read(spark, lake, DOWNSTREAM_TRACES)[0].collect()
    }

    curves = mart(spark, lake, "pass_at_k_curves").collect()
    by_model: dict[str, list] = {}
    for r in curves:
        by_model.setdefault(r.model_id, []).append(r)
    assert set(by_model) == {m for m, row in models.items() if row.role != "proxy"}
    for model_id, rows in by_model.items():
        role = models[model_id].role
        label = settings[models[model_id].trained_on.removeprefix("traces:")] if role == "student" else role
        assert {(r.role, r.model_label) for r in rows} == {(role, label)}
        assert [r.k for r in rows] == default_ks(cfg.downstream.n_samples) == [1, 2, 4]
        values = [r.pass_at_k for r in rows]
        assert values == sorted(values)  # pass@k never falls as k grows
        assert values == [pytest.approx(passk[(model_id, r.k)], abs=5e-5) for r in rows]  # rounded to 4 places
    assert [r.role for r in curves][:6] == ["base"] * 3 + ["teacher"] * 3

    coverage = mart(spark, lake, "coverage_comparison").collect()
    assert len(coverage) == len(by_model) * (len(by_model) - 1)
    for r in coverage:
        assert r.n_both + r.n_only_a == r.n_a and r.n_both + r.n_only_b == r.n_b
        assert (r.role_a, r.role_b) == (models[r.model_a].role, models[r.model_b].role)
        assert r.a_subset_of_b == (r.n_only_a == 0) and len(r.only_a.split()) == r.n_only_a
    inside = mart(spark, lake, "coverage_comparison", {"role_a": "student", "role_b": "teacher"}).collect()
    assert sorted(r.model_a for r in inside) == sorted(m for m, row in models.items() if row.role == "student")
    assert {r.model_b for r in inside} == {m for m, row in models.items() if row.role == "teacher"}


@pytest.fixture(scope="module")
def second_eval(spark, evaluated, tmp_path_factory):
    """A copy of the lake with a replicate trace set (seed 1, 3 of 4 traces correct) and its student, and a later
    eval set "eval-later" holding hand-made pass@k for the teacher, the base and the two temperature students."""
    import shutil

    from jobs.runs import RunRecord, utc_now

    cfg, lake, _ = evaluated
    copy = lake_io.normalize_lake(str(tmp_path_factory.mktemp("tradeoff") / "lake"))
    shutil.copytree(lake, copy)
    models = lake_io.read(spark, copy, DOWNSTREAM_MODELS)[0].collect()
    teacher = next(r.model_id for r in models if r.role == "teacher")
    base = next(r.model_id for r in models if r.role == "base")
    temperature = lake_io.read(spark, copy, DOWNSTREAM_TRACES)[0].filter("method = 'temperature'").first()
    student0 = next(r.model_id for r in models if r.trained_on == f"traces:{temperature.trace_set_id}")
    with RunRecord(spark, copy, "evaluate", {}) as run:
        traces = [
            {
                **temperature.asDict(),
                "trace_set_id": "traces-seed1",
                "seed": 1,
                "problem_id": f"p{i}",
                "correct": i > 0,
            }
            for i in range(4)
        ]
        lake_io.merge_insert_new(
            spark, copy, DOWNSTREAM_TRACES, spark.createDataFrame(traces, DOWNSTREAM_TRACES.schema)
        )
        student = {
            "model_id": "student-seed1",
            "role": "student",
            "path": f"{copy}/_models/student-seed1",
            "trained_on": "traces:traces-seed1",
            "parent_id": base,
            "metrics": {},
            "run_id": run.run_id,
            "created_at": utc_now(),
        }
        lake_io.merge_insert_new(
            spark, copy, DOWNSTREAM_MODELS, spark.createDataFrame([student], DOWNSTREAM_MODELS.schema)
        )
        scores = {teacher: (0.5, 0.75), base: (0.25, 0.5), student0: (0.3, 0.5), "student-seed1": (0.4, 0.6)}
        passk = [
            {
                "eval_set_id": "eval-later",
                "model_id": m,
                "k": k,
                "n_samples": 2,
                "n_problems": 5,
                "pass_at_k": v,
                "run_id": run.run_id,
            }
            for m, values in scores.items()
            for k, v in zip((1, 2), values, strict=True)
        ]
        lake_io.merge_insert_new(spark, copy, EVAL_PASS_AT_K, spark.createDataFrame(passk, EVAL_PASS_AT_K.schema))
    return cfg, copy, lake, teacher, student0


def test_tradeoff_follows_the_latest_eval_set_and_averages_seeds(spark, second_eval):
    from jobs.tradeoff import tradeoff_rows, tradeoff_summary

    _, copy, lake, teacher, student0 = second_eval
    original = {r["trace_set_id"]: r for r in tradeoff_rows(spark, lake)}
    rows = tradeoff_rows(spark, copy)
    assert {r["eval_set_id"] for r in rows} == {"eval-later"}  # of the evaluate run that finished last
    assert [(r["method"], r["lam"], r["seed"]) for r in rows] == [
        ("antidistillation", 0.0, 0),
        ("antidistillation", 5.0, 0),
        ("temperature", 0.0, 0),
        ("temperature", 0.0, 1),
    ]
    ad0, ad5, t0, t1 = rows
    assert (t1["teacher_accuracy"], t1["n_traces"], t1["student_id"]) == (0.75, 4, "student-seed1")
    assert (t1["student_pass_at_1"], t1["student_pass_at_n"], t1["n_samples"]) == (0.4, 0.6, 2)
    assert (t0["student_id"], t0["student_pass_at_1"]) == (student0, 0.3)
    assert ad0["student_pass_at_1"] is None and ad5["student_pass_at_n"] is None  # not in eval-later
    assert {(r["teacher_pass_at_1"], r["base_pass_at_1"]) for r in rows} == {(0.5, 0.25)}

    summary = {(s["method"], s["lam"]): s for s in tradeoff_summary(rows)}
    both = summary[("temperature", 0.0)]
    assert both["seeds"] == [0, 1] and both["n_students"] == 2
    assert both["teacher_accuracy_mean"] == pytest.approx(
        (original[t0["trace_set_id"]]["teacher_accuracy"] + 0.75) / 2
    )
    assert both["student_pass_at_1_mean"] == pytest.approx(0.35)
    assert both["student_pass_at_1_std"] == pytest.approx(math.sqrt(0.005))  # sample std of 0.3 and 0.4
    assert summary[("antidistillation", 5.0)]["n_students"] == 0

    old = original[t0["trace_set_id"]]["eval_set_id"]
    pinned = {r["trace_set_id"]: r for r in tradeoff_rows(spark, copy, eval_set_id=old)}
    assert pinned["traces-seed1"]["student_pass_at_1"] is None  # not evaluated in the old eval set
    for trace_set_id, r in original.items():
        assert pinned[trace_set_id]["student_pass_at_1"] == r["student_pass_at_1"]
    assert len(tradeoff_rows(spark, copy, eval_set_id="")) == 2 * 4  # every eval set: each trace set on each


def test_report_draws_pass_at_k_curves_and_the_tradeoff(spark, second_eval, tmp_path):
    from jobs.report import write_report

    cfg, copy, _, _, _ = second_eval
    page, _ = write_report(spark, copy, str(tmp_path / "report"), cfg.quality.reference_sources)
    for name in ("pass_at_k_curves.png", "tradeoff.png"):
        assert (tmp_path / "report" / name).stat().st_size > 5_000
        assert f"<img src='{name}'>" in page.read_text()
    text = page.read_text()
    assert "Trade-off table" in text and "eval-later" in text
    assert text.count("<td>antidistillation</td>") == 4 and text.count("<td>temperature</td>") == 3


def test_models_that_share_a_label_are_told_apart_by_the_end_of_their_id(spark, second_eval, tmp_path):
    """A second student of one trace set (a LoRA one, say) in eval-later: both students of that set get
    " #<last 6 characters of the id>" in pass_at_k_curves, every other label stays plain."""
    import shutil

    from jobs.runs import RunRecord, utc_now
    from jobs.tradeoff import mart

    _, copy, _, teacher, _ = second_eval
    twin = lake_io.normalize_lake(str(tmp_path / "lake"))
    shutil.copytree(copy, twin)
    with RunRecord(spark, twin, "evaluate", {}) as run:
        row = {"model_id": "student-lora1", "role": "student", "path": f"{twin}/_models/student-lora1"}
        row |= {"trained_on": "traces:traces-seed1", "parent_id": None, "metrics": {}, "run_id": run.run_id}
        lake_io.merge_insert_new(
            spark,
            twin,
            DOWNSTREAM_MODELS,
            spark.createDataFrame([row | {"created_at": utc_now()}], DOWNSTREAM_MODELS.schema),
        )
        passk = [
            {"eval_set_id": "eval-later", "model_id": "student-lora1", "k": k, "n_samples": 2, "n_problems": 5}
            | {"pass_at_k": v, "run_id": run.run_id}
            for k, v in ((1, 0.1), (2, 0.2))
        ]
        lake_io.merge_insert_new(spark, twin, EVAL_PASS_AT_K, spark.createDataFrame(passk, EVAL_PASS_AT_K.schema))

    labels = {r.model_id: r.model_label for r in mart(spark, twin, "pass_at_k_curves").collect()}
    before = {r.model_id: r.model_label for r in mart(spark, copy, "pass_at_k_curves").collect()}
    seed1 = before["student-seed1"]  # alone with its label before the twin came
    assert seed1.startswith("student temperature tau=") and seed1.endswith(" seed=1")
    assert labels["student-seed1"] == f"{seed1} #-seed1" and labels["student-lora1"] == f"{seed1} #-lora1"
    assert labels[teacher] == "teacher" and sum("#" in label for label in labels.values()) == 2


def test_trace_sets_cover_the_grid_once_per_seed():
    from jobs.config import DownstreamConfig
    from jobs.traces import trace_sets

    dcfg = DownstreamConfig(temperatures=[1.0, 2.0, 1.0], lambdas=[0.1, 0.3], tau=0.7, trace_seeds=[0, 1])
    sets = trace_sets(dcfg, "teacher-x", "proxy-y", ["p1", "p2"])
    got = sorted((s["method"], s["tau"], s["lam"], s["seed"]) for s in sets)
    want = [("antidistillation", 0.7, lam, seed) for lam in (0.1, 0.3) for seed in (0, 1)]
    want += [("temperature", tau, 0.0, seed) for tau in (1.0, 2.0) for seed in (0, 1)]
    assert got == sorted(want)  # the repeated temperature is one set; antidistillation samples at tau
    assert len({s["trace_set_id"] for s in sets}) == len(sets)
    assert all(s["proxy_id"] is None and s["eps"] is None for s in sets if s["method"] == "temperature")
    with pytest.raises(ConfigError, match="must be > 0"):
        trace_sets(DownstreamConfig(temperatures=[0.0]), "t", "p", ["p1"])


def test_lora_students_change_only_the_attention_q_and_v(spark, evaluated):
    """Runs last in the module: it adds students to the lake the tests above count."""
    import copy

    from transformers import AutoModelForCausalLM

    cfg, lake, _ = evaluated
    lora_cfg = copy.deepcopy(cfg)
    lora_cfg.downstream.student_lora = True
    counts = run_distill(spark, lora_cfg)
    assert counts["students_written"] == 3  # new ids: a LoRA student is not the full fine-tune's
    models = lake_io.read(spark, lake, DOWNSTREAM_MODELS)[0].collect()
    base = next(r for r in models if r.role == "base")
    base_weights = AutoModelForCausalLM.from_pretrained(base.path).state_dict()
    lora_students = [
        r
        for r in models
        if r.role == "student" and json.loads((Path(r.path) / "checkpoint.json").read_text())["config"]["lora"]
    ]
    assert len(lora_students) == 3
    for r in lora_students:
        weights = AutoModelForCausalLM.from_pretrained(r.path).state_dict()
        changed = {k for k, v in weights.items() if not torch.equal(v, base_weights[k])}
        assert changed and all(k.endswith(("q_proj.weight", "v_proj.weight")) for k in changed), changed
