"""The alert pages' API: alerts (list, detail, acknowledge/resolve/assign/comment), the
notification log, silences and maintenance windows, routes and receivers, users linked to
receivers, per-station limits — with permission and data-scope denials (scope in SQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from alerts import api as alerts_api
from store.db import connect

from .conftest import Seed, insert_alert, login


async def _get(client: TestClient, path: str, user: str, seed: Seed, status: int = 200) -> Any:
    resp = await client.get(path, headers=seed.auth(user))
    assert resp.status == status, await resp.text()
    return await resp.json()


async def _send(
    client: TestClient,
    method: str,
    path: str,
    user: str,
    seed: Seed,
    body: Any = None,
    status: int = 200,
) -> Any:
    resp = await client.request(method, path, json=body, headers=seed.auth(user))
    assert resp.status == status, await resp.text()
    return await resp.json()


async def _alerts(seed: Seed) -> dict[str, int]:
    s = seed.stations
    now = datetime.now(UTC)
    return {
        "good": await insert_alert(seed.dsn, station_id=s["good"], first_seen=now),
        "unhealthy": await insert_alert(
            seed.dsn, station_id=s["unhealthy"], first_seen=now - timedelta(minutes=5)
        ),
        "offline": await insert_alert(
            seed.dsn,
            rule="offline",
            station_id=s["offline"],
            factor=None,
            severity="warning",
            state="acknowledged",
            first_seen=now - timedelta(hours=1),
        ),
        "mass_r01": await insert_alert(
            seed.dsn,
            rule="offline_mass",
            factor=None,
            region="R01",
            severity="critical",
            first_seen=now - timedelta(minutes=10),
        ),
        "resolved": await insert_alert(
            seed.dsn,
            station_id=s["flagged"],
            state="resolved",
            first_seen=now - timedelta(days=1),
        ),
    }


async def test_alert_list_filters_and_scope(client: TestClient, seeded: Seed) -> None:
    ids = await _alerts(seeded)
    page = await _get(client, "/api/v1/alerts?limit=10", "admin", seeded)
    assert page["total"] == 5 and page["items"][0]["id"] == ids["good"]
    first = page["items"][0]
    assert first["station_name"] == "东城一站" and first["factor_code"] == "a34004"
    assert first["rule_zh"] == "超标" and first["state_zh"] == "告警中"
    assert first["factor_name"] and first["severity_zh"] == "较重"
    open_ = await _get(client, "/api/v1/alerts?state=open", "admin", seeded)
    assert {a["id"] for a in open_["items"]} == set(ids.values()) - {ids["resolved"]}
    firing = await _get(client, "/api/v1/alerts?state=firing&rule=exceedance", "admin", seeded)
    assert {a["id"] for a in firing["items"]} == {ids["good"], ids["unhealthy"]}
    region = await _get(client, "/api/v1/alerts?region=R02", "admin", seeded)
    assert {a["id"] for a in region["items"]} == {ids["unhealthy"], ids["resolved"]}
    station = await _get(
        client, f"/api/v1/alerts?station={seeded.stations['good']}", "viewer", seeded
    )
    assert [a["id"] for a in station["items"]] == [ids["good"]]
    area = await _get(client, f"/api/v1/alerts?area={seeded.areas['R01']}", "admin", seeded)
    assert [a["id"] for a in area["items"]] == [ids["good"]]  # grid G01-1 lies below R01
    paged = await _get(client, "/api/v1/alerts?limit=2&offset=2", "admin", seeded)
    assert len(paged["items"]) == 2 and paged["total"] == 5
    # data scope (SQL): the officer (R01) sees R01's stations and R01's grouped alert;
    # the maintainer (grid G02-1) the one station there
    officer = await _get(client, "/api/v1/alerts", "officer", seeded)
    assert {a["id"] for a in officer["items"]} == {ids["good"], ids["offline"], ids["mass_r01"]}
    maint = await _get(client, "/api/v1/alerts", "maintainer", seeded)
    assert [a["id"] for a in maint["items"]] == [ids["unhealthy"]]
    # a filter cannot widen the scope
    other = await _get(client, "/api/v1/alerts?region=R02", "officer", seeded)
    assert other["items"] == []
    summary = await _get(client, "/api/v1/alert-summary", "officer", seeded)
    assert summary["open"] == 3 and summary["by_state"] == {"firing": 2, "acknowledged": 1}
    for bad in ("state=burning", "rule=x", "severity=huge", "from=yesterday", "limit=0"):
        body = await _get(client, f"/api/v1/alerts?{bad}", "admin", seeded, status=400)
        assert body["error"]["code"] == "bad_parameter"


async def test_alert_detail_and_actions(client: TestClient, seeded: Seed) -> None:
    ids = await _alerts(seeded)
    good = ids["good"]
    detail = await _get(client, f"/api/v1/alerts/{good}", "officer", seeded)
    assert (
        detail["alert"]["id"] == good and detail["events"] == [] and detail["notifications"] == []
    )
    # out of scope: 404, like a missing alert (also for the actions)
    await _get(client, f"/api/v1/alerts/{ids['unhealthy']}", "officer", seeded, status=404)
    await _get(client, "/api/v1/alerts/99999", "admin", seeded, status=404)
    await _send(
        client, "POST", f"/api/v1/alerts/{ids['unhealthy']}/ack", "officer", seeded, {}, 404
    )
    # permission: the viewer reads but may not acknowledge
    denied = await _send(client, "POST", f"/api/v1/alerts/{good}/ack", "viewer", seeded, {}, 403)
    assert denied["error"]["code"] == "forbidden"
    acked = await _send(
        client, "POST", f"/api/v1/alerts/{good}/ack", "officer", seeded, {"comment": "已通知运维"}
    )
    assert acked["state"] == "acknowledged" and acked["acknowledged_by"] == "officer"
    again = await _send(client, "POST", f"/api/v1/alerts/{good}/ack", "officer", seeded, {}, 409)
    assert "已确认" in again["error"]["message"]
    people = await _get(client, "/api/v1/alert-assignees", "officer", seeded)
    assert {"admin", "officer", "maintainer"} <= {p["username"] for p in people}
    assigned = await _send(
        client,
        "POST",
        f"/api/v1/alerts/{good}/assign",
        "officer",
        seeded,
        {"assignee": "maintainer"},
    )
    assert assigned["assignee"] == "maintainer"
    await _send(client, "POST", f"/api/v1/alerts/{good}/comment", "officer", seeded, {}, 400)
    await _send(
        client, "POST", f"/api/v1/alerts/{good}/comment", "officer", seeded, {"comment": "现场检查"}
    )
    resolved = await _send(client, "POST", f"/api/v1/alerts/{good}/resolve", "officer", seeded, {})
    assert resolved["state"] == "resolved" and resolved["resolved_by"] == "officer"
    await _send(client, "POST", f"/api/v1/alerts/{good}/resolve", "officer", seeded, {}, 409)
    detail = await _get(client, f"/api/v1/alerts/{good}", "admin", seeded)
    kinds = [(e["kind"], e["actor"]) for e in detail["events"]]
    assert kinds == [
        ("acknowledged", "officer"),
        ("assigned", "officer"),
        ("comment", "officer"),
        ("resolved", "officer"),
    ]
    assert detail["events"][0]["comment"] == "已通知运维"
    # every attempt is in the operation log, with its outcome
    log = await _get(client, "/api/v1/logs/operations?username=officer", "admin", seeded)
    done = [
        (e["action"], e["status"]) for e in log["items"] if e["action"] in ("确认告警", "解除告警")
    ]
    assert sorted(done) == sorted(
        [
            ("确认告警", 404),
            ("确认告警", 200),
            ("确认告警", 409),
            ("解除告警", 200),
            ("解除告警", 409),
        ]
    )


async def test_alert_ack_through_the_session_needs_csrf(client: TestClient, seeded: Seed) -> None:
    ids = await _alerts(seeded)
    token = await login(client, "officer")
    resp = await client.post(f"/api/v1/alerts/{ids['good']}/ack", json={})
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "csrf"
    resp = await client.post(
        f"/api/v1/alerts/{ids['good']}/ack", json={}, headers={"X-CSRF-Token": token}
    )
    assert resp.status == 200


async def test_notification_log_scope(client: TestClient, seeded: Seed) -> None:
    ids = await _alerts(seeded)
    conn = await connect(seeded.dsn)
    try:
        rows = []
        for key, alert_ids in (
            ("n1", [ids["good"]]),
            ("n2", [ids["unhealthy"]]),
            ("n3", [ids["good"], ids["unhealthy"]]),
            ("n4", []),
        ):
            rows.append(
                await conn.fetchval(
                    "INSERT INTO alert_notifications (idempotency_key, receiver_name, channel,"
                    " kind, alert_ids, subject, message, status) VALUES ($1, '运维组', 'email',"
                    " $2, $3, $4, $5, 'sent') RETURNING id",
                    key,
                    "alert" if alert_ids else "ranking",
                    alert_ids,
                    f"主题 {key}",
                    {"text": f"正文 {key}"},
                )
            )
    finally:
        await conn.close()
    admin = await _get(client, "/api/v1/alert-notifications", "admin", seeded)
    assert admin["total"] == 4
    officer = await _get(client, "/api/v1/alert-notifications", "officer", seeded)
    assert [n["subject"] for n in officer["items"]] == ["主题 n1"]  # only all-in-scope ones
    one = await _get(client, f"/api/v1/alert-notifications/{rows[0]}", "officer", seeded)
    assert one["message"]["text"] == "正文 n1"
    await _get(client, f"/api/v1/alert-notifications/{rows[2]}", "officer", seeded, status=404)
    by_alert = await _get(
        client, f"/api/v1/alert-notifications?alert={ids['unhealthy']}", "admin", seeded
    )
    assert {n["subject"] for n in by_alert["items"]} == {"主题 n2", "主题 n3"}
    kind = await _get(client, "/api/v1/alert-notifications?kind=ranking", "admin", seeded)
    assert [n["subject"] for n in kind["items"]] == ["主题 n4"]
    detail = await _get(client, f"/api/v1/alerts/{ids['good']}", "admin", seeded)
    assert {n["subject"] for n in detail["notifications"]} == {"主题 n1", "主题 n3"}


async def test_silences_and_windows_within_scope(client: TestClient, seeded: Seed) -> None:
    own, other = seeded.stations["good"], seeded.stations["unhealthy"]
    created = await _send(
        client,
        "POST",
        "/api/v1/alert-silences",
        "officer",
        seeded,
        {"matchers": {"station": [own], "rule": ["exceedance"]}, "duration_min": 60},
        201,
    )
    # a scoped user must name stations/regions/grids inside the scope
    for matchers in ({"rule": ["offline"]}, {"station": [other]}, {"region": ["R02"]}):
        body = await _send(
            client,
            "POST",
            "/api/v1/alert-silences",
            "officer",
            seeded,
            {"matchers": matchers, "duration_min": 60},
            403,
        )
        assert body["error"]["code"] == "out_of_scope"
    await _send(
        client,
        "POST",
        "/api/v1/alert-silences",
        "officer",
        seeded,
        {"matchers": {"region": ["R01"]}, "duration_min": 30},
        201,
    )
    everyone = await _send(
        client,
        "POST",
        "/api/v1/alert-silences",
        "admin",
        seeded,
        {"matchers": {"rule": ["flatline"]}, "ends_at": "2099-01-01T00:00:00+08:00"},
        201,
    )
    for bad in (
        {"matchers": {"nope": ["x"]}, "duration_min": 5},
        {"matchers": {"rule": ["exceedance"]}},
        {"matchers": {}, "duration_min": 5},
        {"matchers": {"rule": ["x"]}, "ends_at": "2000-01-01T00:00:00+08:00"},
    ):
        await _send(client, "POST", "/api/v1/alert-silences", "admin", seeded, bad, 400)
    await _send(client, "POST", "/api/v1/alert-silences", "viewer", seeded, {"matchers": {}}, 403)
    mine = await _get(client, "/api/v1/alert-silences?active=true", "officer", seeded)
    assert len(mine) == 2  # the admin's unscoped silence is not shown to the officer
    assert len(await _get(client, "/api/v1/alert-silences", "admin", seeded)) == 3
    await _send(
        client,
        "POST",
        f"/api/v1/alert-silences/{everyone['id']}/expire",
        "officer",
        seeded,
        None,
        404,
    )
    await _send(client, "POST", f"/api/v1/alert-silences/{created['id']}/expire", "officer", seeded)
    await _send(
        client,
        "POST",
        f"/api/v1/alert-silences/{created['id']}/expire",
        "officer",
        seeded,
        None,
        409,
    )
    active = await _get(client, "/api/v1/alert-silences?active=true", "officer", seeded)
    assert [s["matchers"] for s in active] == [{"region": ["R01"]}]
    await _send(client, "DELETE", f"/api/v1/alert-silences/{created['id']}", "admin", seeded)
    # maintenance windows: weekly, scoped the same way
    window = {
        "name": "东城周二维护",
        "matchers": {"region": ["R01"]},
        "recurring": True,
        "weekdays": [2],
        "time_ranges": [["02:00", "04:00"]],
        "timezone": "Asia/Shanghai",
    }
    made = await _send(client, "POST", "/api/v1/alert-windows", "maintainer", seeded, window, 403)
    assert made["error"]["code"] == "out_of_scope"  # R01 is not the maintainer's (G02-1)
    made = await _send(client, "POST", "/api/v1/alert-windows", "officer", seeded, window, 201)
    again = await _send(client, "POST", "/api/v1/alert-windows", "officer", seeded, window, 409)
    assert again["error"]["code"] == "conflict"
    one_off = {
        "name": "全市停电",
        "starts_at": "2030-01-01T00:00:00+08:00",
        "ends_at": "2030-01-01T06:00:00+08:00",
    }
    city = await _send(client, "POST", "/api/v1/alert-windows", "admin", seeded, one_off, 201)
    bad = {**window, "name": "坏窗口", "weekdays": [9]}
    await _send(client, "POST", "/api/v1/alert-windows", "admin", seeded, bad, 400)
    await _send(client, "POST", "/api/v1/alert-windows", "admin", seeded, {"name": "无时间"}, 400)
    assert [w["name"] for w in await _get(client, "/api/v1/alert-windows", "officer", seeded)] == [
        "东城周二维护"
    ]
    assert len(await _get(client, "/api/v1/alert-windows", "admin", seeded)) == 2
    changed = {**window, "time_ranges": [["01:00", "05:00"]]}
    await _send(client, "PUT", f"/api/v1/alert-windows/{made['id']}", "officer", seeded, changed)
    await _send(
        client, "PUT", f"/api/v1/alert-windows/{city['id']}", "officer", seeded, window, 404
    )
    await _send(
        client, "DELETE", f"/api/v1/alert-windows/{city['id']}", "officer", seeded, None, 404
    )
    conn = await connect(seeded.dsn)
    try:
        windows = await alerts_api.list_windows(conn)
    finally:
        await conn.close()
    assert next(w for w in windows if w["id"] == made["id"])["time_ranges"] == [["01:00", "05:00"]]
    await _send(client, "DELETE", f"/api/v1/alert-windows/{made['id']}", "officer", seeded)


async def test_routes_receivers_and_users(client: TestClient, seeded: Seed) -> None:
    receiver = {
        "name": "东城运维组",
        "kind": "email",
        "address": "ops@example.cn",
        "user_id": seeded.users["maintainer"],
    }
    made = await _send(client, "POST", "/api/v1/alert-receivers", "admin", seeded, receiver, 201)
    rid = made["id"]
    # routing configuration is for admins only
    for user in ("officer", "viewer"):
        await _get(client, "/api/v1/alert-receivers", user, seeded, status=403)
        await _get(client, "/api/v1/alert-routes", user, seeded, status=403)
    await _send(client, "POST", "/api/v1/alert-receivers", "admin", seeded, receiver, 409)
    await _send(
        client,
        "POST",
        "/api/v1/alert-receivers",
        "admin",
        seeded,
        {**receiver, "name": "坏地址", "address": "not-an-email"},
        400,
    )
    await _send(
        client,
        "POST",
        "/api/v1/alert-receivers",
        "admin",
        seeded,
        {**receiver, "name": "无人", "user_id": 999999},
        400,
    )
    resp = await _send(
        client,
        "POST",
        f"/api/v1/alert-receivers/{rid}/responsibilities",
        "admin",
        seeded,
        {"role": "maintainer", "scope": "region", "scope_key": "R01"},
        201,
    )
    # a NUL byte PostgreSQL cannot store is bad input, not a server error (schemathesis)
    await _send(
        client,
        "POST",
        f"/api/v1/alert-receivers/{rid}/responsibilities",
        "admin",
        seeded,
        {"role": "maintainer", "scope": "region", "scope_key": "R0\u00001"},
        400,
    )
    listed = await _get(client, "/api/v1/alert-receivers", "admin", seeded)
    mine = next(r for r in listed if r["id"] == rid)
    assert mine["username"] == "maintainer" and mine["responsibilities"][0]["scope_key"] == "R01"
    await _send(client, "DELETE", f"/api/v1/alert-responsibilities/{resp['id']}", "admin", seeded)
    # the user admin page shows and sets the link
    user = await _get(client, f"/api/v1/users/{seeded.users['maintainer']}", "admin", seeded)
    assert [r["name"] for r in user["receivers"]] == ["东城运维组"]
    await _send(
        client,
        "PATCH",
        f"/api/v1/users/{seeded.users['officer']}",
        "admin",
        seeded,
        {"receiver_ids": [rid]},
    )
    moved = await _get(client, f"/api/v1/users/{seeded.users['officer']}", "admin", seeded)
    assert [r["id"] for r in moved["receivers"]] == [rid]
    left = await _get(client, f"/api/v1/users/{seeded.users['maintainer']}", "admin", seeded)
    assert left["receivers"] == []
    await _send(
        client,
        "PATCH",
        f"/api/v1/users/{seeded.users['officer']}",
        "admin",
        seeded,
        {"receiver_ids": [999999]},
        400,
    )
    await _send(
        client,
        "PUT",
        f"/api/v1/alert-receivers/{rid}",
        "admin",
        seeded,
        {**receiver, "address": "ops2@example.cn", "user_id": None},
    )
    user = await _get(client, f"/api/v1/users/{seeded.users['officer']}", "admin", seeded)
    assert user["receivers"] == []
    # SMS receivers: mobile numbers, and the choice of the daily push (admins only)
    sms: dict[str, object] = {"name": "值班短信", "kind": "tencent_sms", "address": "13800138000"}
    sms["settings"] = {"daily_push": False, "max_per_hour": 3}
    await _send(client, "POST", "/api/v1/alert-receivers", "officer", seeded, sms, 403)
    bad = {**sms, "name": "坏号码", "address": "12345"}
    await _send(client, "POST", "/api/v1/alert-receivers", "admin", seeded, bad, 400)
    sms_id = (await _send(client, "POST", "/api/v1/alert-receivers", "admin", seeded, sms, 201))[
        "id"
    ]
    listed = await _get(client, "/api/v1/alert-receivers", "admin", seeded)
    got = next(r for r in listed if r["id"] == sms_id)
    assert got["kind"] == "tencent_sms" and got["settings"]["daily_push"] is False
    assert "secret" not in got and not got["has_secret"]
    await _send(client, "DELETE", f"/api/v1/alert-receivers/{sms_id}", "admin", seeded)
    # routes
    route = {
        "name": "东城超标",
        "position": 5,
        "matchers": {"rule": ["exceedance"], "region": ["R01"]},
        "receiver_ids": [rid],
        "repeat_interval_s": 3600,
    }
    made_route = await _send(client, "POST", "/api/v1/alert-routes", "admin", seeded, route, 201)
    routes = await _get(client, "/api/v1/alert-routes", "admin", seeded)
    [mine_route] = [r for r in routes if r["name"] == "东城超标"]  # beside the built-in ones
    assert mine_route["receiver_ids"] == [rid]
    await _send(
        client,
        "POST",
        "/api/v1/alert-routes",
        "admin",
        seeded,
        {"name": "无人接收", "matchers": {"rule": ["jump"]}},
        400,
    )
    await _send(
        client,
        "PUT",
        f"/api/v1/alert-routes/{made_route['id']}",
        "admin",
        seeded,
        {**route, "enabled": False},
    )
    routes = await _get(client, "/api/v1/alert-routes", "admin", seeded)
    assert not next(r for r in routes if r["id"] == made_route["id"])["enabled"]
    await _send(client, "DELETE", f"/api/v1/alert-routes/{made_route['id']}", "admin", seeded)
    await _send(
        client, "DELETE", f"/api/v1/alert-routes/{made_route['id']}", "admin", seeded, None, 404
    )
    await _send(client, "DELETE", f"/api/v1/alert-receivers/{rid}", "admin", seeded)


async def test_station_limits(client: TestClient, seeded: Seed) -> None:
    sid = seeded.stations["good"]
    limits = await _get(client, f"/api/v1/stations/{sid}/limits", "viewer", seeded)
    pm = next(f for f in limits["factors"] if f["factor_code"] == "a34004")
    assert pm["gb3095"]["standard"].startswith("GB 3095")
    assert pm["exceedance"]["upper"] is not None  # the built-in ambient-air limit
    assert limits["own"] == []
    set_ = await _send(
        client,
        "POST",
        f"/api/v1/stations/{sid}/limits",
        "officer",
        seeded,
        {"factor_code": "a34004", "upper": 60, "severity": "critical"},
    )
    limits = await _get(client, f"/api/v1/stations/{sid}/limits", "viewer", seeded)
    pm = next(f for f in limits["factors"] if f["factor_code"] == "a34004")
    assert pm["exceedance"]["upper"] == 60 and pm["exceedance"]["source"] == "站点限值"
    assert pm["exceedance"]["severity"] == "critical"
    station = await _get(client, f"/api/v1/stations/{sid}", "viewer", seeded)
    latest = next(f for f in station["latest"] if f["code"] == "a34004")
    assert latest["limit"] == 60 and latest["limit_source"] == "站点限值"
    assert station["own_limits"] == {"a34004": 60.0}
    # denials: permission (viewer), scope (the officer and another district's station)
    await _send(
        client,
        "POST",
        f"/api/v1/stations/{sid}/limits",
        "viewer",
        seeded,
        {"factor_code": "a34004", "upper": 1},
        403,
    )
    other = seeded.stations["unhealthy"]
    await _send(
        client,
        "POST",
        f"/api/v1/stations/{other}/limits",
        "officer",
        seeded,
        {"factor_code": "a34004", "upper": 1},
        404,
    )
    await _get(client, f"/api/v1/stations/{other}/limits", "officer", seeded, status=404)
    for bad in (
        {"factor_code": "zz"},
        {"factor_code": "a34004"},
        {"factor_code": "a34004", "upper": 5, "lower": 9},
    ):
        await _send(client, "POST", f"/api/v1/stations/{sid}/limits", "admin", seeded, bad, 400)
    await _send(
        client,
        "DELETE",
        f"/api/v1/stations/{other}/limits/{set_['id']}",
        "admin",
        seeded,
        None,
        404,
    )
    await _send(client, "DELETE", f"/api/v1/stations/{sid}/limits/{set_['id']}", "officer", seeded)
    station = await _get(client, f"/api/v1/stations/{sid}", "viewer", seeded)
    assert station["own_limits"] == {}
    # the stations admin form's "limits" write the same alert limits
    await _send(
        client,
        "PATCH",
        f"/api/v1/stations/{sid}",
        "officer",
        seeded,
        {"limits": {"a34004": 70, "a34002": 120}},
    )
    station = await _get(client, f"/api/v1/stations/{sid}", "viewer", seeded)
    assert station["own_limits"] == {"a34004": 70.0, "a34002": 120.0}
    await _send(client, "PATCH", f"/api/v1/stations/{sid}", "officer", seeded, {"limits": {}})
    assert (await _get(client, f"/api/v1/stations/{sid}", "viewer", seeded))["own_limits"] == {}
