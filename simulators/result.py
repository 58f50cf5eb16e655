"""``FleetResult``: the outcome of a run, its JSON form and how runs are merged.

Summary JSON (``--json``), schema ``envgrid.simulate/1``::

    {
      "schema": "envgrid.simulate/1",
      "mode": "fleet" | "replay",
      "started_at": ISO 8601 (real), "duration_s": float (real),
      "sim_start": ISO 8601 (station zone), "sim_end": …, "time_scale": float,
      "processes": int, "source_addresses": [...],
      "config": {the FleetConfig / replay settings},
      "totals": {
        "stations": int,
        "connections": {"opened", "lost", "connect_failures", "peak_up", "up_at_end",
                        "all_connected_after_s" (null if never)},
        "frames": {"sent", "acked", "retransmissions", "failed", "dropped",
                   "unacked_at_end", "unsent_at_end", "bad_sent", "replies_sent",
                   "history_sent", "write_buffered" (first sends not wholly handed to the
                   kernel by write()), "heartbeats_sent", "heartbeats_answered" (9015 → 9013,
                   HJ 212-2025), "backfilled" (re-sent after a reconnect with RF=1)},
        "by_cn": {"2011": {"sent", "acked", "retransmissions", "failed", "dropped"}, …},
        "history_by_cn": {…same, history answers…},
        "commands": {"received": int, "by_cn": {"1062": n, …}},
        "errors": {"decode": {"crc_mismatch": n, …}, "unmatched_acks", "duplicate_acks",
                   "late_acks", "connect_failures"},
        "bytes": {"sent", "received"},
        "ack_latency": {"count", "mean_ms", "p50_ms", "p90_ms", "p95_ms", "p99_ms",
                        "p99_9_ms", "max_ms"} (last byte handed to the kernel → 9014 read),
        "loop_lag": [{…the same keys…} per process] (lateness of a 10 ms timer: the
                     simulator's own event-loop lag),
        "rates": {"frames_sent_per_s", "frames_acked_per_s", "connections_per_s"}
      },
      "stations": {MN: {"index", "mn", "pw", "st", "edition", "name", "region",
                        "region_name", "lat", "lon",
                        "connections", "connect_failures", "connections_lost",
                        "cn": {CN: {"sent", "acked", "retransmissions", "failed", "dropped"}},
                        "values": {factor (2017 code): {CN: {"sent", "acked"}}},
                        "history": {CN: {…}}, "commands": {CN: n},
                        "bad_sent", "replies_sent", "unacked_at_end", "unsent_at_end",
                        "clock_offset_s"?, "errors"?, "heartbeats"?, "heartbeat_answers"?,
                        "backfilled"?}},
      "faults": {"counts": {kind: n}, "events": [{"kind", "mn", "factor", "start", "end",
                 …}], "truncated": bool}
    }

(``stations`` is ``{}`` with ``station_detail=False``.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from .faults import FaultLog
from .stats import CN_FIELDS, FleetCounters, LatencyHistogram, TimedHistograms

__all__ = ["SCHEMA", "FleetResult", "build_result", "iso", "merge_results", "totals_from_stations"]

SCHEMA = "envgrid.simulate/1"


@dataclass
class FleetResult:
    """What a run did (one process, or several merged)."""

    mode: str
    started_at: str
    duration_s: float
    sim_start: str
    sim_end: str
    time_scale: float
    config: dict[str, Any]
    totals: dict[str, Any]
    stations: dict[str, dict[str, Any]]
    faults: dict[str, Any]
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    #: ack latency filed by send time, and each process's loop lag filed by time
    #: (a benchmark takes the window it measured: :meth:`TimedHistograms.window`)
    latency_by_time: TimedHistograms = field(default_factory=TimedHistograms)
    loop_lag: list[TimedHistograms] = field(default_factory=list)
    processes: int = 1
    source_addresses: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def frames(self) -> dict[str, int]:
        frames: dict[str, int] = self.totals["frames"]
        return frames

    def to_json(self) -> dict[str, Any]:
        totals = dict(self.totals)
        totals["ack_latency"] = self.latency.to_json()
        totals["loop_lag"] = [lag.window().to_json() for lag in self.loop_lag]
        totals["rates"] = _rates(totals, self.duration_s)
        out: dict[str, Any] = {
            "schema": SCHEMA,
            "mode": self.mode,
            "started_at": self.started_at,
            "duration_s": round(self.duration_s, 3),
            "sim_start": self.sim_start,
            "sim_end": self.sim_end,
            "time_scale": self.time_scale,
            "processes": self.processes,
            "source_addresses": self.source_addresses,
            "config": self.config,
            "totals": totals,
            "stations": self.stations,
            "faults": self.faults,
        }
        if self.errors:
            out["errors"] = self.errors
        return out


def _rates(totals: Mapping[str, Any], duration: float) -> dict[str, float]:
    frames = totals["frames"]
    conns = totals["connections"]
    span = conns.get("all_connected_after_s")
    return {
        "frames_sent_per_s": round(frames["sent"] / duration, 1) if duration > 0 else 0.0,
        "frames_acked_per_s": round(frames["acked"] / duration, 1) if duration > 0 else 0.0,
        "connections_per_s": round(totals["stations"] / span, 1) if span else 0.0,
    }


def _add_cn(into: dict[str, dict[str, int]], rows: Mapping[str, Mapping[str, int]]) -> None:
    for cn, row in rows.items():
        cell = into.setdefault(cn, dict.fromkeys(CN_FIELDS, 0))
        for key in CN_FIELDS:
            cell[key] += row.get(key, 0)


def totals_from_stations(stations: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Per-CN totals, commands and error counts summed over station summaries."""
    by_cn: dict[str, dict[str, int]] = {}
    history: dict[str, dict[str, int]] = {}
    commands: dict[str, int] = {}
    decode: dict[str, int] = {}
    errors = {"unmatched_acks": 0, "duplicate_acks": 0, "late_acks": 0}
    unacked = unsent = 0
    for s in stations:
        _add_cn(by_cn, s.get("cn", {}))
        _add_cn(history, s.get("history", {}))
        for cn, n in s.get("commands", {}).items():
            commands[cn] = commands.get(cn, 0) + n
        errs = s.get("errors", {})
        for key in errors:
            errors[key] += errs.get(key, 0)
        for code, n in errs.get("decode", {}).items():
            decode[code] = decode.get(code, 0) + n
        unacked += s.get("unacked_at_end", 0)
        unsent += s.get("unsent_at_end", 0)
    return {
        "by_cn": dict(sorted(by_cn.items())),
        "history_by_cn": dict(sorted(history.items())),
        "commands": {"received": sum(commands.values()), "by_cn": dict(sorted(commands.items()))},
        "errors": {"decode": decode, **errors},
        "unacked_at_end": unacked,
        "unsent_at_end": unsent,
    }


def _sum_tree(a: Any, b: Any) -> Any:
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        for key, value in b.items():
            out[key] = _sum_tree(out[key], value) if key in out else value
        return out
    if isinstance(a, bool) or isinstance(b, bool):
        return a or b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a + b
    return b if a is None else a


def merge_results(results: list[FleetResult], *, config: dict[str, Any]) -> FleetResult:
    """Combine the results of the processes of one run."""
    if not results:
        raise ValueError("no results to merge")
    if len(results) == 1:
        only = results[0]
        only.config = config
        return only
    totals: dict[str, Any] = {}
    latency = LatencyHistogram()
    by_time = TimedHistograms()
    stations: dict[str, dict[str, Any]] = {}
    events: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    truncated = False
    errors: list[str] = []
    spans: list[float | None] = []
    for r in results:
        spans.append(r.totals["connections"].get("all_connected_after_s"))
        totals = _sum_tree(totals, r.totals) if totals else r.totals
        latency.merge(r.latency)
        by_time.merge(r.latency_by_time)
        stations.update(r.stations)
        events.extend(r.faults.get("events", []))
        for kind, n in r.faults.get("counts", {}).items():
            counts[kind] = counts.get(kind, 0) + n
        truncated = truncated or bool(r.faults.get("truncated"))
        errors.extend(r.errors)
    totals["connections"]["all_connected_after_s"] = (
        None if any(s is None for s in spans) else max(s for s in spans if s is not None)
    )
    events.sort(key=lambda e: e.get("at_real_s", 0.0))
    first = results[0]
    return FleetResult(
        mode=first.mode,
        started_at=min(r.started_at for r in results),
        duration_s=max(r.duration_s for r in results),
        sim_start=min(r.sim_start for r in results),
        sim_end=max(r.sim_end for r in results),
        time_scale=first.time_scale,
        config=config,
        totals=totals,
        stations=stations,
        faults={"counts": counts, "events": events, "truncated": truncated},
        latency=latency,
        latency_by_time=by_time,
        loop_lag=[lag for r in results for lag in r.loop_lag],
        processes=sum(r.processes for r in results),
        source_addresses=sorted({a for r in results for a in r.source_addresses}),
        errors=errors,
    )


def iso(ts: float, tz: tzinfo = UTC) -> str:
    """POSIX seconds → ISO 8601 in ``tz`` (seconds precision)."""
    return datetime.fromtimestamp(ts, tz).isoformat(timespec="seconds")


def build_result(
    *,
    mode: str,
    config: dict[str, Any],
    counters: FleetCounters,
    summaries: dict[str, dict[str, Any]],
    fault_log: FaultLog,
    started_at: float,
    duration: float,
    sim_start: str,
    sim_end: str,
    time_scale: float,
    all_connected: float | None,
    station_detail: bool = True,
    source_addresses: list[str] | None = None,
    loop_lag: TimedHistograms | None = None,
) -> FleetResult:
    """The result of one process from its counters and station summaries."""
    derived = totals_from_stations(summaries.values())
    c = counters
    totals: dict[str, Any] = {
        "stations": len(summaries),
        "connections": {
            "opened": c.connections_opened,
            "lost": c.connections_lost,
            "connect_failures": c.connect_failures,
            "peak_up": c.peak_up,
            "up_at_end": c.connections_up,
            "all_connected_after_s": None if all_connected is None else round(all_connected, 3),
        },
        "frames": {
            "sent": c.sent,
            "acked": c.acked,
            "retransmissions": c.retransmissions,
            "failed": c.failed,
            "dropped": c.dropped,
            "unacked_at_end": derived["unacked_at_end"],
            "unsent_at_end": derived["unsent_at_end"],
            "bad_sent": c.bad_sent,
            "replies_sent": c.replies_sent,
            "history_sent": c.history_sent,
            "write_buffered": c.write_buffered,
            "heartbeats_sent": c.heartbeats,
            "heartbeats_answered": c.heartbeat_answers,
            "backfilled": c.backfilled,
        },
        "by_cn": derived["by_cn"],
        "history_by_cn": derived["history_by_cn"],
        "commands": derived["commands"],
        "errors": {**derived["errors"], "connect_failures": c.connect_failures},
        "bytes": {"sent": c.bytes_sent, "received": c.bytes_received},
    }
    return FleetResult(
        mode=mode,
        started_at=iso(started_at),
        duration_s=duration,
        sim_start=sim_start,
        sim_end=sim_end,
        time_scale=time_scale,
        config=config,
        totals=totals,
        stations=summaries if station_detail else {},
        faults={
            "counts": dict(fault_log.counts),
            "events": fault_log.events,
            "truncated": fault_log.truncated,
        },
        latency=counters.latency,
        latency_by_time=counters.latency_by_time,
        loop_lag=[] if loop_lag is None else [loop_lag],
        processes=1,
        source_addresses=source_addresses or [],
    )
