"""Fault scenarios: the server under load while things go wrong — nothing lost.

Each scenario runs ``envgrid serve`` (its own embedded PostgreSQL, on disk) with
simulated stations that retransmit unacknowledged frames (10 s × 3, as data
loggers do), injects one fault, and then accounts from the database:

* **sent / acked** — unique real-time frames (2011) the simulators sent and got a
  9014 for (retransmissions are not extra frames);
* **stored** — frames in the packet ledger;
* **lost** — frames a station got an ack for that are not stored (per station,
  ``max(0, acked − stored)``): must be 0;
* **duplicated** — measurement rows stored twice (``count − count distinct``):
  must be 0.

Scenarios: ``outage`` (database stopped for 60 s under load), ``kill-worker``
(SIGKILL), ``restart`` (the whole server, graceful), ``disk-full`` (the spool's
file system fills up, then space returns), ``soak`` (memory, file descriptors
and latency over time); ``hostile`` (legitimate stations' latency while attackers
dribble, flood and send garbage) is in :mod:`bench.attacks`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from simulators import FleetConfig, FleetResult, run

from . import load
from .proc import sample
from .server import ServerUnderTest, server_settings

__all__ = [
    "Load",
    "account",
    "disk_full",
    "fleet_config",
    "kill_worker",
    "outage",
    "restart",
    "soak",
]


def fleet_config(
    server: ServerUnderTest, stations: int, interval: int, duration: float, **kw: Any
) -> FleetConfig:
    """Stations sending the six AQI factors every ``interval`` (simulated) seconds."""
    options: dict[str, Any] = {
        "status_every": 0,
        "drain": 40.0,
        "connect_rate": 3000.0,
        "station_detail": True,
    }
    options.update(kw)
    return FleetConfig(
        port=server.port,
        stations=stations,
        factors=load.AQI_FACTORS,
        rtd_interval=interval,
        duration=duration,
        **options,
    )


@dataclass(frozen=True, slots=True)
class Load:
    """The fleet a fault scenario runs: ``stations`` registered and sending every
    ``interval`` simulated seconds, the fault ``warmup`` s after all are connected, the
    stations stopping ``after`` s later; ``workers`` and ``overrides`` set up the server."""

    stations: int = 36_000
    interval: int = 30
    warmup: float = 30.0
    after: float = 90.0
    workers: int = 0
    time_scale: float = 1.0
    overrides: Mapping[str, Any] | None = None
    progress: load.Progress = load.quiet

    @classmethod
    def of(cls, options: Mapping[str, Any], **defaults: Any) -> Load:
        """From the CLI's keywords (those only other scenarios read, e.g. ``dsn``, are
        ignored), over a scenario's own ``defaults``."""
        names = {f.name for f in fields(cls)}
        return cls(**{**defaults, **{k: v for k, v in options.items() if k in names}})

    def result(
        self, scenario: str, fault: str, counts: Mapping[str, Any], **extra: Any
    ) -> dict[str, Any]:
        """A scenario's JSON: what ran, the fault, the frame accounting, its own figures."""
        return {
            "scenario": scenario,
            "load": f"{self.stations} stations every {self.interval} s",
            "fault": fault,
            **counts,
            **extra,
        }


def _load_up(
    server: ServerUnderTest, plan: Load, span: float, **kw: Any
) -> load.Background[FleetResult]:
    """Register the stations, run them for the ramp plus ``span`` seconds, wait until all
    are connected and ``plan.warmup`` seconds more."""
    asyncio.run(load.register(server, plan.stations))
    ramp = 20 + plan.stations / 1500
    config = fleet_config(
        server, plan.stations, plan.interval, ramp + span, time_scale=plan.time_scale, **kw
    )
    running = load.Background(lambda: run(config))
    load.wait_connected(server, plan.stations, timeout=ramp + 60, progress=plan.progress)
    time.sleep(plan.warmup)
    return running


@contextlib.contextmanager
def _under_load(
    plan: Load, span: float, **kw: Any
) -> Iterator[tuple[ServerUnderTest, load.Background[FleetResult]]]:
    """A server for ``plan`` with its fleet loaded up (:func:`_load_up`); stopped after."""
    with ServerUnderTest(settings=server_settings(plan.workers, plan.overrides)) as server:
        yield server, _load_up(server, plan, span, **kw)


def _stored_per_station(server: ServerUnderTest) -> tuple[dict[str, int], int]:
    async def query() -> tuple[dict[str, int], int]:
        import asyncpg

        conn = await asyncpg.connect(server.database_dsn)
        try:
            rows = await conn.fetch(
                "SELECT s.mn, count(*) AS n FROM packet_ledger l JOIN stations s"
                " ON s.id = l.station_id WHERE l.cn = 2011 GROUP BY 1"
            )
            dup = await conn.fetchval(
                "SELECT count(*) - count(DISTINCT (station_id, factor_id, ts))"
                " FROM measurements_rtd"
            )
            return {r["mn"]: int(r["n"]) for r in rows}, int(dup)
        finally:
            await conn.close()

    return asyncio.run(query())


def account(server: ServerUnderTest, result: FleetResult) -> dict[str, Any]:
    """Frames sent / acked / stored, lost and duplicated (see the module docstring), and
    the engine of the database they were counted in."""
    stored, duplicated = _stored_per_station(server)
    sent = acked = lost = phantom = failed = retrans = 0
    for mn, station in result.stations.items():
        counts = station["cn"].get("2011", {})
        s, a = counts.get("sent", 0), counts.get("acked", 0)
        got = stored.get(mn, 0)
        sent += s
        acked += a
        failed += counts.get("failed", 0)
        retrans += counts.get("retransmissions", 0)
        lost += max(0, a - got)
        phantom += max(0, got - s)
    return {
        "engine": server.engine,
        "sent": sent,
        "acked": acked,
        "stored": sum(stored.get(mn, 0) for mn in result.stations),  # this fleet's
        "lost": lost,
        "duplicated": duplicated,
        "not_sent_but_stored": phantom,
        "retransmissions": retrans,
        "failed_never_acked": failed,
    }


def _wait_spool_empty(server: ServerUnderTest, limit: float = 300.0) -> float | None:
    return load.wait_for(
        lambda: load.gauge(server.metrics(), "envgrid_spool_bytes") == 0, limit, 0.5
    )


# -- the database away ------------------------------------------------------------------------
def outage(*, outage_s: float = 60.0, **options: Any) -> dict[str, Any]:
    plan = Load.of(options)
    with _under_load(plan, plan.warmup + outage_s + plan.after) as (server, running):
        cluster = server.embedded()
        plan.progress(f"outage: stopping PostgreSQL for {outage_s:.0f} s")
        cluster.stop("immediate")
        peak = 0.0
        t_end = time.monotonic() + outage_s
        while time.monotonic() < t_end:
            peak = max(peak, load.gauge(server.metrics(), "envgrid_spool_bytes"))
            time.sleep(1.0)
        cluster.start()
        plan.progress("outage: PostgreSQL is back; replaying the spool")
        replay_s = _wait_spool_empty(server)
        counts = account(server, running.result())
    return plan.result(
        "outage",
        f"PostgreSQL stopped (immediate) for {outage_s:.0f} s",
        counts,
        spool_peak_bytes=int(peak),
        recovery_s=round(replay_s, 1) if replay_s is not None else None,
    )


#: as a data logger retries a lost link (a worker killed, the server restarted)
_RECONNECT = {"reconnect_min": 0.5, "reconnect_max": 5.0}


def _reconnected(
    plan: Load, server: ServerUnderTest, running: load.Background[FleetResult]
) -> tuple[float | None, dict[str, Any]]:
    """After a fault that drops every connection: seconds until the fleet is back (None
    after 120 s), then the frame accounting of the run."""
    reconnected = load.wait_connected(server, plan.stations, timeout=120, progress=plan.progress)
    return reconnected, account(server, running.result())


# -- a worker killed --------------------------------------------------------------------------
def kill_worker(**options: Any) -> dict[str, Any]:
    plan = Load.of(options)
    with _under_load(plan, plan.warmup + plan.after, **_RECONNECT) as (server, running):
        before = set(server.worker_pids())
        victim = server.kill_worker(0)
        plan.progress(f"kill-worker: SIGKILL {victim}")

        def replaced() -> bool:
            now = set(server.worker_pids())
            return victim not in now and len(now) == len(before)

        restarted = load.wait_for(replaced, 60, 0.2)
        reconnected, counts = _reconnected(plan, server, running)
    return plan.result(
        "kill-worker",
        "one ingest worker killed with SIGKILL",
        counts,
        worker_restarted_after_s=round(restarted, 1) if restarted else None,
        recovery_s=round(reconnected, 1) if reconnected else None,
    )


# -- the whole server restarted ------------------------------------------------------------------
def restart(**options: Any) -> dict[str, Any]:
    plan = Load.of(options)
    with _under_load(plan, plan.warmup + plan.after, **_RECONNECT) as (server, running):
        plan.progress("restart: stopping the server (SIGTERM, graceful)")
        t0 = time.monotonic()
        server.stop(remove=False)
        stopped = time.monotonic() - t0
        t1 = time.monotonic()
        server.start()
        startup = time.monotonic() - t1
        reconnected, counts = _reconnected(plan, server, running)
    return plan.result(
        "restart",
        "whole server stopped (graceful) and started again",
        counts,
        graceful_stop_s=round(stopped, 1),
        startup_to_accepting_s=round(startup, 1),
        recovery_s=round(reconnected + startup, 1) if reconnected else None,
        floor={"startup_to_accepting_s": 5.0},
    )


# -- the spool's disk fills up ---------------------------------------------------------------------
def disk_full(*, spool_mb: int = 8, **options: Any) -> dict[str, Any]:
    """The database is away, the spool's file system fills: acks stop (stations keep
    their frames), then space returns and the spool takes frames again; then the
    database returns and the spool drains."""
    plan = Load.of(options, stations=2000)
    stations, progress = plan.stations, plan.progress
    mount = Path(f"/tmp/envgrid-spool-{os.getpid()}")
    mount.mkdir(exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={spool_mb}m", "tmpfs", str(mount)], check=True
    )
    try:
        filler = mount / "filler"
        settings = {
            **server_settings(plan.workers, plan.overrides),
            "ingest.spool_dir": str(mount),
            "ingest.spool_fsync": "batch",
        }
        with ServerUnderTest(settings=settings) as server:
            asyncio.run(load.register(server, stations))
            config = fleet_config(
                server, stations, plan.interval, 20 + 150.0, ack_timeout=10.0, time_scale=3.0
            )
            running = load.Background(lambda: run(config))
            load.wait_connected(server, stations, timeout=60, progress=progress)
            time.sleep(10)
            free = shutil.disk_usage(mount).free
            filler.write_bytes(b"\0" * max(0, free - 512 * 1024))  # leave 512 KiB
            cluster = server.embedded()
            cluster.stop("immediate")
            progress("disk-full: database stopped, spool file system nearly full")
            full_at = load.wait_for(
                lambda: any(
                    "spool" in line and ("cannot write" in line or "exceed" in line)
                    for line in server.log_tail[-50:]
                ),
                60,
                0.5,
            )
            acked_before = load.gauge(server.metrics(), "envgrid_acks_total")
            time.sleep(15)
            acked_during = load.gauge(server.metrics(), "envgrid_acks_total") - acked_before
            filler.unlink()
            progress("disk-full: space returned")
            resumed = load.wait_for(
                lambda: (
                    load.gauge(server.metrics(), "envgrid_acks_total") > acked_before + acked_during
                ),
                60,
                0.2,
            )
            time.sleep(10)
            cluster.start()
            replay = _wait_spool_empty(server)
            counts = account(server, running.result())
            errors = [
                line.strip()
                for line in server.log_tail
                if "cannot write spool" in line or "not acked" in line
            ][-3:]
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
        shutil.rmtree(mount, ignore_errors=True)
    return plan.result(
        "disk-full",
        f"database away and the spool's {spool_mb} MB file system full",
        counts,
        spool_full_after_s=round(full_at, 1) if full_at else None,
        acks_while_full=int(acked_during),
        acks_resumed_after_space_returned_s=round(resumed, 1) if resumed else None,
        recovery_s=round(replay, 1) if replay is not None else None,
        log=errors,
    )


# -- soak --------------------------------------------------------------------------------------
def soak(*, duration: float = 300.0, **options: Any) -> dict[str, Any]:
    """RSS of every process, open files and latency over time; growth after warm-up."""
    # warm-up: a worker's RSS still rose in its first 2 minutes (60 min soak)
    plan = Load.of(options, warmup=180.0)
    with _under_load(plan, plan.warmup + duration, station_detail=False) as (server, running):
        series: list[dict[str, Any]] = []
        t0 = time.monotonic()
        last_metrics = server.metrics()
        while time.monotonic() - t0 < duration:
            time.sleep(min(30.0, duration / 10))
            metrics = server.metrics()
            pids = server.server_pids()
            series.append(
                {
                    "t_s": round(time.monotonic() - t0),
                    "rss_by_process": {p: sample([p]).rss_bytes for p in pids},
                    "open_files": {p: _open_files(p) for p in pids},
                    "postgres_rss": server.postgres_sample().rss_bytes,
                    "latency_s": load.latency_delta(last_metrics, metrics),
                }
            )
            last_metrics = metrics
        result = running.result()
    first, last = series[0], series[-1]
    growth = {}
    for pid, rss in first["rss_by_process"].items():
        end = last["rss_by_process"].get(pid)
        if end is not None and rss:
            growth[str(pid)] = round((end - rss) / rss * 100, 2)
    fds = {str(p): [s["open_files"].get(p) for s in series] for p in first["open_files"]}
    totals = result.totals["frames"]
    return plan.result(
        "soak",
        f"none — {duration / 60:.0f} minutes",
        {"engine": server.engine},
        duration_s=duration,
        rss_growth_percent=growth,
        max_rss_growth_percent=max(growth.values(), default=0.0),
        open_files=fds,
        latency_per_sample=[s["latency_s"] for s in series],
        rss_mb_per_sample={
            str(p): [round((s["rss_by_process"].get(p) or 0) / 2**20, 1) for s in series]
            for p in first["rss_by_process"]
        },
        sample_times_s=[s["t_s"] for s in series],
        sent=totals["sent"],
        acked=totals["acked"],
        floor={"rss_growth_percent": 5.0},
    )


def _open_files(pid: int) -> int | None:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None
