"""``envgrid bench scale-out``: several hosts on one database, and the leader killed.

Three ``envgrid serve`` instances on this machine share one PostgreSQL (a throwaway
embedded cluster, or a new database on ``--dsn``), each with its own data directory:

* host **c** ``--role alerts`` starts first and leads (the alert engine and the scheduled
  jobs, elected through an advisory lock — :mod:`store.cluster`);
* hosts **a** and **b** ``--role ingest,alerts`` share ONE HJ 212 port (SO_REUSEPORT
  across the two hosts: the kernel spreads the stations as a TCP load balancer would)
  and stand by for the leadership.

Simulated stations send to the shared port; silent stations go offline one after
another across the kill, so offline alerts are notified to a local webhook receiver
throughout.  In
the middle of the run host c is killed with SIGKILL (supervisor and children at once).
Reported: frames sent / acked / stored / lost / duplicated (:func:`bench.faults.account`),
the failover time (kill → the new leader's "leadership gained"), which host took over,
and the notifications: queued, delivered, delivered twice (same X-Envgrid-Notification),
and in flight at the kill (claimed by the dead leader, not marked sent).  Bounded: about
a minute with the start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any, Final, cast

from aiohttp import web

from alerts import api
from simulators import FleetResult, run
from store.db import connect
from store.engine import EngineChoice
from store.secretbox import SecretBox
from store.stations import NewStation, add_stations

from . import load
from .db import free_port, private_database
from .faults import account, fleet_config
from .server import ServerUnderTest

__all__ = ["OFFLINE_SQL", "WebhookCounter", "counting_receiver", "scale_out"]

#: short election intervals: a standby polls every second, the leader checks every second
_FAST: Final[dict[str, Any]] = {
    "cluster.leader_retry_s": 1.0,
    "cluster.leader_heartbeat_s": 1.0,
    "alerts.offline_after_s": 60,
    "alerts.sweep_interval_s": 1.0,
    "alerts.dispatch_interval_s": 0.2,
    "alerts.group_wait_s": 0.2,
    "alerts.group_interval_s": 0.5,
    "alerts.inhibit_min_stations": 100_000,
    "alerts.max_messages_per_receiver": 10_000,  # one receiver gets every message here
    "alerts.webhook_allowed_networks": "127.0.0.0/8",
}
#: simulated seconds per real second: a station sends every 10 s of real time
_TIME_SCALE: Final = 3.0
#: Stations ($1: MNs) silent for two minutes, as the ingest workers would record it.
OFFLINE_SQL: Final = """
INSERT INTO station_state (station_id, connected, worker, last_data_at, last_frame_at,
                           disconnected_at)
SELECT id, false, 1, now() - interval '120 s', now() - interval '120 s',
       now() - interval '120 s'
  FROM stations WHERE mn = ANY($1::text[])
ON CONFLICT (station_id) DO UPDATE SET connected = false, last_data_at = EXCLUDED.last_data_at,
    disconnected_at = EXCLUDED.disconnected_at
"""
_IN_FLIGHT_SQL: Final = "SELECT id FROM alert_notifications WHERE status = 'sending'"
_OUTBOX_SQL: Final = "SELECT id, status FROM alert_notifications"


class WebhookCounter:
    """A local webhook receiver: the X-Envgrid-Notification of every delivery (also the
    receiver of tests/envgrid/test_scale_out.py)."""

    def __init__(self) -> None:
        self.idents: list[str] = []
        self.url = ""

    async def receive(self, request: web.Request) -> web.Response:
        await request.read()
        self.idents.append(request.headers.get("X-Envgrid-Notification", ""))
        return web.json_response({"ok": True})


@contextlib.asynccontextmanager
async def counting_receiver() -> AsyncIterator[tuple[WebhookCounter, str]]:
    receiver = WebhookCounter()
    app = web.Application()
    app.router.add_post("/hook", receiver.receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    receiver.url = f"http://127.0.0.1:{port}/hook"
    try:
        yield receiver, receiver.url
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def _removed(path: Path) -> AsyncIterator[None]:
    try:
        yield
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _gained(host: ServerUnderTest) -> int:
    return sum("leadership gained" in line for line in [*host.log_tail, host.banner])


async def _go_offline(dsn: str, mns: list[str], every_s: float) -> None:
    """Mark the stations offline (silent for 2 minutes) one by one, ``every_s`` apart."""
    conn = await connect(dsn)
    try:
        for mn in mns:
            await conn.execute(OFFLINE_SQL, [mn])
            await asyncio.sleep(every_s)
    finally:
        await conn.close()


async def _until(check: Any, limit: float, every: float = 0.1) -> float | None:
    """Seconds until ``check()`` is true, None after ``limit``."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if check():
            return time.monotonic() - start
        await asyncio.sleep(every)
    return None


async def _run(
    *,
    stations: int,
    silent: int,
    interval: int,
    before_s: float,
    after_s: float,
    dsn: str | None,
    overrides: Mapping[str, Any],
    progress: load.Progress,
) -> dict[str, Any]:
    engine = cast(EngineChoice, overrides.get("database.engine", "auto"))
    tmp = Path(tempfile.mkdtemp(prefix="envgrid-bench-scale-out-"))
    async with (
        private_database(dsn, label="scaleout", tuning={}, engine=engine) as db,
        counting_receiver() as (receiver, url),
        _removed(tmp),
    ):
        key = tmp / "secret.key"
        SecretBox.from_file(key)  # one key file for every host
        port = free_port()
        common = {**_FAST, **overrides, "core.secret_key_file": key, "ingest.workers": 1}

        def host(name: str, roles: str) -> ServerUnderTest:
            settings = {**common, "cluster.node_name": name}
            return ServerUnderTest(
                settings=settings, dsn=db, roles=roles, data_dir=tmp / name, port=port
            )

        hosts = {"c": host("c", "alerts"), "a": host("a", "ingest,alerts")}
        hosts["b"] = host("b", "ingest,alerts")
        quiet = [
            NewStation(f"SO{i:022d}", "123456", f"离线站{i}", "22", 30.2, 120.1, f"区{i % 50}")
            for i in range(silent)
        ]
        conn = await connect(db)
        try:
            await load.register(hosts["a"], stations)
            await add_stations(conn, quiet)
            rid = await api.create_receiver(conn, name="值班", kind="webhook", address=url)
            await api.add_responsibility(conn, receiver_id=rid, role="maintainer", scope="all")
            await asyncio.to_thread(hosts["c"].start)
            await _until(lambda: _gained(hosts["c"]) > 0, 30)
            await asyncio.gather(*(asyncio.to_thread(hosts[n].start) for n in "ab"))
            progress(f"scale-out: 3 hosts up; {stations} stations on port {port}")
            started = time.monotonic()
            config = fleet_config(
                hosts["a"],
                stations,
                interval,
                before_s + after_s + 5,
                drain=3.0,
                time_scale=_TIME_SCALE,
            )
            fleet: asyncio.Future[FleetResult] = asyncio.ensure_future(
                asyncio.to_thread(run, config)
            )
            # one silent station goes offline after another, across the kill
            trickle = asyncio.ensure_future(
                _go_offline(db, [s.mn for s in quiet], (before_s + after_s / 2) / silent)
            )
            await asyncio.sleep(before_s)
            before = {n: _gained(h) for n, h in hosts.items()}
            held = {
                n: load.gauge(await asyncio.to_thread(hosts[n].metrics), "envgrid_connections")
                for n in "ab"
            }
            killed = time.monotonic()
            await asyncio.to_thread(hosts["c"].kill_all)
            in_flight = {f"envgrid-{r[0]}" for r in await conn.fetch(_IN_FLIGHT_SQL)}
            delivered_before = len(receiver.idents)
            progress(f"scale-out: SIGKILL host c (the leader), {delivered_before} delivered")
            took = await _until(lambda: any(_gained(hosts[n]) > before[n] for n in "ab"), 30)
            failover = None if took is None else time.monotonic() - killed  # from the kill
            new_leader = next((n for n in "ab" if _gained(hosts[n]) > before[n]), None)
            progress(f"scale-out: host {new_leader} leads after {failover or 0:.1f} s")
            result = await fleet
            await trickle
            rows: list[Any] = []

            def settled() -> bool:
                return bool(rows) and all(r["status"] == "sent" for r in rows)

            async def poll() -> None:
                for _ in range(100):
                    rows[:] = await conn.fetch(_OUTBOX_SQL)
                    if settled() and len(rows) >= silent:
                        return
                    await asyncio.sleep(0.2)

            await poll()
            await asyncio.sleep(0.5)  # a late duplicate would arrive now
            counts = Counter(receiver.idents)
            frames = await asyncio.to_thread(account, hosts["a"], result)
            ended = time.monotonic()
            spread = await conn.fetch(
                "SELECT split_part(application_name, ' ', 1) AS app, count(*) AS n"
                " FROM pg_stat_activity WHERE datname = current_database() GROUP BY 1"
            )
        finally:
            await conn.close()
            await asyncio.gather(*(asyncio.to_thread(h.stop) for h in hosts.values()))
    sent_ids = {f"envgrid-{r['id']}" for r in rows if r["status"] == "sent"}
    return {
        "scenario": "scale-out",
        "load": f"{stations} stations every {interval / _TIME_SCALE:g} s (real) on 2 ingest"
        " hosts, one port",
        "fault": "the leader host (alerts role) killed with SIGKILL",
        **frames,
        "recovery_s": round(failover, 1) if failover is not None else None,
        "failover_s": round(failover, 2) if failover is not None else None,
        "new_leader": new_leader,
        "takeover_within_30_s": failover is not None and failover <= 30,
        "killed_after_s": round(before_s, 1),
        "connections_per_ingest_host": held,
        "notifications": {
            "queued": len(rows),
            "sent": len(sent_ids),
            "delivered": len(receiver.idents),
            "delivered_before_kill": delivered_before,
            "distinct_delivered": len(counts),
            "delivered_twice": sorted(k for k, n in counts.items() if n > 1),
            "in_flight_at_kill": sorted(in_flight),
            "never_delivered": sorted(sent_ids - set(counts)),
        },
        "connections_at_end": {r["app"]: r["n"] for r in spread},
        "run_s": round(ended - started, 1),
    }


def scale_out(
    *,
    stations: int = 2000,
    silent: int = 40,
    interval: int = 30,
    before_s: float = 10.0,
    after_s: float = 10.0,
    dsn: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    progress: load.Progress = load.quiet,
    **_: Any,
) -> dict[str, Any]:
    """Run the scenario (see the module docstring); the CLI's other keywords
    (``workers`` …) do not apply: every ingest host runs one worker."""
    return asyncio.run(
        _run(
            stations=stations,
            silent=silent,
            interval=interval,
            before_s=before_s,
            after_s=after_s,
            dsn=dsn,
            overrides=overrides or {},
            progress=progress,
        )
    )
