import numpy as np
import pytest

from pipelines import semdedup
from pipelines.semdedup import near_duplicates


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


def _at_cosine(base: np.ndarray, other: np.ndarray, cos: float) -> np.ndarray:
    """A unit vector whose cosine with unit ``base`` is exactly ``cos`` (``other`` picks the direction)."""
    ortho = other - (other @ base) * base
    ortho /= np.linalg.norm(ortho)
    return (cos * base + np.sqrt(1 - cos**2) * ortho).astype(np.float32)


def _reference(doc_ids, x, threshold, order):
    """Plain greedy loop, one document at a time: the definition the vectorised version must match."""
    kept: list[int] = []
    out: list[str | None] = [None] * len(doc_ids)
    for i in order:
        hit = next((j for j in kept if float(x[i] @ x[j]) > threshold), None)
        if hit is None:
            kept.append(i)
        else:
            out[i] = doc_ids[hit]
    return out


def test_marks_a_near_copy_and_keeps_a_distinct_document():
    rng = np.random.default_rng(0)
    base = _unit(rng.normal(size=16))
    near = _at_cosine(base, rng.normal(size=16), 0.99)
    far = _at_cosine(base, rng.normal(size=16), 0.5)
    x = np.stack([base, near, far, base])  # the last row is an exact copy
    assert near_duplicates(["a", "b", "c", "d"], x, threshold=0.95) == [None, "a", None, "a"]


def test_default_order_is_ascending_doc_id_and_keep_order_chooses_the_survivor():
    rng = np.random.default_rng(1)
    base = _unit(rng.normal(size=8))
    x = np.stack([base, _at_cosine(base, rng.normal(size=8), 0.99)])
    # Default: "a" sorts first and is kept, wherever it sits in the input.
    assert near_duplicates(["b", "a"], x, threshold=0.95) == ["a", None]
    # Keep row 0 first (e.g. it has the higher quality): "a" becomes the duplicate.
    assert near_duplicates(["b", "a"], x, threshold=0.95, keep_order=np.array([0, 1])) == [None, "b"]


def test_duplicate_points_to_the_first_kept_document_not_to_another_duplicate():
    # Chain: 0 ~ 1 and 1 ~ 2 but 0 !~ 2. 1 is a duplicate of 0 and is not kept, so 2 survives.
    e0 = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    e1 = _at_cosine(e0, np.array([0.0, 1.0, 0.0]), 0.97)
    e2 = _unit(2 * e1 - e0)  # on the far side of e1 from e0
    x = np.stack([e0, e1, e2])
    assert float(e1 @ e2) > 0.95 and float(e0 @ e2) < 0.95
    assert near_duplicates(["x0", "x1", "x2"], x, threshold=0.95) == [None, "x0", None]


def test_blockwise_pass_matches_the_plain_greedy_loop(monkeypatch):
    # Small blocks make every document cross block boundaries; many near-copies make the greedy order matter.
    monkeypatch.setattr(semdedup, "_BLOCK", 7)
    rng = np.random.default_rng(2)
    centres = _unit(rng.normal(size=(12, 10)))
    x = _unit(centres[rng.integers(0, 12, size=120)] + 0.08 * rng.normal(size=(120, 10)))
    doc_ids = [f"doc{i:03d}" for i in rng.permutation(120)]
    order = rng.permutation(120)
    got = near_duplicates(doc_ids, x, threshold=0.97, keep_order=order)
    assert got == _reference(doc_ids, x, 0.97, order)
    assert 20 < sum(d is not None for d in got) < 110  # the case really exercises both outcomes
    default = near_duplicates(doc_ids, x, threshold=0.97)
    assert default == _reference(doc_ids, x, 0.97, sorted(range(120), key=doc_ids.__getitem__))


def test_edge_cases_and_input_checks():
    assert near_duplicates([], np.empty((0, 4), dtype=np.float32), threshold=0.9) == []
    assert near_duplicates(["only"], np.eye(1, 4, dtype=np.float32), threshold=0.9) == [None]
    with pytest.raises(ValueError, match="unit vectors"):
        near_duplicates(["a"], np.full((1, 4), 2.0, dtype=np.float32), threshold=0.9)
    with pytest.raises(ValueError, match="permutation"):
        near_duplicates(["a", "b"], np.eye(2, dtype=np.float32), threshold=0.9, keep_order=np.array([0, 0]))
    with pytest.raises(ValueError, match="shape"):
        near_duplicates(["a", "b"], np.eye(3, dtype=np.float32), threshold=0.9)
