"""``envgrid alerts``: alerts, silences, receivers, responsibilities, limits, test messages.

envgrid alerts list [--state firing] [--station 12] [--region 西湖区] [--rule offline]
envgrid alerts show 42
envgrid alerts ack 42 --user 张三 [--comment "已派人"]
envgrid alerts resolve 42 --user 张三
envgrid alerts silence add --station 12 --for 2h --user 张三 --comment "更换探头"
envgrid alerts silence list [--all] | silence expire 7
envgrid alerts receiver add 运维组 --kind email --address ops@example.cn
envgrid alerts receiver add 监管群 --kind dingtalk --address URL --secret SEC…
envgrid alerts receiver add 值班短信 --kind tencent_sms --address 13800138000,13900139000
envgrid alerts receiver list | receiver delete 3
envgrid alerts responsible 运维组 --role maintainer --region 西湖区
envgrid alerts limit set a34004 --upper 75 --station 12 | limit list | limits STATION
envgrid alerts routes
envgrid alerts notifications [--status failed]
envgrid alerts test-notify 运维组
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from alerts.settings import AlertsConfig
from store.config import SettingsLoader
from store.db import connect
from store.embedded import database_dsn
from store.logcontext import log_change
from store.validation import ConfigError

from . import api
from .config import Receiver
from .model import RULE_ZH, SEVERITY_ZH, STATE_ZH
from .notifiers import NOTIFIERS, Channels
from .outbox import idempotency_key, send_now
from .routing import RoutingError
from .rules import RuleError
from .templates import describe, render_test

__all__ = ["configure", "run"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration(text: str) -> timedelta:
    m = _DURATION.match(text)
    if m is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 30m, 2h or 1d")
    return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])


def _when(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO time like 2026-11-21T18:00+08:00"
        ) from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs a time zone, e.g. +08:00")
    return value


def _scope_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--station", action="append", default=[], help="station id (repeatable)")
    p.add_argument("--region", action="append", default=[], help="region (repeatable)")
    p.add_argument("--rule", action="append", default=[], help="rule (repeatable)")
    p.add_argument("--factor", action="append", default=[], help="factor code (repeatable)")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dsn", help="PostgreSQL DSN (default: configuration / embedded)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = sub.add_parser("list", help="alerts, newest first")
    p.add_argument(
        "--state", action="append", choices=("pending", "firing", "acknowledged", "resolved")
    )
    p.add_argument("--station", type=int)
    p.add_argument("--region")
    p.add_argument("--grid", type=int, help="area id (the area and every grid below it)")
    p.add_argument("--rule", action="append")
    p.add_argument("--limit", type=int, default=50)
    p = sub.add_parser("show", help="one alert with its history and notifications")
    p.add_argument("id", type=int)
    for name, text in (("ack", "acknowledge a firing alert"), ("resolve", "resolve an alert")):
        p = sub.add_parser(name, help=text)
        p.add_argument("id", type=int)
        p.add_argument("--user", required=True)
        p.add_argument("--comment", default="")

    silence = sub.add_parser("silence", help="silences (mute notifications, keep the alerts)")
    ssub = silence.add_subparsers(dest="silence_action", required=True, metavar="ACTION")
    p = ssub.add_parser("add", help="mute matching alerts for a while")
    _scope_args(p)
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--for", dest="duration", type=_duration, help="e.g. 30m, 2h, 1d")
    group.add_argument("--until", type=_when, help="ISO time with zone")
    p.add_argument("--user", required=True)
    p.add_argument("--comment", default="")
    p = ssub.add_parser("list", help="silences (active and future; --all: also ended)")
    p.add_argument("--all", action="store_true")
    p = ssub.add_parser("expire", help="end a silence now")
    p.add_argument("id", type=int)

    receiver = sub.add_parser(
        "receiver", help="contact points (email, webhook, WeCom, DingTalk, Aliyun/Tencent SMS)"
    )
    rsub = receiver.add_subparsers(dest="receiver_action", required=True, metavar="ACTION")
    p = rsub.add_parser("add", help="add a receiver")
    p.add_argument("name")
    p.add_argument("--kind", required=True, choices=tuple(NOTIFIERS))
    p.add_argument("--address", required=True, help="email address(es), URL or mobile numbers")
    p.add_argument("--secret", help="DingTalk signing secret / webhook HMAC key")
    p.add_argument("--settings", type=json.loads, default=None, help="JSON object")
    rsub.add_parser("list", help="receivers")
    p = rsub.add_parser("delete", help="delete a receiver")
    p.add_argument("id", type=int)

    p = sub.add_parser("responsible", help="make a receiver responsible for stations")
    p.add_argument("receiver", help="receiver id or name")
    p.add_argument("--role", required=True, choices=("maintainer", "officer"))
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--station", type=int)
    where.add_argument("--region")
    where.add_argument("--area", type=int, help="area id: the area and every grid below it")
    where.add_argument("--all", action="store_true")

    limit = sub.add_parser("limit", help="exceedance limits set by users")
    lsub = limit.add_subparsers(dest="limit_action", required=True, metavar="ACTION")
    p = lsub.add_parser("set", help="set a limit at one level")
    p.add_argument("factor", help="factor code, e.g. a34004")
    p.add_argument("--upper", type=float)
    p.add_argument("--lower", type=float)
    p.add_argument("--aqi-level", type=int, help="hourly-AQI level 2..6 instead of a value")
    lvl = p.add_mutually_exclusive_group()
    lvl.add_argument("--station", help="station id")
    lvl.add_argument("--region")
    lvl.add_argument("--st", help="station type, e.g. 22")
    p.add_argument("--severity", choices=tuple(SEVERITY_ZH))
    p.add_argument("--disable", action="store_true", help="no limit at this level")
    p.add_argument("--source", default="", help="where the limit comes from")
    p.add_argument("--user", default="cli")
    lsub.add_parser("list", help="limits set by users")
    p = sub.add_parser("limits", help="what the engine applies to one station")
    p.add_argument("station", help="station id or MN")

    sub.add_parser("routes", help="routing rules")
    p = sub.add_parser("notifications", help="the delivery log")
    p.add_argument("--status", choices=("queued", "sending", "sent", "failed", "dropped"))
    p.add_argument("--limit", type=int, default=50)
    p = sub.add_parser("test-notify", help="send a test message to a receiver now")
    p.add_argument("receiver", help="receiver id or name")


def _out(args: argparse.Namespace, obj: Any, text: str) -> None:
    print(json.dumps(obj, ensure_ascii=False, default=str) if args.json else text)


def _out_rows(
    args: argparse.Namespace, rows: Iterable[Mapping[str, Any]], line: Callable[[Any], str]
) -> None:
    """Each row as JSON (``--json``) or as its ``line``."""
    for row in rows:
        _out(args, row, line(row))


def _options(args: argparse.Namespace, *same: str, **renamed: str) -> dict[str, Any]:
    """Keyword arguments of an api call from the options: ``same`` named alike, ``renamed``
    as keyword=option."""
    return {k: getattr(args, k) for k in same} | {k: getattr(args, o) for k, o in renamed.items()}


async def _list(conn: asyncpg.Connection, args: argparse.Namespace, s: AlertsConfig) -> int:
    page = await api.list_alerts(
        conn,
        **_options(
            args,
            "region",
            "limit",
            states="state",
            station_id="station",
            grid_id="grid",
            rules="rule",
        ),
    )
    config_tz = s.core.timezone
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(config_tz)
    for a in page.items:
        text = (
            f"{a.id:>7}  {STATE_ZH.get(a.state, a.state):<4} {SEVERITY_ZH.get(a.severity, ''):<3}"
            f" {RULE_ZH.get(a.rule, a.rule):<6} {describe(a, tz)}"
        )
        _out(args, a.to_json(), text)
    if not args.json:
        print(f"({len(page.items)} of {page.total})", file=sys.stderr)
    return 0


async def _show(conn: asyncpg.Connection, args: argparse.Namespace, s: AlertsConfig) -> int:
    detail = await api.get_alert(conn, args.id)
    if detail is None:
        raise api.NotFound(f"alert {args.id} does not exist", f"告警 {args.id} 不存在")
    print(
        json.dumps(
            detail.to_json(), ensure_ascii=False, default=str, indent=None if args.json else 2
        )
    )
    return 0


async def _ack(conn: asyncpg.Connection, args: argparse.Namespace, s: AlertsConfig) -> int:
    a = await api.acknowledge_alert(conn, args.id, user=args.user, comment=args.comment)
    _out(args, a.to_json(), f"alert {a.id} acknowledged by {args.user}")
    return 0


async def _resolve(conn: asyncpg.Connection, args: argparse.Namespace, s: AlertsConfig) -> int:
    a = await api.resolve_alert(conn, args.id, user=args.user, comment=args.comment)
    _out(args, a.to_json(), f"alert {a.id} resolved by {args.user}")
    return 0


def _matchers(args: argparse.Namespace) -> dict[str, list[str]]:
    out = {}
    for label, values in (
        ("station", args.station),
        ("region", args.region),
        ("rule", args.rule),
        ("factor", args.factor),
    ):
        if values:
            out[label] = [str(v) for v in values]
    return out


async def _silence(conn: asyncpg.Connection, args: argparse.Namespace, s: AlertsConfig) -> int:
    action = args.silence_action
    if action == "add":
        end = args.until or datetime.now(UTC) + args.duration
        sid = await api.create_silence(
            conn, matchers=_matchers(args), ends_at=end, created_by=args.user, comment=args.comment
        )
        log_change("silence", "added", silence_id=sid, ends_at=end.isoformat())
        _out(
            args, {"id": sid, "ends_at": end.isoformat()}, f"silence {sid} until {end.isoformat()}"
        )
    elif action == "list":
        _out_rows(
            args,
            await api.list_silences(conn, active_only=not args.all),
            lambda row: (
                f"{row['id']:>5}  {'active' if row['active'] else '      '}"
                f"  {row['starts_at']} → {row['ends_at']}  {row['matchers']}  {row['comment']}"
            ),
        )
    else:
        await api.expire_silence(conn, args.id, user="cli")
        log_change("silence", "expired", silence_id=args.id)
        _out(args, {"id": args.id, "expired": True}, f"silence {args.id} ended")
    return 0


async def _receiver(conn: asyncpg.Connection, args: argparse.Namespace, s: AlertsConfig) -> int:
    action = args.receiver_action
    if action == "add":
        rid = await api.create_receiver(
            conn, **_options(args, "name", "kind", "address", "secret", "settings")
        )
        log_change("receiver", "added", receiver_id=rid, name=args.name, kind=args.kind)
        _out(args, {"id": rid}, f"receiver {args.name} added (id {rid})")
    elif action == "list":
        _out_rows(
            args,
            await api.list_receivers(conn),
            lambda row: (
                f"{row['id']:>5}  {row['kind']:<8} {row['name']}  {row['address']}"
                + ("" if row["enabled"] else "  (disabled)")
            ),
        )
    else:
        await api.delete_receiver(conn, args.id)
        log_change("receiver", "deleted", receiver_id=args.id)
        _out(args, {"id": args.id, "deleted": True}, f"receiver {args.id} deleted")
    return 0


async def _receiver_id(conn: asyncpg.Connection, ident: str) -> dict[str, Any]:
    row = await api.get_receiver(conn, ident)
    if row is None:
        raise api.NotFound(
            f"receiver {ident!r} does not exist (envgrid alerts receiver list)",
            f"接收人 {ident!r} 不存在（envgrid alerts receiver list）",
        )
    return row


async def _responsible(conn: asyncpg.Connection, args: argparse.Namespace, s: AlertsConfig) -> int:
    row = await _receiver_id(conn, args.receiver)
    if args.all:
        scope, key = "all", ""
    elif args.station is not None:
        scope, key = "station", str(args.station)
    elif args.area is not None:
        scope, key = "area", str(args.area)
    else:
        scope, key = "region", args.region
    rid = await api.add_responsibility(
        conn, receiver_id=row["id"], role=args.role, scope=scope, scope_key=key
    )
    log_change(
        "responsibility", "added", receiver=row["name"], role=args.role, scope=scope, key=key
    )
    _out(args, {"id": rid}, f"{row['name']} is {args.role} for {scope} {key}".rstrip())
    return 0


async def _limit(conn: asyncpg.Connection, args: argparse.Namespace, s: AlertsConfig) -> int:
    if args.limit_action == "list":
        _out_rows(
            args,
            await api.list_limits(conn),
            lambda row: (
                f"{row['id']:>5}  {row['factor_code']:<8} {row['rule']:<10} {row['level']:<8}"
                f" {row['scope_key'] or '-':<12} upper={row['upper']} lower={row['lower']}"
                f" aqi_level={row['aqi_level']} {'' if row['enabled'] else '(disabled)'}"
            ),
        )
        return 0
    if args.station:
        level, key = "station", args.station
    elif args.region:
        level, key = "region", args.region
    elif args.st:
        level, key = "st", args.st
    else:
        level, key = "default", ""
    lid = await api.set_limit(
        conn,
        factor_code=args.factor,
        level=level,
        scope_key=key,
        rule="aqi_level" if args.aqi_level else "exceedance",
        enabled=not args.disable,
        **_options(args, "upper", "lower", "aqi_level", "severity", "source", "user"),
    )
    log_change("limit", "set", limit_id=lid, factor=args.factor, level=level, key=key)
    _out(args, {"id": lid}, f"limit {lid} set ({args.factor} at {level} {key})".rstrip())
    return 0


async def _limits(conn: asyncpg.Connection, args: argparse.Namespace, s: AlertsConfig) -> int:
    for entry in await api.effective_rules(conn, s, args.station):
        print(json.dumps(entry, ensure_ascii=False, default=str))
    return 0


async def _routes(conn: asyncpg.Connection, args: argparse.Namespace, s: AlertsConfig) -> int:
    _out_rows(
        args,
        await api.list_routes(conn),
        lambda row: (
            f"{row['id']:>4} {row['position']:>4}  {row['name']}  matchers={row['matchers']}"
            f" roles={row['to_roles']} receivers={row['receiver_ids']} group_by={row['group_by']}"
        ),
    )
    return 0


async def _notifications(
    conn: asyncpg.Connection, args: argparse.Namespace, s: AlertsConfig
) -> int:
    page = await api.list_notifications(conn, status=args.status, limit=args.limit)
    _out_rows(
        args,
        page.items,
        lambda row: (
            f"{row['id']:>7}  {row['status']:<7} {row['kind']:<8} {row['receiver_name']}"
            f"  {row['subject']}  {row['last_error'] or ''}"
        ),
    )
    return 0


async def _test_notify(conn: asyncpg.Connection, args: argparse.Namespace, s: AlertsConfig) -> int:
    from zoneinfo import ZoneInfo

    row = await _receiver_id(conn, args.receiver)
    receiver = Receiver(
        row["id"],
        row["name"],
        row["kind"],
        row["address"],
        row["secret"],
        row["settings"] or {},
        row["enabled"],
    )
    now = datetime.now(UTC)
    message = render_test(receiver.name, now, ZoneInfo(s.core.timezone))
    async with Channels(s.alerts) as channels:
        nid, error = await send_now(
            conn, channels, receiver, message, key=idempotency_key("test", receiver.id, now)
        )
    if error:
        print(f"envgrid alerts: test message to {receiver.name} failed: {error}", file=sys.stderr)
        return 1
    _out(args, {"id": nid, "status": "sent"}, f"test message {nid} sent to {receiver.name}")
    return 0


Action = Callable[[asyncpg.Connection, argparse.Namespace, AlertsConfig], Awaitable[int]]
ACTIONS: dict[str, Action] = {
    "list": _list,
    "show": _show,
    "ack": _ack,
    "resolve": _resolve,
    "silence": _silence,
    "receiver": _receiver,
    "responsible": _responsible,
    "limit": _limit,
    "limits": _limits,
    "routes": _routes,
    "notifications": _notifications,
    "test-notify": _test_notify,
}


async def _run(args: argparse.Namespace, settings: AlertsConfig) -> int:
    async with database_dsn(settings.core, settings.database) as dsn:
        conn = await connect(dsn, application_name="envgrid-alerts-cli")
        try:
            return await ACTIONS[args.action](conn, args, settings)
        finally:
            await conn.close()


def run(args: argparse.Namespace, load: SettingsLoader[AlertsConfig]) -> int:
    try:
        settings = load({"database.dsn": args.dsn} if args.dsn else {})
        return asyncio.run(_run(args, settings))
    except (ConfigError, api.AlertApiError, RuleError, RoutingError) as exc:
        print(f"envgrid alerts: {exc}", file=sys.stderr)
        return 2
