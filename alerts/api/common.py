"""What the API modules share: the error types, the transaction helper, paging and
choice checks, the configuration NOTIFY and the writes that send it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Final, TypeAlias

import asyncpg

from .. import queries
from ..model import CONFIG_CHANNEL, jsonable

__all__ = [
    "AlertApiError",
    "Db",
    "NotFound",
    "Record",
    "choices",
    "delete_row",
    "notify_config",
    "page_bounds",
    "record",
    "transaction",
    "update_row",
    "write_row",
]


Db: TypeAlias = "asyncpg.Pool | asyncpg.Connection"
Record: TypeAlias = dict[str, Any]

_MAX_PAGE: Final = 1000


class AlertApiError(ValueError):
    """Invalid input; the message says what to change."""


class NotFound(AlertApiError):
    """The object does not exist."""


@asynccontextmanager
async def transaction(db: Db) -> AsyncIterator[asyncpg.Connection]:
    if isinstance(db, asyncpg.Pool):
        async with db.acquire() as conn, conn.transaction():
            yield conn
    else:
        async with db.transaction():
            yield db


def record(row: Mapping[str, Any]) -> Record:
    return {k: jsonable(v) for k, v in dict(row).items()}


def page_bounds(limit: int, offset: int) -> tuple[int, int]:
    if not 1 <= limit <= _MAX_PAGE:
        raise AlertApiError(f"limit must be 1..{_MAX_PAGE} (got {limit})")
    if offset < 0:
        raise AlertApiError(f"offset must be ≥ 0 (got {offset})")
    return limit, offset


def choices(values: Sequence[str] | None, allowed: Sequence[str], what: str) -> list[str] | None:
    if values is None:
        return None
    out = [str(v) for v in values]
    for v in out:
        if v not in allowed:
            raise AlertApiError(f"unknown {what} {v!r}; {what}s: {', '.join(allowed)}")
    return out


async def notify_config(conn: asyncpg.Connection, table: str) -> None:
    await conn.execute(queries.NOTIFY_ONE_SQL, CONFIG_CHANNEL, table)


async def write_row(
    db: Db,
    sql: str,
    args: Sequence[Any],
    table: str,
    *,
    duplicate: str | None = None,
    dangling: str | None = None,
    missing: str | None = None,
) -> Any:
    """``sql`` (``args``) changes a configuration table in one transaction, then the engine
    is told; returns what ``sql`` returns (the id).  The messages: ``duplicate`` when a
    unique key is taken, ``dangling`` when a reference points nowhere, ``missing`` when
    ``sql`` returns no row; a value the database refuses (a NUL byte in a text, a number
    out of range) is an :class:`AlertApiError`, not a server error."""
    async with transaction(db) as conn:
        try:
            value = await conn.fetchval(sql, *args)
        except asyncpg.UniqueViolationError:
            if duplicate is None:
                raise
            raise AlertApiError(duplicate) from None
        except asyncpg.ForeignKeyViolationError:
            if dangling is None:
                raise
            raise NotFound(dangling) from None
        except asyncpg.DataError as exc:  # e.g. a NUL byte in a text, a value out of range
            raise AlertApiError(f"a value cannot be stored: {exc}") from None
        if value is None and missing is not None:
            raise NotFound(missing)
        await notify_config(conn, table)
    return value


async def update_row(
    db: Db, sql: str, ident: int, args: Sequence[Any], table: str, what: str
) -> None:
    """``sql`` (``$1`` the id, then ``args``) changes one row of a configuration table, or
    raises :class:`NotFound`; the engine is told."""
    await write_row(db, sql, (ident, *args), table, missing=f"{what} {ident} does not exist")


async def delete_row(db: Db, sql: str, ident: int, table: str, what: str) -> None:
    await write_row(db, sql, (ident,), table, missing=f"{what} {ident} does not exist")
