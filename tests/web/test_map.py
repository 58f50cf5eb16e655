"""The map's colours: the hourly AQI of the last complete hour (official hourly values),
falling back to the latest real-time values; the station facts cache follows registry
changes (NOTIFY envgrid_registry); the in-memory AQI memo."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient

from store.db import connect
from store.engine import EngineInfo
from store.partitions import PartitionCache
from web.keys import MAP_CACHE_KEY
from web.map.service import last_complete_hour

from .conftest import Seed, map_stations


async def _map(client: TestClient, seed: Seed, user: str = "admin", query: str = "") -> Any:
    resp = await client.get(f"/api/v1/map/stations{query}", headers=seed.auth(user))
    assert resp.status == 200, await resp.text()
    return await resp.json()


def _by_name(data: Any) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in map_stations(data)}


async def _hourly(seed: Seed, engine: EngineInfo, station: int, values: dict[str, float]) -> None:
    # the pages read the last complete hour when asked: a test must not straddle the hour
    to_next = 3600 - datetime.now(UTC).timestamp() % 3600
    if to_next < 15:
        await asyncio.sleep(to_next + 0.5)
    hour = last_complete_hour(datetime.now(UTC))
    conn = await connect(seed.dsn)
    try:
        await PartitionCache(engine.engine).ensure(conn, [("measurements_hour", hour)])
        for code, value in values.items():
            await conn.execute(
                "INSERT INTO measurements_hour (station_id, factor_id, ts, value, flag)"
                " SELECT $1, id, $2, $3, 'N' FROM factors WHERE code = $4",
                station,
                hour,
                value,
                code,
            )
    finally:
        await conn.close()


async def test_hourly_aqi_with_fallback_to_latest(
    client: TestClient, seeded: Seed, engine_info: EngineInfo
) -> None:
    before = _by_name(await _map(client, seeded))
    assert before["东城二站"]["basis"] == "latest" and before["东城二站"]["level"] == 2
    # the last complete hour of 东城二站: PM2.5 20 → AQI 29 (优), whatever its latest values
    await _hourly(seeded, engine_info, seeded.stations["moderate"], {"a34004": 20.0, "a21026": 10.0})
    # an offline station with hourly data is coloured by that hour (and still marked offline)
    await _hourly(seeded, engine_info, seeded.stations["offline"], {"a34004": 80.0})
    data = await _map(client, seeded)
    after = _by_name(data)
    moderate = after["东城二站"]
    assert (moderate["aqi"], moderate["basis"], moderate["color"]) == (29, "hour", "#00E400")
    offline = after["东城离线站"]
    assert offline["status"] == "offline" and offline["basis"] == "hour" and offline["aqi"] > 100
    # no hourly values: the fresh real-time values; none of either: grey
    assert after["东城一站"]["basis"] == "latest" and after["东城一站"]["aqi"] == 29
    assert after["西城停用站"]["aqi"] is None and after["西城停用站"]["status"] == "disabled"
    hour = datetime.fromisoformat(data["hour"])
    assert hour == last_complete_hour(datetime.now(UTC))
    # the station page agrees with the map
    resp = await client.get(
        f"/api/v1/stations/{seeded.stations['moderate']}", headers=seeded.auth("admin")
    )
    station = await resp.json()
    assert station["aqi"]["aqi"] == 29 and station["aqi"]["basis"] == "hour"
    # the document is columnar: one cell index per row into a small palette
    assert len(data["cell"]) == len(data["rows"]) == 6
    assert len(data["cells"]) <= 6 and data["cell_columns"][0] == "status"
    assert data["unverified"] == [] and data["standard"].startswith("HJ 633—2026")


async def test_registry_changes_reach_the_map(client: TestClient, seeded: Seed) -> None:
    first = _by_name(await _map(client, seeded))
    assert "东城一站" in first
    state = client.app[MAP_CACHE_KEY]
    version = state.registry_version
    conn = await connect(seeded.dsn)
    try:
        await conn.execute(
            "UPDATE stations SET name = '东城一站（新）', lat = 30.31 WHERE id = $1",
            seeded.stations["good"],
        )
    finally:
        await conn.close()
    for _ in range(50):  # the NOTIFY from migration 0031's trigger, via the live hub
        if state.registry_version != version:
            break
        await asyncio.sleep(0.05)
    assert state.registry_version != version
    renamed = _by_name(await _map(client, seeded))
    assert "东城一站（新）" in renamed and renamed["东城一站（新）"]["lat"] == 30.31
    # a scoped selection is recomputed too
    officer = _by_name(await _map(client, seeded, "officer"))
    assert set(officer) == {"东城一站（新）", "东城二站", "东城离线站"}


async def test_aqi_memo_recomputes_only_changed_stations(client: TestClient, seeded: Seed) -> None:
    state = client.app[MAP_CACHE_KEY]
    await _map(client, seeded)
    misses = state.misses
    await _map(client, seeded)
    assert state.misses == misses  # nothing changed: every AQI from the memo
    conn = await connect(seeded.dsn)
    try:
        await conn.execute(
            "UPDATE station_state SET latest = $2, last_data_time = now(), last_data_at = now()"
            " WHERE station_id = $1",
            seeded.stations["good"],
            {"a34004": {"v": 160.0, "f": "N"}},
        )
    finally:
        await conn.close()
    data = _by_name(await _map(client, seeded))
    assert state.misses == misses + 1
    assert data["东城一站"]["aqi"] == 210 and data["东城一站"]["color"] == "#99004C"
    # the status filter and the counts
    online = await _map(client, seeded, query="?status=online")
    assert {s["status"] for s in map_stations(online)} == {"online"}
    assert online["counts"] == {"online": 4, "offline": 1, "disabled": 1}


async def test_live_state_copy_and_array_forms_agree(seeded: Seed) -> None:
    """The map reads every station's live state by binary COPY and a few by arrays."""
    from web.map import queries

    conn = await connect(seeded.dsn)
    try:
        ids, seen, stamps, fresh = await queries.live_state(conn, 900, None)
        some = await queries.live_state(conn, 900, sorted(int(i) for i in ids))
        latest = {r["station_id"]: r["stamp"] for r in await queries.latest_of(conn, list(ids))}
    finally:
        await conn.close()
    order = ids.argsort()
    other = some[0].argsort()
    for mine, theirs in zip((ids, seen, stamps, fresh), some, strict=True):
        assert (mine[order] == theirs[other]).all()
    assert int(fresh.sum()) == 4  # the offline station's data is three hours old
    assert {int(i): int(s) for i, s in zip(ids, stamps, strict=True)} == latest
    now = datetime.now(UTC).timestamp()
    assert all(abs(s - now) < 4 * 3600 for s in seen.tolist())


async def test_missing_pollutant_and_monitoring_plan(
    client: TestClient, seeded: Seed, engine_info: EngineInfo
) -> None:
    """HJ 633—2026 §5.3: a pollutant of the station's plan missing from the hour and the
    rest ≤ 100 → NA (grey); outside the plan (应测因子, §5.3.2) it does not count."""
    offline = seeded.stations["offline"]  # plan: PM2.5 and NO2; not fresh: no fallback
    await _hourly(seeded, engine_info, offline, {"a34004": 20.0})
    row = _by_name(await _map(client, seeded))["东城离线站"]
    assert (row["aqi"], row["color"]) == (None, "#999999")
    resp = await client.get(f"/api/v1/stations/{offline}", headers=seeded.auth("admin"))
    page = (await resp.json())["aqi"]
    assert page["aqi"] is None and page["missing"] == ["NO2"] and page["iaqi"] == {"PM2.5": 29}
    state = client.app[MAP_CACHE_KEY]
    version = state.registry_version
    conn = await connect(seeded.dsn)
    try:
        await conn.execute(
            "UPDATE stations SET expected_factors = '{a34004}' WHERE id = $1", offline
        )
    finally:
        await conn.close()
    for _ in range(50):
        if state.registry_version != version:
            break
        await asyncio.sleep(0.05)
    row = _by_name(await _map(client, seeded))["东城离线站"]
    assert (row["aqi"], row["basis"], row["color"]) == (29, "hour", "#00E400")
    resp = await client.get(f"/api/v1/stations/{offline}", headers=seeded.auth("admin"))
    page = (await resp.json())["aqi"]
    assert (page["aqi"], page["standard"], page["missing"]) == (29, "HJ 633—2026", [])
