"""The grid and patrol API: the map layers and grid detail in scope, people ↔ logins ↔
receivers, GeoJSON import/export, point-in-polygon assignment; patrol plans, my tasks,
check-in with the device position, checklist → hazard → rectify/review rounds → case."""

from __future__ import annotations

from datetime import date

import asyncpg
from aiohttp.test_utils import TestClient

from tests.web.casework.conftest import JPEG, square
from tests.web.casework.web_fixture import WebSeed, call, upload
from web.casework.kernel.config import CaseConfig
from web.casework.patrol.service import generate_patrol_tasks
from web.keys import POOL_KEY


async def test_grid_map_and_detail_in_scope(client: TestClient, web_seed: WebSeed) -> None:
    s, a = web_seed, web_seed.world.areas
    await call(
        client, "POST", "/api/v1/cases", s, "admin", status=201,
        json={"title": "G1 的案件", "category": "other", "lat": 30.05, "lon": 120.05},
    )  # fmt: skip
    await call(
        client, "POST", "/api/v1/grid/points", s, "admin", status=201,
        json={"code": "P1", "name": "一号排口", "kind": "排污口", "lat": 30.06, "lon": 120.06},
    )  # fmt: skip
    whole = await call(client, "GET", "/api/v1/grid/map", s, "admin")
    assert len(whole["areas"]["features"]) == 10
    assert [r[1] for r in whole["stations"]["rows"]] == ["一号站"]
    assert [r[2] for r in whole["points"]["rows"]] == ["一号排口"]
    assert whole["points"]["rows"][0][5] == a["G1"]  # located in its grid
    assert [r[2] for r in whole["cases"]["rows"]] == ["G1 的案件"]
    d2 = await call(client, "GET", "/api/v1/grid/map", s, "d2")
    assert {f["properties"]["code"] for f in d2["areas"]["features"]} == {"D2", "S2", "M2", "G3"}
    assert d2["stations"]["rows"] == [] and d2["cases"]["rows"] == [] and d2["points"]["rows"] == []
    await call(client, "GET", f"/api/v1/grid/map?area={a['G1']}", s, "d2", status=403)

    g1 = await call(client, "GET", f"/api/v1/grid/areas/{a['G1']}", s, "member")
    assert [p["code"] for p in g1["ancestors"]] == ["C", "D1", "S1", "M1"]
    assert {(p["name"], p["duty"]) for p in g1["people"]} == {
        ("网格员甲", "member"),
        ("网格长", "head"),
    }
    assert [(u["category"], u["unit_name"], u["depth"]) for u in g1["units"]] == [
        ("*", "生态环境分局", 3),
        ("complaint.water", "水务局", 4),
    ]
    assert [st["name"] for st in g1["stations"]] == ["一号站"]
    assert g1["counts"]["open_cases"] == 1 and g1["level_name"] == "网格"
    await call(client, "GET", f"/api/v1/grid/areas/{a['G3']}", s, "member", status=403)
    await call(client, "GET", "/api/v1/grid/areas/999999", s, "admin", status=404)
    areas = await call(client, "GET", "/api/v1/grid/areas?level=5", s, "d2")
    assert [x["code"] for x in areas] == ["G3"]


async def test_people_logins_receivers_and_duties(client: TestClient, web_seed: WebSeed) -> None:
    s, a = web_seed, web_seed.world.areas
    me = await call(client, "GET", "/api/v1/grid/me", s, "member")
    assert me["role"] == "grid_member" and me["linked"] and me["scope"] == [a["G1"]]
    assert [d["area_code"] for d in me["duties"]] == ["G1"]
    admin = await call(client, "GET", "/api/v1/grid/me", s, "admin")
    assert admin["role"] == "admin" and not admin["linked"] and admin["scope"] is None

    created = await call(
        client, "POST", "/api/v1/grid/people", s, "admin", status=201,
        json={"name": "网格员丙", "role": "grid_member", "phone": "13900000000",
              "user_name": "viewer"},
    )  # fmt: skip
    await call(
        client, "POST", f"/api/v1/grid/areas/{a['G3']}/duties", s, "admin",
        json={"person_id": created["id"], "duty": "member"},
    )  # fmt: skip
    people = await call(client, "GET", f"/api/v1/grid/people?area={a['G3']}", s, "admin")
    assert [p["name"] for p in people["items"]] == ["网格员乙", "网格员丙"]
    # the viewer login now acts as that grid member (linked by name)
    me = await call(client, "GET", "/api/v1/grid/me", s, "viewer")
    assert me["role"] == "grid_member" and me["person_id"] == created["id"]
    # unknown login, duplicate link, unit person without unit: refused with a reason
    await call(
        client, "PATCH", f"/api/v1/grid/people/{created['id']}", s, "admin", status=400,
        json={"user_name": "nobody-such"},
    )  # fmt: skip
    await call(
        client, "POST", "/api/v1/grid/people", s, "admin", status=400,
        json={"name": "x", "role": "unit"},
    )  # fmt: skip
    await call(
        client, "PATCH", f"/api/v1/grid/people/{created['id']}", s, "admin",
        json={"user_name": None, "active": False},
    )  # fmt: skip
    assert (await call(client, "GET", "/api/v1/grid/me", s, "viewer"))["role"] == "viewer"
    # scoped officers see the people of their scope only and may not add people
    scoped = await call(client, "GET", "/api/v1/grid/people", s, "d2")
    assert {p["name"] for p in scoped["items"]} == {"网格员乙", "网格员丙", "处置员"}
    await call(
        client, "POST", "/api/v1/grid/people", s, "d2", status=403,
        json={"name": "x", "role": "viewer"},
    )  # fmt: skip
    await call(
        client, "DELETE", f"/api/v1/grid/areas/{a['G3']}/duties/{created['id']}?duty=member",
        s, "admin",
    )  # fmt: skip
    units = await call(client, "GET", "/api/v1/grid/units", s, "viewer")
    assert [u["code"] for u in units] == ["U_ENV", "U_WATER"]
    await call(
        client, "PUT", f"/api/v1/grid/areas/{a['G3']}/units", s, "d2",
        json={"unit_id": web_seed.world.units["U_WATER"], "category": "complaint.noise"},
    )  # fmt: skip
    await call(
        client, "PUT", f"/api/v1/grid/areas/{a['G1']}/units", s, "d2", status=403,
        json={"unit_id": web_seed.world.units["U_WATER"]},
    )  # fmt: skip


async def test_geojson_import_export_and_assignment(client: TestClient, web_seed: WebSeed) -> None:
    s, a = web_seed, web_seed.world.areas
    resp = await client.get("/api/v1/grid/export", headers=s.auth("admin"))
    exported = await resp.json(content_type=None)
    assert len(exported["features"]) == 10
    new = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": square(120.1, 30.0, 120.2, 30.1),
                "properties": {"code": "G4", "name": "网格四", "level": 5, "parent_code": "M1"},
            }
        ],
    }
    result = await call(client, "POST", "/api/v1/grid/import", s, "admin", json=new)
    assert (result["created"], result["updated"]) == (1, 0)
    assert result["warnings"]  # G4 sticks out of M1
    await call(client, "POST", "/api/v1/grid/import", s, "d2", status=403, json=new)
    bad = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}}]}
    refused = await call(client, "POST", "/api/v1/grid/import", s, "admin", status=400, json=bad)
    assert refused["error"]["code"] == "bad_geojson" and refused["error"]["errors"]
    # a station without a grid, then the point-in-polygon assignment
    await _pool(client).execute(
        "INSERT INTO stations (mn, name, st, lat, lon) VALUES ('X2', '四号站', '22', 30.05, 120.15)"
    )
    d2_export = await (await client.get("/api/v1/grid/export", headers=s.auth("d2"))).json(
        content_type=None
    )
    assert {f["properties"]["code"] for f in d2_export["features"]} == {"D2", "S2", "M2", "G3"}
    report = await call(client, "POST", "/api/v1/grid/assign", s, "admin", json={"reassign": True})
    assert report["station"] == {"assigned": 1, "unchanged": 1, "outside": []}
    grid = await _pool(client).fetchval("SELECT grid_id FROM stations WHERE mn = 'X2'")
    assert grid == await _pool(client).fetchval("SELECT id FROM areas WHERE code = 'G4'")
    await call(client, "POST", "/api/v1/grid/assign", s, "d2", status=403, json={})
    assert a["G1"] != grid


async def test_patrol_plan_tasks_check_in_and_hazard_rounds(
    client: TestClient, web_seed: WebSeed, config: CaseConfig
) -> None:
    s, w = web_seed, web_seed.world
    today = date.today().isoformat()
    plan = {
        "name": "一号站日巡",
        "cycle": "daily",
        "start_date": today,
        "station_ids": [w.station],
        "assignee_duty": "member",
    }
    await call(client, "POST", "/api/v1/patrol/plans", s, "member", status=403, json=plan)
    await call(client, "POST", "/api/v1/patrol/plans", s, "officer", status=400,
               json={**plan, "cycle": "custom"})  # fmt: skip
    created = await call(
        client, "POST", "/api/v1/patrol/plans", s, "officer", status=201, json=plan
    )
    plans = await call(client, "GET", "/api/v1/patrol/plans", s, "member")
    assert [p["id"] for p in plans] == [created["id"]]
    assert await call(client, "GET", "/api/v1/patrol/plans", s, "d2") == []
    from web.casework.kernel.access import now

    assert await generate_patrol_tasks(_pool(client), now(), config) == 1

    mine = await call(client, "GET", "/api/v1/patrol/tasks?mine=true", s, "member")
    assert mine["linked"] and len(mine["items"]) == 1
    task = mine["items"][0]
    assert task["target_name"] == "一号站" and task["state"] == "pending"
    # the deadline as working time left, as on cases
    left = task["deadline_left"]
    assert left["minutes"] >= 0 and left["text"].startswith("剩余") and "个工作" in left["text"]
    none = await call(client, "GET", "/api/v1/patrol/tasks?mine=true", s, "admin")
    assert none["items"] == [] and not none["linked"]
    assert (await call(client, "GET", "/api/v1/patrol/tasks", s, "d2"))["items"] == []
    await call(client, "GET", f"/api/v1/patrol/tasks/{task['id']}", s, "d2", status=404)

    tid = task["id"]
    detail = await call(client, "GET", f"/api/v1/patrol/tasks/{tid}", s, "member")
    assert detail["can_work"] and len(detail["check_items"]) == 7
    assert detail["deadline_left"] == left
    # the checklist needs a check-in first; the head of G1 is not the assignee
    results = [{"code": i["code"], "ok": True} for i in detail["check_items"]]
    await call(client, "POST", f"/api/v1/patrol/tasks/{tid}/checklist", s, "member", status=409,
               json={"results": results})  # fmt: skip
    await call(client, "POST", f"/api/v1/patrol/tasks/{tid}/checkin", s, "head", status=403,
               json={"lat": 30.05, "lon": 120.05})  # fmt: skip
    far = await call(
        client, "POST", f"/api/v1/patrol/tasks/{tid}/checkin", s, "member", status=201,
        json={"lat": 30.06, "lon": 120.05, "accuracy_m": 12},
    )  # fmt: skip
    assert far["out_of_range"] and 1000 < far["distance_m"] < 1200
    photo = await upload(client, s, "member", JPEG)
    near = await call(
        client, "POST", f"/api/v1/patrol/tasks/{tid}/checkin", s, "member", status=201,
        json={"lat": 30.0501, "lon": 120.0501, "photos": photo},
    )  # fmt: skip
    assert not near["out_of_range"] and near["distance_m"] < 20
    results[2] = {"code": results[2]["code"], "ok": False, "note": "PM2.5 仪器报警"}
    done = await call(
        client, "POST", f"/api/v1/patrol/tasks/{tid}/checklist", s, "member",
        json={"results": results, "photos": await upload(client, s, "member", JPEG)},
    )  # fmt: skip
    assert done["on_time"] and len(done["hazards"]) == 1
    detail = await call(client, "GET", f"/api/v1/patrol/tasks/{tid}", s, "member")
    assert detail["state"] == "done" and not detail["can_work"]
    assert detail["deadline_left"] is None  # a finished task's deadline no longer runs
    assert [c["out_of_range"] for c in detail["checkins"]] == [True, False]
    assert len(detail["checkins"][1]["attachments"]) == 1 and len(detail["attachments"]) == 1

    hid = done["hazards"][0]
    hazard = await call(client, "GET", f"/api/v1/patrol/hazards/{hid}", s, "head")
    assert hazard["state"] == "rectifying" and hazard["actions"] == ["rectify", "escalate"]
    listed = await call(client, "GET", "/api/v1/patrol/hazards?state=rectifying", s, "officer")
    assert [h["id"] for h in listed["items"]] == [hid]
    assert "个工作" in listed["items"][0]["deadline_left"]["text"]
    assert hazard["deadline_left"]["text"].startswith("剩余")
    await call(client, "POST", f"/api/v1/patrol/hazards/{hid}/rectify", s, "member",
               json={"note": "已联系运维更换滤膜", "photos": await upload(client, s, "member", JPEG)})  # fmt: skip
    # the rectifier may not review their own work; the head fails it → round 2
    await call(client, "POST", f"/api/v1/patrol/hazards/{hid}/review", s, "member", status=403,
               json={"passed": True})  # fmt: skip
    failed = await call(client, "POST", f"/api/v1/patrol/hazards/{hid}/review", s, "head",
                        json={"passed": False, "note": "仍在报警"})  # fmt: skip
    assert failed["state"] == "rectifying" and failed["round"] == 2
    escalated = await call(client, "POST", f"/api/v1/patrol/hazards/{hid}/escalate", s, "head",
                           status=201)  # fmt: skip
    case = await call(client, "GET", f"/api/v1/cases/{escalated['case_id']}", s, "officer")
    assert case["source"] == "hazard" and case["grid_id"] == w.areas["G1"]
    hazard = await call(client, "GET", f"/api/v1/patrol/hazards/{hid}", s, "officer")
    assert [r["round"] for r in hazard["rounds"]] == [1, 2] and hazard["case_code"] == case["code"]
    assert len(hazard["rounds"][0]["attachments"]) == 1
    stats = await call(client, "GET", "/api/v1/patrol/stats?group=person", s, "officer")
    row = stats["rows"][0]
    assert (row["name"], row["tasks"], row["done"], row["hazards"]) == ("网格员甲", 1, 1, 1)


def _pool(client: TestClient) -> asyncpg.Pool:
    return client.app[POOL_KEY]
