"""Metrics of an ingest worker: Prometheus and a periodic log line.

The hot path only bumps plain integer attributes (dispatcher, pipeline,
decoder counters).  Once a second :meth:`WorkerMetrics.update` turns their
growth into Prometheus counter increments, sets the gauges and feeds the
latency samples into a histogram, and samples the worker's database pool
(``store.metrics``, ``role="ingest"``), its event-loop lag and the garbage
collector's pauses (:mod:`ingest.loopwatch`).  Under ``envgrid serve`` the workers run
prometheus_client in multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, set by
the supervisor) and the supervisor serves the sum at ``/metrics``.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import InitVar, dataclass
from typing import TYPE_CHECKING, Literal

import asyncpg
from prometheus_client import CollectorRegistry, Gauge, Histogram
from prometheus_client import Counter as PCounter

from store.metrics import PoolMetrics, observe_many

if TYPE_CHECKING:
    from .dispatch import Dispatcher
    from .loopwatch import GcWatch, LoopLag
    from .pipeline import Pipeline
    from .spool import Spool

__all__ = ["WorkerMetrics"]

log = logging.getLogger("ingest.stats")

_LATENCY_BUCKETS = (
    *(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.175, 0.2, 0.25, 0.3, 0.4, 0.5),
    *(0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0),
)
#: loop lag and GC pauses: from a millisecond (a 10 ms timer is ~1 ms late on an idle loop)
_STALL_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
_BATCH_BUCKETS = (1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000)


@dataclass(eq=False, repr=False)
class WorkerMetrics:
    worker: int
    dispatcher: Dispatcher
    pipeline: Pipeline
    spool: Spool
    pool: asyncpg.Pool | None = None
    registry: InitVar[CollectorRegistry | None] = None
    loop_lag: LoopLag | None = None
    gc_watch: GcWatch | None = None

    def __post_init__(self, registry: CollectorRegistry | None) -> None:
        reg = registry if registry is not None else CollectorRegistry()

        def gauge(name: str, text: str, mode: Literal["livesum", "min"] = "livesum") -> Gauge:
            # summed (or the minimum) over the workers by the supervisor's /metrics
            return Gauge(name, text, registry=reg, multiprocess_mode=mode)

        self.connections = gauge("envgrid_connections", "Open station connections")
        self.sessions = gauge("envgrid_station_sessions", "Stations with a bound connection")
        self.queue_depth = gauge("envgrid_queue_depth", "Frames waiting for the writer")
        self.spool_bytes = gauge("envgrid_spool_bytes", "Bytes in the disk spool")
        self.listener_paused = gauge(
            "envgrid_workers_not_accepting",
            "Workers at ingest.max_connections_per_worker (their listener closed)",
        )
        self.pool_metrics = PoolMetrics("ingest", reg)
        self.db_up = gauge("envgrid_database_up", "1 when the writer reaches the database", "min")
        self.frames = PCounter(
            "envgrid_frames", "Frames accepted by the decoder, by CN", ["cn"], registry=reg
        )
        self.bytes = PCounter(
            "envgrid_received_bytes", "Bytes received from stations", registry=reg
        )
        self.errors = PCounter(
            "envgrid_frame_errors", "Rejected input by kind", ["kind"], registry=reg
        )
        self.flagged = PCounter(
            "envgrid_frames_flagged",
            "Frames accepted but flagged: edition_mismatch, unencrypted, backfill,"
            " previous_sm4_key",
            ["kind"],
            registry=reg,
        )
        self.committed = PCounter("envgrid_committed_frames", "New frames committed", registry=reg)
        self.duplicates = PCounter(
            "envgrid_duplicate_frames", "Retransmissions stored once and acked again", registry=reg
        )
        self.rows = PCounter("envgrid_rows", "Rows written, by table", ["table"], registry=reg)
        self.spooled = PCounter(
            "envgrid_spooled_frames", "Frames written to the spool", registry=reg
        )
        self.replayed = PCounter(
            "envgrid_replayed_frames", "Frames replayed from the spool", registry=reg
        )
        self.acks = PCounter("envgrid_acks", "9014 data answers sent", registry=reg)
        self.state_flushes = PCounter(
            "envgrid_state_flushes", "Station-state flushes written", registry=reg
        )
        self.state_flush_failures = PCounter(
            "envgrid_state_flush_failures",
            "Station-state flushes that failed (kept for the next one)",
            registry=reg,
        )
        self.state_deferred = PCounter(
            "envgrid_state_flush_deferred_seconds",
            "Seconds due station-state flushes waited for a busy writer",
            registry=reg,
        )
        self.latency = Histogram(
            "envgrid_commit_latency_seconds",
            "Frame received → durable (committed or spooled)",
            buckets=_LATENCY_BUCKETS,
            registry=reg,
        )
        self.batch = Histogram(
            "envgrid_batch_frames", "Frames per written batch", buckets=_BATCH_BUCKETS, registry=reg
        )
        self.write_seconds = Histogram(
            "envgrid_write_seconds", "Duration of a batch write", registry=reg
        )
        self.stalls = Histogram(
            "envgrid_loop_lag_seconds",
            "How late a worker's 10 ms timer ran (its event loop busy elsewhere)",
            ["worker"],
            buckets=_STALL_BUCKETS,
            registry=reg,
        )
        self.gc_pauses = Histogram(
            "envgrid_gc_pause_seconds",
            "Garbage-collector pauses (generation 1-2, and generation 0 from 1 ms)",
            ["generation"],
            buckets=_STALL_BUCKETS,
            registry=reg,
        )
        self._last: dict[str, int] = {}
        self._last_counters: dict[str, Counter[str]] = {}
        self._window: list[float] = []
        self._window_start = time.monotonic()
        self._window_frames = 0
        self._state_deferred_s = 0.0

    def _delta(self, name: str, value: int) -> int:
        previous = self._last.get(name, 0)
        self._last[name] = value
        return max(0, value - previous)

    def _deltas(self, name: str, counts: Mapping[str, int]) -> dict[str, int]:
        previous = self._last_counters.setdefault(name, Counter())
        out = {k: v - previous.get(k, 0) for k, v in counts.items() if v > previous.get(k, 0)}
        previous.clear()
        previous.update(counts)
        return out

    def update(self) -> None:
        d = self.dispatcher
        p = self.pipeline
        s = p.stats
        self.connections.set(len(d.connections))
        self.sessions.set(len(d.sessions))
        self.queue_depth.set(p.depth)
        self.spool_bytes.set(self.spool.size)
        self.db_up.set(1 if p.database_ok else 0)
        self.listener_paused.set(1 if d.listener_paused else 0)
        self.pool_metrics.sample(self.pool)
        for cn, n in self._deltas("cn", {str(k): v for k, v in d.frames_by_cn.items()}).items():
            self.frames.labels(cn).inc(n)
            self._window_frames += n
        errors = Counter(d.decoder_errors) + Counter(d.rejected)
        for kind, n in self._deltas("errors", errors).items():
            self.errors.labels(kind).inc(n)
        for kind, n in self._deltas("flagged", d.flagged).items():
            self.flagged.labels(kind).inc(n)
        for table, n in self._deltas("rows", s.rows_by_table).items():
            self.rows.labels(table).inc(n)
        self.bytes.inc(self._delta("bytes", d.bytes_in))
        self.committed.inc(self._delta("committed", s.committed_frames))
        self.duplicates.inc(self._delta("duplicates", s.duplicates))
        self.spooled.inc(self._delta("spooled", s.spooled_frames))
        self.replayed.inc(self._delta("replayed", s.replayed_frames))
        self.acks.inc(self._delta("acks", d.acks_sent))
        state = d.state
        if state is not None:
            self.state_flushes.inc(self._delta("state_flushes", state.flushes))
            self.state_flush_failures.inc(self._delta("state_failures", state.failures))
            waited = state.deferred_s
            self.state_deferred.inc(max(0.0, waited - self._state_deferred_s))
            self._state_deferred_s = waited
        writes, s.writes = s.writes, []
        for frames, seconds in writes:  # every batch written
            self.batch.observe(frames)
            self.write_seconds.observe(seconds)
        samples, s.latencies = s.latencies, []
        observe_many(self.latency, samples)
        self._window += samples
        self._observe_stalls()

    def _observe_stalls(self) -> None:
        lag, gcw = self.loop_lag, self.gc_watch
        if lag is not None:
            lags, lag.samples = lag.samples, []
            mine = self.stalls.labels(str(self.worker))
            for value in lags:
                mine.observe(value)
        if gcw is not None:
            pauses, gcw.pauses = gcw.pauses, []
            for generation, seconds in pauses:
                self.gc_pauses.labels(str(generation)).observe(seconds)

    def log_line(self) -> None:
        """The periodic summary: rates over the window since the last line."""
        d = self.dispatcher
        p = self.pipeline
        now = time.monotonic()
        span = max(now - self._window_start, 1e-9)
        window, self._window = self._window, []
        p50 = p99 = 0.0
        if len(window) >= 2:
            cuts = statistics.quantiles(window, n=100)
            p50, p99 = cuts[49], cuts[98]
        errors = sum(d.decoder_errors.values()) + sum(d.rejected.values())
        log.info(
            "worker %d: %d connections, %d stations, %.0f frames/s, committed %d, dup %d, "
            "queue %d, spool %d B, latency p50 %.0f ms p99 %.0f ms, errors %d %s, db %s",
            self.worker,
            len(d.connections),
            len(d.sessions),
            self._window_frames / span,
            p.stats.committed_frames,
            p.stats.duplicates,
            p.depth,
            self.spool.size,
            p50 * 1000,
            p99 * 1000,
            errors,
            dict(d.decoder_errors + d.rejected),
            "up" if p.database_ok else "DOWN",
        )
        self._window_start = now
        self._window_frames = 0
