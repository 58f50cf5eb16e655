"""The engine's configuration snapshot read from the database (:func:`load_config`, a few
small queries), and the station registry alone (:func:`load_stations`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar
from zoneinfo import ZoneInfo

import asyncpg

from aggregates.standards import StandardRegistry
from alerts.settings import AlertsConfig

from . import queries
from .config import AlertConfig, ConfigRow, FactorInfo, LimitRow, Receiver, StationInfo
from .params import coerce_params
from .routing import Route, RoutingError, Silence, Window, parse_matchers, parse_time_ranges
from .rules import RuleError

__all__ = ["load_config", "load_stations"]

log = logging.getLogger(__name__)

_T = TypeVar("_T")


def _ancestors(areas: Mapping[int, int | None], start: int | None) -> tuple[int, ...]:
    out: list[int] = []
    seen: set[int] = set()
    node = start
    while node is not None and node not in seen:
        seen.add(node)
        out.append(node)
        node = areas.get(node)
    return tuple(out)


async def load_stations(
    conn: asyncpg.Connection | asyncpg.Pool, area_codes: dict[int, str] | None = None
) -> dict[int, StationInfo]:
    """The stations with their areas; fills ``area_codes`` (area id → code) if given."""
    rows = await conn.fetch(queries.LOAD_AREAS_SQL)
    areas = {r["id"]: r["parent_id"] for r in rows}
    if area_codes is not None:
        area_codes.update((r["id"], r["code"]) for r in rows)
    out: dict[int, StationInfo] = {}
    for r in await conn.fetch(queries.LOAD_STATIONS_SQL):
        out[r["id"]] = StationInfo(
            r["id"],
            r["mn"],
            r["name"],
            r["st"],
            r["region"],
            r["grid_id"],
            r["enabled"],
            float(r["expected_interval"]),
            _ancestors(areas, r["grid_id"]),
            int(r["area_class"]),
        )
    return out


def _each(
    rows: Iterable[asyncpg.Record],
    build: Callable[[asyncpg.Record], _T],
    what: str,
    label: str,
    errors: type[Exception] | tuple[type[Exception], ...] = RoutingError,
) -> list[_T]:
    """``build(row)`` of every row; a row it refuses is logged (``what`` and the row's
    ``label`` column) and left out."""
    out: list[_T] = []
    for r in rows:
        try:
            out.append(build(r))
        except errors as exc:
            log.warning("%s %s skipped: %s", what, r[label], exc)
    return out


def _route(r: asyncpg.Record) -> Route:
    route = Route(
        r["id"],
        r["name"],
        r["position"],
        parse_matchers(r["matchers"]),
        tuple(r["receiver_ids"]),
        tuple(r["to_roles"]),
        tuple(r["group_by"]),
        r["group_wait_s"],
        r["group_interval_s"],
        r["repeat_interval_s"],
        r["send_resolved"],
        tuple(r["mute_window_ids"]),
        r["continue_matching"],
        r["enabled"],
    )
    route.validate()
    return route


def _silence(r: asyncpg.Record) -> Silence:
    return Silence(
        r["id"], parse_matchers(r["matchers"]), float(r["starts_at"]), float(r["ends_at"])
    )


def _window(r: asyncpg.Record, tz: ZoneInfo) -> Window:
    return Window(
        r["id"],
        r["name"],
        parse_matchers(r["matchers"]),
        r["recurring"],
        ZoneInfo(r["timezone"]) if r["timezone"] else tz,
        None if r["starts_at"] is None else float(r["starts_at"]),
        None if r["ends_at"] is None else float(r["ends_at"]),
        frozenset(r["weekdays"]),
        parse_time_ranges(r["time_ranges"]),
        r["enabled"],
    )


async def load_config(
    conn: asyncpg.Connection | asyncpg.Pool,
    settings: AlertsConfig,
    *,
    registry: StandardRegistry | None = None,
) -> AlertConfig:
    """Read everything configurable in one go (a few small queries)."""
    tz = ZoneInfo(settings.core.timezone)
    area_codes: dict[int, str] = {}
    stations = await load_stations(conn, area_codes)
    factors = {
        r["id"]: FactorInfo(r["id"], r["code"], r["name_zh"], r["unit"])
        for r in await conn.fetch(queries.LOAD_FACTORS_SQL)
    }
    limits = [
        LimitRow(
            r["rule"],
            r["level"],
            r["scope_key"],
            r["factor_code"],
            r["upper"],
            r["lower"],
            r["aqi_level"],
            r["severity"],
            r["enabled"],
            r["source"],
        )
        for r in await conn.fetch(queries.LOAD_LIMITS_SQL)
    ]
    rule_rows: list[ConfigRow] = []
    for r in await conn.fetch(queries.LOAD_RULE_CONFIG_SQL):
        try:
            params = coerce_params(r["rule"], r["params"] or {})
        except RuleError as exc:
            log.warning(
                "alert_rule_config %s/%s/%s: %s", r["rule"], r["level"], r["scope_key"], exc
            )
            continue
        rule_rows.append(
            ConfigRow(
                r["rule"],
                r["level"],
                r["scope_key"],
                r["factor_code"],
                r["enabled"],
                r["severity"],
                params,
            )
        )
    routes = _each(await conn.fetch(queries.LOAD_ROUTES_SQL), _route, "alert route", "name")
    receivers = {
        r["id"]: Receiver(
            r["id"],
            r["name"],
            r["kind"],
            r["address"],
            r["secret"],
            r["settings"] or {},
            r["enabled"],
            r["user_id"],
        )
        for r in await conn.fetch(queries.LOAD_RECEIVERS_SQL)
    }
    responsibilities = [
        (r["receiver_id"], r["role"], r["scope"], r["scope_key"])
        for r in await conn.fetch(queries.LOAD_RESPONSIBILITIES_SQL)
    ]
    silences = _each(await conn.fetch(queries.LOAD_SILENCES_SQL), _silence, "silence", "id")
    windows = _each(
        await conn.fetch(queries.LOAD_WINDOWS_SQL),
        lambda r: _window(r, tz),
        "maintenance window",
        "name",
        (RoutingError, ValueError, KeyError),
    )
    return AlertConfig(
        settings,
        stations=stations,
        factors=factors,
        limits=limits,
        rule_rows=rule_rows,
        routes=routes,
        receivers=receivers,
        responsibilities=responsibilities,
        silences=silences,
        windows=windows,
        registry=registry,
        area_codes=area_codes,
    )
