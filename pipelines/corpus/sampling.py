"""The stratified, seeded sample over sources: reads records bucketed by source, yields the same records.

``stratified_counts`` splits a total evenly over sources; ``stratified_sample`` picks that many per source,
deterministically (independent of input order and of the other sources).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from pipelines.corpus.records import Record


def stratified_counts(available: Mapping[str, int], total: int) -> dict[str, int]:
    """Split `total` as evenly as possible over sources; a source with fewer than its share gives all it has and
    the rest goes to the others. Leftover units after an even split go to sources in name order."""
    counts = {name: 0 for name in available}
    active = sorted(name for name, n in available.items() if n > 0)
    remaining = total
    while active and remaining > 0:
        share = remaining // len(active)
        small = [name for name in active if available[name] <= share]
        if not small:
            for rank, name in enumerate(active):
                counts[name] = share + (1 if rank < remaining % len(active) else 0)
            break
        for name in small:
            counts[name] = available[name]
            remaining -= available[name]
            active.remove(name)
    return counts


def stratified_sample(records: Mapping[str, Sequence[Record]], total: int, seed: int) -> dict[str, list[Record]]:
    """Deterministic sample per source: candidates sorted by (url, text) first, so filesystem order never matters,
    and one RNG per source (seeded by seed and name) so adding a source leaves the others' samples unchanged."""
    counts = stratified_counts({name: len(recs) for name, recs in records.items()}, total)
    sample = {}
    for name, recs in sorted(records.items()):
        ordered = sorted(recs, key=lambda r: (r["url"] or "", r["text"]))
        picked = sorted(random.Random(f"{seed}:{name}").sample(range(len(ordered)), counts[name]))
        sample[name] = [ordered[i] for i in picked]
    return sample
