"""pass@k: the vectorized estimator against the exact big-integer reference, and its speed against loops.

    .venv/bin/python benchmarks/passk.py [--max-n 200] [--problems 10000] [--samples 200]

Accuracy: every (n, c, k) with 1 <= n <= max-n, 0 <= c <= n, 1 <= k <= n is compared with ``pass_at_k_exact``
(``math.comb`` and ``Fraction``); the largest absolute error must stay under 1e-12, else the script exits 1.
Speed: pass@k for k = 1, 2, 4 ... n over ``--problems`` problems of ``--samples`` samples each, vectorized, against
two loops over problems measured in the same run: the float product of the Codex paper's reference code, and the
exact fraction.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from training.passk import default_ks, pass_at_k, pass_at_k_exact

TOLERANCE = 1e-12


def max_error(max_n: int) -> tuple[float, tuple[int, int, int], int]:
    """Largest |pass_at_k - exact| over the grid, where it happens, and how many (n, c, k) were checked."""
    worst, where, count = 0.0, (0, 0, 0), 0
    for n in range(1, max_n + 1):
        c = np.arange(n + 1)
        for k in range(1, n + 1):
            fast = pass_at_k(n, c, k)
            exact = np.array([float(pass_at_k_exact(n, ci, k)) for ci in range(n + 1)])
            err = np.abs(fast - exact)
            if err.max() > worst:
                worst, where = float(err.max()), (n, int(err.argmax()), k)
            count += n + 1
    return worst, where, count


def loop_float(n: int, c: int, k: int) -> float:
    """The per-problem estimator of the Codex paper (Chen et al. 2021, fig. 3), one numpy call per problem."""
    if n - c < k:
        return 1.0
    return 1.0 - float(np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def timed(fn, repeats: int = 3) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-n", type=int, default=200)
    parser.add_argument("--problems", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()

    t0 = time.perf_counter()
    worst, (n, c, k), count = max_error(args.max_n)
    verdict = "ok" if worst <= TOLERANCE else f"FAIL: above {TOLERANCE:g}"
    print(f"accuracy: {count:,} (n, c, k) with n <= {args.max_n}, checked in {time.perf_counter() - t0:.1f} s")
    print(f"  max |pass_at_k - exact| = {worst:.3g} at n={n}, c={c}, k={k}  [{verdict}]")

    rng = np.random.default_rng(0)
    n = args.samples
    p = rng.beta(0.3, 0.6, args.problems)  # per-problem solve rates: many near 0 and 1, as in real evals
    c = rng.binomial(n, p)
    ks = default_ks(n)

    def vectorized():
        return {k: float(pass_at_k(n, c, k).mean()) for k in ks}

    def loop(fn):
        return lambda: {k: sum(float(fn(n, int(ci), k)) for ci in c) / len(c) for k in ks}

    t_vec, vec = timed(vectorized)
    t_float, flt = timed(loop(loop_float), repeats=1)
    t_exact, exact = timed(loop(pass_at_k_exact), repeats=1)
    gap = max(abs(vec[k] - exact[k]) for k in ks)
    print(f"speed: {args.problems:,} problems x {n} samples, k in {ks}")
    print(f"  vectorized pass_at_k     : {t_vec * 1e3:9.2f} ms")
    print(f"  loop, Codex float product: {t_float * 1e3:9.2f} ms  ({t_float / t_vec:,.0f}x the vectorized time)")
    print(f"  loop, exact Fraction     : {t_exact * 1e3:9.2f} ms  ({t_exact / t_vec:,.0f}x the vectorized time)")
    print(f"  max |mean pass@k vectorized - exact| over k: {gap:.3g}")
    if worst > TOLERANCE or gap > TOLERANCE:
        sys.exit(1)


if __name__ == "__main__":
    main()
