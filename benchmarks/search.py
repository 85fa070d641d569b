"""Search quality at equal proxy budget: CLIMB's answer against random search, RegMix, uniform and natural,
each re-measured with fresh seeds, side by side; and the predictor's Spearman correlation on trials it never saw.

    .venv/bin/python benchmarks/search.py --lake ./lake [--proxies 14] [--seeds 3] [--config FILE]

Needs a lake with token pools and a target (``mixlake demo`` makes both). Runs one search named
``bench-<proxies>-<seed>`` through the real job (Optuna journal under the lake, Dask LocalCluster); rerunning
resumes it. The ranking is printed as measured, whatever it is.
"""

from __future__ import annotations

import argparse

import numpy as np
from pyspark.sql import functions as F
from scipy.stats import spearmanr

from jobs import lake as lake_io
from jobs.config import load_config
from jobs.search import comparison, run_search
from jobs.session import build_session
from schemas.tables import GOLD_MIXTURE_TRIALS
from training.predictor import fit_predictor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lake", default="./lake")
    parser.add_argument("--config")
    parser.add_argument("--proxies", type=int, default=14)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    name = f"bench-{args.proxies}-{args.seed}"
    cfg = load_config(
        args.config,
        {
            "lake": args.lake,
            "search.name": name,
            "search.total_proxies": args.proxies,
            "search.remeasure_seeds": args.seeds,
            "search.seed": args.seed,
        },
    )
    lake = lake_io.normalize_lake(cfg.lake)
    spark = build_session(cfg.spark, lake)
    run_search(spark, cfg)
    frame = comparison(spark, lake, name)
    uniform = float(frame.loc[frame["method"] == "uniform", "remeasured_mean"].iloc[0])

    print(f"search {name}: target {', '.join(cfg.search.targets)}; {args.seeds} fresh seeds per answer")
    print(f"{'rank':>4}  {'method':8} {'loss':>8} {'± std':>7} {'proxies':>7} {'vs uniform':>10}")
    for rank, r in enumerate(frame.itertuples(), 1):
        print(
            f"{rank:>4}  {r.method:8} {r.remeasured_mean:8.4f} {r.remeasured_std:7.4f} {r.proxy_runs:7d} "
            f"{r.remeasured_mean / uniform:10.4f}"
        )

    trials = lake_io.read(spark, lake, GOLD_MIXTURE_TRIALS)[0].filter(F.col("study").isin(name, f"{name}-random"))
    trials = trials.toPandas()
    sids = sorted(dict(trials["weights"].iloc[0]))
    X = np.array([[dict(w)[s] for s in sids] for w in trials["weights"]])
    y = trials["objective"].to_numpy()
    is_random = (trials["method"] == "random").to_numpy()
    predictor = fit_predictor(X[is_random], y[is_random])  # fit on random trials, test on the search's own
    rho = spearmanr(predictor.predict(X[~is_random]), y[~is_random]).statistic
    in_loop = trials[trials["predicted"].notna()]
    rho_loop = (
        spearmanr(in_loop["predicted"], in_loop["objective"]).statistic if len(in_loop) > 2 else float("nan")
    )
    print(
        f"predictor Spearman, fit on {is_random.sum()} random trials, tested on {(~is_random).sum()} CLIMB ones: "
        f"{rho:.3f}  (the paper: 0.94 at its scale)"
    )
    print(f"predictor Spearman in the loop (iterations >= 2, {len(in_loop)} proposals): {rho_loop:.3f}")


if __name__ == "__main__":
    main()
