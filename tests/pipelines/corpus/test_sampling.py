"""The stratified sample over sources: tiny hand-made inputs with exact expected outputs."""

from __future__ import annotations

from pipelines.corpus.records import make_record
from pipelines.corpus.sampling import stratified_counts, stratified_sample


def test_stratified_counts():
    assert stratified_counts({"a": 2, "b": 100, "c": 100}, 100) == {"a": 2, "b": 49, "c": 49}
    assert stratified_counts({"a": 50, "b": 50, "c": 50}, 100) == {"a": 34, "b": 33, "c": 33}
    assert stratified_counts({"a": 1, "b": 3, "c": 0}, 100) == {"a": 1, "b": 3, "c": 0}
    assert stratified_counts({"a": 5, "b": 40, "c": 30, "d": 2}, 60) == {"a": 5, "b": 27, "c": 26, "d": 2}


def test_stratified_sample_is_deterministic_and_independent_of_input_order():
    records = {
        name: [make_record(f"{name} {i}", name, f"{name}://{i}") for i in range(n)]
        for name, n in (("a", 3), ("b", 50), ("c", 50))
    }
    shuffled = {name: list(reversed(recs)) for name, recs in reversed(records.items())}
    first, again = stratified_sample(records, 21, seed=7), stratified_sample(shuffled, 21, seed=7)
    assert first == again
    assert {name: len(recs) for name, recs in first.items()} == {"a": 3, "b": 9, "c": 9}
    assert stratified_sample(records, 21, seed=8)["b"] != first["b"]
