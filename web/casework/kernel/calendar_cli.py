"""``envgrid calendar``: the working-time calendar of case deadlines.

envgrid calendar update                       holidays and 调休 days from chinesecalendar
envgrid calendar set DATE workday|holiday|auto [--name TEXT]
                                              override one day (kept by every update);
                                              ``auto`` gives the day back to the library
envgrid calendar show [YEAR]                  the year's holidays and 调休 days (default:
                                              this year) and the years covered
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime
from typing import Any

import asyncpg

from store.config import SettingsLoader
from store.validation import ConfigError
from web.casework.kernel import calendar_days as cal
from web.casework.kernel.config import CaseConfig
from web.casework.kernel.errors import WorkflowError
from web.casework.kernel.holidays import LIBRARY
from web.cli_connection import cli_connection
from web.settings import WebConfig

__all__ = ["configure", "fill_after_migrate", "run"]

_KIND_ZH = {"holiday": "休息", "workday": "上班"}
_SOURCE_ZH = {"library": "节假日库", "override": "人工设置"}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dsn", help="PostgreSQL DSN (default: configuration / embedded)")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub.add_parser("update", help=f"refresh holidays and 调休 workdays from {LIBRARY}")
    put = sub.add_parser("set", help="override one day (kept by later updates)")
    put.add_argument("date", help="YYYY-MM-DD")
    put.add_argument("kind", choices=cal.KINDS, help="workday, holiday, or auto (library)")
    put.add_argument("--name", default="", help="note shown with the day, e.g. 防汛值班")
    show = sub.add_parser("show", help="list a year's holidays and 调休 workdays")
    show.add_argument("year", nargs="?", type=int, help="default: this year")


async def _show(conn: asyncpg.Connection, year: int, today: datetime) -> int:
    rows = await cal.year_days(conn, year)
    for r in rows:
        label = _KIND_ZH[r["kind"]]
        week = "一二三四五六日"[r["day"].isoweekday() - 1]
        by = f"（{_SOURCE_ZH[r['source']]} {r['updated_by']}）" if r["source"] == "override" else ""
        print(f"{r['day']}  周{week}  {label}  {r['name']}{by}")
    cover = await cal.coverage(conn, today.date())
    known = ", ".join(str(y) for y, h, _, _ in cover.years if h) or "none"
    print(f"{year}: {len(rows)} days listed; years covered: {known}", file=sys.stderr)
    if cover.warning:
        print(f"警告：{cover.warning}", file=sys.stderr)
    return 0


async def _action(conn: asyncpg.Connection, args: argparse.Namespace, config: CaseConfig) -> int:
    now = datetime.now(config.tz)
    if args.action == "update":
        done = await cal.update_calendar(conn, now)
        print(
            f"{LIBRARY}: years {done.years[0]}–{done.years[-1]}; {done.inserted} days added, "
            f"{done.updated} changed, {done.removed} removed, {done.overridden} kept as set by hand"
        )
        cover = await cal.coverage(conn, now.date())
        if cover.warning:
            print(f"警告：{cover.warning}", file=sys.stderr)
        return 0
    if args.action == "set":
        day = cal.parse_day(args.date)
        print(await cal.set_day(conn, day, args.kind, by="envgrid calendar", now=now,
                                name=args.name))  # fmt: skip
        return 0
    return await _show(conn, args.year or now.year, now)


async def _run(args: argparse.Namespace, settings: WebConfig) -> int:
    async with cli_connection(settings, "envgrid-calendar") as conn:
        return await _action(conn, args, CaseConfig.from_settings(settings))


def run(args: argparse.Namespace, load: SettingsLoader[WebConfig]) -> int:
    overrides: dict[str, Any] = {"database.dsn": args.dsn} if args.dsn else {}
    try:
        if args.action == "set":
            cal.parse_day(args.date)  # refused before any connection
        settings = load(overrides)
        return asyncio.run(_run(args, settings))
    except (ConfigError, WorkflowError) as exc:
        print(f"envgrid calendar: {exc}", file=sys.stderr)
        return 2


async def _fill(settings: WebConfig) -> None:
    async with cli_connection(settings, "envgrid-calendar") as conn:
        done = await cal.fill_if_empty(conn, datetime.now(CaseConfig.from_settings(settings).tz))
    if done is not None:
        print(f"work calendar filled from {LIBRARY}: {done.inserted} days "
              f"({done.years[0]}–{done.years[-1]})")  # fmt: skip


def fill_after_migrate(load: SettingsLoader[WebConfig], dsn: str | None) -> int:
    """After ``envgrid db migrate``: fill the work calendar when the library never did."""
    try:
        asyncio.run(_fill(load({"database.dsn": dsn} if dsn else {})))
    except (ConfigError, OSError, asyncpg.PostgresError) as exc:
        print(f"envgrid db migrate: work calendar not filled: {exc}", file=sys.stderr)
        return 1
    return 0
