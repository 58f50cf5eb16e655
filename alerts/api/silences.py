"""Silences and maintenance windows: when matching alerts notify nobody."""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final, TypedDict, Unpack

from .. import queries
from ..routing import MATCHER_LABELS, RoutingError, parse_matchers, parse_time_ranges
from .common import (
    AlertApiError,
    Db,
    Record,
    delete_row,
    notify_config,
    record,
    transaction,
    update_row,
    write_row,
)

__all__ = [
    "WindowFields",
    "create_silence",
    "create_window",
    "delete_silence",
    "delete_window",
    "expire_silence",
    "list_silences",
    "list_windows",
    "update_window",
]


_WINDOW: Final = ("maintenance window", "维护时段")
_ENDS: Final = ("ends_at must be after starts_at", "结束时间须晚于开始时间")


def _matchers(matchers: Mapping[str, Any] | None) -> dict[str, list[str]]:
    try:
        return {k: sorted(v) for k, v in parse_matchers(matchers or {}).items()}
    except RoutingError as exc:
        raise AlertApiError(str(exc), f"匹配条件无效：{exc}") from None


_WHEN_ZH: Final = {"starts_at": "开始时间", "ends_at": "结束时间"}


def _aware(value: datetime | None, what: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise AlertApiError(
            f"{what} must carry a time zone (e.g. +08:00)",
            f"{_WHEN_ZH.get(what, what)}须带时区（如 +08:00）",
        )
    return value


async def create_silence(
    db: Db,
    *,
    matchers: Mapping[str, Any],
    ends_at: datetime,
    created_by: str,
    starts_at: datetime | None = None,
    comment: str = "",
) -> int:
    """Mute the notifications of matching alerts from ``starts_at`` (default now) to
    ``ends_at``; the alerts stay visible.  Matchers by label: station, region, rule, …"""
    parsed = _matchers(matchers)
    if not parsed:
        raise AlertApiError(
            "a silence needs at least one matcher (station, region, rule …);"
            f" labels: {', '.join(MATCHER_LABELS)}",
            "静默须至少有一个匹配条件（站点、区域、规则等）",
        )
    if not created_by:
        raise AlertApiError("created_by must name who creates the silence", "须注明静默的创建人")
    start = _aware(starts_at, "starts_at")
    end = _aware(ends_at, "ends_at")
    async with transaction(db) as conn:
        if start is None:
            start = await conn.fetchval(queries.DB_NOW_TS_SQL)
        assert end is not None and start is not None
        if end <= start:
            raise AlertApiError(*_ENDS)
        sid = await conn.fetchval(
            queries.INSERT_SILENCE_SQL, parsed, start, end, created_by, comment
        )
        await notify_config(conn, "alert_silences")
    return int(sid)


async def list_silences(db: Db, *, active_only: bool = False) -> list[Record]:
    return [record(r) for r in await db.fetch(queries.LIST_SILENCES_SQL, active_only)]


async def expire_silence(db: Db, silence_id: int, *, user: str = "") -> None:
    """End a silence now (kept in the list for the record)."""
    missing = (
        f"silence {silence_id} does not exist or has ended",
        f"静默 {silence_id} 不存在或已结束",
    )
    await write_row(
        db, queries.EXPIRE_SILENCE_SQL, (silence_id, user), "alert_silences", missing=missing
    )


async def delete_silence(db: Db, silence_id: int) -> None:
    await delete_row(
        db, queries.DELETE_SILENCE_SQL, silence_id, "alert_silences", ("silence", "静默")
    )


class WindowFields(TypedDict, total=False):
    """A maintenance window's fields besides its name (the defaults: :func:`_window_args`)."""

    matchers: Mapping[str, Any] | None
    recurring: bool
    starts_at: datetime | None
    ends_at: datetime | None
    weekdays: Sequence[int]
    time_ranges: Sequence[Sequence[str]]
    timezone: str | None
    enabled: bool
    comment: str


def _window_args(
    name: str,
    matchers: Mapping[str, Any] | None = None,
    recurring: bool = False,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    weekdays: Sequence[int] = (),
    time_ranges: Sequence[Sequence[str]] = (),
    timezone: str | None = None,
    enabled: bool = True,
    comment: str = "",
) -> tuple[Any, ...]:
    if not name.strip():
        raise AlertApiError("window name must not be empty", "维护时段名称不能为空")
    start, end = _aware(starts_at, "starts_at"), _aware(ends_at, "ends_at")
    if not recurring and (start is None or end is None):
        raise AlertApiError(
            "a one-off window needs starts_at and ends_at", "一次性维护时段须填写开始和结束时间"
        )
    if start is not None and end is not None and end <= start:
        raise AlertApiError(*_ENDS)
    days = sorted({int(d) for d in weekdays})
    if any(not 1 <= d <= 7 for d in days):
        raise AlertApiError(
            f"weekdays are ISO numbers 1 (Monday) .. 7 (Sunday), got {days}",
            f"星期须为 1（周一）到 7（周日）（收到 {days}）",
        )
    try:
        ranges = parse_time_ranges([list(r) for r in time_ranges])
    except RoutingError as exc:
        raise AlertApiError(str(exc), f"时间段无效：{exc}") from None
    if timezone:
        try:
            zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise AlertApiError(
                f"unknown time zone {timezone!r} (e.g. Asia/Shanghai)",
                f"未知的时区 {timezone!r}（如 Asia/Shanghai）",
            ) from None
    return (
        name.strip(),
        _matchers(matchers),
        recurring,
        start,
        end,
        days,
        [[f"{a // 60:02d}:{a % 60:02d}", f"{b // 60:02d}:{b % 60:02d}"] for a, b in ranges],
        timezone or None,
        enabled,
        comment,
    )


async def create_window(
    db: Db, *, name: str, created_by: str = "", **fields: Unpack[WindowFields]
) -> int:
    """A maintenance window: one-off (starts_at..ends_at) or recurring (ISO weekdays and
    ``[["HH:MM", "HH:MM"], …]`` in ``timezone``, default core.timezone)."""
    args = _window_args(name, **fields)
    wid = await write_row(
        db,
        queries.INSERT_WINDOW_SQL,
        (*args[:9], created_by, args[9]),
        "alert_maintenance_windows",
        duplicate=(f"a window named {name!r} exists already", f"已有名为“{name}”的维护时段"),
    )
    return int(wid)


async def update_window(
    db: Db, window_id: int, *, name: str, **fields: Unpack[WindowFields]
) -> None:
    args = _window_args(name, **fields)
    table = "alert_maintenance_windows"
    await update_row(db, queries.UPDATE_WINDOW_SQL, window_id, args, table, _WINDOW)


async def list_windows(db: Db) -> list[Record]:
    return [record(r) for r in await db.fetch(queries.LIST_WINDOWS_SQL)]


async def delete_window(db: Db, window_id: int) -> None:
    await delete_row(db, queries.DELETE_WINDOW_SQL, window_id, "alert_maintenance_windows", _WINDOW)
