"""The data audit through the API: an officer invalidates and restores within their scope
(recorded as the web user), raw and audited hours side by side, the pre-audit proposals
confirmed in bulk — and every forbidden path refused (permission, scope, bad input)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient

from aggregates.audit.proposals import scan
from store.db import connect

from .conftest import Seed

TZ = ZoneInfo("Asia/Shanghai")


def _at(day: date, hour: int) -> str:
    return datetime.combine(day, time(hour), tzinfo=TZ).isoformat()


async def _hours(client: TestClient, seed: Seed, key: str, day: date) -> list[dict[str, Any]]:
    resp = await client.get(
        f"/api/v1/stations/{seed.stations[key]}/audit/hours",
        params={"from": _at(day, 0), "to": _at(day + timedelta(days=1), 0), "factor": "a34004"},
        headers=seed.auth("officer"),
    )
    assert resp.status == 200, await resp.text()
    [series] = (await resp.json())["series"]
    assert series["name"] == "细颗粒物" or series["code"] == "a34004"
    return list(series["hours"])


async def test_officer_invalidates_and_restores_in_scope(
    client: TestClient, seeded: Seed, analytics: date
) -> None:
    good = seeded.stations["good"]
    body = {
        "action": "invalidate",
        "from": _at(analytics, 8),
        "to": _at(analytics, 9),
        "factors": ["a34004"],
        "reason": "仪器故障",
        "note": "现场核实",
    }
    resp = await client.post(
        f"/api/v1/stations/{good}/audit", json=body, headers=seeded.auth("officer")
    )
    assert resp.status == 200, await resp.text()
    entry = await resp.json()
    assert (entry["actor"], entry["actor_kind"], entry["n_changed"]) == ("officer", "web", 2)
    hours = await _hours(client, seeded, "good", analytics)
    audited = [h for h in hours if h["audited"]]
    assert len(hours) == 24 and len(audited) == 2
    assert all(h["raw_valid"] and not h["valid"] and h["reason"] == "仪器故障" for h in audited)
    assert all(h["value"] is not None for h in audited)  # the raw value is kept beside it

    log = await client.get(
        "/api/v1/audit/log", params={"station": str(good)}, headers=seeded.auth("officer")
    )
    assert [e["id"] for e in (await log.json())["items"]] == [entry["id"]]

    back = {"action": "restore", "from": _at(analytics, 8), "to": _at(analytics, 8)}
    resp = await client.post(
        f"/api/v1/stations/{good}/audit", json=back, headers=seeded.auth("officer")
    )
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["n_changed"] == 1  # hour 8 of a34004 (all factors asked)
    assert sum(h["audited"] for h in await _hours(client, seeded, "good", analytics)) == 1


async def test_forbidden_paths(client: TestClient, seeded: Seed, analytics: date) -> None:
    good, west = seeded.stations["good"], seeded.stations["unhealthy"]
    body = {"action": "invalidate", "from": _at(analytics, 8), "to": _at(analytics, 8),
            "reason": "x"}  # fmt: skip
    for user in ("viewer", "maintainer", "grid"):  # no data:audit
        for method, path, payload in (
            ("POST", f"/api/v1/stations/{good}/audit", body),
            ("GET", "/api/v1/audit/log", None),
            ("GET", "/api/v1/audit/proposals", None),
            ("POST", "/api/v1/audit/proposals/confirm", {"ids": [1]}),
            ("POST", "/api/v1/audit/proposals/dismiss", {"ids": [1]}),
        ):
            resp = await client.request(method, path, json=payload, headers=seeded.auth(user))
            assert resp.status == 403, (user, path, await resp.text())
            assert (await resp.json())["error"]["code"] == "forbidden"
    # the officer (district R01) cannot reach a station of R02, nor see its log or proposals
    resp = await client.post(
        f"/api/v1/stations/{west}/audit", json=body, headers=seeded.auth("officer")
    )
    assert resp.status == 404
    resp = await client.post(
        f"/api/v1/stations/{west}/audit", json=body, headers=seeded.auth("admin")
    )
    assert resp.status == 200
    log = await client.get("/api/v1/audit/log", headers=seeded.auth("officer"))
    assert (await log.json())["items"] == []
    conn = await connect(seeded.dsn)
    try:
        await conn.execute(
            "UPDATE measurements_hour SET value = -5 WHERE station_id = $1 AND ts = $2",
            west,
            datetime.fromisoformat(_at(analytics, 3)).astimezone(UTC),
        )
        assert await scan(
            conn,
            datetime.fromisoformat(_at(analytics, 0)),
            datetime.fromisoformat(_at(analytics + timedelta(days=1), 0)),
            [west],
        )
        ids = [
            r["id"]
            for r in await conn.fetch("SELECT id FROM audit_proposals WHERE rule = 'negative'")
        ]
    finally:
        await conn.close()
    listed = await client.get("/api/v1/audit/proposals", headers=seeded.auth("officer"))
    assert (await listed.json())["items"] == []
    resp = await client.post(
        "/api/v1/audit/proposals/confirm", json={"ids": ids}, headers=seeded.auth("officer")
    )
    assert (await resp.json())["confirmed"] == 0  # out of scope: untouched
    listed = await client.get("/api/v1/audit/proposals", headers=seeded.auth("admin"))
    items = (await listed.json())["items"]
    # PM2.5 75 > PM10 70 in the seed (both proposed each hour), and the negative hour
    assert sorted({(i["mn"], i["rule"], i["rule_name"]) for i in items}) == [
        ("MNUNHEALTHY", "negative", "负值"),
        ("MNUNHEALTHY", "pm25_gt_pm10", "PM2.5 大于 PM10"),
    ]
    resp = await client.post(
        "/api/v1/audit/proposals/confirm", json={"ids": ids}, headers=seeded.auth("admin")
    )
    assert (await resp.json())["confirmed"] == len(ids) == 6  # the hour's six factors


async def test_bad_input_is_refused_in_chinese(
    client: TestClient, seeded: Seed, analytics: date
) -> None:
    path = f"/api/v1/stations/{seeded.stations['good']}/audit"
    cases = [
        ({"action": "invalidate", "from": _at(analytics, 8), "to": _at(analytics, 8)}, "原因"),
        ({"action": "drop", "from": _at(analytics, 8), "to": _at(analytics, 8)}, "action"),
        ({"action": "invalidate", "from": "昨天", "to": _at(analytics, 8), "reason": "x"}, "ISO"),
        ({"action": "invalidate", "from": _at(analytics, 9), "to": _at(analytics, 8),
          "reason": "x"}, "结束时间早于开始时间"),
        ({"action": "invalidate", "from": _at(analytics, 8), "to": _at(analytics, 8),
          "reason": "x", "factors": ["zz999"]}, "未知的因子编码"),
        ({"action": "restore", "from": _at(analytics, 8), "to": _at(analytics, 8)}, "无需恢复"),
    ]  # fmt: skip
    for body, message in cases:
        resp = await client.post(path, json=body, headers=seeded.auth("officer"))
        assert resp.status == 400, (body, await resp.text())
        assert message in (await resp.json())["error"]["message"]
    resp = await client.post(
        "/api/v1/audit/proposals/confirm", json={"ids": []}, headers=seeded.auth("officer")
    )
    assert resp.status == 400
