"""Fixtures for the alert tests: settings, a real SMTP server (aiosmtpd) and a local
webhook receiver (aiohttp) on loopback, station registration."""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Final

import asyncpg
import orjson
import pytest
from aiohttp import web
from aiosmtpd.controller import Controller

from alerts import api
from envgrid.settings import Settings, load_settings
from store.db import connect
from store.prepare import seed_factors
from store.stations import NewStation, add_stations
from tests.conftest import free_port

#: The test receivers (webhooks, SMTP) listen on loopback, which webhooks may reach only
#: when the settings allow it (alerts.notifiers.targets).
LOOPBACK_ALLOWED: Final = {"alerts.webhook_allowed_networks": ["127.0.0.0/8"]}


def alert_settings(dsn: str, data_dir: Path, **alerts: Any) -> Settings:
    """Settings for an engine test.  Most engine tests drive single real-time values, so
    exceedance is judged on them (``alerts.exceedance_basis = "rtd"``, the instantaneous
    limits of alerts.rules_exceedance) unless a test passes ``exceedance_basis=""`` — the
    default, means (alerts.means)."""
    overrides: dict[str, Any] = {
        "database.dsn": dsn,
        "core.data_dir": str(data_dir),
        "alerts.exceedance_basis": "rtd",
        **LOOPBACK_ALLOWED,
    }
    overrides.update({f"alerts.{k}": v for k, v in alerts.items()})
    return load_settings(None, {}, overrides, discover=False)


# -- SMTP ---------------------------------------------------------------------------------


class Mailbox:
    """aiosmtpd handler that keeps every message."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]

    @staticmethod
    def text(msg: EmailMessage) -> str:
        part = msg.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content())


@dataclass
class SmtpServer:
    host: str
    port: int
    mailbox: Mailbox


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, mailbox)
    finally:
        controller.stop()


# -- webhooks -------------------------------------------------------------------------------


@dataclass
class Hooks:
    url: str
    requests: list[tuple[str, dict[str, str], Any]] = field(default_factory=list)
    #: path → list of (status, json answer) to return in turn (then 200 / errcode 0)
    script: dict[str, list[tuple[int, Any]]] = field(default_factory=dict)

    def bodies(self, path: str) -> list[Any]:
        return [body for p, _, body in self.requests if p == path]


@pytest.fixture
async def webhooks() -> AsyncIterator[Hooks]:
    hooks = Hooks("")

    async def receive(request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            body: Any = orjson.loads(raw)
        except orjson.JSONDecodeError:
            body = raw.decode()
        path = request.path
        hooks.requests.append((request.path_qs, dict(request.headers), body))
        queue = hooks.script.get(path)
        if queue:
            status, answer = queue.pop(0)
            return web.json_response(answer, status=status)
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    app = web.Application()
    app.router.add_post("/{name:.*}", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    hooks.url = f"http://127.0.0.1:{port}"
    try:
        yield hooks
    finally:
        await runner.cleanup()


# -- stations -------------------------------------------------------------------------------


async def register(dsn: str, *stations: NewStation) -> dict[str, int]:
    """Seed factors, add stations; returns MN → id."""
    conn = await connect(dsn)
    try:
        await seed_factors(conn)
        await add_stations(conn, list(stations))
        rows = await conn.fetch("SELECT mn, id FROM stations")
        return {r["mn"]: r["id"] for r in rows}
    finally:
        await conn.close()


async def factor_id(conn: asyncpg.Connection | asyncpg.Pool, code: str) -> int:
    return int(await conn.fetchval("SELECT id FROM factors WHERE code = $1", code))


async def store_rtd(
    conn: asyncpg.Connection, rows: list[tuple[int, int, float, float, str]]
) -> None:
    """Insert real-time rows (station, factor, epoch, value, flag) as the ingest writer
    would store them (creating the day partition first on plain PostgreSQL)."""
    partitioned = await conn.fetchval(
        "SELECT relkind = 'p' FROM pg_class WHERE oid = 'measurements_rtd'::regclass"
    )
    if partitioned:
        for epoch in sorted({r[2] // 86400 for r in rows}):
            await conn.execute(
                "SELECT envgrid_ensure_partition('measurements_rtd'::regclass,"
                " to_timestamp($1 * 86400), to_timestamp(($1 + 1) * 86400))",
                epoch,
            )
    await conn.executemany(
        "INSERT INTO measurements_rtd (station_id, factor_id, ts, value, flag)"
        " VALUES ($1, $2, to_timestamp($3), $4, $5)",
        rows,
    )


async def wait_for(predicate: Any, timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll ``await predicate()`` until truthy; returns its value."""
    async with asyncio.timeout(timeout):
        while True:
            value = await predicate()
            if value:
                return value
            await asyncio.sleep(interval)


__all__ = [
    "Hooks",
    "Mailbox",
    "SmtpServer",
    "alert_settings",
    "api",
    "factor_id",
    "register",
    "wait_for",
]
