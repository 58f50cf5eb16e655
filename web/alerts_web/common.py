"""What the alert handlers share: calls into ``alerts.api`` on a pooled connection
(:func:`call_api`, :func:`delete`), the translation of its refusals into API errors
(:func:`translate`, the module's ``ERRORS`` table), and the checks of query and body
parameters."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from aiohttp import web

from alerts import RULE_ZH, SEVERITY_ZH, STATE_ZH
from alerts import api as alerts_api
from alerts.model import REASON_ZH
from alerts.routing import MATCHER_LABELS
from alerts.templates import mean_exceedance_text
from web import context
from web.params import body_str, opt_time
from web.responses import ApiError, json_response
from web.stations.service import AIR_UNITS

from . import queries

__all__ = [
    "alert_view",
    "body_matchers",
    "body_time",
    "call_api",
    "check_matchers",
    "delete",
    "int_list",
    "list_param",
    "not_found",
    "seconds",
    "str_list",
    "translate",
]

_T = TypeVar("_T")


def not_found() -> ApiError:
    return ApiError(404, "not_found", "告警不存在或不在您的数据范围内")


async def call_api(
    request: web.Request, fn: Callable[..., Awaitable[_T]], *args: Any, **kwargs: Any
) -> _T:
    """``fn(conn, *args, **kwargs)`` of alerts.api on a pooled connection (its refusals
    reach the error middleware, which answers them through :func:`translate`)."""
    async with context.pool(request).acquire() as conn:
        return await fn(conn, *args, **kwargs)


async def delete(
    request: web.Request, fn: Callable[[Any, int], Awaitable[None]], ident: int, audit_key: str
) -> web.Response:
    """A deletion ``fn(conn, ident)`` of alerts.api, written to the operation log as
    ``audit_key=ident``."""
    await call_api(request, fn, ident)
    context.audit(request, **{audit_key: ident})
    return json_response({"ok": True})


def translate(exc: alerts_api.AlertApiError) -> ApiError:
    """The alert API's refusal with its Chinese message (``exc.zh``) for the pages: 404 for
    a missing object, 409 for a conflict with what is stored, else 400."""
    if isinstance(exc, alerts_api.NotFound):
        return ApiError(404, "not_found", exc.zh)
    if isinstance(exc, alerts_api.Conflict):
        return ApiError(409, "conflict", exc.zh)
    return ApiError(400, "bad_parameter", exc.zh)


def list_param(raw: str | None, allowed: tuple[str, ...] | list[str], name: str) -> list[str]:
    values = [v for v in (raw or "").split(",") if v]
    bad = [v for v in values if v not in allowed]
    if bad:
        raise ApiError(400, "bad_parameter", f"参数 {name} 无效：{'、'.join(bad)}", parameter=name)
    return values


def alert_view(row: Mapping[str, Any]) -> dict[str, Any]:
    """An alert row with the names shown on the pages."""
    out = {k: v for k, v in row.items()}
    out["rule_zh"] = RULE_ZH.get(row["rule"], row["rule"])
    out["state_zh"] = STATE_ZH.get(row["state"], row["state"])
    out["severity_zh"] = SEVERITY_ZH.get(row["severity"], row["severity"])
    out["reason_zh"] = REASON_ZH.get(row["reason"], row["reason"])
    if row.get("station_st") == "22" and row.get("factor_code") in AIR_UNITS:
        out["factor_unit"] = AIR_UNITS[row["factor_code"]]  # the platform's ambient-air units
    labels = row.get("labels")
    if row["rule"] == "exceedance" and isinstance(labels, Mapping) and labels.get("averaging"):
        # judged on a mean: the period, mean, limit, standard and ratio (alerts.means)
        unit = out.get("factor_unit") or labels.get("unit") or ""
        out["basis_zh"] = mean_exceedance_text(
            labels, row.get("value"), row.get("threshold"), row.get("reason") or "", unit
        )
    return out


def body_time(body: Mapping[str, Any], name: str) -> datetime | None:
    raw = body_str(body, name, max_len=40)
    if raw is None:
        return None
    value = opt_time({name: raw}, name)
    return value


def body_matchers(body: Mapping[str, Any], *, required: bool = False) -> dict[str, list[str]]:
    raw = body.get("matchers")
    if raw is None:
        if required:
            raise ApiError(400, "bad_parameter", "需要匹配条件 matchers", parameter="matchers")
        return {}
    if not isinstance(raw, dict) or len(raw) > len(MATCHER_LABELS):
        raise ApiError(400, "bad_parameter", "matchers 应为 {标签: [值]}", parameter="matchers")
    out: dict[str, list[str]] = {}
    for label, values in raw.items():
        if label not in MATCHER_LABELS:
            raise ApiError(
                400,
                "bad_parameter",
                f"未知的匹配标签 {label}（可用：{', '.join(MATCHER_LABELS)}）",
                parameter="matchers",
            )
        items = [values] if isinstance(values, str | int) else values
        if (
            not isinstance(items, list)
            or not 1 <= len(items) <= 500
            or not all(
                isinstance(v, str | int) and not isinstance(v, bool) and len(str(v)) <= 64
                for v in items
            )
        ):
            raise ApiError(
                400, "bad_parameter", f"匹配标签 {label} 需要 1–500 个值", parameter="matchers"
            )
        out[label] = sorted({str(v) for v in items})
    return out


async def check_matchers(request: web.Request, matchers: dict[str, list[str]]) -> None:
    scope = context.caller(request).scope_param
    if scope is None:
        return
    async with context.pool(request).acquire() as conn:
        ok = await queries.matchers_in_scope(conn, scope, matchers)
    if not ok:
        raise ApiError(
            403,
            "out_of_scope",
            "匹配条件须限定在您的数据范围内的站点（station）、区县（region）或网格（grid）",
        )


def int_list(body: Mapping[str, Any], name: str) -> list[int]:
    raw = body.get(name) or []
    if not isinstance(raw, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 2_147_483_647 for v in raw
    ):
        raise ApiError(400, "bad_parameter", f"{name} 应为 id 列表", parameter=name)
    return list(dict.fromkeys(raw))


def str_list(body: Mapping[str, Any], name: str, default: list[str]) -> list[str]:
    raw = body.get(name)
    if raw is None:
        return default
    if not isinstance(raw, list) or not all(isinstance(v, str) and len(v) <= 40 for v in raw):
        raise ApiError(400, "bad_parameter", f"{name} 应为文本列表", parameter=name)
    return list(dict.fromkeys(raw))


def seconds(body: Mapping[str, Any], name: str) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 2592000:
        raise ApiError(400, "bad_parameter", f"{name} 应为 0–2592000 秒", parameter=name)
    return float(value)
