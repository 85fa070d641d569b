import numpy as np
import pytest

from training.predictor import PredictorConfig, fit_predictor, regmix_answer

S = 6
W_STAR = np.array([0.35, 0.25, 0.15, 0.10, 0.10, 0.05])  # the best mixture, away from uniform


def _trials(n: int, seed: int, noise: float = 0.005) -> tuple[np.ndarray, np.ndarray]:
    """A smooth synthetic objective: loss = ||w - w*||^2 + noise over uniform Dirichlet mixtures."""
    rng = np.random.default_rng(seed)
    X = rng.dirichlet(np.ones(S), n)  # (n, S)
    y = ((X - W_STAR) ** 2).sum(axis=1) + noise * rng.standard_normal(n)
    return X, y


@pytest.fixture(scope="module")
def candidates() -> np.ndarray:
    return np.random.default_rng(99).dirichlet(np.ones(S), 5_000)  # (5000, S)


def test_config_defaults_are_the_papers():
    cfg = PredictorConfig()
    assert (cfg.max_depth, cfg.min_child_samples, cfg.learning_rate, cfg.n_estimators) == (4, 5, 0.05, 1000)
    assert cfg.num_leaves <= 2**cfg.max_depth
    assert cfg.reg_alpha > 0 and cfg.reg_lambda > 0
    assert cfg.early_stopping_rounds == 50 and cfg.holdout_fraction == 0.2


def test_predictor_ranks_held_out_trials_and_finds_the_optimum(candidates):
    X, y = _trials(200, seed=0)
    predictor = fit_predictor(X, y)
    m = predictor.metrics
    assert m["spearman_holdout"] > 0.8
    assert (m["n_train"], m["n_holdout"]) == (160, 40)
    assert 1 <= m["best_iteration"] < 1000  # early stopping ended it
    predicted = predictor.predict(candidates)
    assert predicted.shape == (5_000,) and predicted.dtype == np.float64
    distance = np.abs(candidates - W_STAR).sum(axis=1)  # L1 to w*
    best = distance[np.argmin(predicted)]
    assert best < 0.4  # uniform is 0.53 away; 0.14-0.30 over six data seeds
    assert best < distance.mean() and best < np.abs(candidates.mean(axis=0) - W_STAR).sum()


def test_same_seed_gives_identical_predictions(candidates):
    X, y = _trials(120, seed=1)
    a = fit_predictor(X, y, PredictorConfig(seed=3))
    b = fit_predictor(X, y, PredictorConfig(seed=3))
    np.testing.assert_array_equal(a.predict(candidates), b.predict(candidates))
    assert a.metrics == b.metrics
    c = fit_predictor(X, y, PredictorConfig(seed=4))  # another holdout split, another model
    assert not np.array_equal(a.predict(candidates), c.predict(candidates))


def test_few_trials_fit_on_all_without_holdout():
    X, y = _trials(8, seed=2)
    predictor = fit_predictor(X, y)
    assert np.isnan(predictor.metrics["spearman_holdout"])
    assert (predictor.metrics["n_train"], predictor.metrics["n_holdout"]) == (8, 0)
    assert predictor.predict(X).shape == (8,)


def test_inputs_are_checked():
    X, y = _trials(20, seed=3)
    with pytest.raises(ValueError, match="NaN"):
        fit_predictor(X, np.where(np.arange(20) == 4, np.nan, y))
    with pytest.raises(ValueError, match="shape"):
        fit_predictor(X, y[:-1])
    with pytest.raises(ValueError, match="columns"):
        fit_predictor(X, y).predict(X[:, :4])


def test_regmix_answer_lands_near_the_optimum(candidates):
    X, y = _trials(200, seed=0)
    w = regmix_answer(X, y, candidates, top=100)
    assert w.shape == (S,)
    assert w.sum() == pytest.approx(1.0)
    assert np.abs(w - W_STAR).sum() < 0.2  # uniform is 0.53 away, the average candidate 0.81
    # Higher is better flips the answer towards the worst mixtures.
    worst = regmix_answer(X, y, candidates, top=100, lower_is_better=False)
    assert np.abs(worst - W_STAR).sum() > 0.6


def test_a_handful_of_trials_still_gives_a_ranking_not_a_constant(candidates):
    """With 8 trials the paper's 5-per-leaf rule would allow no split at all: the predictor must still vary."""
    X, y = _trials(8, seed=5, noise=0.0)
    predicted = fit_predictor(X, y).predict(candidates)
    assert np.unique(predicted).size > 1
    from scipy.stats import spearmanr

    assert spearmanr(fit_predictor(X, y).predict(X), y).statistic > 0.5
