"""Counters: per station (for the summary JSON) and per process (for progress).

Vocabulary of the summary (also in :mod:`simulators.progress`):

* **sent** — unique frames put on the wire (first transmission; a split upload
  counts one per part); **retransmissions** — later transmissions of the same
  frame (ack timeout, or resent after a reconnect); **acked** — unique frames
  whose 9014 arrived; **failed** — frames given up after ``retries``
  retransmissions without a 9014 (a 9014 arriving after that moves the frame
  from failed to acked and counts a *late ack*); **dropped** — frames that
  never left because the station's backlog overflowed; **unsent** /
  **unacked** — left in the backlog / in flight when the run ended.
* **values** — per station, factor (2017 code) and CN: how many values were
  sent and acked (one per factor per frame: what the database should hold).
* **bad sent** — corrupted copies from the fault injector (never data).
* HJ 212-2025: **heartbeats** — 9015 sent, **heartbeat answers** — 9013 received;
  **backfilled** — queued or unacked uploads re-sent after a reconnect, marked ``RF=1``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "CN_FIELDS",
    "SLICE_S",
    "FleetCounters",
    "LatencyHistogram",
    "StationStats",
    "TimedHistograms",
]

#: the per-CN counters, in the order of the lists in :attr:`StationStats.by_cn`
CN_FIELDS = ("sent", "acked", "retransmissions", "failed", "dropped")
SENT, ACKED, RETRANS, FAILED, DROPPED = range(5)
#: width of one slice of :class:`TimedHistograms` (seconds)
SLICE_S = 5.0


class LatencyHistogram:
    """Ack latency (first transmission → 9014), log-spaced buckets from 0.1 ms."""

    __slots__ = ("buckets", "count", "max", "total")

    _BASE = 1e-4
    _GROWTH = 1.15
    _N = 120  # 0.1 ms … ~2 h

    def __init__(self) -> None:
        self.buckets = [0] * self._N
        self.count = 0
        self.total = 0.0
        self.max = 0.0

    def add(self, seconds: float) -> None:
        self.count += 1
        self.total += seconds
        self.max = max(self.max, seconds)
        if seconds <= self._BASE:
            i = 0
        else:
            i = min(self._N - 1, int(math.log(seconds / self._BASE, self._GROWTH)) + 1)
        self.buckets[i] += 1

    def merge(self, other: LatencyHistogram) -> None:
        for i, n in enumerate(other.buckets):
            self.buckets[i] += n
        self.count += other.count
        self.total += other.total
        self.max = max(self.max, other.max)

    def quantile(self, q: float) -> float:
        if self.count == 0:
            return 0.0
        rank = q * self.count
        seen = 0
        for i, n in enumerate(self.buckets):
            seen += n
            if seen >= rank:
                return min(self.max, self._BASE * self._GROWTH**i)
        return self.max

    def upper_bound(self, i: int) -> float:
        """The upper edge of bucket ``i`` (seconds)."""
        return float(self._BASE * self._GROWTH**i)

    def to_json(self) -> dict[str, float]:
        ms = 1000.0
        return {
            "count": self.count,
            "mean_ms": round(self.total / self.count * ms, 3) if self.count else 0.0,
            "p50_ms": round(self.quantile(0.5) * ms, 3),
            "p90_ms": round(self.quantile(0.9) * ms, 3),
            "p95_ms": round(self.quantile(0.95) * ms, 3),
            "p99_ms": round(self.quantile(0.99) * ms, 3),
            "p99_9_ms": round(self.quantile(0.999) * ms, 3),
            "max_ms": round(self.max * ms, 3),
        }

    def buckets_json(self) -> list[list[float]]:
        """The non-empty buckets as ``[upper edge ms, count]`` (log-spaced, ×1.15 each)."""
        return [
            [round(self.upper_bound(i) * 1000.0, 4), n] for i, n in enumerate(self.buckets) if n
        ]


class TimedHistograms:
    """Log-bucket histograms, one per :data:`SLICE_S` slice of the monotonic clock."""

    __slots__ = ("slices",)

    def __init__(self) -> None:
        self.slices: dict[int, LatencyHistogram] = {}

    def add(self, at: float, seconds: float) -> None:
        """A sample of ``seconds`` that started at ``at`` (``time.monotonic()``)."""
        key = int(at // SLICE_S)
        histogram = self.slices.get(key)
        if histogram is None:
            histogram = self.slices[key] = LatencyHistogram()
        histogram.add(seconds)

    def merge(self, other: TimedHistograms) -> None:
        for key, histogram in other.slices.items():
            mine = self.slices.get(key)
            if mine is None:
                mine = self.slices[key] = LatencyHistogram()
            mine.merge(histogram)

    def window(self, start: float | None = None, end: float | None = None) -> LatencyHistogram:
        """The samples of the slices wholly inside [``start``, ``end``] (monotonic
        seconds; ``None``: unbounded)."""
        out = LatencyHistogram()
        for key, histogram in self.slices.items():
            if start is not None and key * SLICE_S < start:
                continue
            if end is not None and (key + 1) * SLICE_S > end:
                continue
            out.merge(histogram)
        return out


class FleetCounters:
    """Process-wide running totals (cheap to snapshot every second)."""

    __slots__ = (
        "acked",
        "backfilled",
        "bad_sent",
        "bytes_received",
        "bytes_sent",
        "commands",
        "connect_failures",
        "connections_lost",
        "connections_opened",
        "connections_up",
        "decode_errors",
        "dropped",
        "failed",
        "heartbeat_answers",
        "heartbeats",
        "history_sent",
        "late_acks",
        "latency",
        "latency_by_time",
        "peak_up",
        "replies_sent",
        "retransmissions",
        "sent",
        "unmatched_acks",
        "write_buffered",
    )

    def __init__(self) -> None:
        self.sent = 0
        self.acked = 0
        self.retransmissions = 0
        self.failed = 0
        self.dropped = 0
        self.bad_sent = 0
        self.replies_sent = 0
        self.history_sent = 0
        self.commands = 0
        self.late_acks = 0
        self.unmatched_acks = 0
        self.decode_errors = 0
        self.connections_up = 0
        self.peak_up = 0
        self.connections_opened = 0
        self.connections_lost = 0
        self.connect_failures = 0
        self.bytes_sent = 0
        self.bytes_received = 0
        self.heartbeats = 0
        self.heartbeat_answers = 0
        self.backfilled = 0
        #: ack latency: last byte of the frame handed to the kernel → its 9014 read
        self.latency = LatencyHistogram()
        #: the same, filed by the time the frame was sent (a benchmark picks its window)
        self.latency_by_time = TimedHistograms()
        #: first transmissions whose bytes did not all reach the kernel in ``write()``
        #: (their latency then also counts time in the transport's buffer)
        self.write_buffered = 0

    def up(self) -> None:
        self.connections_up += 1
        self.connections_opened += 1
        self.peak_up = max(self.peak_up, self.connections_up)

    def snapshot(self) -> dict[str, int]:
        out = {key: getattr(self, name) for key, name in _SNAPSHOT.items()}
        out["errors"] = self.decode_errors + self.unmatched_acks + self.connect_failures
        out["bytes_sent"] = self.bytes_sent
        return out


#: what :meth:`FleetCounters.snapshot` reports (key → counter), in this order
_SNAPSHOT = {
    "up": "connections_up",
    "opened": "connections_opened",
    "lost": "connections_lost",
    **{
        name: name
        for name in (
            "connect_failures",
            "sent",
            "acked",
            "retransmissions",
            "failed",
            "dropped",
            "bad_sent",
            "commands",
        )
    },
}


class StationStats:
    """What one station did (one per station, cheap: a few small dicts)."""

    __slots__ = (
        "backfilled",
        "bad_sent",
        "by_cn",
        "commands",
        "connect_failures",
        "connections",
        "decode_errors",
        "duplicate_acks",
        "heartbeat_answers",
        "heartbeats",
        "history",
        "late_acks",
        "lost",
        "replies_sent",
        "unmatched_acks",
        "values",
    )

    def __init__(self) -> None:
        self.by_cn: dict[int, list[int]] = {}
        self.history: dict[int, list[int]] = {}
        #: (cn, factor codes of the frame) → [sent, acked]
        self.values: dict[tuple[int, tuple[str, ...]], list[int]] = {}
        self.commands: dict[int, int] = {}
        self.decode_errors: dict[str, int] = {}
        self.connections = 0
        self.connect_failures = 0
        self.lost = 0
        self.bad_sent = 0
        self.replies_sent = 0
        self.unmatched_acks = 0
        self.duplicate_acks = 0
        self.late_acks = 0
        self.heartbeats = 0
        self.heartbeat_answers = 0
        self.backfilled = 0

    def cn(self, cn: int, history: bool = False) -> list[int]:
        table = self.history if history else self.by_cn
        row = table.get(cn)
        if row is None:
            row = table[cn] = [0, 0, 0, 0, 0]
        return row

    def value_row(self, cn: int, codes: tuple[str, ...]) -> list[int]:
        key = (cn, codes)
        row = self.values.get(key)
        if row is None:
            row = self.values[key] = [0, 0]
        return row

    def to_json(self, code_map: Mapping[str, str] | None = None) -> dict[str, Any]:
        """``code_map``: wire code → 2017 code (2005 stations)."""
        values: dict[str, dict[str, dict[str, int]]] = {}
        for (cn, codes), (sent, acked) in self.values.items():
            for code in codes:
                name = code_map.get(code, code) if code_map else code
                cell = values.setdefault(name, {}).setdefault(f"{cn:04d}", {"sent": 0, "acked": 0})
                cell["sent"] += sent
                cell["acked"] += acked
        out: dict[str, Any] = {
            "connections": self.connections,
            "connect_failures": self.connect_failures,
            "connections_lost": self.lost,
            "cn": _cn_json(self.by_cn.items()),
            "values": values,
            "bad_sent": self.bad_sent,
            "replies_sent": self.replies_sent,
        }
        if self.history:
            out["history"] = _cn_json(self.history.items())
        for name in ("heartbeats", "heartbeat_answers", "backfilled"):  # 2025 stations
            if getattr(self, name):
                out[name] = getattr(self, name)
        if self.commands:
            out["commands"] = {f"{cn:04d}": n for cn, n in sorted(self.commands.items())}
        errors: dict[str, Any] = {
            k: v
            for k, v in (
                ("unmatched_acks", self.unmatched_acks),
                ("duplicate_acks", self.duplicate_acks),
                ("late_acks", self.late_acks),
            )
            if v
        }
        if self.decode_errors:
            errors["decode"] = dict(self.decode_errors)
        if errors:
            out["errors"] = errors
        return out


def _cn_json(rows: Iterable[tuple[int, list[int]]]) -> dict[str, dict[str, int]]:
    return {f"{cn:04d}": dict(zip(CN_FIELDS, row, strict=True)) for cn, row in sorted(rows)}
