"""Proxy training throughput: ``train_proxy`` (schedule, clipping, eval, metrics) against the plainest torch loop
on the same model, batches and device, in the same run; prints tokens/s of each and their ratio.

    .venv/bin/python benchmarks/proxy.py [--lake ./lake] [--tokens 200000] [--repeats 2]

With ``--lake``, the pools of its newest token pool are used; without, random tokens of the same shape.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from training.proxy import ProxyConfig, bare_torch_loop, train_proxy


def pools_from(lake: str | None, vocab: int) -> tuple[list[np.ndarray], int]:
    if not lake:
        rng = np.random.default_rng(0)
        return [rng.integers(0, vocab, 500_000, dtype=np.uint16) for _ in range(4)], vocab
    from jobs import lake as lake_io
    from jobs.pools import load_pools
    from jobs.session import build_session
    from schemas.tables import GOLD_TOKEN_POOLS
    from training.tokenizer import load_tokenizer

    root = lake_io.normalize_lake(lake)
    spark = build_session(lake=root)
    index = lake_io.read(spark, root, GOLD_TOKEN_POOLS)[0].toPandas()
    pool_id = index.iloc[-1]["pool_id"]
    pools = load_pools(spark, root, pool_id)
    return [pools[k] for k in sorted(pools)], len(load_tokenizer(index.iloc[-1]["tokenizer_path"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lake")
    parser.add_argument("--tokens", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=2, help="alternating runs of each; the best is kept")
    args = parser.parse_args()

    pools, vocab = pools_from(args.lake, 4096)
    weights = np.full(len(pools), 1 / len(pools))
    cfg = ProxyConfig(vocab_size=vocab, train_tokens=args.tokens, eval_tokens=2048)
    ours, bare = [], []
    for _ in range(args.repeats):  # alternate, so drift in machine speed hits both alike
        ours.append(train_proxy(cfg, pools, weights, {"eval": pools[0][:4096]}).tokens_per_second)
        bare.append(bare_torch_loop(cfg, pools, weights))
    print(
        f"device {'cuda' if torch.cuda.is_available() else 'cpu'}, {torch.get_num_threads()} threads, "
        f"{args.tokens:,} tokens x {args.repeats} runs, vocab {vocab}"
    )
    print(f"train_proxy     : {max(ours):10,.0f} tokens/s")
    print(f"bare torch loop : {max(bare):10,.0f} tokens/s")
    print(f"ratio train_proxy / bare: {max(ours) / max(bare):.2f}  (1.0 = no overhead from the loop's extras)")


if __name__ == "__main__":
    main()
