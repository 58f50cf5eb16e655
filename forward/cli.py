"""``envgrid forward``: targets of forwarding to upstream platforms (数据同步转发).

    envgrid forward add NAME --host H --port P [--password PW] [--edition 2017|2025]
                       [--sm4-key KEY] [--mn-map FILE.csv] [--cn 2011,2051,2061,2031]
                       [--stations MN,...] [--alert-after MINUTES] [--since ISO]
    envgrid forward list
    envgrid forward status [--json]
    envgrid forward remove NAME

Passwords and keys are sealed before they are stored and never printed.  Bad input exits
with status 2 and a message naming the field.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg

from store.config import SettingsLoader
from store.db import connect
from store.embedded import database_dsn
from store.secretbox import box_for
from store.settings import StoreConfig
from store.validation import ConfigError

from .repo import add_target, list_targets, remove_target, target_status
from .targets import (
    DEFAULT_CNS,
    ForwardError,
    TargetSpec,
    parse_cns,
    parse_mn_map,
    parse_mns,
    parse_since,
)

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dsn", help="PostgreSQL DSN (default: configuration / embedded)")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = sub.add_parser("add", help="add an upstream platform")
    add.add_argument("name")
    add.add_argument("--host", required=True)
    add.add_argument("--port", required=True, type=int)
    add.add_argument("--password", default="", help="the PW the upstream expects")
    add.add_argument("--edition", default="2017", choices=("2017", "2025"))
    add.add_argument("--sm4-key", help="HJ 212-2025 SM4 key (16 characters or 32 hex digits)")
    add.add_argument("--mn-map", type=Path, help="CSV with the header local,remote")
    add.add_argument(
        "--cn", default=",".join(map(str, DEFAULT_CNS)), help="CNs to forward (comma-separated)"
    )
    add.add_argument("--stations", default="", help="MNs to forward (default: every station)")
    add.add_argument(
        "--alert-after", type=int, default=30, help="alert when a frame waits this many minutes"
    )
    add.add_argument(
        "--since",
        help="also forward the frames already stored with DataTime from this ISO time on"
        " (default: only what is stored from now on)",
    )
    sub.add_parser("list", help="the targets (never their password or key)")
    status = sub.add_parser("status", help="per target: connection, backlog, last ack, errors")
    status.add_argument("--json", action="store_true", help="machine-readable JSON")
    remove = sub.add_parser("remove", help="remove a target and its backlog")
    remove.add_argument("name")


def _spec(args: argparse.Namespace) -> TargetSpec:
    mn_map: dict[str, str] = {}
    if args.mn_map is not None:
        try:
            text = args.mn_map.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ForwardError(f"--mn-map {args.mn_map}: {exc} (无法读取 MN 映射表)") from None
        mn_map = parse_mn_map(text)
    return TargetSpec(
        name=args.name,
        host=args.host,
        port=args.port,
        password=args.password,
        edition=args.edition,
        sm4_key=args.sm4_key,
        cns=parse_cns(args.cn),
        stations=parse_mns(args.stations),
        mn_map=mn_map,
        backlog_alert_minutes=args.alert_after,
    )


def _since(text: str | None, s: StoreConfig) -> datetime | None:
    return None if text is None else parse_since(text, s.core.timezone)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return f"cli:uid{os.getuid()}"


def _status_line(row: dict[str, Any]) -> str:
    state = "已连接 connected" if row["connected"] else "未连接 not connected"
    return (
        f"{row['name']}  {row['host']}:{row['port']}  {state}  backlog {row['backlog']} frames"
        f"  oldest unsent {row['oldest_unsent'] or '-'}  last ack {row['last_ack_at'] or '-'}"
        f"  sent {row['sent']} acked {row['acked']} resent {row['resent']}"
        f" errors {row['errors']}" + (f" ({row['last_error']})" if row["last_error"] else "")
    )


async def _action(conn: asyncpg.Connection, args: argparse.Namespace, s: StoreConfig) -> int:
    if args.action == "add":
        spec = _spec(args)
        box = box_for(s.core.secret_key_path)
        await add_target(conn, spec, box, created_by=_actor(), since=_since(args.since, s))
        print(f"forward target {spec.name} added ({spec.host}:{spec.port}, HJ 212-{spec.edition})")
    elif args.action == "remove":
        if not await remove_target(conn, args.name):
            raise ForwardError(f"no forward target named {args.name} (转发目标不存在)")
        print(f"forward target {args.name} removed")
    elif args.action == "list":
        for row in await list_targets(conn):
            print(json.dumps(row, ensure_ascii=False, default=str))
    else:
        rows = await target_status(conn)
        if args.json:
            print(json.dumps(rows, ensure_ascii=False, default=str, indent=2))
        else:
            for row in rows:
                print(_status_line(row))
            if not rows:
                print("no forward targets (envgrid forward add NAME --host H --port P)")
    return 0


async def _run(args: argparse.Namespace, s: StoreConfig) -> int:
    async with database_dsn(s.core, s.database) as dsn:
        conn = await connect(dsn)
        try:
            return await _action(conn, args, s)
        finally:
            await conn.close()


def run(args: argparse.Namespace, load: SettingsLoader[StoreConfig]) -> int:
    try:
        settings = load({"database.dsn": args.dsn} if args.dsn else {})
        return asyncio.run(_run(args, settings))
    except (ConfigError, ForwardError) as exc:
        print(f"envgrid forward: {exc}", file=sys.stderr)
        return 2
