"""great-expectations suites, one per table, evaluated by every job right after it writes the table.

Expectations are data (type, kwargs, severity) so they read as a contract; ``build_suite`` turns them into
a great-expectations ``ExpectationSuite``. A failed ``critical`` expectation fails the job; ``warning`` is only
recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from schemas.tables import BRONZE_DOCUMENTS, OPS_QUARANTINE, QUARANTINE_REASONS


@dataclass(frozen=True)
class Expect:
    type: str  # great-expectations class name, e.g. "ExpectColumnValuesToBeUnique"
    kwargs: dict[str, Any] = field(default_factory=dict)
    severity: str = "critical"


def bronze_documents(max_chars: int = 1_000_000) -> list[Expect]:
    return [
        Expect("ExpectColumnValuesToNotBeNull", {"column": "doc_id"}),
        Expect("ExpectColumnValuesToBeUnique", {"column": "doc_id"}),
        Expect("ExpectColumnValuesToBeUnique", {"column": "content_hash"}),
        Expect("ExpectColumnValuesToNotBeNull", {"column": "text"}),
        Expect("ExpectColumnValuesToNotBeNull", {"column": "source"}),
        Expect("ExpectColumnValuesToBeBetween", {"column": "n_chars", "min_value": 1, "max_value": max_chars}),
        Expect("ExpectColumnValueLengthsToEqual", {"column": "content_hash", "value": 64}),
        # A lake with one giant source is legal but usually a mistake in a pre-training corpus.
        Expect("ExpectColumnUniqueValueCountToBeBetween", {"column": "source", "min_value": 1}, "warning"),
    ]


def ops_quarantine() -> list[Expect]:
    return [
        Expect("ExpectColumnValuesToBeUnique", {"column": "quarantine_id"}),
        Expect("ExpectColumnValuesToBeInSet", {"column": "reason", "value_set": list(QUARANTINE_REASONS)}),
        Expect("ExpectColumnValuesToNotBeNull", {"column": "input_file"}),
    ]


def silver_embeddings(dim: int) -> list[Expect]:
    """Checked on a view with ``n_values`` (vector length) and ``norm`` (L2) derived from ``embedding``."""
    return [
        Expect("ExpectCompoundColumnsToBeUnique", {"column_list": ["doc_id", "model"]}),
        Expect("ExpectColumnValuesToBeBetween", {"column": "n_values", "min_value": dim, "max_value": dim}),
        Expect("ExpectColumnValuesToBeBetween", {"column": "dim", "min_value": dim, "max_value": dim}),
        Expect("ExpectColumnValuesToBeBetween", {"column": "norm", "min_value": 0.999, "max_value": 1.001}),
    ]


def silver_quality() -> list[Expect]:
    return [
        Expect("ExpectColumnValuesToBeUnique", {"column": "doc_id"}),
        Expect("ExpectColumnValuesToBeBetween", {"column": "model_score", "min_value": 0.0, "max_value": 1.0}),
        Expect("ExpectColumnValuesToBeBetween", {"column": "quality_score", "min_value": 0.0, "max_value": 1.0}),
        Expect("ExpectColumnValuesToBeBetween", {"column": "n_words", "min_value": 0}),
        Expect("ExpectColumnValuesToNotBeNull", {"column": "quality_score"}),
    ]


def silver_assignments(k: int, n_docs: int) -> list[Expect]:
    return [
        Expect("ExpectColumnValuesToBeUnique", {"column": "doc_id"}),  # one assignment per document
        Expect("ExpectTableRowCountToEqual", {"value": n_docs}),  # ... and every embedded document has one
        Expect("ExpectColumnValuesToBeBetween", {"column": "cluster_id", "min_value": 0, "max_value": k - 1}),
        Expect("ExpectColumnValuesToBeBetween", {"column": "distance", "min_value": 0.0, "max_value": 2.0001}),
    ]


def gold_clusters(k: int) -> list[Expect]:
    return [
        Expect("ExpectColumnValuesToBeUnique", {"column": "cluster_id"}),
        Expect("ExpectColumnValuesToBeBetween", {"column": "cluster_id", "min_value": 0, "max_value": k - 1}),
        Expect("ExpectColumnValuesToBeBetween", {"column": "n_docs", "min_value": 1}),
        Expect("ExpectColumnValuesToBeBetween", {"column": "mean_quality", "min_value": 0.0, "max_value": 1.0}),
    ]


def gold_super_clusters(max_token_share: float) -> list[Expect]:
    return [
        Expect("ExpectColumnValuesToBeUnique", {"column": "super_cluster_id"}),
        Expect("ExpectColumnSumToBeBetween", {"column": "token_share", "min_value": 0.999, "max_value": 1.001}),
        # One kept cluster can exceed the cap on its own (the cap only stops merges): a warning, not a failure.
        Expect(
            "ExpectColumnValuesToBeBetween", {"column": "token_share", "max_value": max_token_share}, "warning"
        ),
    ]


def gold_shards(n_shards: int, n_tokens: int) -> list[Expect]:
    """Checked on one shard set's rows (the job filters by shard_set_id): every file, and every sampled token."""
    return [
        Expect("ExpectCompoundColumnsToBeUnique", {"column_list": ["shard_set_id", "file"]}),
        Expect("ExpectTableRowCountToEqual", {"value": n_shards}),
        # The files hold exactly the tokens the sampling plan chose: nothing dropped or duplicated on the way.
        Expect("ExpectColumnSumToBeBetween", {"column": "n_tokens", "min_value": n_tokens, "max_value": n_tokens}),
    ]


SUITES = {
    BRONZE_DOCUMENTS.name: bronze_documents,
    OPS_QUARANTINE.name: ops_quarantine,
}


def build_suite(name: str, expectations: list[Expect]):
    """A great-expectations ExpectationSuite from our plain description (imports gx lazily: it is slow)."""
    import great_expectations as gx

    suite = gx.ExpectationSuite(name=name)
    for e in expectations:
        cls = getattr(gx.expectations, e.type)
        suite.add_expectation(cls(**e.kwargs, severity=e.severity))
    return suite


def gold_mixture_trials() -> list[Expect]:
    """Checked on a view with ``weight_sum`` derived from the ``weights`` map."""
    return [
        Expect("ExpectCompoundColumnsToBeUnique", {"column_list": ["study", "trial_number"]}),
        Expect("ExpectColumnValuesToBeBetween", {"column": "weight_sum", "min_value": 0.999, "max_value": 1.001}),
        Expect("ExpectColumnValuesToBeBetween", {"column": "objective", "min_value": 0.0}),
        Expect("ExpectColumnValuesToBeInSet", {"column": "method", "value_set": ["climb", "random"]}),
    ]


def gold_mixtures() -> list[Expect]:
    """Checked on a view with ``weight_sum`` derived from ``weights`` and ``chosen_in_search`` per search."""
    return [
        Expect("ExpectColumnValuesToBeUnique", {"column": "mixture_id"}),
        Expect("ExpectColumnValuesToBeBetween", {"column": "weight_sum", "min_value": 0.999, "max_value": 1.001}),
        Expect("ExpectColumnValuesToBeBetween", {"column": "remeasured_std", "min_value": 0.0}),
        Expect("ExpectColumnValuesToBeBetween", {"column": "chosen_in_search", "min_value": 1, "max_value": 1}),
        Expect(
            "ExpectColumnValuesToBeInSet",
            {"column": "method", "value_set": ["climb", "random", "regmix", "uniform", "natural"]},
        ),
    ]


# --- downstream -----------------------------------------------------------------------------------------------


def downstream_models() -> list[Expect]:
    return [
        Expect("ExpectColumnValuesToBeUnique", {"column": "model_id"}),
        Expect(
            "ExpectColumnValuesToBeInSet", {"column": "role", "value_set": ["base", "teacher", "proxy", "student"]}
        ),
        Expect("ExpectColumnValuesToNotBeNull", {"column": "path"}),
    ]


def downstream_traces() -> list[Expect]:
    return [
        Expect("ExpectCompoundColumnsToBeUnique", {"column_list": ["trace_set_id", "problem_id", "sample_index"]}),
        Expect(
            "ExpectColumnValuesToBeInSet", {"column": "method", "value_set": ["temperature", "antidistillation"]}
        ),
        Expect("ExpectColumnValuesToBeBetween", {"column": "tau", "min_value": 0.0, "strict_min": True}),
        Expect("ExpectColumnValuesToBeBetween", {"column": "top_p", "min_value": 0.0, "max_value": 1.0}),
        Expect("ExpectColumnValuesToNotBeNull", {"column": "prompt"}),
    ]


def eval_samples() -> list[Expect]:
    return [
        Expect(
            "ExpectCompoundColumnsToBeUnique",
            {"column_list": ["eval_set_id", "model_id", "problem_id", "sample_index"]},
        ),
        Expect("ExpectColumnValuesToNotBeNull", {"column": "correct"}),
    ]


def eval_pass_at_k() -> list[Expect]:
    """Checked on a view with ``n_minus_k`` (n_samples - k): the estimator needs n >= k."""
    return [
        Expect("ExpectCompoundColumnsToBeUnique", {"column_list": ["eval_set_id", "model_id", "k"]}),
        Expect("ExpectColumnValuesToBeBetween", {"column": "pass_at_k", "min_value": 0.0, "max_value": 1.0}),
        Expect("ExpectColumnValuesToBeBetween", {"column": "k", "min_value": 1}),
        Expect("ExpectColumnValuesToBeBetween", {"column": "n_minus_k", "min_value": 0}),
    ]


def eval_coverage() -> list[Expect]:
    return [
        Expect("ExpectCompoundColumnsToBeUnique", {"column_list": ["eval_set_id", "model_a", "model_b", "k"]}),
        Expect("ExpectColumnValuesToBeBetween", {"column": "jaccard", "min_value": 0.0, "max_value": 1.0}),
        Expect("ExpectColumnValuesToBeBetween", {"column": "n_both", "min_value": 0}),
    ]
