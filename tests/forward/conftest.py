"""Fixtures of the forwarding tests: the ingest worker and registration of tests/ingest,
a simulated upstream platform on loopback, and a forwarder with short timeouts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from forward.link import LinkTuning
from forward.service import ForwardService
from simulators.upstream import UpstreamServer
from store.secretbox import SecretBox, box_for
from tests.ingest.conftest import register, start_worker  # noqa: F401 - fixtures

#: Short timeouts: a lost ack is resent after 0.4 s, a silent link is dead after 2 s.
FAST = LinkTuning(
    window=500,
    batch=200,
    ack_timeout_s=0.4,
    dead_after_s=2.0,
    poll_s=0.02,
    sweep_s=0.2,
    connect_timeout_s=1.0,
    backoff_s=(0.05, 0.1, 0.2),
)


@pytest.fixture
def box(pg_reachable_tmp: Path) -> SecretBox:
    return box_for(pg_reachable_tmp / "secret.key")


@pytest.fixture
async def upstream() -> AsyncIterator[UpstreamServer]:
    server = UpstreamServer()
    await server.up()
    try:
        yield server
    finally:
        await server.down()


@pytest.fixture
async def forwarder(db_dsn: str, box: SecretBox) -> AsyncIterator[Callable[..., Any]]:
    """``start()`` → (service, stop event, task); everything started is stopped at the end."""
    import asyncio

    running: list[tuple[asyncio.Event, asyncio.Task[None]]] = []

    async def start(**kw: Any) -> tuple[ForwardService, asyncio.Event, asyncio.Task[None]]:
        kw = {"reload_s": 0.1, "status_s": 0.1, **kw}
        service = ForwardService(db_dsn, box, kw.pop("tuning", FAST), **kw)
        stop = asyncio.Event()
        task = asyncio.create_task(service.run(stop))
        running.append((stop, task))
        return service, stop, task

    yield start
    for stop, task in running:
        stop.set()
        await asyncio.wait_for(task, 15)


@dataclass(frozen=True)
class ForwardKit:
    """What a forwarding test drives: the database, the key file's box, station
    registration, ingest workers, the upstream on loopback and forwarders."""

    db_conn: asyncpg.Connection
    box: SecretBox
    register: Callable[..., Any]
    start_worker: Callable[..., Any]
    upstream: UpstreamServer
    forwarder: Callable[..., Any]


@pytest.fixture
def kit(
    db_conn: asyncpg.Connection,
    box: SecretBox,
    register: Callable[..., Any],  # noqa: F811 - the fixture, imported above
    start_worker: Callable[..., Any],  # noqa: F811 - the fixture, imported above
    upstream: UpstreamServer,
    forwarder: Callable[..., Any],
) -> ForwardKit:
    return ForwardKit(db_conn, box, register, start_worker, upstream, forwarder)
