"""Handlers of the reports module: start a job, poll it, export it, the page."""

from __future__ import annotations

import asyncio
import re
from datetime import date
from functools import partial
from typing import Any, cast

from aiohttp import web

from aggregates.exports import CHART_KINDS
from aggregates.periods import PERIOD_KINDS, period_of
from aggregates.report_model import ReportSpec
from aggregates.selection import Scope
from web import context, pages
from web.exports import export_bytes
from web.keys import REPORT_JOBS_KEY
from web.params import body_bool, body_str, json_body, opt_choice
from web.responses import ApiError, file_response, json_response

from . import queries
from .service import MAX_RUNNING_PER_USER, ReportJob

SCOPES = ("station", "region", "grid")
FORMATS = ("xlsx", "csv", "pdf", "docx", "png", "jpg")
_JOB_ID = re.compile(r"^[0-9a-f]{32}$")
#: Longest custom range (days) a report may cover.
MAX_CUSTOM_DAYS = 366


def _day(body: dict[str, Any], name: str, *, required: bool = False) -> date | None:
    raw = body_str(body, name, required=required, max_len=10)
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ApiError(
            400, "bad_parameter", f"参数 {name} 应为日期，如 2024-03-01", parameter=name
        ) from None


def _factors(body: dict[str, Any]) -> list[str] | None:
    raw = body.get("factors")
    if raw is None:
        return None
    if (
        not isinstance(raw, list)
        or not 1 <= len(raw) <= 20
        or not all(isinstance(c, str) and 1 <= len(c) <= 12 and c.isalnum() for c in raw)
    ):
        raise ApiError(400, "bad_parameter", "factors 应为 1–20 个因子编码", parameter="factors")
    return list(dict.fromkeys(raw))


async def start_report(request: web.Request) -> web.Response:
    body = await json_body(request)
    scope = body_str(body, "scope", required=True, max_len=10)
    if scope not in SCOPES:
        raise ApiError(400, "bad_parameter", "scope 应为 station/region/grid", parameter="scope")
    key = body_str(body, "key", required=True, max_len=64)
    assert key is not None
    kind = body_str(body, "period", required=True, max_len=10)
    if kind not in PERIOD_KINDS:
        raise ApiError(
            400, "bad_parameter", f"period 应为 {'/'.join(PERIOD_KINDS)} 之一", parameter="period"
        )
    day = _day(body, "day") or context.today(request)
    end = _day(body, "end")
    if not (1970 <= day.year <= 9000 and (end is None or 1970 <= end.year <= 9000)):
        raise ApiError(400, "bad_parameter", "日期超出范围", parameter="day")
    try:
        per = period_of(kind, day, end)
    except ValueError:
        message = "自定义时段需要不早于 day 的 end"
        raise ApiError(400, "bad_parameter", message, parameter="end") from None
    if per.days > MAX_CUSTOM_DAYS:
        message = f"时段不能超过 {MAX_CUSTOM_DAYS} 天"
        raise ApiError(400, "bad_parameter", message, parameter="end")
    factors = _factors(body)
    user = context.caller(request)
    jobs = request.app[REPORT_JOBS_KEY]
    if jobs.running(user.user_id) >= MAX_RUNNING_PER_USER:
        raise ApiError(429, "too_many_requests", "正在生成的报表过多，请稍候")
    async with context.pool(request).acquire() as conn:
        n, outside = await queries.entity(conn, scope, key, user.scope_param)
        if factors is not None:
            unknown = set(factors) - await queries.known_factors(conn, factors)
            if unknown:
                message = f"未知因子：{'、'.join(sorted(unknown))}"
                raise ApiError(400, "bad_parameter", message, parameter="factors")
    if n == 0 or (outside and outside == n):
        raise ApiError(404, "not_found", "报表对象不存在、没有启用的站点或不在您的数据范围内")
    if outside:
        raise ApiError(403, "out_of_scope", "该区域/网格包含您数据范围以外的站点")
    report_scope = cast(Scope, scope)
    with_audit = bool(body_bool(body, "audit_log"))
    spec = ReportSpec(report_scope, key, per, audit_log=with_audit)
    if factors is not None:
        spec = ReportSpec(report_scope, key, per, tuple(factors), audit_log=with_audit)
    summary = {
        "scope": scope,
        "key": key,
        "period": kind,
        "start": per.start.isoformat(),
        "end": per.end.isoformat(),
        "label": per.label,
        "factors": list(spec.factors),
    }
    job = jobs.start(context.pool(request), context.settings(request), spec, user.user_id, summary)
    context.audit(request, **summary, job=job.id)
    return json_response(job.to_json(), status=202)


def _job(request: web.Request) -> ReportJob:
    job_id = request.match_info.get("job", "")
    job = None
    if _JOB_ID.match(job_id):
        job = request.app[REPORT_JOBS_KEY].get(job_id, context.caller(request).user_id)
    if job is None:
        raise ApiError(404, "not_found", "报表任务不存在或已过期，请重新生成")
    return job


async def get_report(request: web.Request) -> web.Response:
    return json_response(_job(request).to_json())


async def export_report(request: web.Request) -> web.Response:
    q = request.query
    fmt = opt_choice(q, "format", FORMATS) or "xlsx"
    chart = opt_choice(q, "chart", CHART_KINDS) or "line"
    job = _job(request)
    if job.report is None:
        raise ApiError(
            409, "not_ready", "报表尚未生成完成" if job.status == "running" else job.error
        )
    key = (fmt, chart if fmt in ("png", "jpg") else "")
    body = job.files.get(key)
    if body is None:
        font = context.settings(request).aggregates.cjk_font
        body = await asyncio.to_thread(
            partial(export_bytes, job.report, fmt, chart=chart, font=font)
        )
        job.files[key] = body
    context.audit(request, job=job.id, fmt=fmt, chart=key[1])
    title = job.report.title.replace("/", "-")
    per = job.report.spec.period
    suffix = f"_{key[1]}" if key[1] else ""
    return file_response(body, f"{title}_{per.start.isoformat()}{suffix}.{fmt}", fmt)


reports_page = pages.export_page("reports.html", "报表")
