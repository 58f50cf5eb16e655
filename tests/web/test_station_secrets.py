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
