"""Issue 16, finding 1: no page or API response hands out a station password.  Rows written
before masking existed (frames with ``PW=…`` in the packet ledger, command replies, a queued
set-password command with its ``NewPW``) are masked on the way out; the registry API and
the operation log never carry the password; a password set in 站点管理 is stored sealed."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from aiohttp.test_utils import TestClient

from store.db import connect

from .conftest import Seed

SECRET, NEW = "Pa55-legacy", "N3w-secret"
FRAME = f"##0101QN=20261121100000001;ST=22;CN=2011;PW={SECRET};MN=X;Flag=5;CP=&&&&0000\r\n"
REPLY = f"##0080QN=20261121100000002;ST=91;CN=9011;PW={SECRET};MN=X;Flag=4;CP=&&QnRtn=1&&0000\r\n"


async def test_no_response_holds_a_station_password(client: TestClient, seeded: Seed) -> None:
    sid = seeded.stations["good"]
    now = datetime.now(UTC)
    conn = await connect(seeded.dsn)
    try:
        await conn.execute(
            "INSERT INTO packet_ledger (station_id, data_time, cn, pno, digest, qn, flag,"
            " received_at, worker, raw) VALUES ($1, $2, 2011, 0, 1, 'q', 5, $2, 0, $3)",
            sid,
            now,
            FRAME,
        )
        command_id = await conn.fetchval(
            "INSERT INTO station_commands (station_id, cn, params, qn, created_by, expires_at)"
            " VALUES ($1, 1072, $2, '20261121100000002', 'admin', now() + interval '1 hour')"
            " RETURNING id",
            sid,
            {"NewPW": NEW},
        )
        await conn.execute(
            "INSERT INTO command_replies (command_id, received_at, cn, fields, raw)"
            " VALUES ($1, $2, 9011, $3, $4)",
            command_id,
            now,
            {"PW": SECRET, "QnRtn": "1"},
            REPLY,
        )
    finally:
        await conn.close()
    bodies = []
    for path, user in (
        (f"/api/v1/stations/{sid}/packets", "viewer"),
        (f"/api/v1/stations/{sid}/commands", "officer"),
        (f"/api/v1/commands/{command_id}", "officer"),
        (f"/api/v1/stations/{sid}", "viewer"),
        ("/api/v1/stations", "admin"),
        ("/api/v1/pending-stations", "admin"),
    ):
        resp = await client.get(path, headers=seeded.auth(user))
        assert resp.status == 200, (path, await resp.text())
        text = await resp.text()
        assert SECRET not in text and NEW not in text and "'pw'" not in text, path
        bodies.append(text)
    assert "PW=******;" in bodies[0] and "NewPW" in bodies[1] and "******" in bodies[2]
    listed = orjson.loads(bodies[1])["items"][0]  # the command and its reply in words
    assert listed["cn_name"] == "设置现场机访问密码"
    assert listed["replies"][0]["cn_name"] == "请求应答"
    assert listed["replies"][0]["result"] == "准备执行请求"
    # a password set through the API is stored sealed and never echoed or logged
    resp = await client.patch(
        f"/api/v1/stations/{sid}", json={"password": NEW}, headers=seeded.auth("admin")
    )
    assert resp.status == 200 and NEW not in await resp.text()
    resp = await client.post(
        f"/api/v1/stations/{sid}/commands",
        json={"verb": "set-password", "params": {"NewPW": NEW}},
        headers=seeded.auth("admin"),
    )
    assert resp.status == 201 and NEW not in await resp.text()
    conn = await connect(seeded.dsn)
    try:
        stored = await conn.fetchval("SELECT password FROM stations WHERE id = $1", sid)
        params = await conn.fetchval(
            "SELECT params FROM station_commands WHERE id = $1", (await resp.json())["id"]
        )
        logs = await conn.fetch("SELECT * FROM envgrid_audit.web_operation_log")
    finally:
        await conn.close()
    assert stored.startswith("enc:v1:") and params["NewPW"].startswith("enc:v1:")
    assert NEW not in orjson.dumps([dict(r) for r in logs], default=str).decode()


async def test_2025_edition_and_sm4_key_in_station_admin(client: TestClient, seeded: Seed) -> None:
    """站点管理 registers an HJ 212-2025 station with its SM4 key: the key is checked,
    stored sealed, never shown (only that one is set, and since when), and replacing it
    keeps the old one for the grace period; a key for a 2017 station is refused."""
    admin = seeded.auth("admin")
    key = "K3y-of-16-chars!"
    resp = await client.post(
        "/api/v1/stations",
        json={"mn": "S2025A", "password": "pw-2025", "edition": "2025", "sm4_key": key},
        headers=admin,
    )
    assert resp.status == 201, await resp.text()
    sid = (await resp.json())["id"]
    for bad, message in (({"sm4_key": "short"}, "SM4 密钥"), ({"edition": "2018"}, "协议版本")):
        resp = await client.patch(f"/api/v1/stations/{sid}", json=bad, headers=admin)
        assert resp.status == 400 and message in (await resp.json())["error"]["message"]
    shown = await (await client.get(f"/api/v1/stations/{sid}", headers=admin)).text()
    assert key not in shown
    got = await (await client.get(f"/api/v1/stations/{sid}", headers=admin)).json()
    assert got["registered_edition"] == "2025" and got["has_sm4_key"] and got["sm4_key_created_at"]
    listed = await (await client.get("/api/v1/stations?q=S2025A", headers=admin)).json()
    assert listed["items"][0]["registered_edition"] == "2025"
    new = "00112233445566778899AABBCCDDEEFF"
    resp = await client.patch(
        f"/api/v1/stations/{sid}", json={"sm4_key": new, "strict_edition": True}, headers=admin
    )
    assert resp.status == 200 and new not in await resp.text()
    conn = await connect(seeded.dsn)
    try:
        row = await conn.fetchrow(
            "SELECT sm4_key, sm4_prev_key, sm4_prev_until > now() AS grace, strict_edition"
            " FROM stations WHERE id = $1",
            sid,
        )
    finally:
        await conn.close()
    assert row["sm4_key"].startswith("enc:v1:") and row["sm4_prev_key"].startswith("enc:v1:")
    assert row["grace"] and row["strict_edition"]
    resp = await client.post(
        "/api/v1/stations",
        json={"mn": "S2017A", "password": "pw", "edition": "2017", "sm4_key": key},
        headers=admin,
    )
    assert resp.status == 400 and "2025" in (await resp.json())["error"]["message"]
    resp = await client.patch(
        f"/api/v1/stations/{sid}", json={"sm4_key": new}, headers=seeded.auth("viewer")
    )
    assert resp.status == 403
