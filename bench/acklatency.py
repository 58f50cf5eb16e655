"""Ack latency as the station sees it, and the server's side of it, over one window.

Theory of operation
-------------------
The latency scenario measures a window [t0, t1] of ``time.monotonic()`` (the
same clock in every process of the machine) after the fleet is connected:

* **station side** (:func:`station_side`) — each simulator process files every
  ack latency (the frame's last byte handed to the kernel → its 9014 read,
  :mod:`simulators.link`) under the 5-s slice in which the frame was sent; the
  slices wholly inside the window are merged into one log-bucket histogram.  Next
  to it each simulator process's own loop lag over the same window (a 10 ms timer's
  lateness, :mod:`simulators.timeline`): a station-side figure is only a
  measurement of the server if the simulator's lag is small against it.
* **server side** (:func:`server_side`) — the difference of two scrapes of the
  workers' Prometheus histograms: received → committed (the ack is written in the
  same callback as the commit is seen, :meth:`ingest.pipeline.Pipeline._acknowledge`),
  each worker's loop lag, garbage-collector pauses, batch sizes and write times.

Quantiles of Prometheus histograms are interpolated within a bucket (as
``histogram_quantile``); their "max" is the upper edge of the highest bucket with a
sample.  The simulator's quantiles are the upper edge of their bucket (×1.15 apart).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

from simulators import FleetResult

from .server import bucket_quantiles

__all__ = ["QUANTILES", "bucket_deltas", "server_side", "station_side", "summarize"]

QUANTILES = (0.5, 0.9, 0.99, 0.999)
_SAMPLE = re.compile(r"^(\w+)_(bucket|sum|count)(?:\{([^}]*)\})? (\S+)$", re.M)
_LABEL = re.compile(r'(\w+)="([^"]*)"')

#: histogram family → the label that splits it ("" when none)
_FAMILIES = {
    "envgrid_commit_latency_seconds": "",
    "envgrid_loop_lag_seconds": "worker",
    "envgrid_gc_pause_seconds": "generation",
    "envgrid_batch_frames": "",
    "envgrid_write_seconds": "",
}


def _parse(text: str, name: str, by: str) -> dict[str, dict[str, Any]]:
    """label value → {"buckets": {le: count}, "sum": s, "count": n} of one family."""
    out: dict[str, dict[str, Any]] = {}
    for family, kind, labels, value in _SAMPLE.findall(text):
        if family != name:
            continue
        pairs = dict(_LABEL.findall(labels))
        entry = out.setdefault(pairs.get(by, "") if by else "", {"buckets": {}})
        if kind == "bucket":
            le = pairs["le"]
            entry["buckets"][math.inf if le == "+Inf" else float(le)] = float(value)
        else:
            entry[kind] = float(value)
    return out


def bucket_deltas(before: str, after: str, name: str, by: str = "") -> dict[str, dict[str, Any]]:
    """Per label value: the cumulative ``buckets`` [(le, count)], ``sum`` and ``count``
    added between two scrapes."""
    old = _parse(before, name, by)
    out: dict[str, dict[str, Any]] = {}
    for key, entry in _parse(after, name, by).items():
        prev = old.get(key, {"buckets": {}})
        buckets = sorted(
            (le, n - prev["buckets"].get(le, 0.0)) for le, n in entry["buckets"].items()
        )
        out[key] = {
            "buckets": buckets,
            "sum": entry.get("sum", 0.0) - prev.get("sum", 0.0),
            "count": entry.get("count", 0.0) - prev.get("count", 0.0),
        }
    return out


def _max_edge(buckets: Iterable[tuple[float, float]]) -> float | None:
    """The upper edge of the highest bucket that gained a sample (None: no sample; inf:
    above the last finite edge)."""
    top, below = None, 0.0
    for le, n in sorted(buckets):
        if n > below:
            top = le
        below = n
    return top


def _ms(seconds: float | None) -> float | None:
    if seconds is None:
        return None
    return None if math.isinf(seconds) else round(seconds * 1000.0, 2)


def _summary_ms(entry: dict[str, Any]) -> dict[str, Any]:
    """Count, mean, quantiles and max edge (ms) of one histogram delta in seconds."""
    q = bucket_quantiles(entry["buckets"], QUANTILES)
    count = int(entry["count"])
    out: dict[str, Any] = {"count": count}
    out["mean_ms"] = round(entry["sum"] / count * 1000.0, 2) if count else None
    out.update({f"{k}_ms": _ms(v) for k, v in q.items()})
    edge = _max_edge(entry["buckets"])
    out["max_bucket_ms"] = "above the last bucket" if edge == math.inf else _ms(edge)
    return out


def server_side(before: str, after: str) -> dict[str, Any]:
    """What the workers measured between two scrapes of ``/metrics``."""
    deltas = {name: bucket_deltas(before, after, name, by) for name, by in _FAMILIES.items()}
    commit = deltas["envgrid_commit_latency_seconds"].get("")
    batches = deltas["envgrid_batch_frames"].get("")
    writes = deltas["envgrid_write_seconds"].get("")
    out: dict[str, Any] = {
        "received_to_committed": _summary_ms(commit) if commit else None,
        "received_to_committed_histogram": [
            [_ms(le), n] for le, n in commit["buckets"] if not math.isinf(le)
        ]
        if commit
        else [],
        "loop_lag_by_worker": {
            w: _summary_ms(e) for w, e in sorted(deltas["envgrid_loop_lag_seconds"].items())
        },
        "gc_pauses_by_generation": {
            g: {
                "count": int(e["count"]),
                "total_ms": round(e["sum"] * 1000.0, 1),
                "max_bucket_ms": _ms(_max_edge(e["buckets"])),
            }
            for g, e in sorted(deltas["envgrid_gc_pause_seconds"].items())
            if e["count"]
        },
    }
    if batches and batches["count"]:
        # sampled: the size of the last batch of each metrics update (once a second)
        out["batch_frames_sampled_mean"] = round(batches["sum"] / batches["count"], 1)
    if writes and writes["count"]:
        out["batch_write"] = _summary_ms(writes)
    return out


def station_side(result: FleetResult, t0: float, t1: float) -> dict[str, Any]:
    """Ack latency of the frames sent in [t0, t1] and each simulator process's loop lag
    over the same window."""
    acks = result.latency_by_time.window(t0, t1)
    return {
        "ack_latency": acks.to_json(),
        "ack_latency_histogram": acks.buckets_json(),
        "simulator_loop_lag": [lag.window(t0, t1).to_json() for lag in result.loop_lag],
        "write_buffered": result.frames.get("write_buffered", 0),
    }


def summarize(result: FleetResult, t0: float, t1: float, m0: str, m1: str) -> dict[str, Any]:
    """The scenario's latency section: the station side and the server side."""
    return {
        "window_s": round(t1 - t0, 1),
        "station": station_side(result, t0, t1),
        "server": server_side(m0, m1),
    }
