"""``envgrid backup``: ``create`` a backup while envgrid serves, ``restore`` one into an
empty data directory, ``list`` the backups in ``backup.dir``.

Exit codes: 0 done; 1 the database or a tool failed (the message says which), or another
backup is running; 2 bad input — a configuration error, a file that is not a backup or
is damaged, a target that is in use (``--force`` replaces it), an output that exists.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from envgrid.backup_job import backup_sources
from envgrid.settings import Settings, load_settings_with_sources
from store.backup.catalog import list_backups
from store.backup.create import backup_name, create_backup
from store.backup.manifest import BackupError, BackupInputError, Manifest
from store.backup.progress import terminal_steps
from store.backup.restore import restore_backup
from store.backup.runs import BackupBusy, backup_lock
from store.backup.target import RestoreTarget
from store.config import mask_dsn
from store.embedded import EmbeddedError, database_dsn
from store.logs import configure_logging
from store.validation import ConfigError
from web.casework.kernel.config import CaseConfig

__all__ = ["configure", "run"]

SENSITIVE_NOTE = (
    "this file holds the secret key that unseals the station passwords"
    " (core.secret_key_file) and the configuration: keep it as safe as the key itself"
)


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="backup_command", metavar="ACTION", required=True)
    dsn = argparse.ArgumentParser(add_help=False)
    dsn.add_argument("--dsn", metavar="URL", help="database (default: database.dsn, else embedded)")
    quiet = argparse.ArgumentParser(add_help=False)
    quiet.add_argument("--quiet", action="store_true", help="no progress display")

    p = sub.add_parser(
        "create",
        parents=[dsn, quiet],
        help="back up the database, uploads, configuration and secret key into one file",
    )
    p.add_argument(
        "--output",
        type=Path,
        metavar="FILE",
        help="the backup file (default: backup.dir/envgrid-<UTC time>.tar)",
    )
    p.add_argument(
        "--no-checksums",
        action="store_true",
        help="estimated row counts instead of exact counts and checksums (faster)",
    )

    p = sub.add_parser(
        "restore",
        parents=[dsn, quiet],
        help="restore a backup into an empty data directory (and database)",
    )
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("--data-dir", metavar="DIR", help="the data directory (core.data_dir)")
    p.add_argument(
        "--force",
        action="store_true",
        help="replace the cluster, uploads and key of a data directory in use",
    )
    p.add_argument("--jobs", type=int, default=2, help="pg_restore jobs (plain PostgreSQL)")

    p = sub.add_parser("list", help="the backups in backup.dir")
    p.add_argument("--dir", type=Path, metavar="DIR", help="another directory")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _load(args: argparse.Namespace) -> tuple[Settings, Path | None]:
    overrides: dict[str, Any] = {}
    if getattr(args, "dsn", None):
        overrides["database.dsn"] = args.dsn
    if getattr(args, "data_dir", None):
        overrides["core.data_dir"] = args.data_dir
    config = Path(args.config) if args.config else None
    loaded = load_settings_with_sources(config, os.environ, overrides)
    return loaded.settings, loaded.config_file


def run(args: argparse.Namespace) -> int:
    command = f"envgrid backup {args.backup_command}"
    try:
        settings, config_file = _load(args)
    except ConfigError as exc:
        print(f"{command}: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.core.log_level, settings.core.log_format)
    try:
        if args.backup_command == "create":
            return _create(settings, config_file, args)
        if args.backup_command == "restore":
            return _restore(settings, args)
        return _list(settings, args)
    except BackupInputError as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return 2
    except BackupBusy:
        print(
            f"{command}: another backup is running (scheduled, or 立即备份 on the dashboard);"
            " try again when it has finished",
            file=sys.stderr,
        )
        return 1
    except (BackupError, EmbeddedError) as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return 1
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        target = mask_dsn(settings.database.dsn) if settings.database.dsn else "embedded cluster"
        print(f"{command}: {type(exc).__name__} ({target}): {exc}", file=sys.stderr)
        return 1


def _mib(size: int) -> str:
    return f"{size / 2**20:,.1f} MiB"


def _create(settings: Settings, config_file: Path | None, args: argparse.Namespace) -> int:
    output: Path = args.output or settings.backup.directory(settings.core.data_dir) / backup_name(
        datetime.now(UTC)
    )
    steps = terminal_steps(quiet=args.quiet)

    # The embedded cluster, if it is not running, is started for the backup and left
    # running only if it was running before (database_dsn), so hold it open throughout;
    # the backup lock too (store.backup.runs): no second backup runs meanwhile.
    async def main() -> int:
        async with (
            database_dsn(settings.core, settings.database) as dsn,
            backup_lock(dsn, connect_timeout_s=settings.database.connect_timeout_s),
        ):
            sources = backup_sources(settings, dsn, [config_file] if config_file else [])
            if args.no_checksums:
                sources = dataclasses.replace(sources, checksums=False)
            result = await asyncio.to_thread(create_backup, sources, output, steps)
        m = result.manifest
        print(f"backup written: {result.path}")
        print(
            f"  {_mib(m.size)} in {result.seconds:.1f} s (table sums {result.sums_seconds:.1f} s,"
            f" pg_dump {result.dump_seconds:.1f} s)"
        )
        _describe(m)
        if m.secret_key:
            print(f"  note: {SENSITIVE_NOTE}")
        return 0

    return asyncio.run(main())


def _describe(m: Manifest) -> None:
    engine = m.engine + (f" {m.timescaledb_version}" if m.timescaledb_version else "")
    print(
        f"  PostgreSQL {m.server_version}, {engine}, schema {m.schema_version:04d},"
        f" pg_dump {m.pg_dump_version}, envgrid {m.envgrid_version}, taken on {m.host}"
    )
    exact = "rows" if m.checksums else "rows (estimated)"
    for table in m.tables:
        if table.name.startswith(("measurements_", "agg_hourly", "packet_ledger")):
            print(f"  {table.name:<24} {table.rows:>14,} {exact}")
    files = sum(1 for x in m.members if x.name.startswith("uploads/"))
    print(
        f"  {len(m.tables)} tables, {files} uploads,"
        f" secret key {'included' if m.secret_key else 'not present'}"
    )


def _restore(settings: Settings, args: argparse.Namespace) -> int:
    target = RestoreTarget(
        settings.core,
        settings.database,
        CaseConfig.from_settings(settings).uploads_dir,
        jobs=max(1, args.jobs),
    )
    result = restore_backup(
        args.file, target, force=args.force, steps=terminal_steps(quiet=args.quiet)
    )
    m = result.manifest
    where = mask_dsn(settings.database.dsn) if settings.database.dsn else str(settings.core.pg_dir)
    print(f"restored {args.file} (taken {m.created_at} on {m.host}) into {where}")
    print(
        f"  {result.seconds:.1f} s (pg_restore {result.restore_seconds:.1f} s,"
        f" verification {result.verify_seconds:.1f} s); {result.files} files"
    )
    _describe(m)
    print(
        "  every table's row count"
        + (" and checksum" if m.checksums else "")
        + " matches the backup"
    )
    for warning in result.warnings:
        print(f"  warning (ignored): {warning}")
    if any(x.name.startswith("config/") for x in m.members):
        print(
            f"  the backed-up configuration is in {target.config_dir}: review it and copy what"
            " applies to this host (nothing in /etc was changed)"
        )
    print("  start envgrid as usual (`envgrid serve`); pending migrations apply at start")
    return 0


def _list(settings: Settings, args: argparse.Namespace) -> int:
    directory = args.dir or settings.backup.directory(settings.core.data_dir)
    entries = list_backups(directory)
    if args.json:
        document = [
            {
                "file": str(e.path),
                "size": e.size,
                "created_at": e.manifest.created_at if e.manifest else None,
                "engine": e.manifest.engine if e.manifest else None,
                "schema_version": e.manifest.schema_version if e.manifest else None,
                "secret_key": e.manifest.secret_key if e.manifest else None,
                "tables": {t.name: t.rows for t in e.manifest.tables} if e.manifest else {},
                "error": e.error or None,
            }
            for e in entries
        ]
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return 0
    if not entries:
        print(f"no backups in {directory}")
        return 0
    print(f"backups in {directory}:")
    for e in entries:
        if e.manifest is None:
            print(f"  {e.path.name}  {_mib(e.size):>12}  unreadable: {e.error}")
            continue
        m = e.manifest
        rows = sum(t.rows for t in m.tables if t.name.startswith("measurements_"))
        print(
            f"  {e.path.name}  {_mib(e.size):>12}  {m.created_at}  {m.engine:<11}"
            f" schema {m.schema_version:04d}  {rows:,} measurements"
            f"{'' if m.secret_key else '  (no secret key)'}"
        )
    return 0
