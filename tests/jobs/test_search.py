"""The search job on a real lake: proxies trained through Dask on the token pools, every trial and every
method's answer in Delta, and a killed search that resumes without retraining a finished trial."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import optuna
import pytest

from jobs import lake as lake_io
from jobs.config import ConfigError
from jobs.search import search_name, storage_for
from jobs.stages import run_stage
from schemas.tables import GOLD_MIXTURE_TRIALS, GOLD_MIXTURES, GOLD_SUPER_CLUSTERS, OPS_RUNS


@pytest.fixture(scope="module")
def searched(spark, pooled):
    cfg, lake = pooled
    partial = run_stage("search", cfg, iterations=1)
    full = run_stage("search", cfg)
    return cfg, lake, partial, full


def test_every_trial_and_method_is_recorded_with_lineage(spark, searched):
    cfg, lake, partial, full = searched
    trials = lake_io.read(spark, lake, GOLD_MIXTURE_TRIALS)[0].toPandas()
    climb = trials[trials["method"] == "climb"]
    assert sorted(climb["iteration"].value_counts().items()) == [(1, 4), (2, 2)]  # 6 proxies split 2:1
    assert (trials["method"] == "random").sum() == 6
    assert climb.loc[climb["iteration"] == 2, "predicted"].notna().all()
    assert climb.loc[climb["iteration"] == 1, "predicted"].isna().all()
    sids = set(lake_io.read(spark, lake, GOLD_SUPER_CLUSTERS)[0].toPandas()["super_cluster_id"])
    for w in trials["weights"]:
        assert set(dict(w)) == sids and abs(sum(dict(w).values()) - 1) < 1e-9
    assert (trials["metrics"].map(lambda m: dict(m)["loss/holdout"]) == trials["objective"]).all()
    assert partial["trials_inserted"] == 4 and full["trials_inserted"] == 8  # iteration 1 was not rerun

    mixtures = lake_io.read(spark, lake, GOLD_MIXTURES)[0].toPandas().set_index("method")
    assert set(mixtures.index) == {"climb", "random", "regmix", "uniform", "natural"}
    assert mixtures["chosen"].sum() == 1 and mixtures.loc["climb", "chosen"]
    assert all(list(s) == [1000, 1001] for s in mixtures["remeasured_seeds"])  # fresh seeds, not the search's 0
    best_measured = climb["objective"].min()
    assert mixtures.loc["climb", "search_objective"] == pytest.approx(best_measured)
    assert np.allclose(list(dict(mixtures.loc["uniform", "weights"]).values()), 1 / len(sids))
    run = lake_io.read(spark, lake, OPS_RUNS)[0].filter("job = 'search'").orderBy("started_at").collect()[-1]
    assert set(mixtures.loc["climb", "inputs"]) >= {"gold.token_pools", "bronze.holdout", "gold.super_clusters"}
    assert mixtures.loc["climb", "run_id"] == run.run_id


def test_climb_prefers_the_target_domain(spark, searched):
    """The target is held-out 'code': the chosen mixture must weight the code super-cluster above its prior."""
    _, lake, _, _ = searched
    supers = lake_io.read(spark, lake, GOLD_SUPER_CLUSTERS)[0].toPandas()
    code = supers.loc[
        supers["topic_terms"].map(lambda t: "parse" in list(t) or "strip" in list(t)), "super_cluster_id"
    ]
    (code_sid,) = code
    prior = supers.set_index("super_cluster_id")["token_share"]
    mixtures = lake_io.read(spark, lake, GOLD_MIXTURES)[0].toPandas().set_index("method")
    chosen = dict(mixtures.loc["climb", "weights"])
    assert chosen[code_sid] > prior[code_sid]
    assert mixtures.loc["climb", "remeasured_mean"] < mixtures.loc["uniform", "remeasured_mean"]


def test_rerun_changes_nothing(spark, searched):
    cfg, lake, _, _ = searched
    versions = {s.name: lake_io.version(spark, lake, s) for s in (GOLD_MIXTURE_TRIALS, GOLD_MIXTURES)}
    again = run_stage("search", cfg)
    assert again["trials_inserted"] == 0 and again["mixtures_inserted"] == 0
    assert versions == {s.name: lake_io.version(spark, lake, s) for s in (GOLD_MIXTURE_TRIALS, GOLD_MIXTURES)}


def test_bad_targets_and_settings_fail_fast(spark, pooled):
    import copy

    cfg, _ = pooled
    bad = copy.deepcopy(cfg)
    bad.search.targets = ["holdout:nosuchsource"]
    with pytest.raises(ConfigError, match="bronze.holdout has no documents of source nosuchsource"):
        run_stage("search", bad)
    bad.search.targets = ["holdout"]
    bad.search.proxy = {"n_layers": "2"}
    with pytest.raises(ConfigError, match="unknown key 'search.proxy.n_layers'"):
        run_stage("search", bad)
    bad.search.proxy, bad.search.baselines = {}, ["doremi"]
    with pytest.raises(ConfigError, match="unknown \\['doremi'\\]"):
        run_stage("search", bad)


def test_killed_search_resumes_without_retraining(spark, pooled, tmp_path):
    """SIGKILL `python -m jobs.search` after some proxies finished; the rerun trains only what was missing."""
    import copy

    import yaml

    from jobs.config import to_dict

    cfg, lake = pooled
    cfg = copy.deepcopy(cfg)
    cfg.search.name, cfg.search.baselines, cfg.search.remeasure_seeds = "killed", ["uniform"], 1
    cfg.search.total_proxies, cfg.search.ratio, cfg.search.workers = 4, [3, 1], 1
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(to_dict(cfg)))
    proc = subprocess.Popen(
        [sys.executable, "-m", "jobs.search", "--config", str(config)],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    storage = storage_for(cfg.search, lake)
    deadline, finished = time.time() + 240, []
    while time.time() < deadline and proc.poll() is None:
        try:
            study = optuna.load_study(study_name="killed", storage=storage)
            finished = study.get_trials(states=[optuna.trial.TrialState.COMPLETE])
        except KeyError:
            finished = []
        if finished:
            break
        time.sleep(0.2)
    assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = {
        t.number
        for t in optuna.load_study(study_name="killed", storage=storage).get_trials(
            states=[optuna.trial.TrialState.COMPLETE]
        )
    }
    assert 0 < len(done_before) < 4

    counts = run_stage("search", cfg)
    study = optuna.load_study(study_name="killed", storage=storage)
    complete = study.get_trials(states=[optuna.trial.TrialState.COMPLETE])
    assert len(complete) == 4 and {t.number for t in complete} >= done_before
    assert counts["trials"] == 4 and search_name(cfg.search, "x") == "killed"


def test_search_marts_answer_from_the_tables(spark, searched):
    from jobs.session import build_session
    from jobs.sql_runner import resolve_query, run_sql

    cfg, lake, _, _ = searched
    spark = build_session(cfg.spark, lake)  # registers the new gold tables by name
    mixtures = lake_io.read(spark, lake, GOLD_MIXTURES)[0].toPandas()
    search = next(s for s in mixtures["search"] if s != "killed")  # the resume test adds its own search
    mixtures = mixtures[mixtures["search"] == search]

    rows = run_sql(spark, resolve_query("mixture_comparison", None)[1], {"search": search}).collect()
    assert [r.method for r in rows] == list(mixtures.sort_values("remeasured_mean")["method"])
    chosen = next(r for r in rows if r.chosen)
    assert chosen.method == "climb" and chosen.gap_to_chosen == 0.0 and all(r.seeds == 2 for r in rows)

    progress = run_sql(spark, resolve_query("search_progress", None)[1], {"search": search}).collect()
    climb = [r for r in progress if r.study == search]
    assert [(r.iteration, r.proxies) for r in climb] == [(1, 4), (2, 2)]
    assert climb[1].best_so_far == min(climb[0].best, climb[1].best)

    top = run_sql(spark, resolve_query("trial_leaderboard", None)[1], {"search": search, "top": 1}).collect()
    assert {r.study for r in top} == {search, f"{search}-random"} and all(r.rank_in_study == 1 for r in top)

    weights = run_sql(spark, resolve_query("chosen_weights", None)[1], {"search": search}).toPandas()
    assert weights.groupby("method")["weight"].sum().between(0.99, 1.01).all()
