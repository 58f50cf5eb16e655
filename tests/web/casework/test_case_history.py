"""已办 (cases I acted on), deadlines in working time on every case list, and the public
complaint status lookup: receipt + phone, one answer for every failed match, only public
fields, rate-limited — tried with wrong phones and enumeration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient

from tests.web.casework.web_fixture import WebSeed, call, case_settings
from web.app import create_app
from web.casework.cases.status_lookup import NOT_FOUND

STATUS = "/api/v1/public/complaints/status"
PHONE = "13812345678"


async def _complain(client: TestClient, phone: str = PHONE) -> str:
    data = FormData(default_to_multipart=True)
    for k, v in {"description": "工地夜间施工噪声扰民", "category": "complaint.noise",
                 "lat": "30.05", "lon": "120.05", "contact_phone": phone,
                 "contact_name": "李四", "address": "一号桥下"}.items():  # fmt: skip
        data.add_field(k, v)
    resp = await client.post("/api/v1/public/complaints", data=data)
    assert resp.status == 201, await resp.text()
    return str((await resp.json())["code"])


async def _lookup(client: TestClient, code: str, phone: str) -> tuple[int, dict[str, Any]]:
    resp = await client.post(STATUS, json={"code": code, "phone": phone})
    return resp.status, await resp.json()


async def test_done_list_filters_and_working_time(client: TestClient, web_seed: WebSeed) -> None:
    s = web_seed
    body = {"title": "河道漂浮垃圾", "category": "complaint.waste", "lat": 30.05, "lon": 120.05}
    ref = await call(client, "POST", "/api/v1/cases", s, "member", status=201, json=body)
    cid = ref["id"]
    for action in ("accept", "file"):
        await call(client, "POST", f"/api/v1/cases/{cid}/actions", s, "officer",
                   json={"action": action})  # fmt: skip

    officer = await call(client, "GET", "/api/v1/cases/done", s, "officer")
    assert officer["linked"] and officer["total"] == 1
    row = officer["items"][0]
    assert (row["id"], row["acted_label"], row["acted_count"]) == (cid, "立案", 2)
    assert row["deadline_left"]["text"].startswith(("剩余", "已超期", "已到期"))
    member = await call(client, "GET", "/api/v1/cases/done", s, "member")
    assert [(i["id"], i["acted_label"]) for i in member["items"]] == [(cid, "上报")]
    # nothing done by the unit yet; an account without a grid person has no 已办 and is told
    assert (await call(client, "GET", "/api/v1/cases/done", s, "handler"))["total"] == 0
    admin = await call(client, "GET", "/api/v1/cases/done", s, "admin")
    assert admin["linked"] is False and admin["items"] == []

    async def total(**query: str) -> int:
        found = await call(client, "GET", "/api/v1/cases/done", s, "officer", params=query)
        return int(found["total"])

    assert await total(q=ref["code"]) == 1 and await total(q="不存在的标题") == 0
    assert await total(open="false") == 0 and await total(open="true") == 1
    assert await total(action="accept") == 1 and await total(action="take") == 0
    assert await total(source="manual") == 1 and await total(source="alert") == 0
    assert await total(**{"from": "2099-01-01"}) == 0 and await total(to="2000-01-01") == 0
    bad = await call(client, "GET", "/api/v1/cases/done", s, "officer", status=400,
                     params={"from": "2026-02-02", "to": "2026-02-01"})  # fmt: skip
    assert "结束日期" in bad["error"]["message"]

    # working time left on the board, the lists and the detail page
    board = await call(client, "GET", "/api/v1/cases/board", s, "officer")
    items = [i for c in board["columns"] for i in c["items"]]
    listed = (await call(client, "GET", "/api/v1/cases", s, "officer"))["items"]
    mine = (await call(client, "GET", "/api/v1/cases/mine", s, "handler"))["items"]
    detail = await call(client, "GET", f"/api/v1/cases/{cid}", s, "officer")
    for row in (*items, *listed, *mine, detail):
        assert "个工作" in row["deadline_left"]["text"] or row["deadline_left"]["text"] == "已到期"
    assert detail["handle_deadline_left"] is not None

    page = await client.get("/cases/done", headers=s.auth("viewer"))
    assert page.status == 200 and "已办案件" in await page.text()
    assert (await client.get("/api/v1/cases/done")).status == 401


async def test_complaint_status_lookup(client: TestClient, web_seed: WebSeed) -> None:
    s = web_seed
    code = await _complain(client)
    status, body = await _lookup(client, code, PHONE)
    assert status == 200, body
    assert set(body) == {"code", "status", "finished", "steps", "replies"}
    assert body["status"] == "已收到，等待受理" and body["finished"] is False
    assert [st["label"] for st in body["steps"]] == ["提交投诉"]
    # the last 4 digits do too, in any spelling of the code
    assert (await _lookup(client, code.lower(), PHONE[-4:]))[0] == 200

    # the officer rejects it with a reply; an internal note is never shown
    case = (await call(client, "GET", "/api/v1/cases?source=complaint", s, "officer"))["items"][0]
    path = f"/api/v1/cases/{case['id']}/actions"
    await call(
        client, "POST", path, s, "officer", json={"action": "note", "comment": "内部：联系人李四"}
    )
    await call(client, "POST", path, s, "officer",
               json={"action": "reject", "comment": "经核实不属于环保职责，已转交城管部门"})  # fmt: skip
    status, body = await _lookup(client, code, PHONE)
    assert body["status"] == "不予受理" and body["finished"] is True
    assert [r["text"] for r in body["replies"]] == ["经核实不属于环保职责，已转交城管部门"]
    text = str(body)
    for secret in ("李四", PHONE, "一号桥下", "网格", "施工噪声", "内部"):
        assert secret not in text, secret

    # a wrong phone, an unknown receipt, a manual case's receipt: the very same answer
    manual = await call(client, "POST", "/api/v1/cases", s, "officer", status=201,
                        json={"title": "x", "category": "other", "lat": 30.05, "lon": 120.05})  # fmt: skip
    answers = [
        await _lookup(client, code, "13812345679"),
        await _lookup(client, code, "5679"),
        await _lookup(client, code[:-6] + "999999", PHONE),
        await _lookup(client, manual["code"], PHONE[-4:]),
    ]
    assert all(a == (404, answers[0][1]) for a in answers), answers
    assert answers[0][1]["error"]["message"] == NOT_FOUND
    # bad input: a Chinese reason
    status, body = await _lookup(client, "12345", "5678")
    assert status == 400 and "受理编号" in body["error"]["message"]
    resp = await client.post(STATUS, data=b"x", headers={"Content-Type": "text/plain"})
    assert resp.status == 415
    page = await client.get("/complaint/status")
    assert page.status == 200 and "投诉进度查询" in await page.text()


async def test_lookup_enumeration_is_rate_limited(
    aiohttp_client: Any, db_dsn: str, pg_reachable_tmp: Path, web_seed: WebSeed
) -> None:
    settings = case_settings(db_dsn, pg_reachable_tmp, **{"cases.complaint_lookup_limit": 5})
    client = await aiohttp_client(create_app(settings, db_dsn, background=False))
    code = await _complain(client)
    prefix, number = code[:-6], int(code[-6:])
    # walking the receipt numbers with a guessed last-4: nothing found, then refused
    results = [await _lookup(client, f"{prefix}{number + i:06d}", "0000") for i in range(5)]
    assert {r[0] for r in results} == {404}
    status, body = await _lookup(client, code, PHONE)  # even the right pair now
    assert status == 429 and "查询过于频繁" in body["error"]["message"]
    # the complaint form has its own window
    await _complain(client)
