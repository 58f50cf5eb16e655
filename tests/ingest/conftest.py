"""Fixtures for the ingest tests: a real worker on a real PostgreSQL, and station clients."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from envgrid.settings import Settings, load_settings
from ingest import cli_station
from ingest.server import IngestWorker
from protocol import Decoder, Frame, Role
from store.db import connect
from store.engine import EngineInfo
from store.prepare import seed_factors
from store.stations import NewStation, add_stations


def make_settings(data_dir: Path, dsn: str, **ingest: Any) -> Settings:
    overrides: dict[str, Any] = {
        "core.data_dir": str(data_dir),
        "database.dsn": dsn,
        "ingest.port": 0,
        "ingest.batch_ms": 50,
        "ingest.metrics_port": 0,
    }
    overrides.update({f"ingest.{k}": v for k, v in ingest.items()})
    return load_settings(None, {}, overrides, discover=False)


class StationClient:
    """A minimal data logger: sends frames, collects the platform's replies."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        sm4_keys: list[bytes] | None = None,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.sm4_keys = sm4_keys or []  # HJ 212-2025: decrypts the platform's commands
        self.decoder = Decoder(role=Role.STATION, sm4_keys=lambda _mn: self.sm4_keys)
        self.received: list[Frame] = []

    @classmethod
    async def open(cls, port: int, sm4_keys: list[bytes] | None = None) -> StationClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer, sm4_keys)

    async def send(self, *frames: bytes) -> None:
        for frame in frames:
            self.writer.write(frame)
        await self.writer.drain()

    async def expect(self, count: int, timeout: float = 10.0) -> list[Frame]:
        """Wait until ``count`` frames in total have been received."""
        async with asyncio.timeout(timeout):
            while len(self.received) < count:
                data = await self.reader.read(65536)
                if not data:
                    break
                for event in self.decoder.feed(data):
                    assert isinstance(event, Frame), event
                    self.received.append(event)
        return self.received

    async def quiet(self, seconds: float) -> list[Frame]:
        """Collect whatever arrives within ``seconds``."""
        try:
            async with asyncio.timeout(seconds):
                while True:
                    data = await self.reader.read(65536)
                    if not data:
                        return self.received
                    self.received += [e for e in self.decoder.feed(data) if isinstance(e, Frame)]
        except TimeoutError:
            return self.received

    async def closed_by_peer(self, timeout: float = 5.0) -> bool:
        try:
            async with asyncio.timeout(timeout):
                while await self.reader.read(65536):
                    pass
            return True
        except TimeoutError:
            return False

    async def close(self) -> None:
        if self.writer.is_closing():
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
            return
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


def station_parser() -> argparse.ArgumentParser:
    """The parser of ``envgrid station`` (its actions run in-process by :func:`station_cli`)."""
    parser = argparse.ArgumentParser(prog="envgrid station")
    cli_station.configure(parser)
    return parser


async def station_cli(dsn: str, settings: Settings, *argv: str) -> None:
    """Run ``envgrid station ARGV…`` against ``dsn`` in this process; it must succeed."""
    conn = await connect(dsn)
    try:
        args = station_parser().parse_args(argv)
        assert await cli_station.ACTIONS[args.action](conn, args, settings) == 0
    finally:
        await conn.close()


@pytest.fixture
def settings(pg_reachable_tmp: Path, db_dsn: str) -> Settings:
    """Settings of a worker on the test database, data in a fresh directory."""
    return make_settings(pg_reachable_tmp / "var", db_dsn)


@pytest.fixture
async def register(db_dsn: str) -> Callable[..., Any]:
    async def register(*stations: NewStation) -> None:
        conn = await connect(db_dsn)
        try:
            await seed_factors(conn)
            await add_stations(conn, list(stations))
        finally:
            await conn.close()

    return register


@pytest.fixture
async def start_worker(
    db_dsn: str, engine_info: EngineInfo, pg_reachable_tmp: Path
) -> AsyncIterator[Callable[..., Any]]:
    workers: list[IngestWorker] = []

    async def start(dsn: str | None = None, **ingest: Any) -> IngestWorker:
        settings = make_settings(pg_reachable_tmp / "var", dsn or db_dsn, **ingest)
        worker = IngestWorker(settings, dsn or db_dsn, engine_info.engine, index=len(workers))
        await worker.start()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        await worker.stop()
