"""``envgrid user``: dashboard accounts from the command line.

envgrid user add NAME --role admin [--password PW | prompt] [--scope CODE ...]
envgrid user list
envgrid user disable NAME | enable NAME | unlock NAME
envgrid user reset-password NAME [--password PW | prompt]
envgrid user reset-2fa NAME
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys

import asyncpg

from store.config import SettingsLoader
from store.logcontext import log_change
from store.validation import ConfigError
from web.cli_connection import cli_connection
from web.permissions import ROLES
from web.settings import WebConfig
from web.users import queries
from web.users.service import UserError, create_user, reset_password, resolve_scope


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dsn", help="PostgreSQL DSN (default: configuration / embedded)")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = sub.add_parser("add", help="create a user (the first admin: --role admin)")
    add.add_argument("username")
    add.add_argument("--role", required=True, help=f"one of {', '.join(ROLES)}")
    add.add_argument("--password", help="password (default: prompt twice)")
    add.add_argument("--name", default="", help="display name")
    add.add_argument("--phone", default="")
    add.add_argument(
        "--scope",
        action="append",
        default=[],
        metavar="AREA",
        help="limit the data to this region/grid (area code, name or id); repeatable",
    )
    add.add_argument(
        "--must-change-password", action="store_true", help="ask for a new password at log-in"
    )
    sub.add_parser("list", help="list users")
    for name, text in (
        ("disable", "disable a user (ends their sessions)"),
        ("enable", "enable a user"),
        ("unlock", "clear a lock-out after failed log-ins"),
    ):
        sub.add_parser(name, help=text).add_argument("username")
    sub.add_parser(
        "reset-2fa",
        help="remove a user's TOTP authenticator (a lost phone; ends their sessions)",
    ).add_argument("username")
    reset = sub.add_parser("reset-password", help="set a new password (must change at log-in)")
    reset.add_argument("username")
    reset.add_argument("--password", help="new password (default: prompt twice)")


def _password(given: str | None) -> str:
    if given:
        return given
    if not sys.stdin.isatty():
        line = sys.stdin.readline().rstrip("\n")
        if not line:
            raise UserError("no password: pass --password or type it on standard input")
        return line
    first = getpass.getpass("密码 / password: ")
    if first != getpass.getpass("再次输入 / again: "):
        raise UserError("the two passwords differ")
    return first


async def _user_id(conn: asyncpg.Connection, username: str) -> int:
    user_id = await queries.user_id_by_name(conn, username)
    if user_id is None:
        raise UserError(f"no user {username!r}")
    return user_id


async def _run(args: argparse.Namespace, settings: WebConfig) -> int:
    async with cli_connection(settings, "envgrid-user") as conn:
        return await _action(conn, args, settings)


async def _action(conn: asyncpg.Connection, args: argparse.Namespace, settings: WebConfig) -> int:
    web = settings.web
    if args.action == "add":
        scope = await resolve_scope(conn, args.scope)
        user_id = await create_user(
            conn,
            web,
            username=args.username,
            password=_password(args.password),
            role=args.role,
            display_name=args.name,
            phone=args.phone,
            scope=scope,
            must_change_password=args.must_change_password,
        )
        log_change("user", "added", username=args.username, role=args.role, scope=scope)
        print(f"user {args.username} created (id {user_id}, role {args.role})")
        print(f"log in at {web.base_url}login")
        return 0
    if args.action == "list":
        items, _ = await queries.users(conn)
        for item in items:
            print(json.dumps(item, ensure_ascii=False, default=str))
        return 0
    user_id = await _user_id(conn, args.username)
    if args.action == "reset-2fa":
        from web.security.queries import reset_second_factor

        if await reset_second_factor(conn, user_id) is None:
            raise UserError(f"{args.username} has no authenticator")
        log_change("user", "second factor reset", username=args.username)
        print(f"second factor of {args.username} removed; they enrol again at the next log-in")
        return 0
    if args.action == "reset-password":
        await reset_password(conn, web, user_id, args.username, _password(args.password))
        log_change("user", "password reset", username=args.username)
        print(f"password of {args.username} reset; they must change it at the next log-in")
        return 0
    await queries.update_user(
        conn,
        user_id,
        display_name=None,
        phone=None,
        role=None,
        enabled={"disable": False, "enable": True}.get(args.action),
        unlock=args.action == "unlock",
        must_change_password=None,
    )
    if args.action == "disable":
        from web.auth.queries import end_user_access

        await end_user_access(conn, user_id)
    done = {"disable": "disabled", "enable": "enabled", "unlock": "unlocked"}[args.action]
    log_change("user", done, username=args.username)
    print(f"user {args.username}: {done}")
    return 0


def run(args: argparse.Namespace, load: SettingsLoader[WebConfig]) -> int:
    overrides = {"database.dsn": args.dsn} if args.dsn else {}
    try:
        settings = load(overrides)
        return asyncio.run(_run(args, settings))
    except (ConfigError, UserError) as exc:
        print(f"envgrid user: {exc}", file=sys.stderr)
        return 2
