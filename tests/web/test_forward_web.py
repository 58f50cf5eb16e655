"""The forwarding admin (上级平台转发): only ``forward:admin`` (the admin role) gets in;
secrets go in and never come out; bad input is a 400 in Chinese."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from store.db import connect
from tests.web.conftest import Seed
from tests.webapp import add_login

API = "/api/v1/forward/targets"
SECRET_PW = "Upstream-PW-77"
SECRET_KEY = "S3cretS3cretKey!"


async def test_targets_api_and_page(client: TestClient, seeded: Seed) -> None:
    body = {
        "name": "province",
        "host": "127.0.0.1",
        "port": 9212,
        "password": SECRET_PW,
        "edition": "2025",
        "sm4_key": SECRET_KEY,
        "cns": [2061, 2031],
        "mn_map": "local,remote\nA1,B1\n",
        "alert_after": 45,
        "since": "2026-01-01T00:00",
    }
    for role in ("officer", "maintainer", "viewer"):
        assert (await client.get(API, headers=seeded.auth(role))).status == 403
        assert (await client.post(API, json=body, headers=seeded.auth(role))).status == 403
        assert (await client.get("/admin/forward", headers=seeded.auth(role))).status == 403
    admin = seeded.auth("admin")
    resp = await client.post(API, json=body, headers=admin)
    assert resp.status == 201, await resp.text()
    resp = await client.get(API, headers=admin)
    text = await resp.text()
    assert SECRET_PW not in text and SECRET_KEY not in text and "enc:v1" not in text
    [target] = await resp.json()
    assert (target["name"], target["backlog"], target["connected"]) == ("province", 0, False)
    assert target["backlog_alert_minutes"] == 45
    # bad input: a clear message in Chinese, nothing stored
    for bad, words in (
        ({**body, "name": "x", "port": 70000}, "65535"),
        ({**body, "name": "y", "edition": "2017"}, "SM4 加密仅用于 HJ 212-2025"),
        ({**body, "name": "z", "mn_map": "a,b\n"}, "首行须为 local,remote"),
        ({**body, "name": "w", "stations": "NOPE01"}, "站点不存在"),
        ({**body, "name": "v", "cns": [9014]}, "不支持转发该 CN"),
        ({**body, "name": "u", "since": "昨天"}, "起始时间须为 ISO 格式"),
        (body, "转发目标已存在"),
    ):
        resp = await client.post(API, json=bad, headers=admin)
        assert resp.status == 400, (bad, await resp.text())
        assert words in (await resp.json())["error"]["message"]
    assert len(await (await client.get(API, headers=admin)).json()) == 1
    # the page and its navigation entry: admins only
    resp = await client.get("/admin/forward", headers=admin)
    html = await resp.text()
    assert resp.status == 200 and "上级平台转发" in html and "js/admin_forward.js" in html
    assert 'href="/admin/forward"' in html
    resp = await client.get("/map", headers=seeded.auth("officer"))
    assert 'href="/admin/forward"' not in await resp.text()
    # removal
    assert (await client.delete(f"{API}/province", headers=seeded.auth("officer"))).status == 403
    assert (await client.delete(f"{API}/province", headers=admin)).status == 200
    assert (await client.delete(f"{API}/province", headers=admin)).status == 404


async def test_an_admin_limited_to_one_district_cannot_forward(
    client: TestClient, seeded: Seed
) -> None:
    """A target without a station list forwards every district's data upstream, and the
    status names its stations: an administrator scoped to R01 is refused (403
    out_of_scope) — listing, adding and removing; nothing is stored."""
    conn = await connect(seeded.dsn)
    try:
        _, token = await add_login(conn, "fw_admin_r01", "admin", [seeded.areas["R01"]])
    finally:
        await conn.close()
    scoped = {"Authorization": f"Bearer {token}"}
    body = {"name": "leak", "host": "127.0.0.1", "port": 9212, "password": SECRET_PW}
    for method, path, payload in (
        ("GET", API, None),
        ("POST", API, body),
        ("DELETE", f"{API}/leak", None),
    ):
        resp = await client.request(method, path, json=payload, headers=scoped)
        assert resp.status == 403, (method, path, await resp.text())
        assert (await resp.json())["error"]["code"] == "out_of_scope"
    assert await (await client.get(API, headers=seeded.auth("admin"))).json() == []
