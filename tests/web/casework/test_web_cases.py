"""The case API as each role uses it: report → accept → auto-dispatch → take → feedback
with a photo → check → close, the board and "my cases" of every role, data scope in SQL,
attachments, the assessment and its exports, public complaints with the rate limit."""

from __future__ import annotations

import asyncio
import csv
import io

import openpyxl
from aiohttp import FormData
from aiohttp.test_utils import TestClient

from tests.web.casework.conftest import JPEG, PNG
from tests.web.casework.web_fixture import WebSeed, call, upload
from web.casework.kernel.uploads import strip_metadata
from web.keys import API_KEY
from web.permissions import PERMISSIONS

IN_G1 = {"lat": 30.05, "lon": 120.05}
IN_G3 = {"lat": 30.05, "lon": 120.25}


async def report(client: TestClient, seed: WebSeed, user: str = "member", **kw: object) -> dict:
    body = {"title": "河道漂浮垃圾", "category": "complaint.waste", **IN_G1, **kw}
    return await call(client, "POST", "/api/v1/cases", seed, user, status=201, json=body)


async def act(
    client: TestClient,
    seed: WebSeed,
    user: str,
    case_id: int,
    action: str,
    status: int = 200,
    **kw: object,
) -> dict:
    body = {"action": action, **kw}
    return await call(
        client, "POST", f"/api/v1/cases/{case_id}/actions", seed, user, status=status, json=body
    )


async def test_routes_are_declared_with_module_permissions(client: TestClient) -> None:
    doc = await (await client.get("/api/v1/openapi.json")).json()
    mine = [
        ep
        for ep in client.app[API_KEY].endpoints
        if ep.path.startswith(("/api/v1/cases", "/api/v1/grid", "/api/v1/patrol"))
        or ep.path.startswith(("/api/v1/assessment", "/api/v1/uploads", "/api/v1/attachments"))
        or ep.path.startswith("/api/v1/public/")
    ]
    assert len(mine) >= 45
    for ep in mine:
        op = doc["paths"][ep.openapi_path][ep.method.lower()]
        assert op["x-permission"] == ep.auth
        assert ep.auth in ("public", "user") or ep.auth in PERMISSIONS
    perms = {ep.auth for ep in mine}
    assert {"grid:read", "grid:write", "patrol:read", "patrol:write"} <= perms
    assert {"cases:read", "cases:write", "reports:export", "public"} <= perms


async def test_case_lifecycle_through_the_api(client: TestClient, web_seed: WebSeed) -> None:
    s = web_seed
    w = s.world
    ref = await report(client, s, description="河面有大量塑料瓶", address="一号桥下")
    assert ref["state"] == "reported" and ref["grid_id"] == w.areas["G1"]
    cid = ref["id"]

    # the officer sees it in the 受理 column and in "my cases"; the unit does not yet
    board = await call(client, "GET", "/api/v1/cases/board", s, "officer")
    accept = next(c for c in board["columns"] if c["key"] == "accept")
    assert [i["id"] for i in accept["items"]] == [cid] and board["counts"]["open"] == 1
    mine = await call(client, "GET", "/api/v1/cases/mine", s, "officer")
    assert [i["id"] for i in mine["items"]] == [cid]
    assert (await call(client, "GET", "/api/v1/cases/mine", s, "handler"))["total"] == 0
    detail = await call(client, "GET", f"/api/v1/cases/{cid}", s, "officer")
    assert {a["action"] for a in detail["actions"]} >= {"accept", "reject"}
    assert detail["actor"]["person_id"] == w.people["O"]

    # viewers read but may not act; a unit may not accept
    await act(client, s, "viewer", cid, "accept", status=403)
    wrong = await act(client, s, "handler", cid, "accept", status=403)
    assert "需要" in str(wrong)

    # 受理 → 立案 → auto-dispatched to the grid's unit (U_ENV), with a notice for its people
    await act(client, s, "officer", cid, "accept")
    filed = await act(client, s, "officer", cid, "file")
    assert filed["state"] == "dispatched"
    assert [a["action"] for a in filed["applied"]] == ["file", "dispatch"]
    notices = await call(client, "GET", f"/api/v1/cases/{cid}/notices", s, "officer")
    assert {n["kind"] for n in notices} == {"dispatch"}
    assert {n["recipient_person_id"] for n in notices} == {w.people["H"]}

    # the unit: its case in "my cases"; the water unit sees nothing of it
    mine = await call(client, "GET", "/api/v1/cases/mine", s, "handler")
    assert [i["id"] for i in mine["items"]] == [cid]
    assert (await call(client, "GET", "/api/v1/cases", s, "water"))["total"] == 0
    await call(client, "GET", f"/api/v1/cases/{cid}", s, "water", status=403)
    await act(client, s, "water", cid, "take", status=403)

    # take, then feedback — refused without a photo, done with one
    await act(client, s, "handler", cid, "take")
    await act(client, s, "handler", cid, "feedback", status=400, comment="已清理")
    tokens = await upload(client, s, "handler", JPEG, PNG)
    done = await act(client, s, "handler", cid, "feedback", comment="已清理打捞", photos=tokens)
    assert done["state"] == "feedback"
    # a token is used once
    await act(client, s, "handler", cid, "note", status=400, comment="x", photos=tokens[:1])

    # the monitor centre sends the check; the grid member checks on site; the officer closes
    await act(client, s, "officer", cid, "send_check")
    assert [
        i["id"] for i in (await call(client, "GET", "/api/v1/cases/mine", s, "member"))["items"]
    ] == [cid]
    stale = detail["version"]
    await act(
        client, s, "member", cid, "check_pass", comment="现场已清理", version=stale, status=409
    )
    await act(client, s, "member", cid, "check_pass", comment="现场已清理")
    closed = await act(client, s, "officer", cid, "close")
    assert closed["state"] == "archived"

    detail = await call(client, "GET", f"/api/v1/cases/{cid}", s, "officer")
    actions = [e["action"] for e in detail["trail"]]
    assert actions == [
        "report",
        "accept",
        "file",
        "dispatch",
        "take",
        "feedback",
        "send_check",
        "check_pass",
        "close",
        "archive",
    ]
    photos = detail["trail"][5]["attachments"]
    assert len(photos) == 2 and all("path" not in p for p in photos)
    resp = await client.get(photos[0]["url"], headers=s.auth("officer"))
    assert resp.status == 200 and resp.content_type == "image/jpeg"
    assert await resp.read() == strip_metadata(JPEG, "image/jpeg")  # as stored: no EXIF
    # the photo is as private as the case: another district's officer may not see it
    resp = await client.get(photos[0]["url"], headers=s.auth("d2"))
    assert resp.status == 403
    assert (await client.get(photos[0]["url"])).status == 401

    # the closed case leaves the open board, shows in the closed list
    assert (await call(client, "GET", "/api/v1/cases/board", s, "admin"))["counts"]["open"] == 0
    ended = await call(client, "GET", "/api/v1/cases?open=false", s, "admin")
    assert [i["state"] for i in ended["items"]] == ["archived"]


async def test_scope_and_filters_are_enforced_in_sql(client: TestClient, web_seed: WebSeed) -> None:
    s = web_seed
    a = await report(client, s, "officer", title="一号网格问题")
    b = await report(client, s, "admin", title="三号网格问题", **IN_G3)
    assert b["grid_id"] == s.world.areas["G3"]
    every = await call(client, "GET", "/api/v1/cases", s, "admin")
    assert {i["id"] for i in every["items"]} == {a["id"], b["id"]}
    d2 = await call(client, "GET", "/api/v1/cases", s, "d2")
    assert [i["id"] for i in d2["items"]] == [b["id"]]
    await call(client, "GET", f"/api/v1/cases/{a['id']}", s, "d2", status=403)
    # the grid member's scope is the grid of its duty (G1)
    member = await call(client, "GET", "/api/v1/cases", s, "member")
    assert [i["id"] for i in member["items"]] == [a["id"]]
    # a scoped officer may not report outside the scope
    await call(
        client,
        "POST",
        "/api/v1/cases",
        s,
        "d2",
        status=403,
        json={"title": "越界", "category": "other", **IN_G1},
    )
    # filters
    found = await call(client, "GET", "/api/v1/cases?q=三号", s, "admin")
    assert [i["id"] for i in found["items"]] == [b["id"]]
    assert (await call(client, "GET", "/api/v1/cases?state=reported&overdue=true", s, "admin"))[
        "total"
    ] == 0
    await call(client, "GET", "/api/v1/cases?state=nonsense", s, "admin", status=400)
    await call(client, "GET", f"/api/v1/cases?grid={s.world.areas['G3']}", s, "admin")
    # outside every grid: refused with a reason
    await call(
        client,
        "POST",
        "/api/v1/cases",
        s,
        "admin",
        status=400,
        json={"title": "海上", "category": "other", "lat": 10.0, "lon": 10.0},
    )


async def test_assessment_and_exports(client: TestClient, web_seed: WebSeed) -> None:
    s = web_seed
    ref = await report(client, s)
    for user, action, given in (
        ("officer", "accept", {}),
        ("officer", "file", {}),
        ("handler", "take", {}),
        ("handler", "feedback", {"comment": "完成"}),
        ("officer", "send_check", {}),
        ("member", "check_pass", {"comment": "好"}),
        ("officer", "close", {}),
    ):
        extra: dict[str, object] = dict(given)
        if action == "feedback":
            extra = {**extra, "photos": await upload(client, s, "handler", JPEG)}
        await act(client, s, user, ref["id"], action, **extra)
    view = await call(client, "GET", "/api/v1/assessment?group=unit", s, "officer")
    assert [(r["name"], r["due"], r["closed"], r["on_time"]) for r in view["rows"]] == [
        ("生态环境分局", 1, 1, 1)
    ]
    assert view["total"]["on_time_rate"] == 1.0 and view["rows"][0]["card"] is None
    for group in ("grid", "person", "area", "all"):
        await call(client, "GET", f"/api/v1/assessment?group={group}&level=2", s, "officer")
    await call(client, "GET", "/api/v1/assessment?month=2024-13", s, "officer", status=400)
    other = await call(
        client, "GET", "/api/v1/assessment?from=2020-01-05&to=2020-01-31", s, "admin"
    )
    assert other["rows"] == [] and other["period"]["label"] == "2020-01-05 至 2020-01-31"

    resp = await client.get("/api/v1/assessment/export?format=xlsx", headers=s.auth("officer"))
    assert resp.status == 200 and "attachment" in resp.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(await resp.read()))
    cells = [c for row in book.active.iter_rows(values_only=True) for c in row if c is not None]
    assert "生态环境分局" in cells and "按期结案率(%)" in cells and 100.0 in cells
    resp = await client.get("/api/v1/assessment/export?format=csv", headers=s.auth("officer"))
    rows = list(csv.reader(io.StringIO((await resp.read()).decode("utf-8-sig"))))
    assert any(r and r[0] == "生态环境分局" for r in rows)
    resp = await client.get("/api/v1/assessment/export?format=pdf", headers=s.auth("officer"))
    assert resp.status == 200 and (await resp.read()).startswith(b"%PDF")
    # the grid member may read the assessment but not export it (reports:export)
    resp = await client.get("/api/v1/assessment/export", headers=s.auth("member"))
    assert resp.status == 403


async def test_public_complaint_form_and_rate_limit(client: TestClient, web_seed: WebSeed) -> None:
    page = await client.get("/complaint")
    assert page.status == 200 and "群众投诉" in await page.text()
    cats = await (await client.get("/api/v1/public/complaint-categories")).json()
    assert {c["code"] for c in cats} >= {"complaint.air", "other"}

    def form(**fields: str) -> FormData:
        data = FormData()
        for k, v in {"description": "工地夜间施工噪声扰民", "category": "complaint.noise",
                     "lat": "30.05", "lon": "120.05", **fields}.items():  # fmt: skip
            data.add_field(k, v)
        data.add_field("photo", JPEG, filename="现场.jpg", content_type="image/jpeg")
        return data

    resp = await client.post("/api/v1/public/complaints", data=form(contact_phone="13812345678"))
    body = await resp.json()
    assert resp.status == 201, body
    assert body["code"].startswith("AJ") and body["grid_name"] == "网格一"
    case = await call(client, "GET", "/api/v1/cases?source=complaint", web_seed, "officer")
    assert case["items"][0]["category"] == "complaint.noise"
    detail = await call(
        client, "GET", f"/api/v1/cases/{case['items'][0]['id']}", web_seed, "viewer"
    )
    assert detail["reporter_phone"] == "138****5678"  # masked for viewers
    assert detail["trail"][0]["attachments"][0]["mime"] == "image/jpeg"
    # bad input: a Chinese reason; outside every grid
    resp = await client.post("/api/v1/public/complaints", data=form(lat="10", lon="10"))
    assert resp.status == 400 and "网格" in (await resp.json())["error"]["message"]
    # three per window (the test setting), invalid ones count too
    resp = await client.post("/api/v1/public/complaints", data=form())
    assert resp.status == 201
    resp = await client.post("/api/v1/public/complaints", data=form())
    assert resp.status == 429 and "频繁" in (await resp.json())["error"]["message"]


async def test_public_complaint_bounds_fields_and_body(
    client: TestClient, web_seed: WebSeed
) -> None:
    """Issue 16, finding 2: 20,000 tiny fields took 3-5 s of server time and were accepted;
    now the form is refused at the 21st field, and an oversized declared body before it is
    read — with a Chinese reason."""
    flood = FormData()
    flood.add_field("photo", JPEG, filename="现场.jpg", content_type="image/jpeg")
    for k, v in {"description": "工地夜间施工噪声扰民", "category": "complaint.noise",
                 "lat": "30.05", "lon": "120.05"}.items():  # fmt: skip
        flood.add_field(k, v)
    for i in range(20_000):
        flood.add_field(f"f{i}", "x")
    resp = await client.post("/api/v1/public/complaints", data=flood)
    body = await resp.json()
    assert resp.status == 400 and "表单字段过多" in body["error"]["message"], body
    # a declared body larger than six photos and the fields can be: 413, nothing read
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    try:
        writer.write(
            b"POST /api/v1/public/complaints HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: multipart/form-data; boundary=x\r\n"
            b"Content-Length: 900000000\r\n\r\n--x\r\n"
        )
        await writer.drain()
        status = await asyncio.wait_for(reader.readline(), 10)
        head = await asyncio.wait_for(reader.read(4096), 10)
    finally:
        writer.close()
    assert status.startswith(b"HTTP/1.1 413"), status
    assert "请求体过大" in head.decode("utf-8", "replace")


async def test_upload_refusals(client: TestClient, web_seed: WebSeed) -> None:
    s = web_seed
    bad = FormData()
    bad.add_field("photo", b"not an image at all", filename="x.jpg", content_type="image/jpeg")
    resp = await client.post("/api/v1/uploads", data=bad, headers=s.auth("handler"))
    assert resp.status == 400 and "图片" in (await resp.json())["error"]["message"]
    resp = await client.post("/api/v1/uploads", json={}, headers=s.auth("handler"))
    assert resp.status == 415
    resp = await client.post("/api/v1/uploads", data=FormData({"a": "b"}), headers=s.auth("viewer"))
    assert resp.status == 403


async def test_pages_render_for_each_role(client: TestClient, web_seed: WebSeed) -> None:
    s = web_seed
    ref = await report(client, s)
    from tests.webapp import PASSWORD

    for user, paths in (
        ("officer", ["/cases", "/cases/mine", "/cases/new", f"/cases/{ref['id']}", "/assessment",
                     "/grid", f"/grid/{s.world.areas['G1']}", "/patrol/tasks", "/patrol/plans",
                     "/patrol/hazards"]),
        ("handler", ["/cases", "/cases/mine", "/patrol/tasks"]),
    ):  # fmt: skip
        client.session.cookie_jar.clear()
        resp = await client.post(
            "/api/v1/auth/login", json={"username": user, "password": PASSWORD}
        )
        assert resp.status == 200
        for path in paths:
            page = await client.get(path)
            text = await page.text()
            assert page.status == 200, (user, path, text[:300])
            assert 'lang="zh-CN"' in text and "cases.css" in text
            assert '<script type="module" src="/static/js/cases_' in text, (user, path)
        nav = await (await client.get("/cases")).text()
        assert 'href="/cases"' in nav and 'href="/grid"' in nav
    # a unit may not report cases (page needs cases:write, the form hides for its role)
    assert (await client.get("/cases/new")).status == 200
