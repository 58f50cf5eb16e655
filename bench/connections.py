"""The ``connections`` scenario: ramp to N idle station connections, hold them, and say
what they cost (issue 23 point 3: 100,000 on one host, ≤ 10 KB of server memory each).

Theory of operation
-------------------
:func:`prepare` plans the run (:func:`bench.capacity.hold_plan`: server workers from the
open-files limit unless ``--workers`` is given, simulator processes, loopback source
addresses) and refuses, before anything starts, a run a kernel limit would stop
(:func:`bench.capacity.check_limits`).  :func:`measure` then, on a started server:

1. registers the stations and waits until the server's memory settles (the workers
   reload the registry on the NOTIFY): the *before* figures;
2. starts the simulators (each station connects, sends one frame, then stays idle) and
   samples once a second until the ``envgrid_station_sessions`` gauge reaches N —
   connections, sessions, the server's PSS, TCP sockets in use: the ramp series;
3. holds ``hold`` seconds: idle CPU of the server and PostgreSQL over the hold; then the
   *held* figures — the server's RSS/PSS/USS (all its processes, :mod:`bench.sockmem`),
   kernel socket buffers (``sockstat``, both sides; ``ss -tm`` per side) and the socket
   slab caches; per connection = (held − before) ÷ N;
4. stops the simulators (:func:`simulators.run`'s ``stop``) and returns the figures.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from simulators import FleetConfig, FleetResult, run

from . import load
from .capacity import HoldPlan, LimitCheck, check_limits, hold_plan, read_limits, refuse
from .proc import cores_between, cpu_by_pid
from .server import ServerUnderTest
from .sockmem import ProcMemory, process_memory, side_buffers, slab_bytes, sockstat

__all__ = ["CONNECT_RATE", "connection_lines", "measure", "plot_ramp", "prepare"]

#: connects per second the simulators offer (all processes together)
CONNECT_RATE = 2000.0
#: a station's connect and ack timeouts (real s): a shared 2-core host under a ramp of
#: 100,000 is slow to accept at moments, and a logger that gives up and retries only
#: adds connects to the queue it waits in
PATIENCE_S = 30.0
_PAGE = os.sysconf("SC_PAGE_SIZE")
#: the server's memory has settled when it moved less than this over :data:`_SETTLE_S`
_SETTLE_BYTES = 1 << 20
_SETTLE_S = 3.0


class Sampler(Protocol):
    """What :func:`measure` needs of the scenarios' sampler (:mod:`bench.scenarios`)."""

    def take(self) -> tuple[float, Any, Any]: ...

    def cpu_between(self, t0: float, t1: float) -> dict[str, float]: ...


def prepare(
    stations: int, *, workers: int = 0, overrides: Mapping[str, Any] | None = None
) -> tuple[HoldPlan, list[LimitCheck]]:
    """The plan of the run and the limits it meets; :class:`~bench.capacity.LimitError`
    when one of them stops it."""
    per_worker = int((overrides or {}).get("ingest.max_connections_per_worker", 0) or 0)
    limits = read_limits()
    plan = hold_plan(stations, limits, workers=workers, per_worker=per_worker)
    checks = check_limits(plan, limits, CONNECT_RATE)
    refuse(checks)
    return plan, checks


def _settle(server: ServerUnderTest, limit: float = 30.0) -> ProcMemory:
    """The server's memory once it stopped moving (at most ``limit`` s)."""
    end = time.monotonic() + limit
    history = [process_memory(server.server_pids())]
    while time.monotonic() < end:
        time.sleep(0.5)
        history.append(process_memory(server.server_pids()))
        window = history[-int(_SETTLE_S / 0.5) - 1 :]
        if len(window) > _SETTLE_S / 0.5 and (
            max(m.pss for m in window) - min(m.pss for m in window) < _SETTLE_BYTES
        ):
            break
    return history[-1]


def _open_files(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def _ramp(
    server: ServerUnderTest, stations: int, timeout: float, progress: load.Progress
) -> tuple[float | None, list[list[float]]]:
    """Seconds until ``stations`` sessions are up (None after ``timeout``) and the series
    [t, connections, sessions, server PSS bytes, TCP sockets in use], one a second."""
    series: list[list[float]] = []
    start = time.monotonic()
    last = -1.0
    while True:
        t = time.monotonic() - start
        metrics = server.metrics()
        sessions = load.gauge(metrics, "envgrid_station_sessions")
        conns = load.gauge(metrics, "envgrid_connections")
        pss = process_memory(server.server_pids()).pss
        series.append([round(t, 1), conns, sessions, pss, sockstat().get("inuse", 0)])
        if sessions != last:
            progress(f"  {int(sessions)} stations connected ({int(conns)} connections)")
            last = sessions
        if sessions >= stations:
            return t, series
        if t > timeout:
            return None, series
        time.sleep(max(0.0, 1.0 - (time.monotonic() - start - t)))


def _cpu_by_pid(server: ServerUnderTest) -> dict[str, dict[int, float]]:
    """CPU seconds of each server and PostgreSQL process (its embedded cluster's only)."""
    return {
        "server": cpu_by_pid(server.server_pids()),
        "postgres": cpu_by_pid(server.postgres_pids()),
    }


def _kernel(stat: Mapping[str, int], slab: Mapping[str, int]) -> dict[str, Any]:
    return {
        "tcp_sockets_in_use": stat.get("inuse", 0),
        "tcp_buffer_bytes": stat.get("mem", 0) * _PAGE,
        "slab_bytes": dict(slab),
    }


def _per(delta: int | float, n: int) -> int:
    return round(delta / max(n, 1))


def measure(
    server: ServerUnderTest,
    sampler: Sampler,
    plan: HoldPlan,
    *,
    hold: float = 30.0,
    simulate: Mapping[str, Any] | None = None,
    progress: load.Progress = load.quiet,
) -> tuple[dict[str, Any], FleetResult, FleetConfig]:
    """Steps 1–4 of the module docstring on a started ``server``."""
    n = plan.stations
    ramp_limit = 60.0 + n / 1000
    config = FleetConfig(
        **(simulate or {}),
        port=server.port,
        stations=n,
        realtime=False,
        status_every=0,
        duration=ramp_limit + hold + 30.0,  # a bound: stopped once measured
        max_frames=None,
        drain=2.0,
        connect_rate=CONNECT_RATE,
        connect_timeout=PATIENCE_S,
        ack_timeout=PATIENCE_S,
        station_detail=False,
        per_process=plan.per_process,
        per_address=plan.per_address,
    )
    load.register_fleet(server, config)
    before = _settle(server)
    stat0, slab0 = sockstat(), slab_bytes()
    progress(
        f"connections: ramping to {n} stations ({plan.workers} workers, {plan.processes}"
        f" simulator processes, {plan.addresses} source addresses), holding {hold:.0f} s"
    )
    stop = threading.Event()
    running = load.Background(lambda: run(config, stop=stop))
    try:
        up_at, series = _ramp(server, n, ramp_limit, progress)
        t0 = sampler.take()[0]
        cpu0 = _cpu_by_pid(server)
        time.sleep(hold)
        cpu1 = _cpu_by_pid(server)
        t1 = sampler.take()[0]
        metrics = server.metrics()
        held = process_memory(server.server_pids())
        workers = [(process_memory([p]).pss, _open_files(p)) for p in server.worker_pids()]
        stat1, slab1 = sockstat(), slab_bytes()
        sides = side_buffers(server.port)
    finally:
        stop.set()
        result = running.result()
    sessions = int(load.gauge(metrics, "envgrid_station_sessions"))
    grown = held - before
    slab_delta = {k: slab1.get(k, 0) - slab0.get(k, 0) for k in slab1}
    kernel: dict[str, Any] = {
        "before": _kernel(stat0, slab0),
        "held": _kernel(stat1, slab1),
        # both sides are on this host: every figure here covers 2 × N sockets
        "tcp_buffer_bytes_per_connection_both_sides": _per(
            (stat1.get("mem", 0) - stat0.get("mem", 0)) * _PAGE, n
        ),
        "slab_bytes_per_socket": _per(sum(slab_delta.values()), 2 * n),
    }
    if sides is not None:
        server_side, client_side = sides
        kernel["buffers_server_side"] = {
            "sockets": server_side.sockets,
            "bytes": server_side.bytes,
            "per_socket": _per(server_side.bytes, server_side.sockets),
        }
        kernel["buffers_simulator_side"] = {
            "sockets": client_side.sockets,
            "bytes": client_side.bytes,
            "per_socket": _per(client_side.bytes, client_side.sockets),
        }
    out: dict[str, Any] = {
        "plan": plan.to_json(),
        "connections_held": sessions,
        "station_sessions_reached": sessions >= n,
        "all_connected_after_s": round(up_at, 1) if up_at is not None else None,
        "connect_rate_per_s": round(n / up_at) if up_at else None,
        "connect_rate_offered_per_s": CONNECT_RATE,
        "server_memory": {
            "processes": held.processes,
            "before": {"rss": before.rss, "pss": before.pss, "uss": before.uss},
            "held": {"rss": held.rss, "pss": held.pss, "uss": held.uss},
            "per_connection_bytes": {
                "rss": _per(grown.rss, n),
                "pss": _per(grown.pss, n),
                "uss": _per(grown.uss, n),
            },
            "workers": [{"pss": pss, "open_files": files} for pss, files in sorted(workers)],
        },
        "server_pss_per_connection_bytes": _per(grown.pss, n),
        "kernel_memory": kernel,
        "idle_cpu": {
            **sampler.cpu_between(t0, t1),
            **{
                f"{k}_cores": cores_between(cpu0[k], cpu1[k], t1 - t0)
                for k in ("server", "postgres")
            },
        },
        "hold_s": hold,
    }
    if sessions < n:
        out["limited_by"] = _shortfall(sessions, n, metrics, result)
        out["server_log_tail"] = [line.rstrip() for line in server.log_tail[-40:]]
    out["ramp"] = {"columns": ["t_s", "connections", "sessions", "server_pss", "tcp_inuse"]}
    out["ramp"]["series"] = series
    return out, result, config


def _shortfall(held: int, n: int, metrics: str, result: FleetResult) -> str:
    """What the run says of why fewer than ``n`` stations were held."""
    conns = result.to_json().get("totals", {}).get("connections", {})
    refusals = [
        line
        for line in metrics.splitlines()
        if line.startswith("envgrid_frame_errors") and not line.endswith(" 0.0")
    ]
    return (
        f"{held} of {n} sessions; simulators: {conns.get('connect_failures')} connect failures,"
        f" {conns.get('lost')} lost, peak {conns.get('peak_up')} up; workers not accepting:"
        f" {int(load.gauge(metrics, 'envgrid_workers_not_accepting'))}; server refusals:"
        f" {'; '.join(refusals) or 'none'}"
    )


def _kib(value: Any) -> str:
    return "" if value is None else f"{value / 1024:,.2f} KiB"


def _or_not(value: Any, unit: str) -> str:
    return "not reached" if value is None else f"{value:,}{unit}"


def connection_lines(r: Mapping[str, Any]) -> list[str]:
    """The Markdown table of a connections result (``bench.report``)."""
    mem = r.get("server_memory") or {}
    per = mem.get("per_connection_bytes") or {}
    kernel = r.get("kernel_memory") or {}
    cpu = r.get("idle_cpu") or {}
    plan = r.get("plan") or {}
    sim = (r.get("simulator") or {}).get("connections") or {}
    n = r.get("stations", 0)
    server_side = (kernel.get("buffers_server_side") or {}).get("per_socket")
    client_side = (kernel.get("buffers_simulator_side") or {}).get("per_socket")
    rows = [
        (
            "stations held (sessions gauge)",
            f"{r.get('connections_held', 0):,} of {n:,}",
        ),
        (
            "split",
            f"{plan.get('workers')} ingest workers; {plan.get('processes')} simulator processes;"
            f" {plan.get('addresses')} source addresses",
        ),
        ("all connected after", _or_not(r.get("all_connected_after_s"), " s")),
        (
            "connect rate (from the simulators' start)",
            _or_not(r.get("connect_rate_per_s"), " /s")
            + f" (offered {_or_not(r.get('connect_rate_offered_per_s'), ' /s')};"
            f" simulators all connected after {_or_not(sim.get('all_connected_after_s'), ' s')})",
        ),
        (
            "server memory per connection (all processes)",
            f"PSS {_kib(per.get('pss'))} · USS {_kib(per.get('uss'))} · RSS {_kib(per.get('rss'))}",
        ),
        (
            "kernel, per socket (either side)",
            f"slab {_kib(kernel.get('slab_bytes_per_socket'))} · buffers server side"
            f" {_kib(server_side)}, simulator side {_kib(client_side)}",
        ),
        (
            "kernel TCP buffers (sockstat, both sides)",
            _kib(kernel.get("tcp_buffer_bytes_per_connection_both_sides")) + " per connection",
        ),
        (
            "idle CPU",
            f"server {cpu.get('server_cores')} cores · PostgreSQL {cpu.get('postgres_cores')}"
            f" · machine {cpu.get('machine_busy_cores')}",
        ),
    ]
    if r.get("limited_by"):
        rows.append(("limited by", str(r["limited_by"])))
    return ["| connections | |", "|---|---|", *(f"| {a} | {b} |" for a, b in rows), ""]


def plot_ramp(name: str, r: Mapping[str, Any], out: Path, plt: Any) -> str | None:
    """Connections held and server PSS over the ramp (PNG in ``out``); its file name."""
    series = (r.get("ramp") or {}).get("series") or []
    if len(series) < 2:
        return None
    t = [row[0] for row in series]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(t, [row[1] for row in series], label="connections")
    ax.plot(t, [row[2] for row in series], label="station sessions")
    ax.set_xlabel("s since the simulators started")
    ax.set_ylabel("held")
    mem = ax.twinx()
    mem.plot(t, [row[3] / 2**20 for row in series], color="tab:red", label="server PSS")
    mem.set_ylabel("server PSS (MiB)")
    ax.set_title(f"{name}: ramp to {r.get('stations', 0):,} connections")
    handles = ax.get_legend_handles_labels()
    extra = mem.get_legend_handles_labels()
    ax.legend(handles[0] + extra[0], handles[1] + extra[1], loc="lower right")
    fig.tight_layout()
    image = f"{name.replace('@', '-')}-ramp.png"
    fig.savefig(out / image, dpi=110)
    plt.close(fig)
    return image
