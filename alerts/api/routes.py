"""Routing rules: which alerts go to whom, grouped how, how often."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, TypedDict, Unpack

from .. import queries
from ..routing import Route, RoutingError, parse_matchers
from .common import AlertApiError, Db, Record, delete_row, record, update_row, write_row

__all__ = ["create_route", "delete_route", "list_routes", "update_route"]


class RouteFields(TypedDict, total=False):
    """A route's fields besides its name (the defaults: :func:`_route_args`)."""

    position: int
    matchers: Mapping[str, Any] | None
    receiver_ids: Sequence[int]
    to_roles: Sequence[str]
    group_by: Sequence[str]
    group_wait_s: float | None
    group_interval_s: float | None
    repeat_interval_s: float | None
    send_resolved: bool
    mute_window_ids: Sequence[int]
    continue_matching: bool
    enabled: bool


_ROUTE: Final = ("route", "通知路由")


def _route_args(
    name: str,
    position: int = 100,
    matchers: Mapping[str, Any] | None = None,
    receiver_ids: Sequence[int] = (),
    to_roles: Sequence[str] = (),
    group_by: Sequence[str] = ("region", "rule"),
    group_wait_s: float | None = None,
    group_interval_s: float | None = None,
    repeat_interval_s: float | None = None,
    send_resolved: bool = True,
    mute_window_ids: Sequence[int] = (),
    continue_matching: bool = False,
    enabled: bool = True,
) -> tuple[Any, ...]:
    if not name.strip():
        raise AlertApiError("route name must not be empty", "通知路由名称不能为空")
    try:
        parsed = parse_matchers(matchers or {})
        Route(
            0,
            name,
            position,
            parsed,
            tuple(receiver_ids),
            tuple(to_roles),
            tuple(group_by),
            group_wait_s,
            group_interval_s,
            repeat_interval_s,
            send_resolved,
            tuple(mute_window_ids),
            continue_matching,
            enabled,
        ).validate()
    except RoutingError as exc:
        raise AlertApiError(str(exc), f"通知路由设置无效：{exc}") from None
    if not receiver_ids and not to_roles:
        raise AlertApiError(
            "a route needs receivers or roles (maintainer/officer) to send to",
            "通知路由须指定接收人或角色（运维人员/监管人员）",
        )
    return (
        name.strip(),
        position,
        {k: sorted(v) for k, v in parsed.items()},
        list(receiver_ids),
        list(to_roles),
        list(group_by),
        group_wait_s,
        group_interval_s,
        repeat_interval_s,
        send_resolved,
        list(mute_window_ids),
        continue_matching,
        enabled,
    )


async def create_route(db: Db, *, name: str, **fields: Unpack[RouteFields]) -> int:
    """A routing rule (see :mod:`alerts.routing`); timers None = the alerts.* settings."""
    args = _route_args(name, **fields)
    taken = f"a route named {name!r} exists already", f"已有名为“{name}”的通知路由"
    return int(await write_row(db, queries.INSERT_ROUTE_SQL, args, "alert_routes", duplicate=taken))


async def update_route(db: Db, route_id: int, *, name: str, **fields: Unpack[RouteFields]) -> None:
    """Replace a route's fields."""
    args = _route_args(name, **fields)
    await update_row(db, queries.UPDATE_ROUTE_SQL, route_id, args, "alert_routes", _ROUTE)


async def list_routes(db: Db) -> list[Record]:
    return [record(r) for r in await db.fetch(queries.LIST_ROUTES_SQL)]


async def delete_route(db: Db, route_id: int) -> None:
    await delete_row(db, queries.DELETE_ROUTE_SQL, route_id, "alert_routes", _ROUTE)
