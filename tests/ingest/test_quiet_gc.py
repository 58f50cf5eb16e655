"""ingest.loopwatch.QuietGc: the worker's garbage-collector settings, and their undoing."""

from __future__ import annotations

import gc

from ingest.loopwatch import GC_THRESHOLDS, QuietGc


def test_quiet_gc_freezes_raises_the_thresholds_and_restores_them() -> None:
    before = gc.get_threshold()
    quiet = QuietGc()
    try:
        quiet.apply()
        assert gc.get_threshold() == GC_THRESHOLDS
        assert gc.get_freeze_count() > 0  # what was alive is out of the collector's way
        quiet.apply()  # twice (a restart): still restores the original thresholds
    finally:
        quiet.restore()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
