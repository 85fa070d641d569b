"""DCLM-style quality classifier over sentence embeddings.

DCLM (Li et al. 2024) trains a fastText classifier with reference-quality text as positives and a random sample of
the corpus as negatives, and keeps the documents it scores highest. Here the features are the documents' unit-norm
sentence embeddings (silver.embeddings, dim 384 for all-MiniLM-L6-v2) and the classifier is a logistic regression.
``QualityModel`` is plain data (JSON): it is broadcast to Spark executors and stored beside the lake, and
``score`` is a dot product and a sigmoid, cheap enough for every batch of ``mapInPandas``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

import numpy as np

MIN_EXAMPLES = 10  # per class: fewer cannot fill a stratified split and says the reference set is misconfigured
MODEL_ID_HEX = 16  # 64 bits of sha256: plenty for the handful of models one lake ever holds


@dataclass
class QualityModel:
    coef: list[float]  # (d,) weights over the embedding dimensions
    intercept: float
    model_id: str  # sha256 prefix of the rounded coefficients, intercept and C
    metrics: dict[str, float]  # auc and accuracy on the held-out split; n_pos and n_neg used to train

    def score(self, embeddings: np.ndarray) -> np.ndarray:
        """P(reference-like | embedding) for an (n, d) array, n may be 0: float64 in [0, 1], shape (n,)."""
        x = np.asarray(embeddings, dtype=np.float64)
        if x.size == 0:
            return np.zeros(0, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(self.coef):
            raise ValueError(
                f"embeddings must be (n, {len(self.coef)}) to match model {self.model_id}, got {x.shape}; "
                "score with the embedding model the classifier was trained on"
            )
        z = x @ np.asarray(self.coef, dtype=np.float64) + self.intercept  # (n,)
        return 0.5 * (1.0 + np.tanh(0.5 * z))  # the sigmoid, without overflow for large |z|

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, s: str) -> QualityModel:
        d = json.loads(s)
        return cls(
            coef=[float(v) for v in d["coef"]],
            intercept=float(d["intercept"]),
            model_id=str(d["model_id"]),
            metrics=dict(d["metrics"]),
        )


def _model_id(coef: np.ndarray, intercept: float, c: float) -> str:
    # Rounded to 6 decimals so BLAS summation-order noise does not change the id; "+ 0.0" turns -0.0 into 0.0.
    values = [*(round(float(v), 6) + 0.0 for v in coef), round(float(intercept), 6) + 0.0]
    payload = ",".join(f"{v:.6f}" for v in values) + f";c={float(c)!r}"
    return hashlib.sha256(payload.encode()).hexdigest()[:MODEL_ID_HEX]


# What to change when a class has too few examples (quality.* are the fields of jobs.config.QualityConfig).
_TOO_SMALL_FIX = {
    "positives": "the reference set is too small: give quality.reference_sources that exist in bronze.documents "
    "and have rows in silver.embeddings (or raise quality.max_reference_docs)",
    "negatives": "the negative sample is too small: embed more of the corpus or raise quality.max_negative_docs",
}


def _check(name: str, x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (n, d) array of embeddings, got shape {x.shape}")
    if len(x) < MIN_EXAMPLES:
        raise ValueError(f"{len(x)} {name}, at least {MIN_EXAMPLES} needed: {_TOO_SMALL_FIX[name]}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} holds NaN or inf embeddings; re-run the embed stage for those documents")
    return x


def train_quality_model(
    positives: np.ndarray, negatives: np.ndarray, *, c: float = 1.0, seed: int = 0, holdout: float = 0.2
) -> QualityModel:
    """Logistic regression, reference (1) vs corpus sample (0), on (n, d) embedding arrays.

    Metrics come from a stratified ``holdout`` split (fit on the rest, AUC and accuracy on the held-out part);
    the returned model is then refit on everything. Same inputs and seed -> same coefficients and model_id.
    Negatives should exclude the positives (a reference document inside the negatives teaches nothing).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, roc_auc_score
    from sklearn.model_selection import train_test_split

    pos = _check("positives", positives)
    neg = _check("negatives", negatives)
    if pos.shape[1] != neg.shape[1]:
        raise ValueError(f"positives have dim {pos.shape[1]}, negatives {neg.shape[1]}: embed both with one model")
    if not 0.0 < holdout < 1.0:
        raise ValueError(f"holdout must be in (0, 1), got {holdout}")

    x = np.vstack([pos, neg])  # (n_pos + n_neg, d)
    y = np.concatenate([np.ones(len(pos), dtype=np.int64), np.zeros(len(neg), dtype=np.int64)])

    def fit(xs: np.ndarray, ys: np.ndarray) -> LogisticRegression:
        # lbfgs is deterministic; balanced weights because the two sets rarely have equal sizes.
        clf = LogisticRegression(C=c, class_weight="balanced", max_iter=1000, random_state=seed)
        return clf.fit(xs, ys)

    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=holdout, stratify=y, random_state=seed)
    held_out = fit(x_tr, y_tr)
    metrics = {
        "auc": float(roc_auc_score(y_te, held_out.predict_proba(x_te)[:, 1])),
        "accuracy": float(accuracy_score(y_te, held_out.predict(x_te))),
        "n_pos": int(len(pos)),
        "n_neg": int(len(neg)),
    }

    final = fit(x, y)
    coef = final.coef_[0]
    intercept = float(final.intercept_[0])
    return QualityModel(
        coef=[float(v) for v in coef],
        intercept=intercept,
        model_id=_model_id(coef, intercept, c),
        metrics=metrics,
    )


def sample_negatives(n_total: int, n_wanted: int, seed: int) -> np.ndarray:
    """Sorted indices of a uniform sample without replacement of min(n_wanted, n_total) out of range(n_total):
    the DCLM negatives (a random slice of the corpus), reproducible for a seed."""
    if n_total < 0 or n_wanted < 0:
        raise ValueError(f"n_total and n_wanted must be >= 0, got {n_total} and {n_wanted}")
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_total, size=min(n_wanted, n_total), replace=False))
