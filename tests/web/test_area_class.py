"""功能区类别 (GB 3095 area class) of a station: the admin API validates and stores it, the
list and the station page show it, and the station's limits are those of its grade in the
table in force (named by the table, never a fixed string)."""

from __future__ import annotations

from datetime import date

from aiohttp.test_utils import TestClient

from aggregates.standards import default_registry
from store.db import connect

from .conftest import Seed


async def _get(client: TestClient, path: str, seed: Seed, user: str = "admin") -> dict:
    resp = await client.get(path, headers=seed.auth(user))
    assert resp.status == 200, await resp.text()
    data: dict = await resp.json()
    return data


async def test_area_class_create_edit_validate(client: TestClient, seeded: Seed) -> None:
    admin = seeded.auth("admin")
    body = {"mn": "CLASS1", "name": "保护区站", "st": "22", "region": "R01", "area_class": 1}
    resp = await client.post("/api/v1/stations", json=body, headers=admin)
    assert resp.status == 201, await resp.text()
    sid = (await resp.json())["id"]
    station = await _get(client, f"/api/v1/stations/{sid}", seeded)
    assert station["area_class"] == 1 and station["gb3095"]["area_class_zh"] == "一类区"
    listed = await _get(client, "/api/v1/stations?q=CLASS1", seeded)
    assert [s["area_class"] for s in listed["items"]] == [1]
    # default: class 2
    resp = await client.post("/api/v1/stations", json={"mn": "CLASS2", "st": "22"}, headers=admin)
    assert resp.status == 201
    listed = await _get(client, "/api/v1/stations?q=CLASS2", seeded)
    assert [s["area_class"] for s in listed["items"]] == [2]
    # bad values: a Chinese 400 naming the field, never a 500
    for bad in (3, 0, "1", True, 1.5, None):
        resp = await client.patch(
            f"/api/v1/stations/{sid}", json={"area_class": bad}, headers=admin
        )
        if bad is None:  # absent = unchanged
            assert resp.status == 200
            continue
        assert resp.status == 400, bad
        error = (await resp.json())["error"]
        assert error["code"] == "bad_parameter" and "功能区类别" in error["message"]
    resp = await client.patch(f"/api/v1/stations/{sid}", json={"area_class": 2}, headers=admin)
    assert resp.status == 200 and (await resp.json())["changed"] == ["area_class"]
    assert (await _get(client, f"/api/v1/stations/{sid}", seeded))["area_class"] == 2


async def test_only_station_writers_change_the_class(client: TestClient, seeded: Seed) -> None:
    sid = seeded.stations["moderate"]
    resp = await client.patch(
        f"/api/v1/stations/{sid}", json={"area_class": 1}, headers=seeded.auth("viewer")
    )
    assert resp.status == 403
    conn = await connect(seeded.dsn)
    try:
        assert await conn.fetchval("SELECT area_class FROM stations WHERE id = $1", sid) == 2
    finally:
        await conn.close()


async def test_station_limits_follow_the_class(client: TestClient, seeded: Seed) -> None:
    """ "moderate" reports PM2.5 60: at the limit of grade II, above grade I (both
    GB 3095—2026 transitional, 24h: 60 / 35) — judged by its class."""
    today = date.today()
    table = default_registry().limits(today)
    sid = seeded.stations["moderate"]
    station = await _get(client, f"/api/v1/stations/{sid}", seeded)
    pm = next(f for f in station["latest"] if f["code"] == "a34004")
    assert station["gb3095"]["label"] == table.label(2)
    assert pm["limit"] == float(table.limit("PM2.5", "24h", 2)) and pm[
        "limit_source"
    ] == table.label(2)
    limits = await _get(client, f"/api/v1/stations/{sid}/limits", seeded)
    assert limits["gb3095"]["label"] == table.label(2)
    resp = await client.patch(
        f"/api/v1/stations/{sid}", json={"area_class": 1}, headers=seeded.auth("admin")
    )
    assert resp.status == 200
    station = await _get(client, f"/api/v1/stations/{sid}", seeded)
    pm = next(f for f in station["latest"] if f["code"] == "a34004")
    assert station["gb3095"]["label"] == table.label(1) and "一级" in table.label(1)
    assert pm["limit"] == float(table.limit("PM2.5", "24h", 1))
    assert pm["over_limit"] is True  # grade I PM2.5 24h is 35 or less in every edition
    limits = await _get(client, f"/api/v1/stations/{sid}/limits", seeded)
    assert limits["gb3095"]["label"] == table.label(1)
    gb = next(f for f in limits["factors"] if f["factor_code"] == "a34004")["gb3095"]
    assert gb["standard"] == table.label(1) and gb["limit"] == pm["limit"]


async def test_station_page_names_the_class(client: TestClient, seeded: Seed) -> None:
    resp = await client.get(
        f"/stations/{seeded.stations['moderate']}", headers=seeded.auth("admin")
    )
    assert resp.status == 200
    text = await resp.text()
    assert "GB 3095 二级" not in text and 'id="gb3095-head"' in text
    resp = await client.get("/admin/stations", headers=seeded.auth("admin"))
    assert resp.status == 200 and "功能区类别" in await resp.text()
