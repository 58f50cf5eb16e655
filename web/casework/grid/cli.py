"""``envgrid grid``: the grid hierarchy and its people from the command line.

envgrid grid import FILE.geojson [--dry-run] [--quiet]  areas by code, all or nothing
envgrid grid export [--out FILE] [--area CODE]  the hierarchy (or a subtree) as GeoJSON
envgrid grid people [--role ROLE] [--json]      grid people with unit, login, receiver, duties
envgrid grid assign-stations [--reassign]       stations and patrol points → their grid
                                                 (point in polygon, history kept)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import asyncpg

from store.config import SettingsLoader
from store.progress import Progress, add_quiet_option
from store.validation import ConfigError
from web.casework.grid import geojson
from web.casework.grid import queries as q
from web.casework.grid import service as grid
from web.casework.kernel import errors, tree
from web.casework.kernel.config import CaseConfig
from web.cli_connection import cli_connection
from web.settings import WebConfig

__all__ = ["configure", "run"]

ROLES = ("admin", "officer", "unit", "grid_member", "viewer")
DUTY_ZH = {"head": "网格长", "member": "网格员", "supervisor": "监督员"}


class GridCliError(Exception):
    """A grid command that cannot be carried out; the message says why (exit code 2)."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dsn", help="PostgreSQL DSN (default: configuration / embedded)")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    imp = sub.add_parser("import", help="import areas from a GeoJSON FeatureCollection")
    imp.add_argument(
        "file", type=Path, help="GeoJSON file (properties: code, name, level, parent_code)"
    )
    imp.add_argument("--dry-run", action="store_true", help="validate only, write nothing")
    add_quiet_option(imp)
    exp = sub.add_parser("export", help="export the areas as GeoJSON")
    exp.add_argument("--out", type=Path, help="output file (default: standard output)")
    exp.add_argument("--area", metavar="CODE", help="only this area and its subtree")
    ppl = sub.add_parser("people", help="list the grid people")
    ppl.add_argument("--role", choices=ROLES)
    ppl.add_argument("--json", action="store_true", help="one JSON object per line")
    asg = sub.add_parser("assign-stations", help="put stations and patrol points in their grid")
    asg.add_argument(
        "--reassign", action="store_true", help="re-check those already in a grid (moved borders)"
    )


async def _import(conn: asyncpg.Connection, args: argparse.Namespace, config: CaseConfig) -> int:
    try:
        document = json.loads(args.file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GridCliError(f"cannot read {args.file}: {exc}") from None
    names = config.cases.level_names
    if args.dry_run:
        codes = [
            str(f.get("properties", {}).get(k) or "")
            for f in document.get("features") or []
            if isinstance(f, dict)
            for k in ("code", "parent_code")
        ]
        existing = {
            r["code"]: geojson.ExistingArea(r["level"], None)
            for r in await q.existing_areas(conn, sorted(set(codes) - {""}))
        }
        plan = geojson.plan_import(document, existing, names)
        for warning in plan.warnings:
            print(f"警告：{warning}", file=sys.stderr)
        if plan.errors:
            raise errors.GeoJSONImportError(plan.errors)
        print(f"{args.file}: {len(plan.features)} areas valid (dry run, nothing written)")
        return 0
    with Progress(quiet=args.quiet) as progress:
        task = progress.task(f"importing {args.file.name}")

        def advance(done: int, total: int) -> None:
            task.update(completed=done, total=total)

        report = await geojson.import_areas(conn, document, names, progress=advance)
    for warning in report.warnings:
        print(f"警告：{warning}", file=sys.stderr)
    print(f"{args.file}: {report.created} areas created, {report.updated} updated")
    return 0


async def _export(conn: asyncpg.Connection, args: argparse.Namespace, config: CaseConfig) -> int:
    ids = None
    if args.area:
        row = await q.area_by_code(conn, args.area)
        if row is None:
            raise GridCliError(f"no area with code {args.area!r}")
        ids = await tree.scope_area_ids(conn, [row["id"]])
    document = await geojson.export_areas(conn, ids, config.cases.level_names)
    text = json.dumps(document, ensure_ascii=False, indent=1)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
        print(f"{len(document['features'])} areas written to {args.out}", file=sys.stderr)
    else:
        print(text)
    return 0


def _duties(text: str) -> str:
    parts = []
    for item in filter(None, text.split(",")):
        code, _, duty = item.partition(":")
        parts.append(f"{code}{DUTY_ZH.get(duty, duty)}")
    return "、".join(parts)


async def _people(conn: asyncpg.Connection, args: argparse.Namespace) -> int:
    rows = await q.people_export(conn, args.role)
    for r in rows:
        if args.json:
            print(json.dumps(dict(r), ensure_ascii=False))
            continue
        unit = f" 单位 {r['unit_name']}" if r["unit_name"] else ""
        login = f" 登录 {r['user_name']}" if r["user_name"] else ""
        notify = f" 通知 {r['receiver']}" if r["receiver"] else ""
        duties = f" 职责 {_duties(r['duties'])}" if r["duties"] else ""
        off = "" if r["active"] else " （停用）"
        print(f"{r['id']:>5}  {r['name']}  {r['role']}{unit}{login}{notify}{duties}{off}")
    print(f"{len(rows)} people", file=sys.stderr)
    return 0


async def _assign(conn: asyncpg.Connection, args: argparse.Namespace) -> int:
    now = datetime.now().astimezone()
    index = await grid.load_grid_index(conn)
    status = 0
    entities: tuple[tuple[Literal["station", "patrol_point"], str], ...] = (
        ("station", "stations"),
        ("patrol_point", "patrol points"),
    )
    for entity, label in entities:
        report = await grid.assign_by_location(
            conn, entity, now=now, index=index, reassign=args.reassign, by="envgrid grid"
        )
        print(f"{label}: {report.assigned} assigned, {report.unchanged} unchanged", end="")
        if report.outside:
            ids = ", ".join(str(i) for i in report.outside[:20])
            more = " …" if len(report.outside) > 20 else ""
            print(f", {len(report.outside)} outside every grid (ids {ids}{more})", end="")
            status = 1
        print()
    return status


async def _action(conn: asyncpg.Connection, args: argparse.Namespace, settings: WebConfig) -> int:
    config = CaseConfig.from_settings(settings)
    if args.action == "import":
        return await _import(conn, args, config)
    if args.action == "export":
        return await _export(conn, args, config)
    if args.action == "people":
        return await _people(conn, args)
    return await _assign(conn, args)


async def _run(args: argparse.Namespace, settings: WebConfig) -> int:
    async with cli_connection(settings, "envgrid-grid") as conn:
        return await _action(conn, args, settings)


def run(args: argparse.Namespace, load: SettingsLoader[WebConfig]) -> int:
    overrides: dict[str, Any] = {"database.dsn": args.dsn} if args.dsn else {}
    try:
        settings = load(overrides)
        return asyncio.run(_run(args, settings))
    except (ConfigError, GridCliError, errors.GridError) as exc:
        print(f"envgrid grid: {exc}", file=sys.stderr)
        return 2
    except errors.GeoJSONImportError as exc:
        print("envgrid grid: 导入被拒绝（未写入任何数据）：", file=sys.stderr)
        for error in exc.errors:
            print(f"  - {error}", file=sys.stderr)
        return 2
