"""Every table mixlake writes: its name, where it lives under the lake, its columns and its merge keys.

A table named ``schema.name`` lives at ``<lake>/<schema>/<name>``; that layout is a stable interface (DESIGN.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import types as T


@dataclass(frozen=True)
class TableSpec:
    name: str  # "bronze.documents"
    schema: T.StructType
    keys: tuple[str, ...]  # MERGE keys: a rerun with the same input matches these and inserts nothing
    description: str

    @property
    def database(self) -> str:
        return self.name.split(".")[0]

    @property
    def table(self) -> str:
        return self.name.split(".")[1]

    def path(self, lake: str) -> str:
        return f"{lake.rstrip('/')}/{self.database}/{self.table}"


def _fields(*fields: tuple[str, T.DataType, bool]) -> T.StructType:
    return T.StructType([T.StructField(n, t, nullable) for n, t, nullable in fields])


BRONZE_DOCUMENTS = TableSpec(
    name="bronze.documents",
    schema=_fields(
        ("doc_id", T.StringType(), False),  # first 24 hex chars of content_hash: same text, same id, any lake
        ("text", T.StringType(), False),  # NFC, whitespace-normalised
        ("source", T.StringType(), False),  # the record's source label, else the ingest default
        ("url", T.StringType(), True),
        ("meta", T.StringType(), True),  # JSON object of the record's other fields
        ("content_hash", T.StringType(), False),  # sha256 hex of text; exact-dedup key
        ("n_chars", T.IntegerType(), False),
        ("input_file", T.StringType(), False),  # where the first copy came from (lineage)
        ("input_line", T.LongType(), False),  # 1-based line (JSONL) or row (Parquet / Arrow)
        ("ingested_at", T.TimestampType(), False),
    ),
    keys=("content_hash",),
    description="Raw documents after normalisation and exact dedup; one row per distinct text.",
)

BRONZE_HOLDOUT = TableSpec(
    name="bronze.holdout",
    schema=BRONZE_DOCUMENTS.schema,
    keys=BRONZE_DOCUMENTS.keys,
    description="Documents ingest held out (ingest.holdout_sources): search targets, never in pools or shards.",
)

OPS_QUARANTINE = TableSpec(
    name="ops.quarantine",
    schema=_fields(
        ("quarantine_id", T.StringType(), False),  # sha256(file, line)[:24]: a rerun finds the same row
        ("job", T.StringType(), False),
        ("input_file", T.StringType(), False),
        ("input_line", T.LongType(), False),
        ("reason", T.StringType(), False),  # one of schemas.tables.QUARANTINE_REASONS
        ("detail", T.StringType(), True),  # human-readable: the parser error, the offending type, the length
        ("raw", T.BinaryType(), True),  # the record's exact bytes: nothing is lost
        ("raw_preview", T.StringType(), True),  # first 500 chars, undecodable bytes replaced
        ("run_id", T.StringType(), False),
        ("quarantined_at", T.TimestampType(), False),
    ),
    keys=("quarantine_id",),
    description="Records a job could not accept, with the file, line and reason; nothing is silently dropped.",
)

QUARANTINE_REASONS = (
    "invalid_json",  # the line does not parse as JSON
    "not_utf8",  # the bytes are not valid UTF-8
    "not_an_object",  # valid JSON but not an object
    "missing_text",  # no text field (or null)
    "empty_text",  # text is empty after normalisation
    "text_too_long",  # over ingest.max_chars
    "wrong_type",  # a field has the wrong type (text not a string, meta not an object, ...)
    "unreadable_file",  # the whole file could not be read (corrupt Parquet, bad gzip); line is 0
)

OPS_RUNS = TableSpec(
    name="ops.runs",
    schema=_fields(
        ("run_id", T.StringType(), False),
        ("job", T.StringType(), False),
        ("status", T.StringType(), False),  # succeeded | failed
        ("config_hash", T.StringType(), False),  # sha256 of the canonical JSON of the job's config
        ("config", T.StringType(), False),  # that JSON
        ("inputs", T.MapType(T.StringType(), T.LongType()), False),  # table or file set -> version read
        ("outputs", T.MapType(T.StringType(), T.LongType()), False),  # table -> version written
        ("counts", T.MapType(T.StringType(), T.LongType()), False),  # in / out / dropped_<reason> ...
        ("metrics", T.MapType(T.StringType(), T.DoubleType()), False),  # measured values: AUC, inertia, ...
        ("error", T.StringType(), True),
        ("started_at", T.TimestampType(), False),
        ("finished_at", T.TimestampType(), False),
        ("seconds", T.DoubleType(), False),
        ("mixlake_version", T.StringType(), False),
    ),
    keys=("run_id",),
    description="One row per job run: lineage from any output version back to the inputs and config.",
)

OPS_DQ_RESULTS = TableSpec(
    name="ops.dq_results",
    schema=_fields(
        ("run_id", T.StringType(), False),
        ("table_name", T.StringType(), False),
        ("table_version", T.LongType(), False),
        ("expectation", T.StringType(), False),  # great-expectations type, e.g. expect_column_values_to_be_unique
        ("column_name", T.StringType(), True),
        ("kwargs", T.StringType(), False),  # JSON
        ("severity", T.StringType(), False),  # critical | warning | info
        ("success", T.BooleanType(), False),
        ("observed", T.StringType(), True),  # JSON of the expectation's result summary
        ("evaluated_at", T.TimestampType(), False),
    ),
    keys=("run_id", "table_name", "expectation", "column_name", "kwargs"),
    description="One row per expectation evaluated at a stage boundary.",
)

# --- curation (CLIMB phase 1) -------------------------------------------------------------------------------

SILVER_EMBEDDINGS = TableSpec(
    name="silver.embeddings",
    schema=_fields(
        ("doc_id", T.StringType(), False),
        ("model", T.StringType(), False),  # the sentence-transformers name or path given in config
        ("dim", T.IntegerType(), False),
        ("embedding", T.ArrayType(T.FloatType()), False),  # float32, unit L2 norm
        ("chunk", T.IntegerType(), False),  # the commit unit: a crash loses at most the chunk in flight
        ("run_id", T.StringType(), False),
        ("embedded_at", T.TimestampType(), False),
    ),
    keys=("doc_id", "model"),
    description="One sentence embedding per document and model.",
)

SILVER_QUALITY = TableSpec(
    name="silver.quality",
    schema=_fields(
        ("doc_id", T.StringType(), False),
        # Heuristic signals in the spirit of Gopher / C4 (pipelines/quality_signals.py documents each).
        ("n_words", T.IntegerType(), False),
        ("mean_word_len", T.DoubleType(), False),
        ("symbol_ratio", T.DoubleType(), False),  # ('#' + '...' + '…') per word
        ("non_alpha_word_frac", T.DoubleType(), False),  # words with no alphabetic character
        ("dup_line_frac", T.DoubleType(), False),  # lines that repeat an earlier line
        ("dup_line_char_frac", T.DoubleType(), False),  # characters in such lines
        ("top_2gram_char_frac", T.DoubleType(), False),  # characters covered by the most frequent word 2-gram
        ("dup_5gram_char_frac", T.DoubleType(), False),  # characters in repeated word 5-grams
        ("bullet_line_frac", T.DoubleType(), False),
        ("ellipsis_line_frac", T.DoubleType(), False),
        ("stopword_count", T.IntegerType(), False),  # distinct English stop words present
        ("model_score", T.DoubleType(), False),  # classifier P(reference-like | embedding), in [0, 1]
        ("quality_score", T.DoubleType(), False),  # the score pruning uses; today equal to model_score
        ("quality_model", T.StringType(), False),  # id of the classifier (hash of its training set and config)
        ("scored_at", T.TimestampType(), False),
    ),
    keys=("doc_id",),
    description="Per-document quality: heuristic signals and a model score; thresholds are applied later.",
)

SILVER_ASSIGNMENTS = TableSpec(
    name="silver.assignments",
    schema=_fields(
        ("doc_id", T.StringType(), False),
        ("cluster_id", T.IntegerType(), False),
        ("distance", T.FloatType(), False),  # L2 distance to the centroid (unit vectors: 0..2)
        ("near_dup_of", T.StringType(), True),  # SemDeDup: the kept doc this one near-duplicates; null if kept
        ("clustering_id", T.StringType(), False),  # which k-means run (hash of its config and input versions)
    ),
    keys=("doc_id",),
    description="One cluster per document, with its distance and near-duplicate flag.",
)

GOLD_CLUSTERS = TableSpec(
    name="gold.clusters",
    schema=_fields(
        ("cluster_id", T.IntegerType(), False),
        ("centroid", T.ArrayType(T.FloatType()), False),
        ("n_docs", T.LongType(), False),
        ("n_tokens", T.LongType(), False),  # estimate: n_chars / 4
        ("mean_quality", T.DoubleType(), True),
        ("n_near_dups", T.LongType(), False),
        ("topic_terms", T.ArrayType(T.StringType()), False),  # class-based TF-IDF, best first
        ("top_source", T.StringType(), True),  # most common source label (for people; never used to decide)
        ("kept", T.BooleanType(), True),  # set by merge; null until then
        ("prune_reason", T.StringType(), True),  # low_quality | too_small | null when kept
        ("super_cluster_id", T.IntegerType(), True),  # set by merge for kept clusters
        ("clustering_id", T.StringType(), False),
    ),
    keys=("cluster_id",),
    description="One row per k-means cluster, with the prune / merge decision once merge has run.",
)

GOLD_SUPER_CLUSTERS = TableSpec(
    name="gold.super_clusters",
    schema=_fields(
        ("super_cluster_id", T.IntegerType(), False),
        ("cluster_ids", T.ArrayType(T.IntegerType()), False),
        ("n_clusters", T.IntegerType(), False),
        ("n_docs", T.LongType(), False),
        ("n_tokens", T.LongType(), False),
        ("token_share", T.DoubleType(), False),  # of all kept tokens; sums to 1
        ("mean_quality", T.DoubleType(), True),
        ("topic_terms", T.ArrayType(T.StringType()), False),
        ("centroid", T.ArrayType(T.FloatType()), False),  # token-weighted mean of member centroids
        ("clustering_id", T.StringType(), False),
    ),
    keys=("super_cluster_id",),
    description="Merged groups of kept clusters: the units a mixture search weights.",
)

# --- mixture search (CLIMB phase 2) ------------------------------------------------------------------------

GOLD_TOKEN_POOLS = TableSpec(
    name="gold.token_pools",
    schema=_fields(
        ("pool_id", T.StringType(), False),  # hash of tokenizer, config and input table versions
        ("super_cluster_id", T.IntegerType(), False),
        ("shard_path", T.StringType(), False),  # a .npy of token ids (docs + eos), memory-mapped by proxy runs
        ("n_docs", T.LongType(), False),
        ("n_tokens", T.LongType(), False),
        ("tokenizer_path", T.StringType(), False),
        ("inputs", T.MapType(T.StringType(), T.LongType()), False),  # table -> version the pool was built from
    ),
    keys=("pool_id", "super_cluster_id", "shard_path"),
    description="Token pools per super-cluster (kept clusters, no near-duplicates) and where they came from.",
)

GOLD_MIXTURE_TRIALS = TableSpec(
    name="gold.mixture_trials",
    schema=_fields(
        ("study", T.StringType(), False),  # one Optuna study per search (and one per baseline harness)
        ("trial_number", T.IntegerType(), False),  # the Optuna trial number: the ledger's key
        ("method", T.StringType(), False),  # climb | random (RegMix fits on the random trials)
        ("iteration", T.IntegerType(), False),  # 1-based bootstrapping iteration
        ("seed", T.LongType(), False),  # the proxy's seed (init + data windows)
        ("weights", T.MapType(T.IntegerType(), T.DoubleType()), False),  # super_cluster_id -> weight
        ("objective", T.DoubleType(), False),  # weighted target loss (lower is better)
        ("predicted", T.DoubleType(), True),  # the predictor's score when it proposed this mixture (iter >= 2)
        ("metrics", T.MapType(T.StringType(), T.DoubleType()), False),  # loss/<target>, tokens_per_second, ...
        ("pool_id", T.StringType(), False),
        ("run_id", T.StringType(), False),
    ),
    keys=("study", "trial_number"),
    description="Every proxy run of a mixture search: its weights, seed, measured target metrics and prediction.",
)

GOLD_MIXTURES = TableSpec(
    name="gold.mixtures",
    schema=_fields(
        ("mixture_id", T.StringType(), False),  # <search>/<method>
        ("search", T.StringType(), False),
        ("method", T.StringType(), False),  # climb | random | regmix | uniform | natural
        ("weights", T.MapType(T.IntegerType(), T.DoubleType()), False),  # super_cluster_id -> weight
        ("search_objective", T.DoubleType(), True),  # what the method saw: measured, or predicted for regmix
        ("remeasured_mean", T.DoubleType(), False),  # the target objective re-measured with fresh seeds
        ("remeasured_std", T.DoubleType(), False),
        ("remeasured_seeds", T.ArrayType(T.LongType()), False),
        ("proxy_runs", T.IntegerType(), False),  # proxies the method spent (its budget)
        ("chosen", T.BooleanType(), False),  # the search's answer (what `mixlake shards` uses by default)
        ("target", T.StringType(), False),  # the target spec the objective measures
        ("pool_id", T.StringType(), False),
        ("run_id", T.StringType(), False),
        ("inputs", T.MapType(T.StringType(), T.LongType()), False),  # table -> version (lineage)
    ),
    keys=("mixture_id",),
    description="Each method's mixture for a search (CLIMB and its baselines), re-measured with fresh seeds.",
)

GOLD_SHARDS = TableSpec(
    name="gold.shards",
    schema=_fields(
        ("shard_set_id", T.StringType(), False),  # hash of mixture, budget, seed and input versions
        ("file", T.StringType(), False),  # data/train-00000-of-000NN.parquet, relative to out_dir
        ("out_dir", T.StringType(), False),
        ("mixture_id", T.StringType(), False),
        ("n_rows", T.LongType(), False),
        ("n_tokens", T.LongType(), False),
        ("super_cluster_tokens", T.MapType(T.IntegerType(), T.LongType()), False),
        ("run_id", T.StringType(), False),
        ("inputs", T.MapType(T.StringType(), T.LongType()), False),
    ),
    keys=("shard_set_id", "file"),
    description="ClimbMix-style Parquet shards of a chosen mixture, one row per file, with lineage.",
)

# --- downstream: teachers, traces, students, evaluation ------------------------------------------------------

DOWNSTREAM_MODELS = TableSpec(
    name="downstream.models",
    schema=_fields(
        ("model_id", T.StringType(), False),  # <role>-<hash of what made it>: same inputs and config, same id
        ("role", T.StringType(), False),  # base | teacher | proxy | student
        ("path", T.StringType(), False),  # checkpoint folder (checkpoint.json inside says how it was made)
        (
            "trained_on",
            T.StringType(),
            False,
        ),  # shards:<shard_set_id> | task:<name>/train | traces:<id> | external
        ("parent_id", T.StringType(), True),  # the model it was fine-tuned from; null for a base or external one
        ("metrics", T.MapType(T.StringType(), T.DoubleType()), False),  # first_loss, train_loss, seconds, ...
        ("run_id", T.StringType(), False),
        ("created_at", T.TimestampType(), False),  # the latest teacher / proxy is what traces uses
    ),
    keys=("model_id",),
    description="One row per model checkpoint of the downstream stage: base, teacher, proxy student, students.",
)

DOWNSTREAM_TRACES = TableSpec(
    name="downstream.traces",
    schema=_fields(
        ("trace_set_id", T.StringType(), False),  # hash of teacher, proxy, method, settings, seed and problems
        ("teacher_id", T.StringType(), False),
        ("proxy_id", T.StringType(), True),  # antidistillation's proxy student; null for temperature sampling
        ("method", T.StringType(), False),  # temperature | antidistillation
        ("tau", T.DoubleType(), False),
        ("top_p", T.DoubleType(), False),
        ("lam", T.DoubleType(), False),  # 0 for temperature sampling (antidistillation at lambda 0 equals it)
        ("eps", T.DoubleType(), True),  # null for temperature sampling
        ("seed", T.LongType(), False),
        ("problem_id", T.StringType(), False),
        ("sample_index", T.IntegerType(), False),  # 0 .. traces_per_problem - 1
        ("prompt", T.StringType(), False),  # what the teacher saw (and a student is fine-tuned on)
        ("text", T.StringType(), False),  # the completion, cut before the stop string
        ("answer", T.StringType(), True),  # the number after its last ####; null when there is none
        ("correct", T.BooleanType(), False),  # the task's verifier against the problem's answer
        ("run_id", T.StringType(), False),
    ),
    keys=("trace_set_id", "problem_id", "sample_index"),
    description="Teacher traces on the train problems, one row per sample, by method (temperature / antidistill).",
)

EVAL_SAMPLES = TableSpec(
    name="eval.samples",
    schema=_fields(
        ("eval_set_id", T.StringType(), False),  # hash of task, eval problems, n and sampling settings
        ("model_id", T.StringType(), False),
        ("problem_id", T.StringType(), False),
        ("sample_index", T.IntegerType(), False),  # 0 .. n - 1
        ("text", T.StringType(), False),
        ("answer", T.StringType(), True),
        ("correct", T.BooleanType(), False),
        ("run_id", T.StringType(), False),
    ),
    keys=("eval_set_id", "model_id", "problem_id", "sample_index"),
    description="n samples per eval problem and model, each graded by the task's verifier.",
)

EVAL_PASS_AT_K = TableSpec(
    name="eval.pass_at_k",
    schema=_fields(
        ("eval_set_id", T.StringType(), False),
        ("model_id", T.StringType(), False),
        ("k", T.IntegerType(), False),  # 1, 2, 4, ..., n
        ("n_samples", T.IntegerType(), False),  # per problem
        ("n_problems", T.IntegerType(), False),
        ("pass_at_k", T.DoubleType(), False),  # mean over problems of the unbiased estimator
        ("run_id", T.StringType(), False),
    ),
    keys=("eval_set_id", "model_id", "k"),
    description="Unbiased pass@k (1 - C(n-c, k) / C(n, k)) per model and k, averaged over the eval problems.",
)

EVAL_COVERAGE = TableSpec(
    name="eval.coverage",
    schema=_fields(
        ("eval_set_id", T.StringType(), False),
        ("model_a", T.StringType(), False),
        ("model_b", T.StringType(), False),  # every ordered pair: a_subset_of_b is not symmetric
        ("k", T.IntegerType(), False),  # solved at k = n: at least one of the n samples correct
        ("n_a", T.IntegerType(), False),  # problems A solves
        ("n_b", T.IntegerType(), False),
        ("n_both", T.IntegerType(), False),
        ("n_only_a", T.IntegerType(), False),
        ("n_only_b", T.IntegerType(), False),
        ("a_subset_of_b", T.BooleanType(), False),  # e.g. the student solves nothing its teacher cannot
        ("jaccard", T.DoubleType(), False),  # 1.0 when both solve nothing
        ("only_a", T.ArrayType(T.StringType()), False),  # the problem ids behind n_only_a
        ("run_id", T.StringType(), False),
    ),
    keys=("eval_set_id", "model_a", "model_b", "k"),
    description="Solved-set overlap of two models on the same eval problems (arXiv 2504.13837's coverage).",
)

EVAL_PERPLEXITY = TableSpec(
    name="eval.perplexity",
    schema=_fields(
        ("trace_set_id", T.StringType(), False),
        ("model_id", T.StringType(), False),  # the model that scores the traces
        ("n_traces", T.IntegerType(), False),
        ("nll", T.DoubleType(), False),  # mean nats per completion token (and eos)
        ("perplexity", T.DoubleType(), False),  # exp(nll)
        ("run_id", T.StringType(), False),
    ),
    keys=("trace_set_id", "model_id"),
    description="Perplexity of one trace set under a model: how surprising a teacher's traces are to it.",
)

ALL_TABLES: tuple[TableSpec, ...] = (
    BRONZE_DOCUMENTS,
    OPS_QUARANTINE,
    OPS_RUNS,
    OPS_DQ_RESULTS,
    SILVER_EMBEDDINGS,
    SILVER_QUALITY,
    SILVER_ASSIGNMENTS,
    GOLD_CLUSTERS,
    GOLD_SUPER_CLUSTERS,
    GOLD_TOKEN_POOLS,
    GOLD_MIXTURE_TRIALS,
    GOLD_MIXTURES,
    GOLD_SHARDS,
    BRONZE_HOLDOUT,
    DOWNSTREAM_MODELS,
    DOWNSTREAM_TRACES,
    EVAL_SAMPLES,
    EVAL_PASS_AT_K,
    EVAL_COVERAGE,
    EVAL_PERPLEXITY,
)
BY_NAME = {t.name: t for t in ALL_TABLES}
