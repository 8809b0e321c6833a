"""The garbage collector's schedule for a node that is serving.

Every committed transfer allocates dozens of container objects on every validator (the decoded
transaction, its transfers, postings, overlay entries, records), so CPython's default young
threshold of 700 allocations runs a collection every few transfers, and every tenth of those
walks the middle generation. Objects made while starting (modules, genesis, the chain's caches)
never die but were scanned again by each full collection. Freezing them and collecting the young
generation every 50,000 allocations cut the four validators' CPU per transfer by ~5 % in
`qenex bench ledger --validators 4` (docs/benchmarks.md). Cycles are still collected, later.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000  # allocations between young collections (CPython default 700)
MIDDLE_THRESHOLD = 50  # young collections between middle ones (default 10)
OLD_THRESHOLD = 100  # middle collections between full ones (default 10)


def tune_for_serving() -> None:
    """Call once start-up is done: what exists now lives as long as the process."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
