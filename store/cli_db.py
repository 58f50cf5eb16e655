"""``envgrid db``: migrate, status, and the embedded cluster (start, stop, psql).

The embedded cluster asks for the superuser's password (``core.data_dir/pg/superuser.password``,
:mod:`store.pg_auth`): ``start`` prints its DSN with the password masked, ``psql`` hands
the password to psql in its environment.

``migrate`` and ``status`` use ``database.dsn`` (or ``--dsn``); without one they use the
embedded cluster in ``core.data_dir/pg``, starting it for the duration of the command if
it is not already running.  Exit codes: 0 ok, 1 the database side failed, 2 bad
configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg

from store.config import SettingsLoader, mask_dsn
from store.db import connect
from store.embedded import EmbeddedError, database_dsn, embedded_from_settings
from store.engine import Engine, EngineError, detect_engine
from store.logs import configure_logging
from store.migrate import MigrationError, migrate, status
from store.partitions import ensure_ahead
from store.pg_auth import split_password
from store.policies import ensure_policies, list_jobs, policies_for
from store.prepare import seed_factors
from store.secretbox import box_for, seal_plain_passwords
from store.settings import StoreConfig
from store.validation import ConfigError

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    with_dsn = argparse.ArgumentParser(add_help=False)
    with_dsn.add_argument(
        "--dsn",
        metavar="URL",
        help="postgresql://user:password@host:port/db (default: database.dsn, else embedded)",
    )

    p = sub.add_parser("migrate", parents=[with_dsn], help="apply pending schema migrations")
    p.add_argument("--target", type=int, metavar="VERSION", help="stop after this version")
    p.set_defaults(_db=_migrate)

    p = sub.add_parser("status", parents=[with_dsn], help="engine, server and migration state")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(_db=_status)

    p = sub.add_parser("start", help="start the embedded cluster and leave it running")
    p.set_defaults(_db=_start)

    p = sub.add_parser("stop", help="stop the embedded cluster")
    p.add_argument("--mode", choices=("smart", "fast", "immediate"), default="fast")
    p.set_defaults(_db=_stop)

    p = sub.add_parser(
        "psql",
        parents=[with_dsn],
        help="open psql on the database (arguments after -- go to psql)",
    )
    p.add_argument("psql_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    p.set_defaults(_db=_psql)


def run(args: argparse.Namespace, load: SettingsLoader[StoreConfig]) -> int:
    overrides: dict[str, Any] = {}
    if getattr(args, "dsn", None):
        overrides["database.dsn"] = args.dsn
    try:
        settings = load(overrides)
    except ConfigError as exc:
        print(f"envgrid: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.core.log_level, settings.core.log_format)
    action: Callable[[StoreConfig, argparse.Namespace], int] = args._db
    try:
        return action(settings, args)
    except (EmbeddedError, EngineError, MigrationError) as exc:
        print(f"envgrid db {args.db_command}: {exc}", file=sys.stderr)
        return 1
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        target = mask_dsn(settings.database.dsn) if settings.database.dsn else "embedded cluster"
        print(
            f"envgrid db {args.db_command}: database error ({target}): {type(exc).__name__}: {exc}",
            file=sys.stderr,
        )
        return 1


def _with_connection(
    settings: StoreConfig, job: Callable[[asyncpg.Connection, str], Awaitable[int]]
) -> int:
    async def main() -> int:
        async with database_dsn(settings.core, settings.database) as dsn:
            conn = await connect(
                dsn,
                application_name=f"{settings.database.application_name} db",
                connect_timeout_s=settings.database.connect_timeout_s,
            )
            try:
                return await job(conn, dsn)
            finally:
                await conn.close()

    return asyncio.run(main())


def _migrate(settings: StoreConfig, args: argparse.Namespace) -> int:
    async def job(conn: asyncpg.Connection, dsn: str) -> int:
        info = await detect_engine(conn, choice=settings.database.engine)
        print(f"database {mask_dsn(dsn)}: {info.describe()}")
        applied = await migrate(conn, info.engine, target=args.target)
        for item in applied:
            print(f"applied {item.version:04d}_{item.name} in {item.execution_ms} ms")
        if not applied:
            print("schema is up to date")
        if args.target is None:
            await seed_factors(conn)  # reference data the ingest needs
            sealed = await seal_plain_passwords(conn, box_for(settings.core.secret_key_path))
            if sealed:
                print(f"sealed {sealed} plain station passwords")
            created = await ensure_ahead(conn, info.engine, datetime.now(UTC))
            if created:
                print(f"created {created} time partitions ahead")
            if info.engine is Engine.TIMESCALEDB:
                db = settings.database
                wanted = policies_for(db.compress_after_days, db.rollup_refresh_days)
                for line in await ensure_policies(conn, wanted):
                    print(f"timescaledb jobs: {line}")
        return 0

    return _with_connection(settings, job)


def _status(settings: StoreConfig, args: argparse.Namespace) -> int:
    async def job(conn: asyncpg.Connection, dsn: str) -> int:
        info = await detect_engine(conn, choice=settings.database.engine, try_create=False)
        rows = await status(conn)
        jobs = await list_jobs(conn) if info.engine is Engine.TIMESCALEDB else []
        if args.format == "json":
            document = {
                "dsn": mask_dsn(dsn),
                "embedded": settings.database.dsn is None,
                "engine": info.engine.value,
                "server_version": info.server_version,
                "timescaledb_version": info.timescaledb_version,
                "timescaledb_license": info.license or None,
                "note": info.note,
                "migrations": [
                    {
                        "version": r.version,
                        "name": r.name,
                        "state": r.state,
                        "engine": r.engine.value if r.engine else None,
                        "applied_at": r.applied_at.isoformat() if r.applied_at else None,
                    }
                    for r in rows
                ],
                "timescaledb_jobs": [
                    {"job_id": j, "proc": proc, "relation": rel, "config": json.loads(config)}
                    for j, proc, rel, config in jobs
                ],
            }
            print(json.dumps(document, indent=2))
            return 0
        where = f"embedded, {settings.core.pg_dir}" if settings.database.dsn is None else "dsn"
        print(f"database   {mask_dsn(dsn)} ({where})")
        print(f"engine     {info.engine} — {info.describe()}")
        print("migrations")
        for r in rows:
            applied = r.applied_at.strftime("%Y-%m-%d %H:%M:%S%z") if r.applied_at else ""
            print(f"  {r.version:04d}  {r.name:<32} {r.state:<8} {applied}")
        pending = sum(r.state == "pending" for r in rows)
        print(f"{pending} pending" if pending else "up to date")
        if jobs:
            print("timescaledb jobs (compression and rollup refresh; retention is envgrid's)")
            for job_id, proc, relation, config in jobs:
                print(f"  {job_id:>5}  {proc.removeprefix('policy_'):<28} {relation:<20} {config}")
        return 0

    return _with_connection(settings, job)


def _start(settings: StoreConfig, args: argparse.Namespace) -> int:
    if settings.database.dsn is not None:
        print(
            "note: database.dsn is set, so envgrid does not use the embedded cluster",
            file=sys.stderr,
        )
    cluster = embedded_from_settings(settings.core, settings.database)
    dsn = cluster.start()
    print(mask_dsn(dsn))
    print(
        f"the password is in {cluster.password_file} (readable by its owner only);"
        " `envgrid db psql` opens psql with it",
        file=sys.stderr,
    )
    return 0


def _stop(settings: StoreConfig, args: argparse.Namespace) -> int:
    cluster = embedded_from_settings(settings.core, settings.database)
    if not cluster.is_running():
        print(f"the embedded cluster in {cluster.data_dir} is not running")
        return 0
    cluster.stop(args.mode)
    return 0


def _psql(settings: StoreConfig, args: argparse.Namespace) -> int:
    extra = list(args.psql_args or [])
    if extra[:1] == ["--"]:
        extra = extra[1:]
    if settings.database.dsn is not None:
        dsn = settings.database.dsn
        exe = shutil.which("psql")
    else:
        cluster = embedded_from_settings(settings.core, settings.database)
        if not cluster.is_running():
            print(
                f"the embedded cluster in {cluster.data_dir} is not running;"
                " start it with `envgrid db start`",
                file=sys.stderr,
            )
            return 1
        dsn, exe = cluster.dsn, cluster.installation.tool("psql")
    if exe is None:
        raise EmbeddedError("psql not found; install postgresql-client")
    # The password goes in psql's environment, not on its command line (which `ps` shows
    # to every local user).
    dsn, password = split_password(dsn)
    env = dict(os.environ)
    if password is not None:
        env["PGPASSWORD"] = password
    sys.stdout.flush()
    os.execve(exe, [exe, "-d", dsn, *extra], env)
