"""The LightGBM predictor of CLIMB's mixture search, and RegMix's one-shot answer built on it.

The predictor maps a mixture (S weights) to a proxy's measured metric (e.g. validation loss). CLIMB fits it on
the trials so far and uses it to rank a large candidate set; RegMix fits it once on random mixtures and averages
the best predicted candidates. Settings follow the CLIMB paper (arXiv 2504.13161): trees of depth 4, at least 5
samples per leaf, L1 and L2 regularisation, early stopping on held-out trials.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

import lightgbm as lgb
import numpy as np
from scipy.stats import spearmanr

log = logging.getLogger(__name__)


@dataclass
class PredictorConfig:
    max_depth: int = 4  # the paper's depth: few trials, so shallow trees that cannot memorise them
    num_leaves: int = 16  # 2**4, a full tree of depth 4; LightGBM grows leaf-wise, so depth alone would not bind
    min_child_samples: int = 5  # the paper's "min 5 samples per leaf"
    reg_alpha: float = 0.01  # L1 on leaf values, small: the paper regularises but gives no value
    reg_lambda: float = 0.1  # L2 on leaf values, small for the same reason
    learning_rate: float = 0.05  # slow enough that early stopping picks a round count, not a lucky tree
    n_estimators: int = 1000  # an upper bound; early stopping ends far sooner on tens of trials
    early_stopping_rounds: int = 50  # patience, in rounds without improvement on the held-out trials
    holdout_fraction: float = 0.2  # share of trials held out for early stopping and the Spearman check
    min_trials_for_holdout: int = 10  # below this, a holdout of 1-2 trials says nothing: fit on all
    min_holdout: int = 3  # a rank correlation needs at least 3 points to mean anything
    seed: int = 0  # the holdout split and LightGBM's own seeds
    verbose: int = -1  # LightGBM's per-fit chatter off
    deterministic: bool = True  # with n_jobs=1 and row-wise histograms, the same inputs give the same trees
    n_jobs: int = 1  # tens to hundreds of rows: threads cost more than they save, and would break determinism

    def lgb_params(self) -> dict:
        """The config as LightGBM ``train`` parameters."""
        return {
            "objective": "regression",
            "max_depth": self.max_depth,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_child_samples,
            "lambda_l1": self.reg_alpha,
            "lambda_l2": self.reg_lambda,
            "learning_rate": self.learning_rate,
            "seed": self.seed,
            "verbose": self.verbose,
            "deterministic": self.deterministic,
            "force_row_wise": True,  # no timing-based choice between row- and column-wise histograms
            "num_threads": self.n_jobs,
        }


@dataclass
class Predictor:
    booster: lgb.Booster
    n_features: int  # S, the number of super-clusters
    metrics: dict = field(default_factory=dict)  # spearman_holdout, n_train, n_holdout, best_iteration
    config: dict = field(default_factory=dict)  # the PredictorConfig it was fitted with, as a dict

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted metric for each mixture row of ``X`` (n, S); (n,) float64."""
        X = _as_mixtures(X, "X")
        if X.shape[1] != self.n_features:
            raise ValueError(f"X has {X.shape[1]} columns, the predictor was fitted on {self.n_features}")
        return np.asarray(self.booster.predict(X, num_iteration=self.metrics["best_iteration"]), dtype=np.float64)


def _as_mixtures(X: np.ndarray, name: str) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] == 0:
        raise ValueError(f"{name} must be a 2-d array of mixtures (n, S), got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} holds NaN or inf")
    return X


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    # spearmanr warns and returns NaN on constant input (e.g. a model that never split); say NaN without the noise
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)


def _small_sample_params(cfg: PredictorConfig, n: int) -> dict:
    """The paper's "min 5 samples per leaf" assumes its 64+ trials. With fewer than 4 x 5, no split can leave 5 on
    each side, so every tree is one leaf, the predictor is a constant and the next iteration picks at random;
    the leaf minimum shrinks to n // 4 (at least 2) there, and is the configured one from 20 trials on."""
    params = cfg.lgb_params()
    params["min_data_in_leaf"] = max(2, min(cfg.min_child_samples, n // 4))
    if params["min_data_in_leaf"] < cfg.min_child_samples:
        log.info(
            "%d trials: min samples per leaf %d instead of %d",
            n,
            params["min_data_in_leaf"],
            cfg.min_child_samples,
        )
    return params


def fit_predictor(X: np.ndarray, y: np.ndarray, cfg: PredictorConfig | None = None) -> Predictor:
    """Fit the predictor on trials: ``X`` mixture weights (n, S), ``y`` the measured metric (n,), e.g. loss.

    A random ``holdout_fraction`` of the trials (at least ``min_holdout``) is held out: boosting stops after
    ``early_stopping_rounds`` rounds without improving on them, and ``metrics["spearman_holdout"]`` is the
    Spearman rank correlation between predicted and measured on them. The same trials choose the round count,
    so that correlation leans optimistic; with tens of trials there are none to spare for a third split.
    With fewer than ``min_trials_for_holdout`` (10) trials there is no holdout: the model is fitted on all of
    them for ``n_estimators`` rounds and ``spearman_holdout`` is NaN.
    """
    cfg = cfg or PredictorConfig()
    X = _as_mixtures(X, "X")
    y = np.asarray(y, dtype=np.float64)
    if y.shape != (len(X),):
        raise ValueError(f"y must have shape ({len(X)},) to match X, got {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError("y holds NaN or inf: drop failed trials before fitting")
    if len(X) < 2:
        raise ValueError(f"need at least 2 trials to fit a predictor, got {len(X)}")
    if not 0 < cfg.holdout_fraction < 1:
        raise ValueError(f"holdout_fraction must be in (0, 1), got {cfg.holdout_fraction}")

    n = len(X)
    params = _small_sample_params(cfg, n)
    if n < cfg.min_trials_for_holdout:
        log.info("%d trials < %d: fitting on all of them, no holdout", n, cfg.min_trials_for_holdout)
        booster = lgb.train(params, lgb.Dataset(X, y, params=params), num_boost_round=cfg.n_estimators)
        metrics = {"spearman_holdout": float("nan"), "n_train": n, "n_holdout": 0}
        metrics["best_iteration"] = booster.current_iteration()
        return Predictor(booster, X.shape[1], metrics, asdict(cfg))

    n_holdout = max(cfg.min_holdout, round(cfg.holdout_fraction * n))
    n_holdout = max(1, min(n_holdout, n - cfg.min_child_samples))  # leave enough trials for one leaf
    order = np.random.default_rng(cfg.seed).permutation(n)
    held, train = order[:n_holdout], order[n_holdout:]
    dtrain = lgb.Dataset(X[train], y[train], params=params)
    dheld = lgb.Dataset(X[held], y[held], reference=dtrain)
    booster = lgb.train(
        params,
        dtrain,
        num_boost_round=cfg.n_estimators,
        valid_sets=[dheld],
        callbacks=[lgb.early_stopping(cfg.early_stopping_rounds, verbose=False)],
    )
    best = booster.best_iteration or booster.current_iteration()  # 0 when early stopping never triggered
    predicted = booster.predict(X[held], num_iteration=best)
    metrics = {
        "spearman_holdout": _spearman(predicted, y[held]),
        "n_train": len(train),
        "n_holdout": n_holdout,
        "best_iteration": best,
    }
    log.info("predictor fitted: %s", metrics)
    return Predictor(booster, X.shape[1], metrics, asdict(cfg))


def regmix_answer(
    X: np.ndarray,
    y: np.ndarray,
    candidates: np.ndarray,
    top: int = 100,
    cfg: PredictorConfig | None = None,
    *,
    lower_is_better: bool = True,
) -> np.ndarray:
    """RegMix's one-shot mixture: fit on the random mixtures' trials, predict ``candidates`` (m, S), and return
    the mean of the ``top`` best-predicted candidates (lowest loss by default), renormalised; (S,) float64.

    Averaging the top candidates rather than taking the argmin smooths over the predictor's piecewise-constant
    trees, whose single best leaf is often a tie among many candidates.
    """
    candidates = _as_mixtures(candidates, "candidates")
    if not 1 <= top <= len(candidates):
        raise ValueError(f"top must be in [1, {len(candidates)}] (the number of candidates), got {top}")
    predicted = fit_predictor(X, y, cfg).predict(candidates)
    key = predicted if lower_is_better else -predicted
    best = np.argsort(key, kind="stable")[:top]
    w = candidates[best].mean(axis=0)
    return w / w.sum()
