"""Handlers of the forwarding admin API: validate, call :mod:`forward.repo`, serialize."""

from __future__ import annotations

from aiohttp import web

from forward.repo import add_target, remove_target, target_status
from forward.targets import (
    DEFAULT_CNS,
    ForwardError,
    TargetSpec,
    parse_mn_map,
    parse_mns,
    parse_since,
)
from store.secretbox import box_for
from web import context
from web.params import body_int, body_str, json_body
from web.responses import ApiError, json_response

__all__ = ["add", "remove", "status"]


def _unscoped(request: web.Request) -> str:
    """The caller's name; 403 for a caller limited to some districts: a target forwards
    (and its status names) stations of every district, and a new one without a station
    list forwards them all."""
    caller = context.caller(request)
    if caller.scope is not None:
        raise ApiError(
            403,
            "out_of_scope",
            "您的数据范围受限，不能查看或配置上级平台转发：转发目标可包含全部站点的数据，"
            "只有不限数据范围的管理员可以配置",
        )
    return caller.username


async def status(request: web.Request) -> web.Response:
    _unscoped(request)
    async with context.pool(request).acquire() as conn:
        return json_response(await target_status(conn))


def _cns(body: dict[str, object]) -> tuple[int, ...]:
    value = body.get("cns")
    if value is None:
        return DEFAULT_CNS
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise ApiError(400, "bad_parameter", "cns 应为 CN 数字列表", parameter="cns")
    return tuple(dict.fromkeys(int(v) for v in value))


async def add(request: web.Request) -> web.Response:
    username = _unscoped(request)
    body = await json_body(request)
    name = body_str(body, "name", required=True, max_len=64) or ""
    try:
        spec = TargetSpec(
            name=name,
            host=(body_str(body, "host", required=True, max_len=253) or "").strip(),
            port=body_int(body, "port", required=True, minimum=1, maximum=65535) or 0,
            password=body_str(body, "password", max_len=64) or "",
            edition=body_str(body, "edition", max_len=4) or "2017",
            sm4_key=body_str(body, "sm4_key", max_len=32) or None,
            cns=_cns(body),
            stations=parse_mns(body_str(body, "stations", max_len=100_000) or ""),
            mn_map=parse_mn_map(body_str(body, "mn_map", max_len=2_000_000) or "local,remote\n"),
            backlog_alert_minutes=body_int(body, "alert_after", minimum=1, maximum=100_000) or 30,
        )
        settings = context.settings(request)
        since_text = body_str(body, "since", max_len=40)
        since = None if not since_text else parse_since(since_text, settings.core.timezone)
        box = box_for(settings.core.secret_key_path)
        async with context.pool(request).acquire() as conn:
            target_id = await add_target(conn, spec, box, created_by=username, since=since)
    except ForwardError as exc:
        raise ApiError(400, "bad_target", str(exc)) from None
    context.audit(request, target=name, host=spec.host, port=spec.port)
    return json_response({"id": target_id, "name": name}, status=201)


async def remove(request: web.Request) -> web.Response:
    _unscoped(request)
    name = request.match_info["name"]
    async with context.pool(request).acquire() as conn:
        if not await remove_target(conn, name):
            raise ApiError(404, "not_found", "转发目标不存在")
    context.audit(request, target=name)
    return json_response({"removed": name})
