"""Search: CLIMB's bootstrapping mixture search over the super-cluster token pools, and its baselines.

Reads the token pools of the current curation (gold.token_pools), builds the target eval sets (bronze.holdout,
or files), and runs, in one harness, through one Optuna ledger and one Dask cluster:

- ``climb``: the bootstrapping search (``training.search.run_search``), ``search.total_proxies`` proxies;
- ``random``: the same number of proxies on random Dirichlet mixtures around the prior, best measured;
- ``regmix``: one shot, LightGBM over the random trials, the mean of its top predicted mixtures;
- ``uniform`` and ``natural`` (token-proportional): no search.

Every method's answer is then retrained with ``search.remeasure_seeds`` fresh seeds, so the comparison in
gold.mixtures is not the search's own (selection-biased) measurement. Every proxy run is a row in
gold.mixture_trials. Killing the job and rerunning it retrains nothing that finished.

    python -m jobs.search --lake ./lake
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import os
from collections.abc import Iterator
from dataclasses import asdict

import numpy as np
import pandas as pd
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs import lake as lake_io
from jobs.config import Config, ConfigError, SearchConfig
from jobs.console import progress, step
from jobs.dq import validate_table
from jobs.pools import pool_id_for
from jobs.runs import RunRecord
from schemas.expectations import gold_mixture_trials, gold_mixtures
from schemas.tables import (
    BRONZE_DOCUMENTS,
    BRONZE_HOLDOUT,
    GOLD_CLUSTERS,
    GOLD_MIXTURE_TRIALS,
    GOLD_MIXTURES,
    GOLD_SUPER_CLUSTERS,
    GOLD_TOKEN_POOLS,
    OPS_RUNS,
    SILVER_ASSIGNMENTS,
)

log = logging.getLogger(__name__)

METHODS = ("climb", "random", "regmix", "uniform", "natural")


def typed_overrides(cls: type, overrides: dict[str, str], key: str) -> dict:
    """``{"n_layer": "4"}`` -> ``{"n_layer": 4}`` by the dataclass's field types; unknown keys fail fast."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    out = {}
    for name, raw in overrides.items():
        if name not in fields:
            raise ConfigError(f"unknown key '{key}.{name}'; allowed: {', '.join(fields)}")
        default = fields[name].default
        kind = type(default) if default is not dataclasses.MISSING else int
        try:
            out[name] = (str(raw).lower() in ("1", "true", "yes")) if kind is bool else kind(raw)
        except ValueError:
            raise ConfigError(f"'{key}.{name}' must be {kind.__name__}, got {raw!r}") from None
    return out


def engine_config(s: SearchConfig):
    """The search engine's settings (training.search.SearchConfig) from the job's config section."""
    from training.predictor import PredictorConfig
    from training.search import SearchConfig as EngineConfig

    if s.pick not in ("measured", "predicted"):
        raise ConfigError(f"search.pick must be 'measured' or 'predicted', got {s.pick!r}")
    unknown = sorted(set(s.baselines) - set(METHODS[1:]))
    if unknown:
        raise ConfigError(f"search.baselines: unknown {unknown}; choose from {', '.join(METHODS[1:])}")
    if s.total_proxies < len(s.ratio):
        raise ConfigError(f"search.total_proxies ({s.total_proxies}) must be >= the iterations in search.ratio")
    return EngineConfig(
        total_proxies=s.total_proxies,
        ratio=tuple(s.ratio),
        temperature=s.temperature,
        concentration_range=tuple(s.concentration_range),
        max_multiple=s.max_multiple,
        min_weight=s.min_weight,
        min_distance=s.min_distance,
        n_candidates=s.n_candidates,
        top_k=s.top_k,
        seed=s.seed,
        retries=s.retries,
        gpu=s.gpu,
        pick=s.pick,
        predictor=PredictorConfig(**typed_overrides(PredictorConfig, s.predictor, "search.predictor")),
    )


def search_name(s: SearchConfig, pool_id: str) -> str:
    """The configured name, or one derived from what changes the answer (not from where it runs)."""
    if s.name:
        return s.name
    where = {"retries", "storage", "scheduler", "workers", "gpu", "name"}
    what = {k: v for k, v in asdict(s).items() if k not in where}
    return "climb-" + hashlib.sha256(repr((pool_id, sorted(what.items()))).encode()).hexdigest()[:10]


def storage_for(s: SearchConfig, lake: str):
    from training.search import journal_storage

    if s.storage:
        return journal_storage(s.storage)
    if "://" in lake and not lake.startswith("file:"):
        raise ConfigError(f"the lake {lake} is not a local path: set search.storage to an RDB URL for Optuna")
    path = os.path.join(lake.removeprefix("file:"), "_optuna", "journal.log")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return journal_storage(path)


@contextlib.contextmanager
def dask_client(s: SearchConfig) -> Iterator:
    """A Client on ``search.scheduler``, or on a LocalCluster of one-thread worker processes."""
    from dask.distributed import Client, LocalCluster

    if s.scheduler:
        with Client(s.scheduler) as client:
            if s.gpu and not any(
                w.get("resources", {}).get("GPU") for w in client.scheduler_info()["workers"].values()
            ):
                raise ConfigError(
                    f"search.gpu is on but no worker of {s.scheduler} has a GPU resource; "
                    "start workers with `dask worker --resources GPU=1` or set search.gpu: false"
                )
            yield client
        return
    import torch

    if s.gpu and not torch.cuda.is_available():
        raise ConfigError("search.gpu is on but this machine has no CUDA device; set search.gpu: false")
    n = s.workers or os.cpu_count() or 1
    resources = {"GPU": 1} if s.gpu else None
    with (
        LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None, resources=resources
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def current_pool(spark: SparkSession, run: RunRecord, cfg: Config) -> tuple[str, pd.DataFrame]:
    """The pool built from the tables as they are now (the one `mixlake pools` would build), and its index."""
    versions = {}
    for spec in (BRONZE_DOCUMENTS, SILVER_ASSIGNMENTS, GOLD_CLUSTERS, GOLD_SUPER_CLUSTERS):
        versions[spec.name] = run.read(spec)[1]
    pool_id = pool_id_for(cfg.pools, versions)
    if not lake_io.exists(spark, run.lake, GOLD_TOKEN_POOLS):
        raise ConfigError("no token pools yet: run `mixlake pools` before `mixlake search`")
    index, _ = run.read(GOLD_TOKEN_POOLS)
    rows = index.filter(F.col("pool_id") == pool_id).orderBy("super_cluster_id", "shard_path").toPandas()
    if rows.empty:
        raise ConfigError(
            f"no token pool for the current tables (pool {pool_id}): the curation changed since `mixlake pools` "
            "ran; run `mixlake pools` again"
        )
    return pool_id, rows


def eval_sets(spark: SparkSession, run: RunRecord, specs: list[str], tokenizer) -> tuple[dict, dict]:
    """Target name -> eval data (token array or choice items), and name -> weight."""
    from training.targets import ChoiceSet, TargetError, parse_targets, read_jsonl
    from training.tokenizer import encode_documents

    try:
        targets = parse_targets(specs)
        sets, weights = {}, {}
        for t in targets:
            if t.kind == "holdout":
                sets[t.name] = _holdout_tokens(spark, run, t.arg, tokenizer)
            elif t.kind == "text":
                sets[t.name] = encode_documents(tokenizer, [r["text"] for r in read_jsonl(t.arg, ["text"])])
            else:
                records = read_jsonl(t.arg, ["context", "choices", "answer"])
                sets[t.name] = ChoiceSet.from_records(records, tokenizer)
            weights[t.name] = t.weight
    except TargetError as e:
        raise ConfigError(str(e)) from None
    return sets, weights


def _holdout_tokens(spark: SparkSession, run: RunRecord, source: str, tokenizer) -> np.ndarray:
    from training.tokenizer import encode_documents

    fix = "set ingest.holdout_sources (and re-ingest), or name a file target such as 'text:val.jsonl'"
    if not lake_io.exists(spark, run.lake, BRONZE_HOLDOUT):
        raise ConfigError(f"target 'holdout' needs bronze.holdout, which does not exist: {fix}")
    held, _ = run.read(BRONZE_HOLDOUT)
    if source:
        held = held.filter(F.col("source") == source)
    texts = [r.text for r in held.orderBy("doc_id").select("text").collect()]
    if not texts:
        raise ConfigError(f"bronze.holdout has no documents{' of source ' + source if source else ''}: {fix}")
    return encode_documents(tokenizer, texts)


def _weights_map(sids: list[int], w: np.ndarray) -> dict[int, float]:
    return {int(s): float(x) for s, x in zip(sids, w, strict=True)}


def _numeric(metrics: dict) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if isinstance(v, int | float) and k != "objective"}


def trial_rows(study: str, method: str, trials: list[dict], sids: list[int], pool_id: str, run_id: str) -> list:
    return [
        {
            "study": study,
            "trial_number": t["number"],
            "method": method,
            "iteration": t["iteration"] + 1,
            "seed": int(t["seed"] if t["seed"] is not None else 0),
            "weights": _weights_map(sids, t["weights"]),
            "objective": t["objective"],
            "predicted": t["predicted"],
            "metrics": _numeric(t["metrics"]),
            "pool_id": pool_id,
            "run_id": run_id,
        }
        for t in trials
    ]


def run_search(spark: SparkSession, cfg: Config, iterations: int | None = None) -> dict[str, int]:
    """Run (or resume) the search and its baselines.

    ``iterations`` runs the CLIMB search up to that iteration and stops there, before the baselines (a DAG has
    one task per iteration); without it the search, the baselines and the re-measurements all run.
    """
    from training.mixtures import natural, sample_dirichlet_mixtures, token_prior, uniform
    from training.predictor import regmix_answer
    from training.proxy import ProxyConfig
    from training.search import run_fixed
    from training.search import run_search as bootstrap
    from training.targets import ProxyObjective
    from training.tokenizer import load_tokenizer

    lake = lake_io.normalize_lake(cfg.lake)
    s = cfg.search
    engine = engine_config(s)
    with RunRecord(spark, lake, "search", {"search": asdict(s), "iterations": iterations}) as run:
        pool_id, index = current_pool(spark, run, cfg)
        tokenizer = load_tokenizer(index["tokenizer_path"].iloc[0])
        sids = sorted(int(x) for x in index["super_cluster_id"].unique())
        n_tokens = [int(index.loc[index["super_cluster_id"] == sid, "n_tokens"].sum()) for sid in sids]
        paths = tuple(tuple(index.loc[index["super_cluster_id"] == sid, "shard_path"]) for sid in sids)
        with step("building target eval sets"):
            sets, target_weights = eval_sets(spark, run, s.targets, tokenizer)
        proxy = ProxyConfig(vocab_size=len(tokenizer), **typed_overrides(ProxyConfig, s.proxy, "search.proxy"))
        if proxy.vocab_size != len(tokenizer):
            raise ConfigError("search.proxy.vocab_size must match the pool's tokenizer; leave it out")
        name = search_name(s, pool_id)
        storage = storage_for(s, lake)
        run.count("super_clusters", len(sids))
        log.info("search %s over %d super-clusters, targets %s", name, len(sids), list(sets))

        with dask_client(s) as client:
            workers = len(client.scheduler_info()["workers"]) or 1
            threads = 0 if s.scheduler else max(1, (os.cpu_count() or 1) // workers)
            objective = ProxyObjective(proxy, paths, sets, target_weights, threads)

            with progress(f"CLIMB search {name}", s.total_proxies) as advance:
                climb = bootstrap(
                    name,
                    storage,
                    n_tokens,
                    objective,
                    client,
                    engine,
                    iterations=iterations,
                    on_result=lambda *_: advance(),
                )
            rows = trial_rows(name, "climb", climb.trials, sids, pool_id, run.run_id)
            run.metric("predictor_spearman_holdout", climb.predictor_metrics.get("spearman_holdout", float("nan")))

            answers: dict[str, tuple[np.ndarray, float | None, int]] = {}
            finish = climb.complete and iterations is None  # a DAG's per-iteration tasks leave this to the last
            if finish:
                answers["climb"] = (climb.weights, climb.objective, len(climb.trials))
                if "uniform" in s.baselines:
                    answers["uniform"] = (uniform(len(sids)), None, 0)
                if "natural" in s.baselines:
                    answers["natural"] = (natural(n_tokens), None, 0)
                if {"random", "regmix"} & set(s.baselines):
                    random_cfg = dataclasses.replace(engine, ratio=(1,))
                    with progress("random search (baseline)", s.total_proxies) as advance:
                        rnd = bootstrap(
                            f"{name}-random",
                            storage,
                            n_tokens,
                            objective,
                            client,
                            random_cfg,
                            on_result=lambda *_: advance(),
                        )
                    rows += trial_rows(f"{name}-random", "random", rnd.trials, sids, pool_id, run.run_id)
                    if "random" in s.baselines:
                        answers["random"] = (rnd.weights, rnd.objective, len(rnd.trials))
                    if "regmix" in s.baselines:
                        X = np.array([t["weights"] for t in rnd.trials])
                        y = np.array([t["objective"] for t in rnd.trials])
                        candidates = sample_dirichlet_mixtures(
                            token_prior(n_tokens, s.temperature),
                            s.n_candidates,
                            seed=s.seed + 11,
                            concentration_range=engine.concentration_range,
                            max_multiple=s.max_multiple,
                            min_weight=s.min_weight,
                        )
                        top = max(1, min(100, len(candidates) // 50))
                        answers["regmix"] = (
                            regmix_answer(X, y, candidates, top, engine.predictor),
                            None,
                            len(rnd.trials),
                        )

                seeds = [s.seed + 1000 + i for i in range(s.remeasure_seeds)]  # never the search's own seed
                runs = {f"{m}/seed={seed}": (w, seed) for m, (w, _, _) in answers.items() for seed in seeds}
                with progress("re-measuring every answer with fresh seeds", len(runs)) as advance:
                    measured = run_fixed(
                        f"{name}-remeasure",
                        storage,
                        runs,
                        objective,
                        client,
                        engine,
                        on_result=lambda *_: advance(),
                    )

        with step("writing gold.mixture_trials"):
            trials_df = spark.createDataFrame(rows, GOLD_MIXTURE_TRIALS.schema)
            before = lake_io.version(spark, lake, GOLD_MIXTURE_TRIALS)
            run.count(
                "trials_inserted",
                lake_io.merge_insert_new(spark, lake, GOLD_MIXTURE_TRIALS, trials_df)["rows_inserted"],
            )
            run.wrote(GOLD_MIXTURE_TRIALS)
            run.count("trials", len(rows))
            validate_table(spark, run, GOLD_MIXTURE_TRIALS, before, gold_mixture_trials(), view=_with_weight_sum)
        if not finish:
            log.info("stopped after iteration %d of %d, as asked", iterations, len(s.ratio))
            return run.counts

        mixtures = []
        for method, (w, seen, budget) in answers.items():
            objs = [measured[f"{method}/seed={seed}"]["objective"] for seed in seeds]
            mixtures.append(
                {
                    "mixture_id": f"{name}/{method}",
                    "search": name,
                    "method": method,
                    "weights": _weights_map(sids, w),
                    "search_objective": seen,
                    "remeasured_mean": float(np.mean(objs)),
                    "remeasured_std": float(np.std(objs)),
                    "remeasured_seeds": seeds,
                    "proxy_runs": budget,
                    "chosen": method == "climb",
                    "target": ",".join(s.targets),
                    "pool_id": pool_id,
                    "run_id": run.run_id,
                    "inputs": dict(run.inputs),
                }
            )
            run.metric(f"objective/{method}", float(np.mean(objs)))
        with step("writing gold.mixtures"):
            before = lake_io.version(spark, lake, GOLD_MIXTURES)
            df = spark.createDataFrame(mixtures, GOLD_MIXTURES.schema)
            run.count(
                "mixtures_inserted", lake_io.merge_insert_new(spark, lake, GOLD_MIXTURES, df)["rows_inserted"]
            )
            run.wrote(GOLD_MIXTURES)
            validate_table(spark, run, GOLD_MIXTURES, before, gold_mixtures(), view=_mixtures_view)
    return run.counts


def _with_weight_sum(df):
    return df.withColumn("weight_sum", F.aggregate(F.map_values("weights"), F.lit(0.0), lambda a, x: a + x))


def _mixtures_view(df):
    from pyspark.sql import Window

    chosen = F.sum(F.col("chosen").cast("int")).over(Window.partitionBy("search"))
    return _with_weight_sum(df).withColumn("chosen_in_search", chosen)


def main(argv: list[str] | None = None) -> dict[str, int]:
    from jobs.stages import stage_main

    return stage_main("search", argv, __doc__)


if __name__ == "__main__":
    main()


def comparison(spark: SparkSession, lake: str, search: str | None = None) -> pd.DataFrame | None:
    """gold.mixtures of one search (default: the latest written), best re-measured first."""
    if not lake_io.exists(spark, lake, GOLD_MIXTURES):
        return None
    mixtures = lake_io.read(spark, lake, GOLD_MIXTURES)[0]
    if search is None:
        runs = lake_io.read(spark, lake, OPS_RUNS)[0].filter("job = 'search' and status = 'succeeded'")
        latest = (
            mixtures.join(runs.select("run_id", "finished_at"), "run_id").orderBy(F.desc("finished_at")).first()
        )
        if latest is None:
            return None
        search = latest.search
    return mixtures.filter(F.col("search") == search).orderBy("remeasured_mean").toPandas()
