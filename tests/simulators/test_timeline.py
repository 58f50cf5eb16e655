"""Ack latencies filed by time (the bench's window) and the loop-lag probe."""

from __future__ import annotations

import asyncio
import itertools
import pickle

import pytest

from simulators.stats import SLICE_S, LatencyHistogram, TimedHistograms
from simulators.timeline import LoopLagProbe


def _filed(samples: list[tuple[float, float]]) -> TimedHistograms:
    series = TimedHistograms()
    for at, seconds in samples:
        series.add(at, seconds)
    return series


SAMPLES = [(100.0, 0.010), (104.9, 0.020), (105.0, 0.100), (112.0, 0.300), (131.0, 2.0)]


@pytest.mark.parametrize(
    ("start", "end", "count", "max_s"),
    [
        (None, None, 5, 2.0),  # the whole run
        (100.0, 105.0, 2, 0.020),  # one slice
        (100.0, 115.0, 4, 0.300),  # three slices
        (101.0, 115.0, 2, 0.300),  # a slice that started before the window is left out
        (105.0, 114.0, 1, 0.100),  # … and one that ends after it
        (120.0, 130.0, 0, 0.0),  # nothing sent then
    ],
)
def test_window_takes_the_slices_wholly_inside(
    start: float | None, end: float | None, count: int, max_s: float
) -> None:
    assert SLICE_S == 5.0
    window = _filed(SAMPLES).window(start, end)
    assert (window.count, window.max) == (count, max_s)


def test_merge_adds_slices_of_other_processes_and_survives_pickling() -> None:
    a, b = _filed(SAMPLES[:3]), _filed(SAMPLES[2:])
    b = pickle.loads(pickle.dumps(b))  # results travel between processes
    a.merge(b)
    assert a.window().count == 6 and a.window(105.0, 110.0).count == 2


def test_quantiles_and_buckets_are_upper_bucket_edges() -> None:
    h = LatencyHistogram()
    for ms in [1.0] * 98 + [200.0, 900.0]:
        h.add(ms / 1000)
    out = h.to_json()
    assert 1.0 <= out["p50_ms"] <= 1.15 and 1.0 <= out["p90_ms"] <= 1.15
    # nearest rank: the 99th of 100 samples is the 200 ms one, the 99.9th the last
    assert 200.0 <= out["p99_ms"] <= 230.0 and out["p99_9_ms"] == 900.0
    assert out["max_ms"] == 900.0
    buckets = h.buckets_json()
    assert [n for _, n in buckets] == [98, 1, 1]
    assert all(lo < hi for (lo, _), (hi, _) in itertools.pairwise(buckets))


async def test_loop_lag_probe_files_ticks_by_time() -> None:
    probe = LoopLagProbe(asyncio.get_running_loop(), interval=0.001)
    probe.start()
    for _ in range(20):
        await asyncio.sleep(0.002)
    probe.stop()
    lag = probe.lag.window()
    assert lag.count >= 1 and lag.max >= 0.0
