import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from pipelines.quality_model import QualityModel, sample_negatives, train_quality_model

DIM = 384


def _cluster(center: np.ndarray, n: int, rng: np.random.Generator, spread: float = 0.05) -> np.ndarray:
    """n unit vectors scattered around `center` (noise norm ~ spread * sqrt(DIM) ~ 1, as wide as the center)."""
    x = center + spread * rng.standard_normal((n, len(center)))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)  # (n, DIM), unit rows


@pytest.fixture(scope="module")
def clusters():
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal((2, DIM))
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    return a, b, _cluster(a, 200, rng), _cluster(b, 300, rng)


@pytest.fixture(scope="module")
def model(clusters):
    _, _, pos, neg = clusters
    return train_quality_model(pos, neg, seed=0)


def test_separates_clusters(clusters, model):
    a, b, _, _ = clusters
    assert model.metrics["auc"] > 0.95
    assert model.metrics["accuracy"] > 0.9
    assert (model.metrics["n_pos"], model.metrics["n_neg"]) == (200, 300)
    assert len(model.coef) == DIM
    # fresh points from the same two clusters
    rng = np.random.default_rng(99)
    fresh_pos, fresh_neg = _cluster(a, 100, rng), _cluster(b, 100, rng)
    scores = model.score(np.vstack([fresh_pos, fresh_neg]))
    assert roc_auc_score([1] * 100 + [0] * 100, scores) > 0.95
    assert scores[:100].mean() > 0.5 > scores[100:].mean()


def test_scores_are_probabilities(clusters, model):
    _, _, pos, neg = clusters
    scores = model.score(np.vstack([pos, neg]))
    assert scores.dtype == np.float64 and scores.shape == (500,)
    assert ((scores >= 0) & (scores <= 1)).all()
    # far along the weight vector the sigmoid saturates without overflow or NaN
    w = np.asarray(model.coef)
    extreme = model.score(np.vstack([1e6 * w, -1e6 * w]))
    assert extreme.tolist() == [1.0, 0.0]
    assert model.score(np.zeros((0, DIM), dtype=np.float32)).shape == (0,)


def test_score_rejects_wrong_dim(model):
    with pytest.raises(ValueError, match=f"\\(n, {DIM}\\)"):
        model.score(np.zeros((3, DIM + 1)))


def test_json_round_trip_gives_identical_scores(clusters, model):
    _, _, pos, _ = clusters
    restored = QualityModel.from_json(model.to_json())
    assert restored == model
    assert np.array_equal(restored.score(pos), model.score(pos))


def test_model_id_is_deterministic_and_data_dependent(clusters, model):
    _, _, pos, neg = clusters
    again = train_quality_model(pos, neg, seed=0)
    assert again.model_id == model.model_id and again.coef == model.coef
    assert len(model.model_id) == 16 and int(model.model_id, 16) >= 0
    assert train_quality_model(pos[:-20], neg, seed=0).model_id != model.model_id
    assert train_quality_model(pos, neg, seed=0, c=0.5).model_id != model.model_id


def test_too_small_reference_set_raises(clusters):
    _, _, pos, neg = clusters
    with pytest.raises(ValueError, match="reference set is too small.*quality.reference_sources"):
        train_quality_model(pos[:9], neg)
    with pytest.raises(ValueError, match="negative sample is too small"):
        train_quality_model(pos, neg[:5])
    with pytest.raises(ValueError, match="embed both with one model"):
        train_quality_model(pos, neg[:, :100])


def test_sample_negatives():
    idx = sample_negatives(1000, 50, seed=3)
    assert idx.tolist() == sample_negatives(1000, 50, seed=3).tolist()
    assert idx.tolist() != sample_negatives(1000, 50, seed=4).tolist()
    assert len(set(idx.tolist())) == 50 and idx.min() >= 0 and idx.max() < 1000
    assert np.all(np.diff(idx) > 0)
    assert sample_negatives(5, 50, seed=0).tolist() == [0, 1, 2, 3, 4]
