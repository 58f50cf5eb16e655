"""What the API modules share: the error types, the transaction helper, paging and
choice checks, the configuration NOTIFY and the writes that send it.

Every refusal carries two messages: English (``str(exc)``, for the CLI and the logs) and
Chinese (:attr:`AlertApiError.zh`, which the dashboard shows:
:func:`web.alerts_web.common.translate`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Final, TypeAlias

import asyncpg

from .. import queries
from ..model import CONFIG_CHANNEL, jsonable

__all__ = [
    "AlertApiError",
    "Conflict",
    "Db",
    "Message",
    "NotFound",
    "Record",
    "absent",
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
#: A refusal's (English, Chinese) messages.
Message: TypeAlias = tuple[str, str]

_MAX_PAGE: Final = 1000


#: The Chinese names of what :func:`choices` checks.
_WHAT_ZH: Final = {
    "state": "状态", "rule": "规则", "severity": "级别", "status": "发送状态",
    "kind": "类型", "role": "角色", "scope": "范围", "level": "层级",
}  # fmt: skip


class AlertApiError(ValueError):
    """Invalid input; the message says what to change, in English (``str(exc)``) and in
    Chinese (:attr:`zh`)."""

    def __init__(self, message: str, zh: str) -> None:
        super().__init__(message)
        self.zh = zh


class NotFound(AlertApiError):
    """The object does not exist."""


class Conflict(AlertApiError):
    """Refused because of what is stored: a name taken, an alert already handled."""


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
        raise AlertApiError(
            f"limit must be 1..{_MAX_PAGE} (got {limit})",
            f"每页条数须为 1–{_MAX_PAGE}（收到 {limit}）",
        )
    if offset < 0:
        raise AlertApiError(
            f"offset must be ≥ 0 (got {offset})", f"偏移量不能为负（收到 {offset}）"
        )
    return limit, offset


def choices(values: Sequence[str] | None, allowed: Sequence[str], what: str) -> list[str] | None:
    if values is None:
        return None
    out = [str(v) for v in values]
    for v in out:
        if v not in allowed:
            raise AlertApiError(
                f"unknown {what} {v!r}; {what}s: {', '.join(allowed)}",
                f"未知的{_WHAT_ZH.get(what, what)} {v!r}；可选：{'、'.join(allowed)}",
            )
    return out


async def notify_config(conn: asyncpg.Connection, table: str) -> None:
    await conn.execute(queries.NOTIFY_ONE_SQL, CONFIG_CHANNEL, table)


async def write_row(
    db: Db,
    sql: str,
    args: Sequence[Any],
    table: str,
    *,
    duplicate: Message | None = None,
    dangling: Message | None = None,
    missing: Message | None = None,
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
            raise Conflict(*duplicate) from None
        except asyncpg.ForeignKeyViolationError:
            if dangling is None:
                raise
            raise NotFound(*dangling) from None
        except asyncpg.DataError as exc:  # e.g. a NUL byte in a text, a value out of range
            raise AlertApiError(
                f"a value cannot be stored: {exc}",
                "有数值无法保存（文本含不允许的字符，或数值超出范围）",
            ) from None
        if value is None and missing is not None:
            raise NotFound(*missing)
        await notify_config(conn, table)
    return value


def absent(what: Message, ident: int | str) -> Message:
    """ "route 7 does not exist" / "通知路由 7 不存在" (``what``: the English and Chinese
    names of the object)."""
    return f"{what[0]} {ident} does not exist", f"{what[1]} {ident} 不存在"


async def update_row(
    db: Db, sql: str, ident: int, args: Sequence[Any], table: str, what: Message
) -> None:
    """``sql`` (``$1`` the id, then ``args``) changes one row of a configuration table, or
    raises :class:`NotFound`; the engine is told."""
    await write_row(db, sql, (ident, *args), table, missing=absent(what, ident))


async def delete_row(db: Db, sql: str, ident: int, table: str, what: Message) -> None:
    await write_row(db, sql, (ident,), table, missing=absent(what, ident))
