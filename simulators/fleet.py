"""Run N simulated stations in one process.

Theory of operation
-------------------
:func:`run_fleet` is a coroutine on the caller's loop (tests, the bench).  It

1. raises the soft ``RLIMIT_NOFILE`` to the hard limit and checks that the
   stations fit it (one socket each) and the ephemeral-port range;
2. builds one :class:`~simulators.station.SimStation` per identity and starts
   them at ``connect_rate`` per second (a burst larger than the server's
   listen backlog only produces SYN retries);
3. runs until the first of: ``duration`` real seconds, the ``max_frames``
   budget spent, the caller's ``stop`` event;
4. stops generating, then *drains*: waits up to ``drain`` seconds while any
   station still has frames queued or awaiting their 9014 (reconnecting if it
   has to), then closes every connection and cancels what is left;
5. returns a :class:`~simulators.result.FleetResult`.

``on_progress`` gets a counter snapshot every ``progress_interval`` seconds
(:mod:`simulators.progress` prints it; :mod:`simulators.multi` forwards it to
the parent process).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ingest.loopwatch import QuietGc

from .clock import ClockAnchor, VirtualClock, zone
from .config import ConfigError, FleetConfig
from .env import FrameBudget, RateLimiter, StationEnv
from .link import Link
from .result import FleetResult, build_result, iso
from .station import SimStation
from .timeline import LoopLagProbe

__all__ = [
    "ProgressCallback",
    "drain_links",
    "ephemeral_ports",
    "raise_open_files_limit",
    "run_fleet",
]

log = logging.getLogger("envgrid.simulators.fleet")

ProgressCallback = Callable[[dict[str, Any]], None]

#: sockets and files a process needs besides its stations
_RESERVED_FILES = 64
_SHUTDOWN_GRACE = 5.0


def raise_open_files_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    return soft


def ephemeral_ports() -> int:
    """Size of the ephemeral-port range (Linux; 28,232 when it cannot be read)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(high) - int(low) + 1
    except (OSError, ValueError):
        return 28_232


def check_capacity(config: FleetConfig, open_files: int) -> None:
    """Fail early, with the fix, when the stations cannot all hold a connection."""
    need = config.stations + _RESERVED_FILES
    if need > open_files:
        raise ConfigError(
            f"{config.stations} stations need about {need} open files in one process but the"
            f" limit is {open_files}; spread them with --processes"
            f" (e.g. --processes {config.stations // max(1, open_files - _RESERVED_FILES) + 1})"
            " or simulators.run()"
        )
    ports = ephemeral_ports()
    addresses = max(1, len(config.source_addresses))
    per_address = config.whole_run / addresses
    if per_address > ports * 0.95:
        raise ConfigError(
            f"{config.whole_run} connections over {addresses} source address(es) exceed the"
            f" {ports} ephemeral ports of each; use --source-addresses"
            f" {int(config.whole_run // (ports * 0.9)) + 1} (127.0.0.1, 127.0.0.2, …)"
        )


async def _launch(
    stations: list[SimStation],
    tasks: list[asyncio.Task[None]],
    rate: float,
    stop: asyncio.Event,
) -> None:
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    for i, station in enumerate(stations):
        if stop.is_set():
            return
        target = t0 + i / rate
        delay = target - loop.time()
        if delay > 0.002:
            await asyncio.sleep(delay)
        tasks.append(station.start())


async def _progress(
    env: StationEnv, n: int, interval: float, callback: ProgressCallback, stop: asyncio.Event
) -> None:
    while not stop.is_set():
        await asyncio.sleep(interval)
        callback(_snapshot(env, n))


def _snapshot(env: StationEnv, n: int) -> dict[str, Any]:
    snap: dict[str, Any] = env.counters.snapshot()
    snap["t"] = round(env.real_elapsed(), 3)
    snap["stations"] = n
    return snap


async def run_fleet(
    config: FleetConfig,
    *,
    on_progress: ProgressCallback | None = None,
    stop: asyncio.Event | None = None,
    freeze_gc: bool = False,
) -> FleetResult:
    """Run ``config.stations`` stations on the running loop until a bound is reached.

    ``freeze_gc`` (for a process of its own): move the stations, once built, out of the
    cyclic garbage collector's way (``gc.freeze``) and collect young objects less often
    (:class:`ingest.loopwatch.QuietGc`) — with tens of thousands of long-lived objects
    every full collection would otherwise stall the loop (and add to the ack latency
    this process measures)."""
    loop = asyncio.get_running_loop()
    check_capacity(config, raise_open_files_limit())
    tz = zone(config.timezone)
    anchor = config.clock_anchor or ClockAnchor.starting_now(config.start_time, config.time_scale)
    clock = VirtualClock(anchor, tz)
    stopped = asyncio.Event()
    budget = FrameBudget(config.max_frames, stopped.set)
    limiter = RateLimiter(config.rate, loop) if config.pace == "fast" and config.rate else None
    env = StationEnv(config, loop=loop, clock=clock, budget=budget, limiter=limiter)
    stations = [SimStation(identity, env) for identity in config.identities()]
    quiet = QuietGc()
    if freeze_gc:
        quiet.apply()
    lag = LoopLagProbe(loop)  # the simulator's own loop lag, next to its ack latency
    lag.start()
    env.started = loop.time()  # the run's real time starts now that the stations exist
    started_at = time.time()
    sim_start = clock.now()
    n = len(stations)
    if config.max_frames == 0:
        stopped.set()

    tasks: list[asyncio.Task[None]] = []
    helpers: list[asyncio.Task[None]] = [
        loop.create_task(_launch(stations, tasks, config.connect_rate, stopped))
    ]
    if on_progress is not None:
        helpers.append(
            loop.create_task(_progress(env, n, config.progress_interval, on_progress, stopped))
        )
    all_connected: list[float] = []

    def watch_connections() -> None:
        if not stopped.is_set() and not all_connected:
            if env.counters.connections_opened >= n:
                all_connected.append(env.real_elapsed())
            else:
                loop.call_later(0.01, watch_connections)

    watch_connections()
    timer = loop.call_later(config.duration, stopped.set) if config.duration is not None else None
    if stop is not None:

        async def relay() -> None:
            await stop.wait()
            stopped.set()

        helpers.append(loop.create_task(relay()))
    try:
        await stopped.wait()
        log.debug("stopping %d stations after %.1f s", n, env.real_elapsed())
        for station in stations:
            station.stop_generating()
        await drain_links([s.link for s in stations], config.drain)
    finally:
        if timer is not None:
            timer.cancel()
        history = [task for station in stations for task in station.tasks]
        for station in stations:
            station.shutdown()
        if history:
            await asyncio.gather(*history, return_exceptions=True)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=_SHUTDOWN_GRACE)
            for task in pending:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for task in helpers:
            task.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
        if limiter is not None:
            limiter.close()
        lag.stop()
        if freeze_gc:
            quiet.restore()
    if on_progress is not None:
        on_progress(_snapshot(env, n))
    duration = env.real_elapsed()
    return _result(config, env, stations, started_at, sim_start, duration, all_connected, lag)


async def drain_links(links: list[Link], seconds: float) -> None:
    """Wait up to ``seconds`` while any link has frames queued or awaiting their ack."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    busy = [link for link in links if not link.idle]
    while busy and loop.time() < deadline:
        await asyncio.sleep(0.02)
        busy = [link for link in busy if not link.idle]


def _result(
    config: FleetConfig,
    env: StationEnv,
    stations: list[SimStation],
    started_at: float,
    sim_start: float,
    duration: float,
    all_connected: list[float],
    lag: LoopLagProbe,
) -> FleetResult:
    return build_result(
        mode="fleet",
        config=config.to_json(),
        counters=env.counters,
        summaries={s.mn: s.summary() for s in stations},
        fault_log=env.fault_log,
        started_at=started_at,
        duration=duration,
        sim_start=iso(sim_start, env.tz),
        sim_end=iso(env.clock.now(), env.tz),
        time_scale=config.time_scale,
        all_connected=all_connected[0] if all_connected else None,
        station_detail=config.station_detail,
        source_addresses=sorted({a for s in stations if (a := s.link.settings.local_addr)}),
        loop_lag=lag.lag,
    )
