"""Handlers of the rankings module (thin: validate, one service call, serialise)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from functools import partial

from aiohttp import web

from aggregates.selection import Scope, Selection
from web import context, pages
from web.exports import export_bytes
from web.params import opt_choice, opt_date, opt_str
from web.responses import ApiError, file_response, json_response

from . import queries
from .service import (
    PERIODS,
    SCOPE_ZH,
    SCOPES,
    RankingSpec,
    ranking_report,
    ranking_view,
    resolve_period,
)

FORMATS = ("xlsx", "csv")
BY_LABELS = {"aqi": ("AQI", ""), "aqci": ("综合指数", "")}


async def _spec(request: web.Request) -> RankingSpec:
    q = request.query
    by = opt_str(q, "by", max_len=12) or "aqi"
    if not by.isalnum():
        raise ApiError(400, "bad_parameter", "参数 by 应为 aqi、aqci 或因子编码", parameter="by")
    scope: Scope = opt_choice(q, "scope", SCOPES) or "station"  # type: ignore[assignment]
    period = opt_choice(q, "period", PERIODS) or "7d"
    start, end, columns = resolve_period(
        period, opt_date(q, "day"), opt_date(q, "from"), opt_date(q, "to"), context.today(request)
    )
    label, unit = BY_LABELS.get(by, ("", ""))
    if not label:
        async with context.pool(request).acquire() as conn:
            factor = await queries.factor(conn, by)
        if factor is None:
            raise ApiError(400, "bad_parameter", f"未知因子 {by}", parameter="by")
        label, unit = factor["name_zh"] or by, factor["unit"] or ""
        if by in ("a21026", "a21004", "a05024", "a34002", "a34004"):
            unit = "µg/m³"
        elif by == "a21005":
            unit = "mg/m³"
    return RankingSpec(by, scope, period, start, end, columns, label, unit)


async def _selection(request: web.Request) -> tuple[Selection | None, bool]:
    """(selection, empty): the caller's data scope as a station selection."""
    scope = context.caller(request).scope_param
    if scope is None:
        return None, False
    async with context.pool(request).acquire() as conn:
        ids = await queries.scope_station_ids(conn, scope)
    return Selection(station_ids=tuple(ids)), not ids


async def _view(request: web.Request) -> dict[str, object]:
    spec = await _spec(request)
    selection, empty = await _selection(request)
    return await ranking_view(
        context.pool(request), context.settings(request), spec, selection, empty=empty
    )


async def get_ranking(request: web.Request) -> web.Response:
    return json_response(await _view(request))


def _title(view: Mapping[str, object]) -> str:
    return f"{SCOPE_ZH[str(view['scope'])]}{view['by_label']}排名"


async def export_ranking_file(request: web.Request) -> web.Response:
    fmt = opt_choice(request.query, "format", FORMATS) or "xlsx"
    view = await _view(request)
    title = _title(view)
    settings = context.settings(request)
    report = ranking_report(view, settings, title)
    body = await asyncio.to_thread(
        partial(export_bytes, report, fmt, chart="bar", font=settings.aggregates.cjk_font)
    )
    context.audit(request, by=view["by"], scope=view["scope"], period=view["period"], fmt=fmt)
    return file_response(body, f"{title}_{view['start']}_{view['last']}.{fmt}", fmt)


rankings_page = pages.export_page("rankings.html", "排名")
