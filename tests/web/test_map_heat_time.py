"""The heat map by hour and day (a frame per request, the last 24 hours playable), its
three-station minimum with the reason, the map popup's now / 1 h / 24 h / daily-mean
values, and the rankings' refresh note — against a real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient

from envgrid.settings import Settings
from store.db import connect
from store.engine import EngineInfo
from store.jobs import next_run
from store.partitions import PartitionCache
from web.map.service import last_complete_hour

from .conftest import Seed

#: PM2.5 per station and hour back from the last complete hour (0 = that hour)
PM25: dict[str, dict[int, float]] = {
    "good": {0: 30.0, 1: 20.0, 2: 10.0, 3: 40.0},
    "moderate": {0: 60.0, 1: 50.0, 2: 40.0, 3: 40.0},
    "unhealthy": {0: 150.0, 1: 140.0, 2: 130.0},
    "flagged": {0: 90.0, 1: 80.0},
}


async def _hours(seed: Seed, engine: EngineInfo) -> datetime:
    """Station-reported hourly PM2.5 (:data:`PM25`); returns the last complete hour."""
    last = last_complete_hour(datetime.now(UTC))
    rows = [
        (seed.stations[key], last - timedelta(hours=back), value)
        for key, values in PM25.items()
        for back, value in values.items()
    ]
    conn = await connect(seed.dsn)
    try:
        await PartitionCache(engine.engine).ensure(
            conn, [("measurements_hour", r[1]) for r in rows]
        )
        await conn.executemany(
            "INSERT INTO measurements_hour (station_id, factor_id, ts, value, flag)"
            " SELECT $1, id, $2, $3, 'N' FROM factors WHERE code = 'a34004'",
            rows,
        )
    finally:
        await conn.close()
    return last


async def _get(client: TestClient, seed: Seed, path: str, user: str = "admin") -> Any:
    resp = await client.get(path, headers=seed.auth(user))
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def test_heat_map_frames_by_hour_with_the_three_station_minimum(
    client: TestClient, seeded: Seed, engine_info: EngineInfo
) -> None:
    last = await _hours(seeded, engine_info)
    frames = {}
    for back, stations in ((0, 4), (1, 4), (2, 3), (3, 2)):
        hour = (last - timedelta(hours=back)).isoformat()
        q = f"what=a34004&cell=0.02&hour={hour.replace('+', '%2B')}"
        layer = await _get(client, seeded, f"/api/v1/map/heatmap?{q}")
        p = layer["properties"]
        assert datetime.fromisoformat(p["at"]) == last - timedelta(hours=back)
        assert p["hourly"] is True and p["stations"] == stations
        frames[back] = layer
    # a frame per hour: each hour's surface (every station 10 lower an hour earlier)
    top = {b: max(f["properties"]["value"] for f in frames[b]["features"]) for b in (0, 1, 2)}
    assert 30.0 < top[0] <= 150.0 and abs(top[0] - 10.0 - top[1]) < 0.01
    assert frames[2]["features"] != frames[1]["features"]
    # two stations with values: no paint, the reason instead
    assert frames[3]["features"] == []
    assert "至少需要 3 个" in frames[3]["properties"]["empty"]
    assert "只有 2 个站点有有效数值" in frames[3]["properties"]["empty"]
    # the same frame again comes from the cache (identical document)
    again = await _get(
        client,
        seeded,
        f"/api/v1/map/heatmap?what=a34004&cell=0.02&hour={last.isoformat().replace('+', '%2B')}",
    )
    assert again == frames[0]


async def test_heat_map_scope_with_too_few_stations_says_so(
    client: TestClient, seeded: Seed, engine_info: EngineInfo
) -> None:
    await _hours(seeded, engine_info)
    # the maintainer's grid holds one station: a map of one colour is not drawn
    layer = await _get(client, seeded, "/api/v1/map/heatmap?what=a34004", "maintainer")
    assert layer["features"] == []
    assert layer["properties"]["empty"] == "热力图至少需要 3 个有坐标的站点，当前只有 1 个"
    # a day without data: empty, with the reason
    layer = await _get(client, seeded, "/api/v1/map/heatmap?day=2001-01-01")
    assert layer["features"] == [] and "该日只有 0 个站点" in layer["properties"]["empty"]
    # hour and day together is an error in Chinese
    resp = await client.get(
        "/api/v1/map/heatmap?day=2001-01-01&hour=2001-01-01T00:00:00Z", headers=seeded.auth("admin")
    )
    assert resp.status == 400 and "只能选一个" in (await resp.json())["error"]["message"]


async def test_popup_values_now_hour_24h_and_daily_mean(
    client: TestClient, seeded: Seed, engine_info: EngineInfo, web_settings: Settings
) -> None:
    last = await _hours(seeded, engine_info)
    sid = seeded.stations["good"]
    data = await _get(client, seeded, f"/api/v1/map/stations/{sid}/values")
    assert datetime.fromisoformat(data["hour"]) == last
    rows = {f["code"]: f for f in data["factors"]}
    pm = rows["a34004"]
    assert pm["name"] == "PM2.5" or "颗粒物" in pm["name"]
    assert pm["unit"] and pm["now"] == 20.0  # the seeded real-time value
    assert pm["h1"] == 30.0 and pm["h24"] == 25.0 and pm["n24"] == 4
    tz = ZoneInfo(web_settings.core.timezone)
    midnight = last.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    today = [v for back, v in PM25["good"].items() if last - timedelta(hours=back) >= midnight]
    assert pm["n_day"] == len(today)
    assert pm["day_mean"] == (sum(today) / len(today) if today else None)
    assert data["day"] == midnight.date().isoformat()
    # NO2 has a real-time value only: now, and no hourly columns
    assert rows["a21004"]["now"] == 30.0 and rows["a21004"]["h1"] is None


async def test_popup_values_respect_the_data_scope(
    client: TestClient, seeded: Seed, engine_info: EngineInfo
) -> None:
    other = seeded.stations["unhealthy"]  # 西城区: outside the officer's 东城区
    resp = await client.get(f"/api/v1/map/stations/{other}/values", headers=seeded.auth("officer"))
    assert resp.status == 404
    assert "数据范围" in (await resp.json())["error"]["message"]
    resp = await client.get(f"/api/v1/map/stations/{other}/values")
    assert resp.status == 401
    own = seeded.stations["good"]
    assert (await _get(client, seeded, f"/api/v1/map/stations/{own}/values", "officer"))[
        "id"
    ] == own


async def test_rankings_say_when_they_refresh(
    client: TestClient, seeded: Seed, web_settings: Settings
) -> None:
    view = await _get(client, seeded, "/api/v1/rankings?period=day&by=aqi")
    every = web_settings.aggregates.refresh_interval_min
    tz = ZoneInfo(web_settings.core.timezone)
    refresh = view["refresh"]
    assert refresh["every_min"] == every
    nxt = datetime.fromisoformat(refresh["next"])
    # the next point of the job's lattice (the test may cross one: then the one after)
    now = datetime.now(tz)
    assert nxt in (next_run(every * 60.0, now), next_run(every * 60.0, now - timedelta(seconds=5)))
    assert timedelta(0) < nxt - now + timedelta(seconds=5) <= timedelta(minutes=every, seconds=5)
    assert refresh["next_label"] == nxt.astimezone(tz).strftime("%H:%M")
    assert all(r["value"] is None for r in view["rows"]) and view["scope_empty"] is False
