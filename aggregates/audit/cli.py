"""``envgrid audit``: the data audit from the command line (actions recorded as the OS user).

Examples::

    envgrid audit invalidate 88888880000001 --factor a34004 \\
        --from 2024-03-05T08:00 --to 2024-03-05T10:00 --reason 仪器故障 --note 已报修
    envgrid audit invalidate 88888880000001 --all-factors --day 2024-03-05 --reason 停电
    envgrid audit restore 88888880000001 --factor a34004 --from 2024-03-05T08:00 \\
        --to 2024-03-05T08:00
    envgrid audit log 88888880000001 --from 2024-03-01 --to 2024-03-31 [--json | --csv F]
    envgrid audit proposals scan --from 2024-03-01 --to 2024-03-31
    envgrid audit proposals list [--station MN] [--status open]
    envgrid audit proposals confirm 12 13 14      (or --all [--station MN])
    envgrid audit proposals dismiss 15

``--from``/``--to`` are inclusive: every official hour from the one holding ``--from`` to
the one holding ``--to``; a date alone is the whole local day (``core.timezone``).  The
official values are recomputed by the next scheduled refresh
(``aggregates.refresh_interval_min``); ``--refresh`` recomputes the days at once.
Exit status: 0 done, 1 database error, 2 bad arguments or nothing to change.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import asyncpg

from aggregates.jobs import refresh_days
from aggregates.settings import AggregatesConfig
from store.config import SettingsLoader, mask_dsn
from store.db import connect
from store.embedded import EmbeddedError, database_dsn
from store.validation import ConfigError

from . import proposals, queries
from .actions import apply, log_entries
from .model import Action, Actor, AuditError, AuditRequest, LogEntry, hour_range, parse_instant

__all__ = ["configure", "run"]

EXIT_DB = 1
EXIT_USAGE = 2
T = TypeVar("T")
LOG_HEADER = (
    "id", "time", "actor", "actor_kind", "action", "mn", "factors", "from", "to",
    "n_changed", "reason", "note", "source", "changes",
)  # fmt: skip


def _range_args(p: argparse.ArgumentParser, *, required: bool) -> None:
    p.add_argument("--from", dest="start", metavar="ISO", help="first hour (local if no zone)")
    p.add_argument("--to", dest="end", metavar="ISO", help="last hour, included")
    if required:
        p.add_argument("--day", metavar="YYYY-MM-DD", help="a whole local day")


def _action_parser(sub: Any, name: str, text: str) -> None:
    p = sub.add_parser(name, help=text, description=text)
    p.add_argument("mn", metavar="MN", help="the station")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--factor", action="append", metavar="CODE", help="factor code (repeat or a,b,c)"
    )
    which.add_argument("--all-factors", action="store_true", help="every factor of the station")
    _range_args(p, required=True)
    p.add_argument("--reason", default="", help="why (required to invalidate)")
    p.add_argument("--note", default="", help="optional note")
    p.add_argument("--refresh", action="store_true", help="recompute the official values now")
    p.add_argument("--json", action="store_true", help="print the log entry as JSON")


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``envgrid audit`` arguments."""
    parser.add_argument("--dsn", metavar="DSN", help="database (default: database.dsn/embedded)")
    sub = parser.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    _action_parser(sub, "invalidate", "mark official values invalid (标记无效)")
    _action_parser(sub, "restore", "restore invalidated values (恢复)")
    log = sub.add_parser("log", help="show the audit log (newest first)")
    log.add_argument("mn", metavar="MN", nargs="?", help="only this station")
    _range_args(log, required=False)
    log.add_argument("--limit", type=int, default=200, help="most rows (200)")
    out = log.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="JSON lines")
    out.add_argument("--csv", metavar="FILE", help="write the log as CSV (UTF-8 with BOM)")
    prop = sub.add_parser("proposals", help="automatic pre-audit findings")
    psub = prop.add_subparsers(dest="proposals_command", metavar="STEP", required=True)
    scan = psub.add_parser("scan", help="run the pre-audit rules over a range")
    _range_args(scan, required=False)
    scan.add_argument("--station", metavar="MN", help="only this station")
    lst = psub.add_parser("list", help="list proposals")
    lst.add_argument("--station", metavar="MN", help="only this station")
    lst.add_argument("--status", choices=("open", "confirmed", "dismissed"), default="open")
    lst.add_argument("--limit", type=int, default=500)
    lst.add_argument("--json", action="store_true", help="JSON lines")
    for name, text in (("confirm", "confirm proposals (invalidate)"), ("dismiss", "dismiss")):
        p = psub.add_parser(name, help=text)
        p.add_argument("ids", metavar="ID", type=int, nargs="*", help="proposal ids")
        p.add_argument("--all", action="store_true", help="every open proposal")
        p.add_argument("--station", metavar="MN", help="with --all: only this station")


def _factors(args: argparse.Namespace) -> tuple[str, ...]:
    if args.all_factors:
        return ()
    return tuple(c.strip() for item in args.factor for c in item.split(",") if c.strip())


def _span(args: argparse.Namespace, tz: ZoneInfo) -> tuple[datetime, datetime]:
    if getattr(args, "day", None):
        if args.start or args.end:
            raise AuditError("--day 与 --from/--to 只能二选一")
        return hour_range(parse_instant(args.day, tz), parse_instant(args.day, tz, end=True))
    if not args.start or not args.end:
        raise AuditError("请给出 --from 和 --to（或 --day）")
    return hour_range(parse_instant(args.start, tz), parse_instant(args.end, tz, end=True))


def _optional_span(
    args: argparse.Namespace, tz: ZoneInfo
) -> tuple[datetime | None, datetime | None]:
    start = parse_instant(args.start, tz) if args.start else None
    end = parse_instant(args.end, tz, end=True) + timedelta(hours=1) if args.end else None
    return start, end


def _local(ts: datetime, tz: ZoneInfo) -> str:
    return ts.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _entry_line(e: LogEntry, tz: ZoneInfo) -> str:
    verb = "标记无效" if e.action == "invalidate" else "恢复"
    factors = ",".join(e.factor_codes)
    note = f"（{e.note}）" if e.note else ""
    return (
        f"#{e.id}  {_local(e.ts, tz)}  {e.actor}[{e.actor_kind}]  {verb}  {e.mn}  {factors}"
        f"  {_local(e.start, tz)}–{_local(e.end, tz)}  {e.n_changed} 个小时  原因：{e.reason}{note}"
    )


#: Hours of an entry listed under it by ``envgrid audit log`` (the rest are counted).
SHOWN_CHANGES = 5
VALIDITY = {True: "有效", False: "无效", None: "无数据"}


def _change_lines(e: LogEntry, tz: ZoneInfo) -> list[str]:
    out = [
        f"    {c['factor']} {_local(datetime.fromisoformat(c['hour']), tz)}  值 {c['value']}："
        f"{VALIDITY.get(c['before'], '?')} → {VALIDITY.get(c['after'], '?')}"
        for c in e.changes[:SHOWN_CHANGES]
    ]
    if len(e.changes) > SHOWN_CHANGES:
        out.append(f"    …… 另 {len(e.changes) - SHOWN_CHANGES} 个小时（--json 或 --csv 查看全部）")
    return out


def _csv_row(e: LogEntry, tz: ZoneInfo) -> list[object]:
    return [
        e.id, _local(e.ts, tz), e.actor, e.actor_kind, e.action, e.mn, ",".join(e.factor_codes),
        _local(e.start, tz), _local(e.end, tz), e.n_changed, e.reason, e.note, e.source,
        json.dumps(e.changes, ensure_ascii=False),
    ]  # fmt: skip


def write_log_csv(path: Path, entries: list[LogEntry], tz: ZoneInfo) -> None:
    """The log as CSV (UTF-8 with BOM, so spreadsheet programs read the Chinese)."""
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(LOG_HEADER)
        w.writerows(_csv_row(e, tz) for e in entries)


async def _station_id(conn: asyncpg.Connection, mn: str | None) -> int | None:
    if mn is None:
        return None
    sid = await conn.fetchval(queries.STATION_ID_SQL, mn)
    if sid is None:
        raise AuditError(f"站点不存在：{mn}")
    return int(sid)


async def _action(
    conn: asyncpg.Connection, args: argparse.Namespace, settings: AggregatesConfig, tz: ZoneInfo
) -> int:
    start, end = _span(args, tz)
    req = AuditRequest(args.mn, start, end, _factors(args), args.reason, args.note)
    action: Action = "invalidate" if args.audit_command == "invalidate" else "restore"
    entry = await apply(conn, action, req, Actor.os_user())
    if args.refresh:
        days = {(entry.station_id, (start + timedelta(hours=k)).astimezone(tz).date())
                for k in range((end - start) // timedelta(hours=1))}  # fmt: skip
        async with conn.transaction():
            await refresh_days(conn, settings, sorted(days))
    print(json.dumps(entry.to_json(), ensure_ascii=False) if args.json else _entry_line(entry, tz))
    return 0


async def _log(conn: asyncpg.Connection, args: argparse.Namespace, tz: ZoneInfo) -> int:
    start, end = _optional_span(args, tz)
    sid = await _station_id(conn, args.mn)
    entries = await log_entries(
        conn, station_ids=None if sid is None else [sid], start=start, end=end, limit=args.limit
    )
    if args.csv:
        write_log_csv(Path(args.csv), entries, tz)
        print(f"{len(entries)} 条审核记录已写入 {args.csv}")
    for e in entries if not args.csv else ():
        if args.json:
            print(json.dumps(e.to_json(), ensure_ascii=False))
        else:
            print("\n".join([_entry_line(e, tz), *_change_lines(e, tz)]))
    return 0


async def _proposals(
    conn: asyncpg.Connection, args: argparse.Namespace, settings: AggregatesConfig, tz: ZoneInfo
) -> int:
    step = args.proposals_command
    sid = await _station_id(conn, args.station)
    if step == "scan":
        now = datetime.now(tz)
        start, end = _optional_span(args, tz)
        start = start or now - timedelta(days=proposals.SCAN_DAYS)
        n = await proposals.scan(
            conn,
            start,
            end or now,
            None if sid is None else [sid],
            unit_factors=settings.aggregates.unit_factors,
        )
        print(f"预审核：新发现 {n} 条待确认的问题数据")
        return 0
    if step == "list":
        rows = await proposals.open_proposals(
            conn, status=args.status, station_id=sid, limit=args.limit
        )
        for r in rows:
            if args.json:
                print(
                    json.dumps(
                        {k: str(v) if isinstance(v, datetime) else v for k, v in r.items()},
                        ensure_ascii=False,
                    )
                )
            else:
                print(
                    f"{r['id']}  {r['mn']}  {r['name_zh'] or r['code']}  {_local(r['hour'], tz)}"
                    f"  {r['value']:g}  {r['rule_name']}：{r['detail']}"
                )
        return 0
    ids = list(args.ids)
    if args.all:
        ids += [
            r["id"] for r in await proposals.open_proposals(conn, station_id=sid, limit=100_000)
        ]
    elif sid is not None:
        raise AuditError("--station 只能与 --all 一起使用")
    if not ids:
        raise AuditError("请给出预审核编号或 --all")
    actor = Actor.os_user()
    if step == "confirm":
        n, logs = await proposals.confirm(conn, ids, actor)
        print(f"已确认 {n} 条预审核，新增审核记录 {len(logs)} 条")
    else:
        print(f"已忽略 {await proposals.dismiss(conn, ids, actor)} 条预审核")
    return 0


async def _with_conn(
    settings: AggregatesConfig, job: Callable[[asyncpg.Connection], Awaitable[T]]
) -> T:
    async with database_dsn(settings.core, settings.database) as dsn:
        conn = await connect(dsn, application_name=f"{settings.database.application_name} audit")
        try:
            return await job(conn)
        finally:
            await conn.close()


def run(args: argparse.Namespace, load: SettingsLoader[AggregatesConfig]) -> int:
    overrides = {"database.dsn": args.dsn} if args.dsn else {}
    try:
        settings = load(overrides)
    except ConfigError as exc:
        print(f"envgrid audit: {exc}", file=sys.stderr)
        return EXIT_USAGE
    tz = ZoneInfo(settings.core.timezone)

    async def job(conn: asyncpg.Connection) -> int:
        if args.audit_command in ("invalidate", "restore"):
            return await _action(conn, args, settings, tz)
        if args.audit_command == "log":
            return await _log(conn, args, tz)
        return await _proposals(conn, args, settings, tz)

    try:
        return asyncio.run(_with_conn(settings, job))
    except AuditError as exc:
        print(f"envgrid audit: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (EmbeddedError, OSError, TimeoutError, asyncpg.PostgresError) as exc:
        target = mask_dsn(settings.database.dsn) if settings.database.dsn else "embedded cluster"
        print(
            f"envgrid audit: database error ({target}): {type(exc).__name__}: {exc}",
            file=sys.stderr,
        )
        return EXIT_DB
