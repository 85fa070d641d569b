"""The bootstrapping search on a real Dask LocalCluster and a real Optuna journal, with a synthetic objective
(a quadratic bowl around a known mixture) standing in for proxy training so the test runs in seconds."""

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
from dask.distributed import Client, LocalCluster

from training.search import SearchConfig, finished_trials, journal_storage, run_fixed, run_search

TARGET = np.array([0.05, 0.5, 0.1, 0.3, 0.05])
N_TOKENS = [400, 100, 300, 100, 100]


def _key(weights) -> str:
    return ",".join(f"{w:.6f}" for w in weights)


def make_objective(log_path: str, sleep: float = 0.0):
    """A picklable closure: loss = ||w - TARGET||^2, and a log line per evaluation (its weights)."""
    target = TARGET.copy()

    def objective(weights, seed):
        import time as _time

        _time.sleep(sleep)
        with open(log_path, "a") as f:
            f.write(_key(weights) + "\n")
        return {"objective": float(((weights - target) ** 2).sum()), "seed": seed}

    return objective


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as c:
            yield c


def test_search_improves_on_the_prior_and_records_every_trial(client, tmp_path):
    storage = journal_storage(str(tmp_path / "journal.log"))
    cfg = SearchConfig(total_proxies=21, seed=3, n_candidates=2000, top_k=20)
    result = run_search("s", storage, N_TOKENS, make_objective(str(tmp_path / "evals.log")), client, cfg)

    assert [sum(1 for t in result.trials if t["iteration"] == i) for i in range(3)] == [12, 6, 3]
    first = [t["objective"] for t in result.trials if t["iteration"] == 0]
    later = [t["objective"] for t in result.trials if t["iteration"] > 0]
    assert np.mean(later) < np.mean(first)  # the predictor steers later proxies toward better mixtures
    assert all((t["predicted"] is None) == (t["iteration"] == 0) for t in result.trials)  # the proposal's score
    prior = np.array(N_TOKENS) / sum(N_TOKENS)
    assert result.objective < float(((prior - TARGET) ** 2).sum())
    assert np.isclose(result.weights.sum(), 1.0)
    reloaded = optuna.load_study(study_name="s", storage=storage)
    assert len(reloaded.get_trials(states=[optuna.trial.TrialState.COMPLETE])) == 21


def test_killed_search_resumes_without_retraining_finished_trials(client, tmp_path):
    journal = str(tmp_path / "journal.log")
    first_log = tmp_path / "first.log"
    code = (
        "from dask.distributed import Client, LocalCluster\n"
        "from training.search import SearchConfig, journal_storage, run_search\n"
        "from tests.training.test_search import N_TOKENS, make_objective\n"
        "if __name__ == '__main__':\n"
        "    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as c:\n"
        "        with Client(c) as client:\n"
        f"            objective = make_objective({str(first_log)!r}, sleep=1.0)\n"
        f"            run_search('s', journal_storage({journal!r}), N_TOKENS, objective, client,\n"
        "                       SearchConfig(total_proxies=7))\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if first_log.exists() and len(first_log.read_text().split()) >= 3:
            break
        time.sleep(0.05)
    assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()

    storage = journal_storage(journal)
    finished = {_key(t["weights"]) for t in finished_trials(optuna.load_study(study_name="s", storage=storage), 5)}
    assert 0 < len(finished) < 7
    second_log = tmp_path / "second.log"
    result = run_search(
        "s", storage, N_TOKENS, make_objective(str(second_log)), client, SearchConfig(total_proxies=7)
    )
    rerun = set(second_log.read_text().split())
    assert rerun and not rerun & finished  # no finished trial's mixture was trained again
    assert len(result.trials) == 7


def test_fixed_runs_are_resumable_and_keyed_by_name(client, tmp_path):
    storage = journal_storage(str(tmp_path / "journal.log"))
    log_path = tmp_path / "evals.log"
    runs = {"uniform/seed=1": (np.full(5, 0.2), 1), "target/seed=2": (TARGET, 2)}
    first = run_fixed("fixed", storage, runs, make_objective(str(log_path)), client)
    assert first["target/seed=2"]["objective"] == 0.0 and first["uniform/seed=1"]["seed"] == 1
    assert first["uniform/seed=1"]["objective"] == pytest.approx(float(((0.2 - TARGET) ** 2).sum()))
    runs["natural/seed=3"] = (np.array(N_TOKENS) / sum(N_TOKENS), 3)
    second = run_fixed("fixed", storage, runs, make_objective(str(log_path)), client)
    assert set(second) == set(runs) and len(log_path.read_text().split()) == 3  # only the new run trained


def test_a_one_proxy_iteration_answers_its_measurement(client, tmp_path):
    storage = journal_storage(str(tmp_path / "journal.log"))
    cfg = SearchConfig(total_proxies=3, ratio=(1, 1, 1), pick="predicted")
    first = run_search(
        "one", storage, N_TOKENS, make_objective(str(tmp_path / "e.log")), client, cfg, iterations=1
    )
    assert not first.complete and len(first.trials) == 1 and first.predictor_metrics == {}
    assert first.objective == first.trials[0]["objective"]
    full = run_search("one", storage, N_TOKENS, make_objective(str(tmp_path / "e.log")), client, cfg)
    assert full.complete and len(full.trials) == 3 and len((tmp_path / "e.log").read_text().split()) == 3
