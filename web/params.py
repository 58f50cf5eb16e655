"""Validated request parameters: ids, pagination, time windows, JSON bodies.

Every failure is an :class:`~web.responses.ApiError` 400 with a Chinese message naming the
parameter, so handlers stay one line per parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final, TypeVar

import orjson
from aiohttp import web

from web.responses import ApiError

__all__ = [
    "Paging",
    "json_body",
    "opt_date",
    "opt_float",
    "opt_int",
    "opt_str",
    "paging",
    "path_int",
    "time_window",
]

PG_INT_MAX: Final = 2_147_483_647
_T = TypeVar("_T")


def _bad(name: str, message: str) -> ApiError:
    return ApiError(400, "bad_parameter", f"参数 {name} 无效：{message}", parameter=name)


def path_int(request: web.Request, name: str = "id") -> int:
    raw = request.match_info.get(name, "")
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= PG_INT_MAX:
        raise ApiError(404, "not_found", "对象不存在")
    return int(raw)


def _parsed(
    query: Mapping[str, str], name: str, parse: Callable[[str], _T], problem: str
) -> _T | None:
    """``parse`` of the query parameter ``name`` (None when absent or empty); a value it
    refuses (ValueError) is a 400 saying ``problem``."""
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return parse(raw)
    except ValueError:
        raise _bad(name, problem) from None


def opt_int(
    query: Mapping[str, str], name: str, *, minimum: int = 0, maximum: int = PG_INT_MAX
) -> int | None:
    value = _parsed(query, name, int, "应为整数")
    if value is None:
        return None
    if not minimum <= value <= maximum:
        raise _bad(name, f"应在 {minimum}..{maximum} 之间")
    return value


def opt_str(query: Mapping[str, str], name: str, *, max_len: int = 100) -> str | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    if len(raw) > max_len or "\x00" in raw:
        raise _bad(name, f"长度不能超过 {max_len}")
    return raw


def opt_float(
    query: Mapping[str, str], name: str, *, minimum: float, maximum: float
) -> float | None:
    value = _parsed(query, name, float, "应为数字")
    if value is None:
        return None
    if not (minimum <= value <= maximum):  # also refuses NaN
        raise _bad(name, f"应在 {minimum}..{maximum} 之间")
    return value


def opt_date(query: Mapping[str, str], name: str) -> date | None:
    """A calendar day ``YYYY-MM-DD`` (local day of the platform)."""
    value = _parsed(query, name, date.fromisoformat, "应为日期，如 2024-03-01")
    if value is None:
        return None
    if not 1970 <= value.year <= 9000:
        raise _bad(name, "日期超出范围")
    return value


def opt_choice(query: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    if raw not in choices:
        raise _bad(name, f"应为 {'/'.join(choices)} 之一")
    return raw


def opt_bool(query: Mapping[str, str], name: str) -> bool | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    if raw.lower() in ("1", "true", "yes"):
        return True
    if raw.lower() in ("0", "false", "no"):
        return False
    raise _bad(name, "应为 true 或 false")


def _iso_time(raw: str) -> datetime:
    return datetime.fromisoformat(raw.replace("Z", "+00:00"))


def opt_time(query: Mapping[str, str], name: str) -> datetime | None:
    value = _parsed(query, name, _iso_time, "应为 ISO 8601 时间，如 2024-03-01T08:00:00+08:00")
    if value is None:
        return None
    if value.tzinfo is None:
        raise _bad(name, "需要带时区，如 +08:00")
    if not 1970 <= value.year <= 9000:
        raise _bad(name, "时间超出范围")
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Paging:
    limit: int
    offset: int

    def wrap(self, items: list[Any], total: int) -> dict[str, Any]:
        return {"items": items, "total": total, "limit": self.limit, "offset": self.offset}


def paging(query: Mapping[str, str], max_limit: int, default: int = 100) -> Paging:
    limit = opt_int(query, "limit", minimum=1, maximum=max_limit)
    offset = opt_int(query, "offset", minimum=0, maximum=10_000_000)
    return Paging(limit or min(default, max_limit), offset or 0)


def time_window(
    query: Mapping[str, str], default: timedelta, maximum: timedelta
) -> tuple[datetime, datetime]:
    """``from``/``to`` (ISO 8601 with zone); defaults: the last ``default`` until now."""
    end = opt_time(query, "to") or datetime.now(UTC)
    start = opt_time(query, "from") or end - default
    if start >= end:
        raise _bad("from", "应早于 to")
    if end - start > maximum:
        raise _bad(
            "from",
            f"时间范围不能超过 {maximum.days or maximum.seconds // 3600} "
            f"{'天' if maximum.days else '小时'}",
        )
    return start, end


async def json_body(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "请求体应为 application/json")
    raw = await request.read()
    if len(raw) > 256 * 1024:
        raise ApiError(413, "too_large", "请求体过大")
    try:
        body = orjson.loads(raw or b"null")
    except orjson.JSONDecodeError:
        raise ApiError(400, "bad_json", "请求体不是有效的 JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "bad_json", "请求体应为 JSON 对象")
    return body


def _given(body: Mapping[str, Any], name: str, required: bool) -> Any:
    """The body's field ``name``: None when absent (a 400 when ``required``)."""
    value = body.get(name)
    if value is None and required:
        raise _bad(name, "必填")
    return value


def body_str(
    body: Mapping[str, Any], name: str, *, required: bool = False, max_len: int = 200
) -> str | None:
    value = _given(body, name, required)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > max_len or "\x00" in value:
        raise _bad(name, f"应为不超过 {max_len} 字的文本")
    if required and not value.strip():
        raise _bad(name, "必填")
    return value


def body_int(
    body: Mapping[str, Any],
    name: str,
    *,
    required: bool = False,
    minimum: int = 0,
    maximum: int = PG_INT_MAX,
) -> int | None:
    value = _given(body, name, required)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise _bad(name, f"应为 {minimum}..{maximum} 之间的整数")
    return value


def body_float(
    body: Mapping[str, Any], name: str, *, minimum: float, maximum: float
) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(name, "应为数字")
    if not minimum <= float(value) <= maximum:
        raise _bad(name, f"应在 {minimum}..{maximum} 之间")
    return float(value)


def body_bool(body: Mapping[str, Any], name: str) -> bool | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise _bad(name, "应为 true 或 false")
    return value
