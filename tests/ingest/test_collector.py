"""ingest.collector: the worker's garbage-collector settings."""

from __future__ import annotations

import gc

from ingest.collector import OLDER_THRESHOLDS, YOUNG_THRESHOLD, settle_collector


def test_settle_collector_freezes_and_raises_the_thresholds() -> None:
    before = gc.get_threshold()
    try:
        assert settle_collector() == before
        assert gc.get_threshold() == (YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
        assert gc.get_freeze_count() > 0  # what was alive is out of the collector's way
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
