"""Web benchmark: the map data endpoint for 36,000 stations and one station's 24 h chart
data, through the real aiohttp app over loopback HTTP.

``envgrid bench web [--stations 36000] [--repeat 15] [--dsn ADMIN_DSN] [--json FILE]``

A private database (a throwaway embedded cluster, or a fresh database on ``--dsn``'s
server) gets N air stations with coordinates and latest values (all online), official
hourly values of the last complete hour for 90 % of them (the map's hourly AQI; the rest
fall back to their latest values), and one station with 24 h of real-time data (11
factors every 30 s = 31,680 rows).  The app runs on a loopback port; requests carry an
admin API token.  Times are client-side (request sent → body read and parsed), median and
p95 of ``--repeat`` runs after one warm-up:

* ``map`` — ``GET /api/v1/map/stations`` with the document cache off
  (``web.map_cache_s = 0``: every request reads the live state and recomputes what
  changed; target ≤ 150 ms).  Before each timed request ``--churn`` stations get new
  latest values (default 2,400: 36,000 stations every 30 s, a map refresh every 2 s),
  outside the timing; ``map_cold`` is the first call (station facts, the hour's values
  and every station's AQI computed);
* ``map_cached`` — the same with ``web.map_cache_s = 2`` (the production default);
* ``station_24h`` — ``GET /api/v1/stations/{id}/series?view=day`` (target ≤ 50 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import aiohttp
import asyncpg
import orjson
from aiohttp import web

from bench.db import free_port, private_database
from store.config import SettingsLoader
from store.db import connect
from store.engine import detect_engine
from store.migrate import migrate
from store.partitions import ensure_ahead
from store.prepare import seed_factors
from web.settings import WebConfig

TARGETS: Final = {"map": 150.0, "station_24h": 50.0}
TUNING: Final = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "256MB",
}
STATIONS_SQL: Final = """
INSERT INTO stations (mn, password, name, st, lat, lon, region, expected_factors, approved_at)
SELECT 'BENCH' || lpad(i::text, 8, '0'), 'pw', '站点' || i, '22',
       30.0 + (i % 300) * 0.002, 120.0 + (i / 300) * 0.003, 'R' || lpad((i % 12 + 1)::text, 2, '0'),
       '{a21026,a21004,a21005,a05024,a34002,a34004}', now()
FROM generate_series(1, $1) AS i
"""
STATE_SQL: Final = """
INSERT INTO station_state (station_id, connected, last_frame_at, last_data_at, last_data_time,
                           latest)
SELECT id, true, now(), now(), date_trunc('minute', now()),
       jsonb_build_object(
         'a21026', jsonb_build_object('v', 5 + id % 20, 'f', 'N'),
         'a21004', jsonb_build_object('v', 20 + id % 60, 'f', 'N'),
         'a21005', jsonb_build_object('v', round((0.4 + (id % 10) / 10.0)::numeric, 1), 'f', 'N'),
         'a05024', jsonb_build_object('v', 40 + id % 120, 'f', 'N'),
         'a34002', jsonb_build_object('v', 30 + id % 150, 'f', 'N'),
         'a34004', jsonb_build_object('v', 10 + id % 200, 'f', CASE WHEN id % 50 = 0 THEN 'D'
                                                                 ELSE 'N' END),
         'a01001', jsonb_build_object('v', 18.5, 'f', 'N'))
FROM stations
"""
HOURLY_SQL: Final = """
INSERT INTO measurements_hour (station_id, factor_id, ts, value, flag)
SELECT s.id, f.id, date_trunc('hour', now()) - interval '1 hour',
       CASE WHEN f.code = 'a21005' THEN 0.5 + (s.id % 10) / 10.0 ELSE 10 + (s.id + f.id) % 120 END,
       'N'
FROM stations s, factors f
WHERE f.code = ANY('{a21026,a21004,a21005,a05024,a34002,a34004}') AND s.id % 10 <> 0
"""
CHURN_SQL: Final = """
UPDATE station_state SET last_data_at = now(), last_frame_at = now(),
       last_data_time = last_data_time + interval '30 seconds',
       latest = jsonb_set(latest, '{a34004,v}', to_jsonb(10 + (station_id + $2) % 200))
WHERE station_id IN (SELECT id FROM stations ORDER BY random() LIMIT $1)
"""
SERIES_SQL: Final = """
INSERT INTO measurements_rtd (station_id, factor_id, ts, value, flag)
SELECT $1, f.id, t, 20 + 10 * sin(extract(epoch FROM t) / 3600.0 + f.id), 'N'
FROM generate_series(now() - interval '24 hours', now(), interval '30 seconds') AS t,
     (SELECT id FROM factors WHERE code = ANY($2::text[])) AS f
"""
TOKEN_SQL: Final = """
WITH u AS (
    INSERT INTO web_users (username, password_hash, role) VALUES ('bench', 'x', 'admin')
    RETURNING id
)
INSERT INTO web_api_tokens (user_id, name, token_hash, prefix)
SELECT id, 'bench', $1, $2 FROM u
"""
SERIES_FACTORS: Final = [
    "a21026",
    "a21004",
    "a21005",
    "a05024",
    "a34002",
    "a34004",
    "a01001",
    "a01002",
    "a01006",
    "a01007",
    "a01008",
]


async def load(dsn: str, stations: int) -> tuple[str, int]:
    """Schema, stations with latest values, 24 h for station 1; returns (token, station)."""
    from web.auth.service import TOKEN_PREFIX, digest, new_token

    conn = await connect(dsn)
    try:
        info = await detect_engine(conn)
        await migrate(conn, info.engine)
        await seed_factors(conn)
        await ensure_ahead(conn, info.engine, datetime.now(UTC), days_back=2)
        await conn.execute(STATIONS_SQL, stations)
        await conn.execute(STATE_SQL)
        station = int(await conn.fetchval("SELECT min(id) FROM stations"))
        await conn.execute(SERIES_SQL, station, SERIES_FACTORS)
        await ensure_ahead(conn, info.engine, datetime.now(UTC) - timedelta(hours=1), days_back=1)
        await conn.execute(HOURLY_SQL)
        await conn.execute("ANALYZE")
        token = TOKEN_PREFIX + new_token()
        await conn.execute(TOKEN_SQL, digest(token), token[:10])
    finally:
        await conn.close()
    return token, station


async def timed(session: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> float:
    start = time.perf_counter()
    async with session.get(url, headers=headers) as resp:
        body = await resp.read()
        if resp.status != 200:
            raise RuntimeError(f"{url}: {resp.status} {body[:200]!r}")
        orjson.loads(body)
    return (time.perf_counter() - start) * 1000


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "median_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(p95, 1),
        "min_ms": round(ordered[0], 1),
    }


async def _serve(
    target: str, map_cache_s: float, settings_for: SettingsLoader[WebConfig]
) -> tuple[web.AppRunner, str]:
    from web.app import create_app

    port = free_port()
    settings = settings_for(
        {"database.dsn": target, "web.port": port, "web.map_cache_s": map_cache_s}
    )
    runner = web.AppRunner(create_app(settings, target, background=False), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


async def _map_runs(
    session: aiohttp.ClientSession,
    url: str,
    headers: dict[str, str],
    repeat: int,
    churn: int,
    db: asyncpg.Connection,
) -> list[float]:
    out = []
    for i in range(repeat):
        if churn:
            await db.execute(CHURN_SQL, churn, i)
        out.append(await timed(session, url, headers))
    return out


async def run(
    settings_for: SettingsLoader[WebConfig],
    stations: int,
    repeat: int,
    dsn: str | None,
    churn: int = 2400,
) -> dict[str, Any]:
    async with private_database(dsn, label="web", tuning=TUNING, migrated=False) as target:
        t0 = time.perf_counter()
        token, station = await load(target, stations)
        load_s = time.perf_counter() - t0
        headers = {"Authorization": f"Bearer {token}"}
        results: dict[str, Any] = {}
        db = await connect(target)
        try:
            runner, base = await _serve(target, 0.0, settings_for)
            try:
                async with aiohttp.ClientSession() as session:
                    map_url = f"{base}/api/v1/map/stations"
                    series_url = f"{base}/api/v1/stations/{station}/series?view=day"
                    results["map_cold_ms"] = round(await timed(session, map_url, headers), 1)
                    async with session.get(map_url, headers=headers) as resp:
                        payload = await resp.json()
                        size = len(await resp.read())
                    results["map_rows"] = len(payload["rows"])
                    results["map_bytes"] = size
                    bases = [c[-1] for c in payload["cells"]]
                    results["map_aqi_basis"] = {
                        b or "none": sum(1 for i in payload["cell"] if payload["cells"][i][-1] == b)
                        for b in set(bases)
                    }
                    results["map"] = _summary(
                        await _map_runs(session, map_url, headers, repeat, churn, db)
                    )
                    await timed(session, series_url, headers)
                    async with session.get(series_url, headers=headers) as resp:
                        series = await resp.json()
                    results["station_24h_points"] = sum(
                        len(s["t"]) for s in series["series"].values()
                    )
                    results["station_24h"] = _summary(
                        [await timed(session, series_url, headers) for _ in range(repeat)]
                    )
            finally:
                await runner.cleanup()
            runner, base = await _serve(target, 2.0, settings_for)
            try:
                async with aiohttp.ClientSession() as session:
                    map_url = f"{base}/api/v1/map/stations"
                    await timed(session, map_url, headers)
                    results["map_cached"] = _summary(
                        await _map_runs(session, map_url, headers, repeat, churn, db)
                    )
            finally:
                await runner.cleanup()
        finally:
            await db.close()
    return {
        "benchmark": "web",
        "stations": stations,
        "repeat": repeat,
        "churn": churn,
        "load_s": round(load_s, 1),
        "python": platform.python_version(),
        "machine": f"{platform.machine()} {os.cpu_count()} cpu",
        "targets_ms": TARGETS,
        **results,
        "pass": results["map"]["median_ms"] <= TARGETS["map"]
        and results["station_24h"]["median_ms"] <= TARGETS["station_24h"],
    }


def main(argv: list[str], settings_for: SettingsLoader[WebConfig]) -> int:
    """``envgrid bench web``; ``settings_for(overrides)`` gives the dashboard's settings
    (defaults and ``overrides`` only: no file, no environment)."""
    parser = argparse.ArgumentParser(prog="envgrid bench web", description=__doc__)
    parser.add_argument("--stations", type=int, default=36_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--dsn", help="admin DSN of a server to use (default: private cluster)")
    parser.add_argument("--json", type=Path, help="also write the result here")
    parser.add_argument(
        "--churn",
        type=int,
        default=2400,
        help="stations with new latest values before each map request (default 2400)",
    )
    args = parser.parse_args(argv)
    try:
        import uvloop

        result = uvloop.run(run(settings_for, args.stations, args.repeat, args.dsn, args.churn))
    except ImportError:  # pragma: no cover
        result = asyncio.run(run(settings_for, args.stations, args.repeat, args.dsn, args.churn))
    text = json.dumps(result, ensure_ascii=False, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0 if result["pass"] else 1
