"""The real alert writer and case bridge behind ``envgrid bench exceedance``.

Theory of operation
-------------------
:mod:`bench.exceedance` judges one simulated day of ambient stations twice (per real-time
value, on means) and keeps the engine's transitions batch by batch, with the simulated
time of each batch.  :func:`replay` writes them into a fresh database (its own embedded
PostgreSQL unless a DSN is given, :func:`bench.db.private_database`) exactly as the
engine does — :class:`alerts.writer.AlertWriter` (alerts, ``alert_events``, severities
escalated but never lowered) — and after each batch hands every alert the batch touched to
the case bridge, :func:`web.casework.cases.bridge.on_alert_event`, as the NOTIFY listener
would: one call per alert and batch with the alert's state at the end of it (``firing`` for
a new or escalated alert, ``resolved`` for one that cleared), at the batch's simulated
time.  Alerts that were only ever pending (cancelled before firing) are not handed over:
the bridge ignores pending and has no case for them.  Stations are bridged concurrently,
each station's alerts in order.

Then it reads the outcome back from the database: cases opened, their priorities
(一般/较重/严重, 紧急), recovered and auto-closed; and it checks **one case per station
incident**: per station, the span of each case (the first data time of its first alert to
its 已恢复 time) never overlaps the next case's, and the next case started more than the
incident window after the previous one recovered (else it should have joined it).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

import asyncpg

from alerts.model import SEVERITY_ZH
from alerts.writer import AlertWriter, Transition
from bench.db import private_database
from store.db import create_pool
from store.prepare import seed_factors
from web.casework.cases.bridge import on_alert_event
from web.casework.cases.incident import PRIORITY_LABELS
from web.casework.kernel.config import CaseConfig
from web.casework.kernel.settings import CaseSettings

__all__ = ["Batch", "incident_violations", "replay"]

#: (simulated time of the batch, POSIX s; the engine's transitions of it)
Batch = tuple[float, list[Transition]]

#: small: the bench shares two cores with the database server
CONCURRENCY: Final = 4
TUNING: Final = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}

NEW_EVENTS_SQL: Final = """
SELECT alert_id, kind, to_state FROM alert_events WHERE id > $1 ORDER BY id
"""
LAST_EVENT_SQL: Final = "SELECT coalesce(max(id), 0) FROM alert_events"
CASES_SQL: Final = """
SELECT c.id, c.station_id, c.priority, c.urgent, c.reported_at, c.recovered_at,
       c.close_kind, c.is_open,
       (SELECT min(a.first_seen) FROM case_alert_links l JOIN alerts a ON a.id = l.alert_id
        WHERE l.case_id = c.id AND l.state = 'firing') AS first_seen,
       (SELECT count(*) FROM case_alert_links l
        WHERE l.case_id = c.id AND l.state = 'firing'
          AND l.outcome IN ('opened', 'attached')) AS alerts
FROM cases c WHERE c.source = 'alert' ORDER BY c.station_id, c.reported_at, c.id
"""
FIRED_SQL: Final = "SELECT severity, count(*) FROM alerts WHERE fired_at IS NOT NULL GROUP BY 1"
#: the most open, not yet recovered alert cases one station has (at the end)
OPEN_MAX_SQL: Final = """
SELECT coalesce(max(n), 0) FROM (
    SELECT count(*) AS n FROM cases
    WHERE source = 'alert' AND is_open AND recovered_at IS NULL GROUP BY station_id) s
"""


async def _seed(
    conn: asyncpg.Connection, stations: int, codes: Sequence[str]
) -> tuple[dict[int, int], dict[int, int]]:
    """The simulated stations (ids 1..N) and factors (1..k, in ``codes`` order) → the
    database's ids."""
    rows = await conn.fetch(
        "INSERT INTO stations (mn, name, st, lat, lon, region)"
        " SELECT format('SIM%s', lpad(i::text, 9, '0')), format('站点%s', i), '22',"
        "        30.0 + (i % 100) * 0.01, 120.0 + (i / 100) * 0.01, '模拟区'"
        " FROM generate_series(1, $1) AS i RETURNING id, mn",
        stations,
    )
    station_ids = {int(r["mn"][3:]): int(r["id"]) for r in rows}
    await seed_factors(conn)  # idempotent: a test's database may have none yet
    factor_rows = await conn.fetch("SELECT code, id FROM factors WHERE code = ANY($1)", codes)
    by_code = {r["code"]: int(r["id"]) for r in factor_rows}
    return station_ids, {k + 1: by_code[code] for k, code in enumerate(codes)}


def _translated(
    batch: list[Transition], stations: dict[int, int], factors: dict[int, int]
) -> list[Transition]:
    out = []
    for tr in batch:
        station = stations[int(tr.key[1][8:])]
        key = (tr.key[0], f"station:{station}", factors[tr.key[2]])
        out.append(dataclasses.replace(tr, key=key, station_id=station))
    return out


async def _bridge(
    pool: asyncpg.Pool,
    calls: list[tuple[int, int, str]],
    config: CaseConfig,
    now: datetime,
    outcomes: Counter[str],
) -> None:
    """(station, alert, state) calls of one batch: stations concurrently, each in order."""
    by_station: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for station, alert, state in calls:
        by_station[station].append((alert, state))
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(items: list[tuple[int, str]]) -> None:
        async with gate:
            for alert, state in items:
                result = await on_alert_event(pool, alert, state, config, now=now)
                outcomes[f"{state}:{result.outcome}"] += 1

    await asyncio.gather(*(one(items) for items in by_station.values()))


async def _calls(
    conn: asyncpg.Connection, last: int, fired: set[int], station_of: dict[int, int]
) -> tuple[list[tuple[int, int, str]], int]:
    """What the listener gets for the events after id ``last``: per alert, its state at
    the end of the batch (only alerts that ever fired)."""
    rows = await conn.fetch(NEW_EVENTS_SQL, last)
    final: dict[int, str] = {}
    for r in rows:
        if r["kind"] in ("firing", "escalated"):
            fired.add(r["alert_id"])
        if r["to_state"]:
            final[r["alert_id"]] = r["to_state"]
    if rows:
        last = int(await conn.fetchval(LAST_EVENT_SQL))
    missing = [a for a in final if a not in station_of]
    if missing:
        for r in await conn.fetch("SELECT id, station_id FROM alerts WHERE id = ANY($1)", missing):
            station_of[r["id"]] = r["station_id"]
    calls = [
        (station_of[a], a, "resolved" if s == "resolved" else "firing")
        for a, s in final.items()
        if a in fired and s in ("firing", "acknowledged", "resolved")
    ]
    return calls, last


def incident_violations(cases: Sequence[asyncpg.Record | dict[str, Any]], window: timedelta) -> int:
    """Cases that break "one case per station incident": a case of a station that started
    while the previous one was still active, or within ``window`` after it recovered."""
    bad = 0
    previous: dict[int, Any] = {}
    for case in sorted(cases, key=lambda c: (c["station_id"], c["first_seen"] or c["reported_at"])):
        before = previous.get(case["station_id"])
        start = case["first_seen"] or case["reported_at"]
        if before is not None and (
            before["recovered_at"] is None or start - before["recovered_at"] <= window
        ):
            bad += 1
        previous[case["station_id"]] = case
    return bad


async def replay(
    batches: Sequence[Batch],
    stations: int,
    codes: Sequence[str],
    timezone: str,
    *,
    dsn: str | None = None,
    database: str | None = None,
    window_minutes: int = 120,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Write ``batches`` through the alert writer and the case bridge; the cases made.
    ``database``: a migrated, empty database to write into (a test's); else a scratch
    database on ``dsn``'s server, or on a throwaway embedded one."""
    clock = time.perf_counter()
    tz = ZoneInfo(timezone)
    with tempfile.TemporaryDirectory(prefix="envgrid-bench-cases-") as files:
        config = CaseConfig(
            CaseSettings(incident_window_minutes=window_minutes), timezone, Path(files)
        )
        async with contextlib.AsyncExitStack() as stack:
            if database is None:
                scratch = private_database(dsn, label="exceedance", tuning=TUNING)
                database = await stack.enter_async_context(scratch)
            pool = await create_pool(database, min_size=2, max_size=CONCURRENCY + 1)
            try:
                return await _run(pool, batches, stations, codes, tz, config, clock, progress)
            finally:
                await pool.close()
        raise AssertionError("unreachable")  # for mypy: the block returns or raises


async def _run(
    pool: asyncpg.Pool,
    batches: Sequence[Batch],
    stations: int,
    codes: Sequence[str],
    tz: ZoneInfo,
    config: CaseConfig,
    clock: float,
    progress: Callable[[str], None] | None,
) -> dict[str, Any]:
    writer = AlertWriter()
    outcomes: Counter[str] = Counter()
    fired: set[int] = set()
    station_of: dict[int, int] = {}
    async with pool.acquire() as conn:
        station_ids, factor_ids = await _seed(conn, stations, codes)
        last = int(await conn.fetchval(LAST_EVENT_SQL))
    ready = time.perf_counter()
    step = max(1, len(batches) // 10)
    for n, (at, batch) in enumerate(batches, 1):
        if progress is not None and n % step == 0:
            made = sum(outcomes.values())
            progress(f"exceedance cases: batch {n:,} of {len(batches):,}, {made:,} bridge"
                     f" calls, {time.perf_counter() - ready:.0f} s")  # fmt: skip
        async with pool.acquire() as conn:
            await writer.apply(conn, _translated(batch, station_ids, factor_ids), now=at)
            calls, last = await _calls(conn, last, fired, station_of)
        await _bridge(pool, calls, config, datetime.fromtimestamp(at, tz), outcomes)
    async with pool.acquire() as conn:
        cases = await conn.fetch(CASES_SQL)
        severities = {r[0]: r[1] for r in await conn.fetch(FIRED_SQL)}
        open_max = int(await conn.fetchval(OPEN_MAX_SQL))
    window = timedelta(minutes=config.cases.incident_window_minutes)
    priorities = Counter(PRIORITY_LABELS[c["priority"]] for c in cases)
    per_station = Counter(c["station_id"] for c in cases)
    return {
        "alerts_fired": sum(severities.values()),
        "alert_severity": {SEVERITY_ZH.get(k, k): v for k, v in sorted(severities.items())},
        "cases": len(cases),
        "case_priority": {p: priorities[p] for p in ("一般", "较重", "严重") if priorities[p]},
        "cases_urgent": sum(1 for c in cases if c["urgent"]),
        "cases_recovered": sum(1 for c in cases if c["recovered_at"] is not None),
        "cases_auto_closed": sum(1 for c in cases if c["close_kind"] == "auto_recovered"),
        "alerts_per_case_max": max((int(c["alerts"]) for c in cases), default=0),
        "stations_with_cases": len(per_station),
        "incident_violations": incident_violations(cases, window),
        "open_unrecovered_per_station_max": open_max,
        "bridge_calls": dict(sorted(outcomes.items())),
        "setup_s": round(ready - clock, 2),
        "seconds": round(time.perf_counter() - clock, 2),
    }
