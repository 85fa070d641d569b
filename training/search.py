"""CLIMB's bootstrapping mixture search: Optuna is the ledger and the queue, Dask runs the proxies.

Iteration 1 samples Dirichlet mixtures around the token-count prior; each later iteration fits the LightGBM
predictor on every measured mixture, scores a large candidate set and samples the next proxies from the top. The
proxy budget splits across iterations (4:2:1 by default). One Optuna study per search, in a storage that survives
crashes (a journal file by default, any RDB URL on a cluster); one trial per proxy run, its weights as parameters,
handed in with ``enqueue_trial`` + ``ask`` and closed with ``tell``. A rerun loads the study and only runs what is
missing: finished trials are never retrained; a trial a crash left RUNNING is marked FAIL and its weights rerun.

``evaluate(weights, seed) -> dict`` is any picklable function returning at least ``{"objective": float}``
(lower is better), e.g. a proxy LM's target loss; on a cluster it runs on Dask workers with a ``GPU`` resource.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import optuna

from training.mixtures import budget_split, sample_dirichlet_mixtures, token_prior, top_k_resample
from training.predictor import PredictorConfig, fit_predictor

log = logging.getLogger(__name__)


@dataclass
class SearchConfig:
    total_proxies: int = 14  # the paper: 112 (64/32/16); the 2-core demo affords 14 tiny proxies
    ratio: tuple[int, ...] = (4, 2, 1)  # proxies per iteration, CLIMB's split
    temperature: float = 1.0  # prior p_i ∝ tokens_i^(1/T)
    concentration_range: tuple[float, float] = (0.1, 5.0)
    max_multiple: float = 5.0  # no weight above this multiple of the prior
    min_weight: float = 0.0
    min_distance: float = 0.05  # L1: near-duplicate mixtures are not trained twice
    n_candidates: int = 5000  # candidates the predictor ranks in later iterations
    top_k: int = 50  # next proxies are drawn from the predictor's best top_k
    jitter: float = 0.0
    seed: int = 0
    retries: int = 2  # a proxy run that dies is retried by Dask this many times
    gpu: bool = False  # ask Dask for a worker with a "GPU" resource per proxy run
    pick: str = "measured"  # measured: the best trained mixture (a real observation); predicted: predictor's best
    predictor: PredictorConfig = field(default_factory=PredictorConfig)


@dataclass
class SearchResult:
    weights: np.ndarray
    objective: float  # measured for "measured", predicted for "predicted"
    method: str
    trials: list[dict]  # every finished trial: number, iteration, weights, objective, predicted, metrics
    predictor_metrics: dict[str, float]
    complete: bool = True  # False when ``iterations`` stopped the search before its last iteration


def journal_storage(path: str) -> optuna.storages.BaseStorage:
    """A crash-safe journal file (an RDB URL string works too: pass it straight to optuna)."""
    if "://" in path:
        return optuna.storages.RDBStorage(path)
    return optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(path))


def _distributions(S: int) -> dict[str, optuna.distributions.FloatDistribution]:
    return {f"w{i}": optuna.distributions.FloatDistribution(0.0, 1.0) for i in range(S)}


def _weights(params: dict[str, float], S: int) -> np.ndarray:
    w = np.array([params[f"w{i}"] for i in range(S)], dtype=np.float64)
    return w / w.sum()


def finished_trials(study: optuna.Study, S: int) -> list[dict]:
    done = study.get_trials(deepcopy=False, states=[optuna.trial.TrialState.COMPLETE])
    return [
        {
            "number": t.number,
            "iteration": int(t.user_attrs["iteration"]),
            "weights": _weights(t.params, S),
            "objective": float(t.value),
            "predicted": t.user_attrs.get("predicted"),
            "seed": t.user_attrs.get("seed"),
            "metrics": json.loads(t.user_attrs.get("metrics", "{}")),
        }
        for t in done
    ]


def _new_mixtures(
    it: int, need: int, prior: np.ndarray, done: list[dict], cfg: SearchConfig
) -> tuple[np.ndarray, np.ndarray | None]:
    """(need, S) mixtures for iteration ``it`` and the predictor's score of each (None in iteration 1)."""
    existing = np.array([d["weights"] for d in done]) if done else None
    seed = cfg.seed * 1000 + it * 100 + len(done)
    kwargs = dict(
        concentration_range=cfg.concentration_range,
        max_multiple=cfg.max_multiple,
        min_weight=cfg.min_weight,
        min_distance=cfg.min_distance,
        existing=existing,
    )
    if it == 0 or len(done) < 2:
        return sample_dirichlet_mixtures(prior, need * 4, seed=seed, **kwargs)[:need], None
    X = np.array([d["weights"] for d in done])
    y = np.array([d["objective"] for d in done])
    predictor = fit_predictor(X, y, cfg.predictor)
    candidates = sample_dirichlet_mixtures(prior, cfg.n_candidates, seed=seed, **kwargs)
    chosen = top_k_resample(
        candidates,
        predictor.predict(candidates),
        min(cfg.top_k, len(candidates)),
        need,
        seed=seed,
        jitter=cfg.jitter,
    )
    return chosen, predictor.predict(chosen)


def _resume(study: optuna.Study, match: Callable[[optuna.trial.FrozenTrial], bool]) -> list:
    """Trials a crash left RUNNING never reported: mark them failed in the ledger and return them to rerun."""
    stale = [t for t in study.get_trials(deepcopy=False, states=[optuna.trial.TrialState.RUNNING]) if match(t)]
    for t in stale:
        study.tell(t.number, state=optuna.trial.TrialState.FAIL)
    return stale


def _dispatch(study, trials, evaluate, client, cfg: SearchConfig, on_result) -> None:
    """Run ``evaluate(weights, seed)`` for each asked trial on Dask and ``tell`` each result as it arrives."""
    from dask.distributed import as_completed

    S = len(trials[0].params) if trials else 0
    futures = {
        client.submit(
            evaluate,
            _weights(t.params, S),
            int(t.user_attrs["seed"]),
            key=f"{study.study_name}-{t.number}",
            retries=cfg.retries,
            resources={"GPU": 1} if cfg.gpu else None,
            pure=False,
        ): t
        for t in trials
    }
    for future in as_completed(futures):
        trial = futures[future]
        metrics = future.result()
        trial.set_user_attr("metrics", json.dumps(metrics))
        study.tell(trial, float(metrics["objective"]))
        if on_result is not None:
            on_result(trial.number, metrics)


def _ask(study: optuna.Study, weights: np.ndarray, attrs: dict) -> optuna.Trial:
    study.enqueue_trial({f"w{i}": float(v) for i, v in enumerate(weights)}, user_attrs=attrs)
    return study.ask(_distributions(len(weights)))


def run_search(
    study_name: str,
    storage: optuna.storages.BaseStorage,
    n_tokens: list[int],
    evaluate: Callable[[np.ndarray, int], dict],
    client,
    cfg: SearchConfig | None = None,
    *,
    iterations: int | None = None,
    on_result: Callable[[int, dict], None] | None = None,
) -> SearchResult:
    """Run (or resume) the bootstrapping search; ``client`` is a dask.distributed Client.

    ``iterations`` stops after that many iterations (a DAG runs one task per iteration); ``on_result(number,
    metrics)`` is called as each proxy reports (a progress bar).
    """
    cfg = cfg or SearchConfig()
    S = len(n_tokens)
    prior = token_prior(n_tokens, cfg.temperature)
    study = optuna.create_study(study_name=study_name, storage=storage, direction="minimize", load_if_exists=True)
    budgets = budget_split(cfg.total_proxies, cfg.ratio)
    last = len(budgets) if iterations is None else min(iterations, len(budgets))

    for it, budget in enumerate(budgets[:last]):
        done = finished_trials(study, S)
        in_iteration = [d for d in done if d["iteration"] == it]
        stale = _resume(study, lambda t, it=it: int(t.user_attrs["iteration"]) == it)
        need = budget - len(in_iteration) - len(stale)
        fresh, predicted = _new_mixtures(it, need, prior, done, cfg) if need > 0 else (np.zeros((0, S)), None)
        trials = [_ask(study, _weights(t.params, S), dict(t.user_attrs)) for t in stale]
        for j, w in enumerate(fresh):
            attrs = {"iteration": it, "seed": cfg.seed}  # one seed for every proxy: only the mixture differs
            if predicted is not None:
                attrs["predicted"] = float(predicted[j])
            trials.append(_ask(study, w, attrs))
        if not trials:
            continue
        log.info(
            "iteration %d: %d proxies (%d finished before, %d resumed)",
            it + 1,
            len(trials),
            len(in_iteration),
            len(stale),
        )
        _dispatch(study, trials, evaluate, client, cfg, on_result)

    done = finished_trials(study, S)
    X = np.array([d["weights"] for d in done])
    y = np.array([d["objective"] for d in done])
    complete = last == len(budgets)
    if len(done) < 2:  # a one-proxy search (or a first task of one): nothing to fit, the one measurement answers
        if cfg.pick == "predicted":
            log.warning("%d finished trial(s): too few to fit a predictor; answering the measured best", len(done))
        return SearchResult(X[0], float(y[0]), "climb-measured", done, {}, complete)
    predictor = fit_predictor(X, y, cfg.predictor)
    if cfg.pick == "predicted":
        candidates = sample_dirichlet_mixtures(
            prior,
            cfg.n_candidates,
            seed=cfg.seed + 7,
            concentration_range=cfg.concentration_range,
            max_multiple=cfg.max_multiple,
            min_weight=cfg.min_weight,
        )
        scores = predictor.predict(candidates)
        best = int(np.argmin(scores))
        return SearchResult(
            candidates[best], float(scores[best]), "climb-predicted", done, predictor.metrics, complete
        )
    if cfg.pick != "measured":
        raise ValueError(f"search.pick must be 'measured' or 'predicted', got {cfg.pick!r}")
    best = int(np.argmin(y))
    return SearchResult(X[best], float(y[best]), "climb-measured", done, predictor.metrics, complete)


def run_fixed(
    study_name: str,
    storage: optuna.storages.BaseStorage,
    runs: dict[str, tuple[np.ndarray, int]],
    evaluate: Callable[[np.ndarray, int], dict],
    client,
    cfg: SearchConfig | None = None,
    *,
    on_result: Callable[[int, dict], None] | None = None,
) -> dict[str, dict]:
    """Evaluate fixed (weights, seed) runs by name in one study, resumably: ``{name: metrics}``.

    The baselines and the fresh-seed re-measurements go through the same ledger, queue and retries as the search,
    so a crash never retrains a finished run here either.
    """
    cfg = cfg or SearchConfig()
    study = optuna.create_study(study_name=study_name, storage=storage, direction="minimize", load_if_exists=True)
    stale = _resume(study, lambda t: t.user_attrs.get("run") in runs)
    finished = {
        t.user_attrs["run"] for t in study.get_trials(deepcopy=False, states=[optuna.trial.TrialState.COMPLETE])
    }
    trials = [
        _ask(study, np.asarray(w, dtype=np.float64), {"run": name, "seed": int(seed), "iteration": 0})
        for name, (w, seed) in runs.items()
        if name not in finished
    ]
    if stale or trials:
        log.info(
            "%s: %d runs (%d finished before, %d resumed)", study_name, len(trials), len(finished), len(stale)
        )
    _dispatch(study, trials, evaluate, client, cfg, on_result)
    out = {}
    for t in study.get_trials(deepcopy=False, states=[optuna.trial.TrialState.COMPLETE]):
        if t.user_attrs["run"] in runs:
            out[t.user_attrs["run"]] = json.loads(t.user_attrs["metrics"])
    return out
