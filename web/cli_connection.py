"""The database connection of the web package's command-line tools (``envgrid user``,
``envgrid grid``): the configured database, or the embedded one started for the command,
migrated first when ``database.migrate_on_start`` says so."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import asyncpg

from store.db import connect
from store.embedded import database_dsn
from web.settings import WebConfig

__all__ = ["cli_connection", "cli_database"]


@contextlib.asynccontextmanager
async def cli_database(settings: WebConfig) -> AsyncIterator[str]:
    """The DSN of the configured (or embedded, started now) database, prepared."""
    from store.prepare import prepare_database

    async with database_dsn(settings.core, settings.database) as dsn:
        if settings.database.migrate_on_start:
            await prepare_database(
                dsn,
                engine=settings.database.engine,
                compress_after_days=settings.database.compress_after_days,
                rollup_refresh_days=settings.database.rollup_refresh_days,
            )
        yield dsn


@contextlib.asynccontextmanager
async def cli_connection(
    settings: WebConfig, application_name: str
) -> AsyncIterator[asyncpg.Connection]:
    async with cli_database(settings) as dsn:
        conn = await connect(dsn, application_name=application_name)
        try:
            yield conn
        finally:
            await conn.close()
