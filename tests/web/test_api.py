"""The JSON API: map, stations, commands, admin, maintenance, users, logs — with
permission and data-scope denials (scope enforced in SQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from envgrid.settings import Settings
from store.db import connect

from .conftest import Seed, insert_alert, insert_rtd, map_stations


async def _json(client: TestClient, path: str, user: str, seed: Seed, status: int = 200) -> object:
    resp = await client.get(path, headers=seed.auth(user))
    assert resp.status == status, await resp.text()
    return await resp.json()


def _by_name(payload: dict) -> dict[str, dict]:
    return {s["name"]: s for s in map_stations(payload)}


async def test_map_colours_status_and_aqi(client: TestClient, seeded: Seed) -> None:
    data = await _json(client, "/api/v1/map/stations", "admin", seeded)
    rows = _by_name(data)
    assert rows["东城一站"]["color"] == "#00E400" and rows["东城一站"]["aqi"] == 29
    assert rows["东城二站"]["color"] == "#FFFF00" and rows["东城二站"]["level"] == 2
    assert rows["西城一站"]["color"] == "#99004C" and rows["西城一站"]["primary"] == ["PM2.5"]
    # PM2.5 flagged D (instrument fault) does not count, so PM2.5 is missing; NO2 20 alone
    # gives 10 ≤ 100: the AQI is NA (HJ 633—2026 §5.3.1), grey
    assert rows["西城二站"]["aqi"] is None and rows["西城二站"]["color"] == "#999999"
    assert rows["东城离线站"]["status"] == "offline" and rows["东城离线站"]["color"] == "#999999"
    assert rows["西城停用站"]["status"] == "disabled" and rows["西城停用站"]["aqi"] is None
    assert data["counts"] == {"online": 4, "offline": 1, "disabled": 1}
    assert [lv["color"] for lv in data["legend"]][:2] == ["#00E400", "#FFFF00"]
    # second call is served from the AQI cache (same last_data_time)
    again = await _json(client, "/api/v1/map/stations?status=online", "admin", seeded)
    assert len(again["rows"]) == 4


async def test_map_filters_and_scope(client: TestClient, seeded: Seed) -> None:
    officer = _by_name(await _json(client, "/api/v1/map/stations", "officer", seeded))
    assert set(officer) == {"东城一站", "东城二站", "东城离线站"}  # scope R01 (by region)
    maint = _by_name(await _json(client, "/api/v1/map/stations", "maintainer", seeded))
    assert set(maint) == {"西城一站"}  # scope: grid G02-1
    region = _by_name(await _json(client, "/api/v1/map/stations?region=R02", "admin", seeded))
    assert set(region) == {"西城一站", "西城二站", "西城停用站"}
    area = _by_name(
        await _json(client, f"/api/v1/map/stations?area={seeded.areas['R01']}", "admin", seeded)
    )
    assert "东城一站" in area and "西城一站" not in area
    # a filter cannot widen the scope
    out = await _json(client, "/api/v1/map/stations?region=R02", "officer", seeded)
    assert out["rows"] == []
    bad = await _json(client, "/api/v1/map/stations?status=x", "admin", seeded, status=400)
    assert bad["error"]["code"] == "bad_parameter"


async def test_areas_scoped(client: TestClient, seeded: Seed) -> None:
    admin = await _json(client, "/api/v1/areas?boundary=true", "admin", seeded)
    assert {a["code"] for a in admin} == {"C01", "R01", "R02", "G01-1", "G02-1"}
    assert admin[0]["boundary"]["type"] == "Polygon"
    officer = await _json(client, "/api/v1/areas", "officer", seeded)
    assert {a["code"] for a in officer} == {"R01", "G01-1"}
    assert officer[0]["boundary"] is None
    assert await _json(client, "/api/v1/regions", "officer", seeded) == ["R01"]


async def test_station_detail_and_scope_denial(client: TestClient, seeded: Seed) -> None:
    sid = seeded.stations["unhealthy"]
    s = await _json(client, f"/api/v1/stations/{sid}", "admin", seeded)
    assert s["mn"] == "MNUNHEALTHY" and s["status"] == "online" and "password" not in s
    pm = next(f for f in s["latest"] if f["code"] == "a34004")
    from zoneinfo import ZoneInfo

    from aggregates.standards import default_registry

    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    limit = float(default_registry().limits(today).limit("PM2.5", "24h"))  # GB 3095 in force
    assert pm["value"] == 160.0 and pm["unit"] == "µg/m³" and pm["limit"] == limit
    assert pm["over_limit"] is True and pm["flag_label"] == "在线监控（监测）仪器仪表工作正常"
    assert s["aqi"]["aqi"] == 210 and s["aqi"]["category"] == "重度污染"
    flagged = await _json(client, f"/api/v1/stations/{seeded.stations['flagged']}", "admin", seeded)
    pm = next(f for f in flagged["latest"] if f["code"] == "a34004")
    assert pm["valid"] is False and "故障" in pm["flag_label"]
    # out of the officer's scope (R01): 404, the same as a missing station
    denied = await _json(client, f"/api/v1/stations/{sid}", "officer", seeded, status=404)
    assert denied["error"]["code"] == "not_found"
    for sub in ("series", "packets", "equipment", "commands"):
        await _json(client, f"/api/v1/stations/{sid}/{sub}", "officer", seeded, status=404)
    await _json(client, "/api/v1/stations/999999", "admin", seeded, status=404)


async def test_station_list_paging_and_scope(client: TestClient, seeded: Seed) -> None:
    page = await _json(client, "/api/v1/stations?limit=2&offset=0", "admin", seeded)
    assert page["total"] == 6 and len(page["items"]) == 2 and page["limit"] == 2
    page2 = await _json(client, "/api/v1/stations?limit=2&offset=2", "admin", seeded)
    assert {i["id"] for i in page["items"]}.isdisjoint({i["id"] for i in page2["items"]})
    officer = await _json(client, "/api/v1/stations", "officer", seeded)
    assert officer["total"] == 3
    assert {i["region"] for i in officer["items"]} == {"R01"}
    found = await _json(client, "/api/v1/stations?q=离线", "admin", seeded)
    assert [i["name"] for i in found["items"]] == ["东城离线站"]
    off = await _json(client, "/api/v1/stations?status=offline", "admin", seeded)
    assert [i["status"] for i in off["items"]] == ["offline"]
    await _json(client, "/api/v1/stations?limit=0", "admin", seeded, status=400)
    await _json(client, "/api/v1/stations?limit=abc", "admin", seeded, status=400)


async def test_series_views_and_flags(client: TestClient, seeded: Seed) -> None:
    sid = seeded.stations["good"]
    now = datetime.now(UTC).replace(microsecond=0)
    points = [(now - timedelta(seconds=30 * i), 20.0 + i % 5, "N") for i in range(0, 2880)]
    points[3] = (points[3][0], 999.0, "D")
    await insert_rtd(seeded.dsn, sid, "a34004", points)
    hour = await _json(client, f"/api/v1/stations/{sid}/series?view=hour", "viewer", seeded)
    s = hour["series"]["a34004"]
    assert hour["bucket_s"] == 0 and 110 <= len(s["t"]) <= 121
    assert "D" in s["f"]
    day = await _json(client, f"/api/v1/stations/{sid}/series?view=day", "viewer", seeded)
    d = day["series"]["a34004"]
    assert day["bucket_s"] == 300 and 280 <= len(d["t"]) <= 290
    assert sum(d["flagged"]) == 1
    assert max(v for v in d["v"] if v is not None) < 100  # the flagged 999 is left out of means
    one = await _json(
        client, f"/api/v1/stations/{sid}/series?view=hour&factor=a21004", "viewer", seeded
    )
    assert one["series"] == {}
    bad = await _json(
        client, f"/api/v1/stations/{sid}/series?from=2024-01-01T00:00:00", "viewer", seeded, 400
    )
    assert "时区" in bad["error"]["message"]


async def test_packets_and_equipment(client: TestClient, seeded: Seed) -> None:
    sid = seeded.stations["good"]
    now = datetime.now(UTC)
    conn = await connect(seeded.dsn)
    try:
        for i in range(3):
            await conn.execute(
                "INSERT INTO packet_ledger (station_id, data_time, cn, pno, digest, qn, flag,"
                " received_at, worker, raw) VALUES ($1, $2, 2011, 0, $3, 'q', 5, $2, 0, $4)",
                sid,
                now - timedelta(minutes=i),
                i,
                f"##0101QN=...;CN=2011;{i}\r\n",
            )
        await conn.execute(
            "INSERT INTO equipment_status (station_id, ts, cn, device, field, value, received_at)"
            " VALUES ($1, $2, 2021, 'SB1', 'RS', '1', $2)",
            sid,
            now,
        )
    finally:
        await conn.close()
    page = await _json(client, f"/api/v1/stations/{sid}/packets?limit=2", "viewer", seeded)
    assert page["total"] == 3 and len(page["items"]) == 2
    assert page["items"][0]["raw"].startswith("##")
    eq = await _json(client, f"/api/v1/stations/{sid}/equipment", "viewer", seeded)
    assert eq["latest"][0]["device"] == "SB1" and eq["latest"][0]["value"] == "1"


async def test_commands_permission_scope_and_record(client: TestClient, seeded: Seed) -> None:
    sid = seeded.stations["good"]
    body = {"verb": "set-rtd-interval", "params": {"RtdInterval": "60"}}
    resp = await client.post(
        f"/api/v1/stations/{sid}/commands", json=body, headers=seeded.auth("viewer")
    )
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "forbidden"
    other = seeded.stations["unhealthy"]
    resp = await client.post(
        f"/api/v1/stations/{other}/commands", json=body, headers=seeded.auth("officer")
    )
    assert resp.status == 404
    resp = await client.post(
        f"/api/v1/stations/{sid}/commands", json=body, headers=seeded.auth("officer")
    )
    assert resp.status == 201, await resp.text()
    record = await resp.json()
    assert (
        record["cn"] == 1062 and record["status"] == "queued" and record["created_by"] == "officer"
    )
    got = await _json(client, f"/api/v1/commands/{record['id']}", "officer", seeded)
    assert got["id"] == record["id"]
    await _json(client, f"/api/v1/commands/{record['id']}", "maintainer", seeded, status=404)
    listed = await _json(client, f"/api/v1/stations/{sid}/commands", "officer", seeded)
    assert listed["total"] == 1 and listed["items"][0]["replies"] == []
    for bad in (
        {"verb": "format-disk"},
        {"verb": "set-rtd-interval", "params": {"RtdInterval": "5"}},
        {"verb": "set-rtd-interval", "params": {"Bogus": "1"}},
    ):
        resp = await client.post(
            f"/api/v1/stations/{sid}/commands", json=bad, headers=seeded.auth("admin")
        )
        assert resp.status == 400, bad
    verbs = await _json(client, "/api/v1/commands", "viewer", seeded)
    assert any(v["verb"] == "set-time" for v in verbs)


async def test_station_admin_create_update_disable(client: TestClient, seeded: Seed) -> None:
    admin = seeded.auth("admin")
    body = {
        "mn": "NEW001",
        "name": "新站",
        "st": "22",
        "lat": 30.3,
        "lon": 120.2,
        "region": "R01",
        "expected_factors": ["a34004"],
        "limits": {"a34004": 50},
    }
    resp = await client.post("/api/v1/stations", json=body, headers=admin)
    assert resp.status == 201, await resp.text()
    sid = (await resp.json())["id"]
    resp = await client.post("/api/v1/stations", json=body, headers=admin)
    assert resp.status == 409
    s = await _json(client, f"/api/v1/stations/{sid}", "admin", seeded)
    assert s["latest"][0]["limit"] == 50.0  # the station's own limit wins
    resp = await client.patch(
        f"/api/v1/stations/{sid}", json={"enabled": False, "name": "改名"}, headers=admin
    )
    assert resp.status == 200
    s = await _json(client, f"/api/v1/stations/{sid}", "admin", seeded)
    assert s["enabled"] is False and s["name"] == "改名" and s["status"] == "disabled"
    # viewers may not write; scoped officers may not create outside their scope
    resp = await client.post("/api/v1/stations", json={"mn": "X1"}, headers=seeded.auth("viewer"))
    assert resp.status == 403
    resp = await client.post(
        "/api/v1/stations", json={"mn": "X2", "region": "R02"}, headers=seeded.auth("officer")
    )
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "out_of_scope"
    resp = await client.post(
        "/api/v1/stations", json={"mn": "X3", "region": "R01"}, headers=seeded.auth("officer")
    )
    assert resp.status == 201
    # nor move a station out of it ("moderate" has no grid cell: its region decides)
    own = seeded.stations["moderate"]
    resp = await client.patch(
        f"/api/v1/stations/{own}", json={"region": "R02"}, headers=seeded.auth("officer")
    )
    assert resp.status in (403,)
    resp = await client.patch(
        f"/api/v1/stations/{own}", json={"lat": 91}, headers=seeded.auth("admin")
    )
    assert resp.status == 400
    resp = await client.patch(
        f"/api/v1/stations/{own}", json={"grid_id": 999999}, headers=seeded.auth("admin")
    )
    assert resp.status == 400


async def test_pending_approve_and_reject(client: TestClient, seeded: Seed) -> None:
    conn = await connect(seeded.dsn)
    try:
        for mn in ("PEND1", "PEND2"):
            await conn.execute(
                "INSERT INTO pending_stations (mn, st, password, edition, peer)"
                " VALUES ($1, '22', 'pw', '2017', '127.0.0.1')",
                mn,
            )
    finally:
        await conn.close()
    pending = await _json(client, "/api/v1/pending-stations", "admin", seeded)
    assert {p["mn"] for p in pending} == {"PEND1", "PEND2"} and "password" not in pending[0]
    resp = await client.post(
        "/api/v1/pending-stations/PEND1/approve",
        json={"region": "R01", "name": "审批站"},
        headers=seeded.auth("admin"),
    )
    assert resp.status == 201, await resp.text()
    resp = await client.post("/api/v1/pending-stations/PEND2/reject", headers=seeded.auth("admin"))
    assert resp.status == 200
    assert await _json(client, "/api/v1/pending-stations", "admin", seeded) == []
    resp = await client.post(
        "/api/v1/pending-stations/NEVER1/approve", json={}, headers=seeded.auth("admin")
    )
    assert resp.status == 404
    await _json(client, "/api/v1/pending-stations", "viewer", seeded, status=403)


async def test_maintenance_list(client: TestClient, seeded: Seed) -> None:
    data = await _json(client, "/api/v1/maintenance/stations", "admin", seeded)
    assert data["total"] == 5  # enabled stations only
    first = data["items"][0]
    assert first["name"] == "东城离线站" and first["online"] is False
    assert 3 * 3600 - 60 <= first["silent_s"] <= 3 * 3600 + 60
    assert first["nav_url"] == "geo:30.29,120.24?q=30.29,120.24"
    offline = await _json(client, "/api/v1/maintenance/stations?status=offline", "admin", seeded)
    assert [i["name"] for i in offline["items"]] == ["东城离线站"]
    scoped = await _json(client, "/api/v1/maintenance/stations", "maintainer", seeded)
    assert [i["name"] for i in scoped["items"]] == ["西城一站"]
    await _json(client, "/api/v1/maintenance/stations", "viewer", seeded, status=403)


async def test_users_admin(client: TestClient, seeded: Seed) -> None:
    admin = seeded.auth("admin")
    resp = await client.post(
        "/api/v1/users",
        json={
            "username": "li.si",
            "password": "Strong123",
            "role": "officer",
            "display_name": "李四",
            "scope": [seeded.areas["R02"]],
        },
        headers=admin,
    )
    assert resp.status == 201, await resp.text()
    uid = (await resp.json())["id"]
    user = await _json(client, f"/api/v1/users/{uid}", "admin", seeded)
    assert user["scope"] == [seeded.areas["R02"]] and user["role"] == "officer"
    assert user["must_change_password"] is True
    resp = await client.post(
        "/api/v1/users",
        json={"username": "li.si", "password": "Strong123", "role": "officer"},
        headers=admin,
    )
    assert resp.status == 409
    resp = await client.post(
        "/api/v1/users",
        json={"username": "weak", "password": "abc", "role": "viewer"},
        headers=admin,
    )
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "weak_password"
    resp = await client.post(
        "/api/v1/users",
        json={"username": "x1", "password": "Strong123", "role": "king"},
        headers=admin,
    )
    assert resp.status == 400
    resp = await client.patch(
        f"/api/v1/users/{uid}", json={"role": "viewer", "scope": []}, headers=admin
    )
    assert resp.status == 200
    user = await _json(client, f"/api/v1/users/{uid}", "admin", seeded)
    assert user["scope"] == [] and user["role"] == "viewer"
    resp = await client.patch(
        f"/api/v1/users/{seeded.users['admin']}", json={"enabled": False}, headers=admin
    )
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "self_lockout"
    page = await _json(client, "/api/v1/users", "admin", seeded)
    assert page["total"] == 6 and "password_hash" not in page["items"][0]
    roles = await _json(client, "/api/v1/roles", "admin", seeded)
    assert {r["name"] for r in roles["roles"]} >= {
        "admin",
        "officer",
        "maintainer",
        "grid_member",
        "viewer",
    }
    for user in ("officer", "viewer", "maintainer"):
        await _json(client, "/api/v1/users", user, seeded, status=403)
        resp = await client.post(
            "/api/v1/users",
            json={"username": "y", "password": "Strong123", "role": "admin"},
            headers=seeded.auth(user),
        )
        assert resp.status == 403


async def test_operation_and_login_logs(client: TestClient, seeded: Seed) -> None:
    await client.post("/api/v1/auth/login", json={"username": "viewer", "password": "nope12"})
    await client.patch(
        f"/api/v1/stations/{seeded.stations['good']}",
        json={"name": "东城一站（改）"},
        headers=seeded.auth("admin"),
    )
    ops = await _json(client, "/api/v1/logs/operations", "admin", seeded)
    entry = ops["items"][0]
    assert entry["username"] == "admin" and entry["method"] == "PATCH"
    assert entry["action"] == "修改/停用站点" and entry["status"] == 200
    assert entry["detail"]["changed"] == ["name"] and entry["ip"]
    logins = await _json(client, "/api/v1/logs/logins?success=false", "admin", seeded)
    assert (
        logins["items"][0]["username"] == "viewer"
        and logins["items"][0]["reason"] == "bad_credentials"
    )
    await _json(client, "/api/v1/logs/operations", "officer", seeded, status=403)
    await _json(client, "/api/v1/logs/logins", "viewer", seeded, status=403)


async def test_factors_and_health(client: TestClient, seeded: Seed) -> None:
    factors = await _json(client, "/api/v1/factors", "viewer", seeded)
    assert any(f["code"] == "a34004" for f in factors)
    resp = await client.get("/api/v1/health")
    assert resp.status == 200


async def _read_events(resp: object, want: str, timeout: float = 5.0) -> dict:
    import orjson

    async with asyncio.timeout(timeout):
        event = ""
        async for raw in resp.content:  # type: ignore[attr-defined]
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == want:
                return orjson.loads(line[6:])
    raise AssertionError("stream ended")


async def test_live_stream_scoped_readings_and_alerts(client: TestClient, seeded: Seed) -> None:
    from store.feed import READINGS_CHANNEL, readings_payloads

    officer = await client.get("/api/v1/live", headers=seeded.auth("officer"))
    admin = await client.get("/api/v1/live", headers=seeded.auth("admin"))
    assert officer.headers["Content-Type"].startswith("text/event-stream")
    await _read_events(officer, "hello")
    await _read_events(admin, "hello")
    conn = await connect(seeded.dsn)
    try:
        fid = await conn.fetchval("SELECT id FROM factors WHERE code = 'a34004'")
        own, other = seeded.stations["good"], seeded.stations["unhealthy"]
        (payload,) = readings_payloads(
            "r", [(other, fid, 1700000000, 99.0, "N"), (own, fid, 1700000000, 12.5, "N")]
        )
        await conn.execute("SELECT pg_notify($1, $2)", READINGS_CHANNEL, payload)
        got = await _read_events(officer, "readings")
        assert [i[0] for i in got["items"]] == [own]  # the other station is out of scope
        assert got["items"][0][1] == "a34004" and got["items"][0][4] == 12.5
        got = await _read_events(admin, "readings")
        assert {i[0] for i in got["items"]} == {own, other}
        # alerts: the officer (scope R01) gets their station's and their region's grouped
        # alert, not the other district's; the admin gets all
        theirs = await insert_alert(seeded.dsn, station_id=other)
        mine = await insert_alert(seeded.dsn, station_id=own)
        mass = await insert_alert(
            seeded.dsn, rule="offline_mass", factor=None, region="R01", severity="critical"
        )
        for alert_id in (theirs, mine, mass):
            await conn.execute("SELECT pg_notify('envgrid_alerts', $1)", f"{alert_id}:firing")
        seen = [await _read_events(admin, "alert") for _ in range(3)]
        assert [a["id"] for a in seen] == [theirs, mine, mass]
        assert seen[1] == {
            "id": mine,
            "state": "firing",
            "station_id": own,
            "region": "R01",
            "grid_id": seeded.areas["G01-1"],
            "rule": "exceedance",
            "severity": "major",
        }
        got_officer = [await _read_events(officer, "alert") for _ in range(2)]
        assert [a["id"] for a in got_officer] == [mine, mass]
    finally:
        await conn.close()
        officer.close()
        admin.close()
    resp = await client.get("/api/v1/live")
    assert resp.status == 401
    resp = await client.get(
        f"/api/v1/live?station={seeded.stations['unhealthy']}", headers=seeded.auth("officer")
    )
    assert resp.status == 404


async def test_live_stream_hears_a_reading_sent_right_after_hello(
    aiohttp_client: Callable[..., Any],
    web_settings: Settings,
    db_dsn: str,
    seeded: Seed,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A stream's "hello" came before the feed's LISTEN when the database was slow to
    answer (seen in a loaded test run): a reading NOTIFYed at once was lost.  The app's
    start now waits for the LISTEN; here its connection takes a second to open."""
    import web.live.feed as feed_module
    from store.feed import READINGS_CHANNEL, readings_payloads
    from web.app import create_app

    real_connect = feed_module.connect

    async def slow_connect(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(1.0)
        return await real_connect(*args, **kwargs)

    monkeypatch.setattr(feed_module, "connect", slow_connect)
    client = await aiohttp_client(create_app(web_settings, db_dsn, background=False))
    admin = await client.get("/api/v1/live", headers=seeded.auth("admin"))
    await _read_events(admin, "hello")
    conn = await connect(seeded.dsn)
    try:
        fid = await conn.fetchval("SELECT id FROM factors WHERE code = 'a34004'")
        own = seeded.stations["good"]
        (payload,) = readings_payloads("r", [(own, fid, 1700000000, 12.5, "N")])
        await conn.execute("SELECT pg_notify($1, $2)", READINGS_CHANNEL, payload)
        got = await _read_events(admin, "readings")
        assert [i[0] for i in got["items"]] == [own]
    finally:
        await conn.close()
        admin.close()


async def test_live_stream_ends_at_log_out(client: TestClient, seeded: Seed) -> None:
    """Issue 16, finding 10: an event stream outlived the session that opened it."""
    from .conftest import login

    csrf = await login(client, "officer")
    live = await client.get("/api/v1/live")  # the session cookie
    assert live.status == 200
    await _read_events(live, "hello")
    other = await client.get("/api/v1/live", headers=seeded.auth("officer"))  # a token
    await _read_events(other, "hello")
    resp = await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    assert resp.status == 200
    async with asyncio.timeout(5):
        rest = await live.content.read()  # returns at the end of the stream
    assert b"event: readings" not in rest
    assert not other.content.at_eof()  # another credential's stream goes on
    other.close()
    live.close()
