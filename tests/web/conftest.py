"""Fixtures of the web tests: a seeded database, the app under pytest-aiohttp, users.

Seed (``seeded``): a city with two districts (R01 东城区, R02 西城区), one grid cell in
each, stations in both districts (air stations with latest values, one offline, one
disabled), and users of every role — ``admin`` (unscoped), ``officer`` (scope R01),
``maintainer`` (scope grid G02-1), ``viewer`` (unscoped, read only) and ``nobody``
(officer with an empty-but-set scope is not possible; a grid member without stations).
Passwords are hashed once per session (argon2 is deliberately slow).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from envgrid.settings import Settings
from store.db import connect
from store.engine import EngineInfo
from store.partitions import ensure_ahead
from store.prepare import seed_factors
from tests.browser import ARTIFACTS_ROOT, chromium
from tests.webapp import PASSWORD, add_login, app_settings
from web.app import create_app


def make_web_settings(dsn: str, data_dir: Path, **web: Any) -> Settings:
    overrides: dict[str, Any] = {
        "web.lockout_count": 3,
        "web.lockout_s": 60,
        "web.hourly_aqi_refresh_s": 0,
    }
    overrides.update({f"web.{k}": v for k, v in web.items()})
    return app_settings(dsn, data_dir, overrides)


@pytest.fixture
def web_settings(db_dsn: str, pg_reachable_tmp: Path) -> Settings:
    return make_web_settings(db_dsn, pg_reachable_tmp)


def square(lat: float, lon: float, d: float = 0.05) -> dict[str, Any]:
    return {
        "type": "Polygon",
        "coordinates": [
            [
                [lon - d, lat - d],
                [lon + d, lat - d],
                [lon + d, lat + d],
                [lon - d, lat + d],
                [lon - d, lat - d],
            ]
        ],
    }


AIR_LATEST = {
    "good": {"a34004": {"v": 20.0, "f": "N"}, "a21004": {"v": 30.0, "f": "N"}},
    "moderate": {"a34004": {"v": 60.0, "f": "N"}, "a21026": {"v": 10.0, "f": "N"}},
    "unhealthy": {"a34004": {"v": 160.0, "f": "N"}, "a21005": {"v": 1.2, "f": "N"}},
    "flagged": {"a34004": {"v": 500.0, "f": "D"}, "a21004": {"v": 20.0, "f": "N"}},
}


@dataclass
class Seed:
    dsn: str
    areas: dict[str, int] = field(default_factory=dict)
    stations: dict[str, int] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}


INSERT_AREA = """
INSERT INTO areas (parent_id, level, code, name, boundary, centroid_lat, centroid_lon)
VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id
"""
INSERT_STATION = """
INSERT INTO stations (mn, password, name, st, lat, lon, region, grid_id, enabled,
                      expected_factors, approved_at)
VALUES ($1, 'pw', $2, $3, $4, $5, $6, $7, $8, $9, now()) RETURNING id
"""
INSERT_STATE = """
INSERT INTO station_state (station_id, connected, last_frame_at, last_data_at, last_data_time,
                           latest)
VALUES ($1, $2, $3, $3, $3, $4)
"""


async def seed_database(dsn: str, engine: EngineInfo) -> Seed:
    seed = Seed(dsn)
    conn = await connect(dsn)
    try:
        await seed_factors(conn)
        await ensure_ahead(conn, engine.engine, datetime.now(UTC), days_back=2)
        a = seed.areas
        a["city"] = await conn.fetchval(
            INSERT_AREA, None, 1, "C01", "杭州市", square(30.27, 120.15, 0.3), 30.27, 120.15
        )
        a["R01"] = await conn.fetchval(
            INSERT_AREA, a["city"], 2, "R01", "东城区", square(30.30, 120.25, 0.1), 30.30, 120.25
        )
        a["R02"] = await conn.fetchval(
            INSERT_AREA, a["city"], 2, "R02", "西城区", square(30.24, 120.05, 0.1), 30.24, 120.05
        )
        a["G01-1"] = await conn.fetchval(
            INSERT_AREA,
            a["R01"],
            5,
            "G01-1",
            "东城1号网格",
            square(30.30, 120.25, 0.03),
            30.30,
            120.25,
        )
        a["G02-1"] = await conn.fetchval(
            INSERT_AREA,
            a["R02"],
            5,
            "G02-1",
            "西城1号网格",
            square(30.24, 120.05, 0.03),
            30.24,
            120.05,
        )
        now = datetime.now(UTC)
        s = seed.stations
        air = ["a21026", "a21004", "a21005", "a05024", "a34002", "a34004"]
        for key, name, region, grid, lat, lon, enabled in (
            ("good", "东城一站", "R01", "G01-1", 30.30, 120.25, True),
            ("moderate", "东城二站", "R01", None, 30.31, 120.26, True),
            ("unhealthy", "西城一站", "R02", "G02-1", 30.24, 120.05, True),
            ("flagged", "西城二站", "R02", None, 30.25, 120.06, True),
            ("offline", "东城离线站", "R01", None, 30.29, 120.24, True),
            ("disabled", "西城停用站", "R02", None, 30.23, 120.04, False),
        ):
            s[key] = await conn.fetchval(
                INSERT_STATION,
                f"MN{key.upper()}",
                name,
                "22",
                lat,
                lon,
                region,
                a[grid] if grid else None,
                enabled,
                # the monitoring plan (应测因子) is what each station reports: the AQI
                # pollutants outside it do not count as missing (HJ 633—2026 §5.3.2)
                list(AIR_LATEST.get(key, AIR_LATEST["good"])) if key != "disabled" else air,
            )
            if key in AIR_LATEST:
                await conn.execute(INSERT_STATE, s[key], True, now, AIR_LATEST[key])
            elif key == "offline":
                await conn.execute(
                    INSERT_STATE, s[key], False, now - timedelta(hours=3), AIR_LATEST["good"]
                )
        for username, role, scope in (
            ("admin", "admin", []),
            ("officer", "officer", ["R01"]),
            ("maintainer", "maintainer", ["G02-1"]),
            ("viewer", "viewer", []),
            ("grid", "grid_member", ["G01-1"]),
        ):
            areas = [a[ref] for ref in scope]
            seed.users[username], seed.tokens[username] = await add_login(
                conn, username, role, areas
            )
    finally:
        await conn.close()
    return seed


@pytest.fixture
async def seeded(db_dsn: str, engine_info: EngineInfo) -> Seed:
    return await seed_database(db_dsn, engine_info)


@pytest.fixture
async def client(
    aiohttp_client: Callable[..., Any], web_settings: Settings, db_dsn: str, seeded: Seed
) -> TestClient:
    app = create_app(web_settings, db_dsn, background=False)
    return await aiohttp_client(app)


def map_stations(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The map document (columnar: facts + an index into the status/AQI cells) as one dict
    per station."""
    cols, cell_cols = payload["columns"], payload["cell_columns"]
    out = []
    for i, row in enumerate(payload["rows"]):
        station = dict(zip(cols, row, strict=True))
        station.update(zip(cell_cols, payload["cells"][payload["cell"][i]], strict=True))
        station["last_data_at"] = payload["last_data_at"][i] or None
        out.append(station)
    return out


async def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the JSON API; returns the CSRF token (the cookie stays in the jar)."""
    resp = await client.post(
        "/api/v1/auth/login", json={"username": username, "password": password}
    )
    assert resp.status == 200, await resp.text()
    return str((await resp.json())["csrf_token"])


INSERT_ALERT = """
INSERT INTO alerts (rule, scope_key, station_id, factor_id, region, grid_id, state, severity,
                    first_seen, last_seen, fired_at, value, threshold, reason, labels)
VALUES ($1, $2, $3, $4, $5, $6, $7::text, $8, $9::timestamptz, $9::timestamptz,
        CASE WHEN $7::text <> 'pending' THEN $9::timestamptz END, $10, $11, $12, $13)
RETURNING id
"""


async def insert_alert(
    dsn: str,
    *,
    rule: str = "exceedance",
    station_id: int | None = None,
    factor: str | None = "a34004",
    region: str = "",
    grid_id: int | None = None,
    state: str = "firing",
    severity: str = "major",
    first_seen: datetime | None = None,
    value: float | None = 120.0,
    threshold: float | None = 75.0,
) -> int:
    """One alert row as the engine writes it (station alerts: scope ``station:<id>``)."""
    conn = await connect(dsn)
    try:
        fid = 0
        if factor is not None:
            fid = await conn.fetchval("SELECT id FROM factors WHERE code = $1", factor)
        if station_id is not None and not region:
            row = await conn.fetchrow(
                "SELECT region, grid_id FROM stations WHERE id = $1", station_id
            )
            region, grid_id = row["region"], row["grid_id"]
        scope_key = f"station:{station_id}" if station_id is not None else f"region:{region}"
        return int(
            await conn.fetchval(
                INSERT_ALERT,
                rule,
                scope_key,
                station_id,
                fid,
                region,
                grid_id,
                state,
                severity,
                first_seen or datetime.now(UTC),
                value,
                threshold,
                "above" if rule == "exceedance" else "no_data",
                {"factor_code": factor or ""},
            )
        )
    finally:
        await conn.close()


#: Constant concentrations per seeded station (SO2, NO2, CO, O3 1h, PM10, PM2.5) → daily
#: AQI by hand: good 50 (PM2.5 35), moderate and unhealthy 100 (PM2.5 75, a tie),
#: flagged 150 (PM10 250), offline 50 (a tie with good); disabled has no data.
ANALYTICS_LEVELS: dict[str, tuple[float, float, float, float, float, float]] = {
    "good": (10, 30, 0.8, 90, 50, 35),
    "moderate": (10, 30, 0.8, 90, 70, 75),
    "unhealthy": (10, 30, 0.8, 90, 70, 75),
    "flagged": (10, 30, 0.8, 90, 250, 45),
    "offline": (10, 30, 0.8, 90, 50, 35),
}
ANALYTICS_DAYS = 8
AIR_CODES = ("a21026", "a21004", "a21005", "a05024", "a34002", "a34004")


async def seed_analytics(seed: Seed, engine: EngineInfo, settings: Settings) -> date:
    """Station-reported hourly values (2061) for the seeded stations over the last
    ``ANALYTICS_DAYS`` local days up to yesterday, official daily/monthly values refreshed;
    returns yesterday."""
    from zoneinfo import ZoneInfo

    from aggregates import jobs
    from store.partitions import PartitionCache

    tz = ZoneInfo(settings.core.timezone)
    yesterday = datetime.now(tz).date() - timedelta(days=1)
    days = [yesterday - timedelta(days=k) for k in range(ANALYTICS_DAYS)]
    conn = await connect(seed.dsn)
    try:
        ids = {
            r["code"]: r["id"]
            for r in await conn.fetch(
                "SELECT code, id FROM factors WHERE code = ANY($1::text[])", list(AIR_CODES)
            )
        }
        rows = []
        for key, levels in ANALYTICS_LEVELS.items():
            sid = seed.stations[key]
            for day in days:
                for hour in range(24):
                    ts = datetime(day.year, day.month, day.day, hour, tzinfo=tz).astimezone(UTC)
                    for code, value in zip(AIR_CODES, levels, strict=True):
                        rows.append((sid, ids[code], ts, float(value), "N"))
        await PartitionCache(engine.engine).ensure(
            conn, [("measurements_hour", r[2]) for r in rows]
        )
        await conn.execute(
            "INSERT INTO measurements_hour (station_id, factor_id, ts, value, flag)"
            " SELECT * FROM unnest($1::integer[], $2::smallint[], $3::timestamptz[],"
            " $4::float8[], $5::text[])",
            *(list(c) for c in zip(*rows, strict=True)),
        )
        pairs = [(seed.stations[k], d) for k in ANALYTICS_LEVELS for d in days]
        async with conn.transaction():
            await jobs.refresh_days(conn, settings, pairs)
    finally:
        await conn.close()
    return yesterday


@pytest.fixture
async def analytics(seeded: Seed, engine_info: EngineInfo, web_settings: Settings) -> date:
    return await seed_analytics(seeded, engine_info, web_settings)


async def insert_rtd(
    dsn: str, station_id: int, code: str, points: list[tuple[datetime, float, str]]
) -> None:
    conn: asyncpg.Connection = await connect(dsn)
    try:
        factor = await conn.fetchval("SELECT id FROM factors WHERE code = $1", code)
        await conn.copy_records_to_table(
            "measurements_rtd",
            records=[(station_id, factor, ts, v, None, None, None, None, f) for ts, v, f in points],
            columns=["station_id", "factor_id", "ts", "value", "vmin", "vmax", "cou", "zs", "flag"],
        )
    finally:
        await conn.close()


@pytest.fixture
async def web_browser() -> AsyncIterator[Any]:
    """Headless Chromium for a browser test of the dashboard (screenshots under web/)."""
    async with chromium(ARTIFACTS_ROOT / "web") as b:
        yield b


@pytest.fixture
async def web_server(
    aiohttp_server: Callable[..., Any], db_dsn: str, pg_reachable_tmp: Path, seeded: Seed
) -> TestServer:
    """The dashboard on the seeded database, without background work."""
    settings = make_web_settings(db_dsn, pg_reachable_tmp)
    return await aiohttp_server(create_app(settings, db_dsn, background=False))
