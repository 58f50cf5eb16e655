"""``envgrid demo``: load or remove the sample city.

envgrid demo load [--force] [--dsn DSN]   the sample city, its users (passwords printed once)
envgrid demo clear [--dsn DSN]            remove exactly what ``demo load`` created
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from envgrid.settings import Settings
from store.config import SettingsLoader
from store.validation import ConfigError
from web.casework.kernel.config import CaseConfig
from web.casework.kernel.errors import GridError, WorkflowError
from web.cli_connection import cli_database
from web.users.service import UserError

from .clear import ClearError, clear_demo
from .load import DemoError, LoadReport, load_demo

__all__ = ["configure", "run"]

WARNING = (
    "!! 演示数据 DEMO DATA — for trying envgrid out, never on a production instance.\n"
    "!! Remove it with `envgrid demo clear`."
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dsn", help="PostgreSQL DSN (default: configuration / embedded)")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    load = sub.add_parser(
        "load", help="load the sample city (grids, people, stations, data, cases)"
    )
    load.add_argument(
        "--force", action="store_true", help="load even though the database has real stations"
    )
    sub.add_parser("clear", help="remove exactly what `envgrid demo load` created")


def print_load(report: LoadReport, base_url: str) -> None:
    city = report.city
    print(WARNING)
    print(
        f"loaded: {len(city.areas)} areas, {len(city.units)} units, {len(city.stations)} stations"
        f" ({report.rows} measurement rows), {len(city.points)} patrol points,"
        f" {report.tasks} patrol tasks, {sum(report.case_states.values())} cases,"
        f" {report.alerts} alerts"
    )
    print("cases by state: " + ", ".join(f"{k} {v}" for k, v in sorted(report.case_states.items())))
    print(f"log in at {base_url}login as (passwords are shown only now):")
    for username, (role, password) in city.logins.items():
        print(f"  {username:<18} {role:<12} {password}")


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    async with cli_database(settings) as dsn:
        if args.action == "load":
            report = await load_demo(dsn, settings, force=args.force)
            print_load(report, settings.web.base_url)
            return 0
        from store.db import connect
        from store.engine import Engine, recorded_engine

        conn = await connect(dsn, application_name="envgrid-demo")
        try:
            engine = await recorded_engine(conn) or Engine.POSTGRESQL
            uploads = CaseConfig.from_settings(settings).uploads_dir
            cleared = await clear_demo(conn, engine, uploads)
        finally:
            await conn.close()
        if not cleared.removed:
            print("no demo data here / 没有演示数据")
            return 0
        kinds = ", ".join(f"{n} {kind}s" for kind, n in cleared.removed.items())
        print(f"removed {kinds}, {cleared.data_rows} data rows, {cleared.files} files")
        return 0


def run(args: argparse.Namespace, load: SettingsLoader[Settings]) -> int:
    overrides: dict[str, Any] = {"database.dsn": args.dsn} if args.dsn else {}
    try:
        return asyncio.run(_run(args, load(overrides)))
    except (ConfigError, DemoError, ClearError, GridError, WorkflowError, UserError) as exc:
        print(f"envgrid demo: {exc}", file=sys.stderr)
        return 2
