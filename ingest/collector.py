"""The cyclic garbage collector in an ingest worker: out of the hot path.

Theory of operation
-------------------
Nothing on the ingest path makes reference cycles: a frame, its head and values, the
``Inbound`` around it and its rows are freed by reference counting as soon as their batch
is acked.  But they live for a batch (up to ``ingest.batch_ms``), so with Python's default
thresholds (a young collection every 700 net allocations) thousands of them are traced,
survive into the older generations and then trigger full collections that walk the whole
heap — the station registry, every connection and its decoder.  Profiled at 10,000
frames/s (issue 23), that was 14 % of a worker's CPU.

So, once the worker has started: what is alive then (settings, registry, code) is moved
out of the collector's way (:func:`gc.freeze`), and the young generation is collected
every :data:`YOUNG_THRESHOLD` net allocations instead of 700 — about once per batch at
full rate, when most of the batch is already freed.  Cycles (an exception's traceback,
say) are still collected, just later; memory stays bounded by the same batch limits.
"""

from __future__ import annotations

import gc
from typing import Final

__all__ = ["YOUNG_THRESHOLD", "settle_collector"]

#: net allocations of tracked objects between two young-generation collections
YOUNG_THRESHOLD: Final = 50_000
#: young collections per middle one, middle ones per full one (the defaults are 10, 10)
OLDER_THRESHOLDS: Final = (20, 20)


def settle_collector() -> tuple[int, int, int]:
    """Freeze what is alive now and raise the collection thresholds; returns the
    thresholds that were in force (for a test, or a caller that restores them)."""
    before = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
    return before
