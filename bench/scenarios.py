"""Benchmark scenarios against a real server: connections, throughput, burst, latency.

Each scenario starts ``envgrid serve`` (its own embedded PostgreSQL unless a
DSN is given), registers the simulated stations, runs the simulators
(:func:`simulators.run`: several processes and loopback source addresses when
the fleet is large), measures, stops everything and returns a JSON-ready dict.
Counts of *committed* data come from the database (the packet ledger and the
measurement tables), never from what was sent.

``simulate`` (``--set simulate.edition_mix=2017:0.5,2025:0.5 --set simulate.encrypt=true``,
:func:`bench.load.simulator_settings`): the stations' editions and SM4 encryption; the
2025 stations are registered with their edition and key (:mod:`bench.load`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from simulators import FleetConfig, FleetResult, run, station_identities
from simulators.blast import BlastConfig, blast
from store.db import connect

from . import acklatency, load
from . import connections as holding
from .proc import ProcSample, cores_between, cpu_by_pid, machine_busy, sample
from .server import ServerUnderTest, server_settings

__all__ = ["SCENARIOS", "burst", "connections", "cpu_per_frame", "latency", "throughput"]


def _counts(server: ServerUnderTest) -> tuple[int, int]:
    async def both() -> tuple[int, int]:
        conn = await connect(server.database_dsn)
        try:
            frames = await conn.fetchval("SELECT count(*) FROM packet_ledger")
            rows = await conn.fetchval("SELECT count(*) FROM measurements_rtd")
            return int(frames), int(rows)
        finally:
            await conn.close()

    return asyncio.run(both())


class _Sampler:
    """Samples server and database CPU/RSS once a second in a thread."""

    def __init__(self, server: ServerUnderTest) -> None:
        self.server = server
        self.samples: list[tuple[float, ProcSample, ProcSample]] = []
        #: CPU seconds per process (server, PostgreSQL) at each of ``samples``
        self.by_pid: list[tuple[dict[int, float], dict[int, float]]] = []
        self.machine: list[tuple[float, float]] = []
        self.alerts: list[tuple[float, float]] = []  # the alert engine's CPU seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.take()
            self._stop.wait(1.0)

    def take(self) -> tuple[float, ProcSample, ProcSample]:
        server, pg = self.server.server_pids(), self.server.postgres_pids()
        item = (time.monotonic(), sample(server), sample(pg))
        self.samples.append(item)
        self.by_pid.append((cpu_by_pid(server), cpu_by_pid(pg)))
        self.machine.append((item[0], machine_busy()[0]))
        self.alerts.append((item[0], self.server.alerts_sample().cpu_s))
        return item

    def cpu_between(self, t0: float, t1: float) -> dict[str, float]:
        inside = [i for i, s in enumerate(self.samples) if t0 <= s[0] <= t1]
        if len(inside) < 2:
            return {"server_cores": 0.0, "postgres_cores": 0.0}
        first, last = inside[0], inside[-1]
        span = max(self.samples[last][0] - self.samples[first][0], 1e-9)
        (sa, pa), (sb, pb) = self.by_pid[first], self.by_pid[last]
        busy = [m for m in self.machine if t0 <= m[0] <= t1]
        machine = (busy[-1][1] - busy[0][1]) / span if len(busy) >= 2 else 0.0
        engine = [m for m in self.alerts if t0 <= m[0] <= t1]
        return {
            "server_cores": cores_between(sa, sb, span),
            "postgres_cores": cores_between(pa, pb, span),
            "machine_busy_cores": round(machine, 3),
            "alert_engine_cores": round((engine[-1][1] - engine[0][1]) / span, 3),
        }

    def peak_rss(self) -> dict[str, int]:
        return {
            "server_bytes": max((s[1].rss_bytes for s in self.samples), default=0),
            "postgres_bytes": max((s[2].rss_bytes for s in self.samples), default=0),
        }


@contextlib.contextmanager
def _measured(
    *,
    workers: int = 0,
    dsn: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    alerts: bool = False,
) -> Iterator[tuple[ServerUnderTest, _Sampler]]:
    """The server under test (its ``workers``, settings ``overrides``, ``dsn``, the alert
    engine or not), sampled every second while it runs — the options every scenario takes."""
    settings = server_settings(workers, overrides)
    with (
        ServerUnderTest(settings=settings, dsn=dsn, alerts=alerts) as server,
        _Sampler(server) as sampler,
    ):
        yield server, sampler


def blast_options(simulate: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``simulate`` settings the blast load generator (throughput, burst) takes."""
    sim = dict(simulate or {})
    if "heartbeat" in sim:
        raise ValueError(
            "simulate.heartbeat: the blast load generator (throughput, burst) sends no heartbeats"
        )
    return sim


def _editions(edition: str, stations: int, simulate: Mapping[str, Any] | None) -> dict[str, Any]:
    """What the result says of the fleet's editions (nothing for a plain 2017 fleet)."""
    if not simulate:
        return {}
    ids = station_identities(stations, edition=edition)
    counts: dict[str, int] = {}
    for i in ids:
        counts[i.edition] = counts.get(i.edition, 0) + 1
    return {"simulate": dict(simulate), "stations_by_edition": dict(sorted(counts.items()))}


def _simulator_summary(result: FleetResult) -> dict[str, Any]:
    data = result.to_json()
    totals = data.get("totals", {})
    return {
        "connections": totals.get("connections"),
        "frames": totals.get("frames"),
        "ack_latency_ms": totals.get("ack_latency"),
        "errors": totals.get("errors"),
    }


# -- connections ---------------------------------------------------------------------------
def connections(
    stations: int = 36_000,
    *,
    hold: float = 30.0,
    progress: load.Progress = load.quiet,
    simulate: Mapping[str, Any] | None = None,
    workers: int = 0,
    **options: Any,
) -> dict[str, Any]:
    """Ramp to ``stations`` idle connections and hold them: connections held, connect rate,
    server and kernel memory per connection, CPU while idle (:mod:`bench.connections`;
    ``workers`` 0: as many as the open-files limit asks for)."""
    plan, limits = holding.prepare(stations, workers=workers, overrides=options.get("overrides"))
    with _measured(workers=plan.workers, **options) as (server, sampler):
        figures, result, config = holding.measure(
            server, sampler, plan, hold=hold, simulate=simulate, progress=progress
        )
    ramp = figures.pop("ramp")
    return {
        "scenario": "connections",
        "engine": server.engine,
        "stations": stations,
        "workers": plan.workers,
        "limits": {c.name: c.to_json() for c in limits},
        **figures,
        "simulator": _simulator_summary(result),
        **_editions(config.edition, stations, simulate),
        "floor": {"connections": 36_000, "rss_per_connection_bytes": 20 * 1024},
        "goal": {"connections": 100_000, "pss_per_connection_bytes": 10 * 1024},
        "ramp": ramp,  # last: the long series
    }


# -- throughput ------------------------------------------------------------------------------
def throughput(
    stations: int = 1000,
    *,
    duration: float = 60.0,
    warmup: float = 10.0,
    window: int = 16,
    alerts: bool = False,
    rate: float | None = None,
    progress: load.Progress = load.quiet,
    simulate: Mapping[str, Any] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Stations sending 6-factor real-time frames as fast as acks allow (the lean blast
    load generator); frames/s and values/s committed (counted in the database), latency
    received → committed, CPU of the server, the database and the load generator.
    ``alerts``: with the alert engine evaluating every committed value in-stream (its
    cost is the difference to a run without).  ``rate``: offer that many frames/s only
    (below saturation: the cost of something shows in CPU, not in frames/s).
    ``simulate``: editions and encryption (e.g. half the stations HJ 212-2025, encrypted)."""
    sim = blast_options(simulate)
    # a large fleet connects first (as in burst): 36,000 connects under full load would
    # time out rather than measure anything
    ramp = 0.0 if stations <= 5000 else 20.0 + stations / 1000
    with _measured(alerts=alerts, **options) as (server, sampler):
        config = BlastConfig(
            port=server.port,
            stations=stations,
            factors=load.AQI_FACTORS,
            window=window,
            duration=warmup + duration + 3,  # counted from the start gate
            drain=15.0,
            rate=rate,
            start_at=time.time() + ramp if ramp else None,
            **sim,
        )
        asyncio.run(load.register(server, stations, edition=config.edition))
        progress(f"throughput: {stations} stations, window {window}, {duration:.0f} s measured")
        me = sample([os.getpid()])
        running = load.Background(lambda: blast(config))
        time.sleep(ramp + warmup)
        m0 = server.metrics()
        t0 = sampler.take()[0]
        g0 = sample([os.getpid()])
        f0, r0 = _counts(server)
        time.sleep(duration)
        f1, r1 = _counts(server)
        t1 = sampler.take()[0]
        g1 = sample([os.getpid()])
        m1 = server.metrics()
        result = running.result()
        committed = _count_cn(server, 2011)  # after the drain: every frame ever stored
    span = t1 - t0
    del me
    cpu = sampler.cpu_between(t0, t1)
    frames = f1 - f0
    return {
        "scenario": "throughput",
        "engine": server.engine,
        "stations": stations,
        "alert_engine": alerts,
        "offered_frames_per_s": rate,
        "window": window,
        "factors_per_frame": len(load.AQI_FACTORS),
        "measured_s": round(span, 1),
        "frames_committed_per_s": round(frames / span),
        "values_committed_per_s": round((r1 - r0) / span),
        # process CPU counters over the measured window ÷ the frames committed in it
        "server_cpu_us_per_frame": cpu_per_frame(cpu["server_cores"], span, frames),
        "postgres_cpu_us_per_frame": cpu_per_frame(cpu["postgres_cores"], span, frames),
        "latency_s": load.latency_delta(m0, m1),
        "cpu": {
            **cpu,
            "load_generator_cores": round((g1.cpu_s - g0.cpu_s) / span, 3),
        },
        "rss": sampler.peak_rss(),
        "load_generator": result.to_json(),
        # an ack promises the frame is stored: none acked may be missing
        "frames_acked": result.acked,
        "frames_committed_total": committed,
        "acked_not_committed": max(0, result.acked - committed),
        **_editions(config.edition, stations, simulate),
        "floor": {"frames_per_s": 10_000},
        "goal": {"frames_per_s": 20_000},
    }


# -- burst --------------------------------------------------------------------------------------
def burst(
    stations: int = 36_000,
    messages: int = 100_000,
    *,
    progress: load.Progress = load.quiet,
    simulate: Mapping[str, Any] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """The reference platform's test: 100,000 messages from 36,000 connected stations —
    the time from the burst until all of them are committed."""
    sim = blast_options(simulate)
    with _measured(**options) as (server, sampler):
        per = -(-messages // stations)
        ramp = 20.0 + stations / 1000
        gate = time.time() + ramp
        config = BlastConfig(
            port=server.port,
            stations=stations,
            factors=load.AQI_FACTORS,
            window=per,
            max_frames=messages,
            duration=None,
            start_at=gate,
            drain=120.0,
            **sim,
        )
        asyncio.run(load.register(server, stations, edition=config.edition))
        progress(f"burst: {messages} messages from {stations} stations, at +{ramp:.0f} s")
        running = load.Background(lambda: blast(config))
        held = 0.0
        while time.time() < gate - 0.5:
            held = load.gauge(server.metrics(), "envgrid_connections")
            time.sleep(0.5)
        time.sleep(max(0.0, gate - time.time()))
        t0 = time.monotonic()
        # Progress from the server's counter, not a count(*) of the ledger ten times a
        # second (that scan ran on the database under test).  The time is the stations':
        # their last ack (acks follow COMMIT); the stored rows are counted once afterwards.
        while not running.done() and time.monotonic() - t0 < 300:
            committed = int(load.gauge(server.metrics(), "envgrid_committed_frames_total"))
            progress(f"  {committed} committed")
            time.sleep(1.0)
        result = running.result()
        acked_at = result.last_ack - gate if result.last_ack is not None else None
        t1 = t0 + acked_at if acked_at is not None else sampler.take()[0]
        last = _count_cn(server, 2011)
    cpu = sampler.cpu_between(t0, t1 + 0.5)
    done_at = None
    if acked_at is not None and result.acked >= messages and last >= messages:
        done_at = t0 + acked_at
    return {
        "scenario": "burst",
        "engine": server.engine,
        "stations": stations,
        "connections_before_burst": int(held),
        "messages": messages,
        "committed": last,
        "acked": result.acked,
        # the last ack at the stations (acks follow COMMIT), when all were acked and stored
        "committed_within_s": round(done_at - t0, 2) if done_at else None,
        "server_cpu_us_per_frame": cpu_per_frame(cpu["server_cores"], t1 - t0, max(last, 0)),
        "postgres_cpu_us_per_frame": cpu_per_frame(cpu["postgres_cores"], t1 - t0, max(last, 0)),
        "cpu": cpu,
        "rss": sampler.peak_rss(),
        "load_generator": result.to_json(),
        **_editions(config.edition, stations, simulate),
        "floor": {"seconds": 10.0},
        "goal": {"seconds": 5.0},
    }


def cpu_per_frame(cores: float, seconds: float, frames: int) -> float | None:
    """µs of CPU per frame: ``cores`` busy for ``seconds`` over ``frames`` (None: no frame)."""
    if frames <= 0:
        return None
    return round(cores * seconds / frames * 1e6, 1)


def _count_cn(server: ServerUnderTest, cn: int) -> int:
    return asyncio.run(server.count("SELECT count(*) FROM packet_ledger WHERE cn = $1", cn))


# -- latency at the reference load ----------------------------------------------------------------
def latency(
    stations: int = 36_000,
    *,
    interval: int = 30,
    hold: float = 90.0,
    progress: load.Progress = load.quiet,
    simulate: Mapping[str, Any] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Ack latency at 36,000 stations every 30 s (1,200 frames/s), over the same window:
    as the stations see it (last byte sent → 9014 read, with the simulator's own loop lag
    beside it) and as the server sees it (received → committed, loop lag, GC pauses,
    batches) — :mod:`bench.acklatency`."""
    with _measured(**options) as (server, sampler):
        ramp = 60.0 + stations / 1000
        config = FleetConfig(
            **(simulate or {}),
            port=server.port,
            stations=stations,
            factors=load.AQI_FACTORS,
            rtd_interval=interval,
            status_every=0,
            duration=ramp + hold,
            drain=5.0,
            station_detail=False,
            connect_rate=3000.0,
        )
        load.register_fleet(server, config)
        progress(f"latency: {stations} stations every {interval} s")
        running = load.Background(lambda: run(config))
        load.wait_connected(server, stations, timeout=ramp, progress=progress)
        time.sleep(min(interval, 30))
        m0 = server.metrics()
        t0 = sampler.take()[0]
        f0, _ = _counts(server)
        time.sleep(hold - min(interval, 30) - 5)
        f1, _ = _counts(server)
        t1 = sampler.take()[0]
        m1 = server.metrics()
        result = running.result()
    span = t1 - t0
    return {
        "scenario": "latency",
        "engine": server.engine,
        "stations": stations,
        "interval_s": interval,
        "frames_committed_per_s": round((f1 - f0) / span),
        "latency_s": load.latency_delta(m0, m1),
        "ack_latency": acklatency.summarize(result, t0, t1, m0, m1),
        "cpu": sampler.cpu_between(t0, t1),
        "simulator": _simulator_summary(result),
        **_editions(config.edition, stations, simulate),
        "floor": {"p99_s": 1.0},
        "goal": {"p99_s": 0.25, "station_p99_ms": 250, "station_max_ms": 1000},
    }


SCENARIOS: dict[str, Callable[..., dict[str, Any]]] = {
    "connections": connections,
    "throughput": throughput,
    "burst": burst,
    "latency": latency,
}
