"""Request ids on the dashboard: taken from X-Request-Id when sane, made otherwise, sent
back, and carried by every JSON log line of the request's work — the operation line of a
change included, with the user and the station's MN and no secret."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from envgrid.settings import Settings
from tests.logcapture import json_lines, logging_into
from web.app import create_app
from web.keys import POOL_KEY

from .conftest import Seed

log = logging.getLogger("envgrid.test.request")


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    with logging_into() as out:
        yield out


async def _logs_and_spawns(request: web.Request) -> web.Response:
    """A handler that logs and starts background work (as report jobs do)."""
    log.info("in the handler")

    async def later() -> None:
        log.info("in the work it started")

    await asyncio.get_running_loop().create_task(later())
    return web.Response(text="ok")


async def _fails(request: web.Request) -> web.Response:
    raise web.HTTPConflict(text="no")


@pytest.fixture
async def app_client(
    aiohttp_client: Callable[..., Any], web_settings: Settings, db_dsn: str, seeded: Seed
) -> TestClient:
    app = create_app(web_settings, db_dsn, background=False)
    app.router.add_get("/test/request-id", _logs_and_spawns)
    app.router.add_get("/test/request-id/fails", _fails)
    return await aiohttp_client(app)


async def test_a_sane_id_is_kept_and_carried_by_every_line(
    app_client: TestClient, json_log: io.StringIO
) -> None:
    resp = await app_client.get("/test/request-id", headers={"X-Request-Id": "edge-42.a"})
    assert await resp.text() == "ok"
    assert resp.status == 200 and resp.headers["X-Request-Id"] == "edge-42.a"
    mine = [e for e in json_lines(json_log) if e["logger"] == log.name]
    assert [e["msg"] for e in mine] == ["in the handler", "in the work it started"]
    assert all(e["request_id"] == "edge-42.a" for e in mine)


@pytest.mark.parametrize("sent", [None, "bad id with spaces", "x" * 200, "<script>"])
async def test_an_insane_or_missing_id_is_replaced(
    app_client: TestClient, json_log: io.StringIO, sent: str | None
) -> None:
    headers = {} if sent is None else {"X-Request-Id": sent}
    resp = await app_client.get("/test/request-id", headers=headers)
    assert await resp.text() == "ok"
    rid = resp.headers["X-Request-Id"]
    assert rid != sent and len(rid) == 32 and int(rid, 16) >= 0
    mine = [e for e in json_lines(json_log) if e["logger"] == log.name]
    assert {e["request_id"] for e in mine} == {rid}
    again = await app_client.get("/test/request-id")
    assert await again.text() == "ok"
    assert again.headers["X-Request-Id"] != rid  # one per request


async def test_errors_static_files_and_probes_get_an_id(app_client: TestClient) -> None:
    for path, status in (
        ("/test/request-id/fails", 409),
        ("/healthz", 200),
        ("/api/v1/no-such-endpoint", 404),
        ("/login", 200),
    ):
        resp = await app_client.get(path, headers={"X-Request-Id": f"id-{status}"})
        await resp.read()
        assert resp.status == status, path
        assert resp.headers["X-Request-Id"] == f"id-{status}", path


async def test_a_dashboard_change_is_one_operation_line(
    app_client: TestClient, json_log: io.StringIO, seeded: Seed
) -> None:
    sid = seeded.stations["good"]
    resp = await app_client.patch(
        f"/api/v1/stations/{sid}",
        json={"name": "改名", "password": "NewStationPw9"},
        headers={**seeded.auth("admin"), "X-Request-Id": "change-1"},
    )
    assert resp.status == 200, await resp.text()
    assert "NewStationPw9" not in json_log.getvalue()
    (line,) = [e for e in json_lines(json_log) if e.get("event") == "operation"]
    assert line["logger"] == "envgrid.changes" and line["level"] == "INFO"
    assert line["request_id"] == "change-1" and line["user"] == "admin"
    assert line["method"] == "PATCH" and line["status"] == 200
    assert line["mn"] and line["changed"] == ["name", "password"]
    # a change refused for want of the permission never runs: no operation line
    resp = await app_client.patch(
        f"/api/v1/stations/{sid}", json={"name": "x"}, headers=seeded.auth("viewer")
    )
    await resp.read()
    assert resp.status == 403
    assert not [
        e for e in json_lines(json_log) if e.get("event") == "operation" and e["status"] == 403
    ]


async def test_a_command_sent_from_the_dashboard_keeps_the_request_id(
    app_client: TestClient, seeded: Seed
) -> None:
    """The ingest worker that sends it later (another process) logs the same id: the
    command carries it (tests/ingest/test_server.py follows it to the log line)."""
    sid = seeded.stations["good"]
    resp = await app_client.post(
        f"/api/v1/stations/{sid}/commands",
        json={"verb": "set-rtd-interval", "params": {"RtdInterval": 60}},
        headers={**seeded.auth("admin"), "X-Request-Id": "cmd-5"},
    )
    assert resp.status == 201, await resp.text()
    command_id = (await resp.json())["id"]
    async with app_client.app[POOL_KEY].acquire() as conn:
        sql = "SELECT request_id FROM station_commands WHERE id = $1"
        assert await conn.fetchval(sql, command_id) == "cmd-5"
