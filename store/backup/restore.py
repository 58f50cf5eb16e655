"""``envgrid backup restore FILE``: a backup into an empty data directory and database.

Steps, each one refusing before anything is changed where it can:

1. read the manifest; check the target (:mod:`store.backup.target`) and the engine
   (a TimescaleDB backup needs TimescaleDB of the same version on the target);
2. copy the dump out of the archive, checking its SHA-256 — a damaged backup stops here;
3. start the embedded cluster (a new one: new superuser password) or use
   ``database.dsn``; TimescaleDB: ``CREATE EXTENSION timescaledb VERSION '<the
   backup's>'`` and ``timescaledb_pre_restore()``, then ``pg_restore`` in one job, then
   ``timescaledb_post_restore()`` (Timescale's documented procedure); plain PostgreSQL:
   ``pg_restore --jobs``; then ``ANALYZE``;
4. uploads to ``uploads/``, the secret key to ``core.secret_key_file`` (mode 0600), the
   configuration files to ``data_dir/restored-config/`` for the operator to review
   (nothing in /etc is overwritten);
5. count and checksum every table again and compare with the manifest; any difference
   is an error (the restored data stays, for inspection).

The embedded cluster is stopped again if this started it.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from store.backup.archive import ArchiveReader, safe_relative
from store.backup.manifest import (
    CONFIG_PREFIX,
    DUMP_NAME,
    SECRET_KEY_NAME,
    UPLOADS_PREFIX,
    BackupError,
    BackupInputError,
    Manifest,
    compare_tables,
)
from store.backup.pgtools import client_installation, restore_dump
from store.backup.progress import QUIET, Steps
from store.backup.snapshot import table_sums
from store.backup.target import RestoreTarget, database_is_empty, recreate_database
from store.db import connect, quote_ident
from store.embedded import EmbeddedPostgres

__all__ = ["RestoreResult", "restore_backup"]

_VERSION = re.compile(r"[0-9A-Za-z.\-]+")
_ENGINE_CHOICE = {"timescaledb": "timescaledb", "postgresql": "postgres"}


@dataclass(frozen=True, slots=True)
class RestoreResult:
    manifest: Manifest
    seconds: float
    #: seconds in pg_restore (with the TimescaleDB steps) and in the verification
    restore_seconds: float
    verify_seconds: float
    warnings: list[str] = field(default_factory=list)
    files: int = 0


def _check_engine(manifest: Manifest, target: RestoreTarget) -> None:
    wanted = _ENGINE_CHOICE.get(manifest.engine)
    if wanted is None:
        raise BackupInputError(f"the backup names an unknown storage engine {manifest.engine!r}")
    if target.database.engine not in ("auto", wanted):
        raise BackupInputError(
            f"the backup is of a {manifest.engine} database but database.engine is"
            f" {target.database.engine!r}; set database.engine = 'auto' (or {wanted!r})"
        )


async def _restore_database(
    dsn: str, dump: Path, manifest: Manifest, target: RestoreTarget, force: bool
) -> list[str]:
    conn = await connect(dsn, application_name="envgrid restore", statement_timeout_ms=0)
    try:
        if not await database_is_empty(conn):
            if not force or target.embedded:
                raise BackupInputError(
                    "the target database is not empty (schema public has relations);"
                    " use --force to drop and recreate it"
                )
            await conn.close()
            await recreate_database(dsn, connect_timeout_s=target.database.connect_timeout_s)
            conn = await connect(dsn, application_name="envgrid restore", statement_timeout_ms=0)
        server_major = int(await conn.fetchval("SHOW server_version_num")) // 10000
        inst = client_installation(target.database.embedded_bindir, server_major)
        tsdb = manifest.engine == "timescaledb"
        if tsdb:
            await _prepare_timescaledb(conn, manifest.timescaledb_version or "")
        try:
            warnings = await asyncio.to_thread(
                restore_dump, inst, dsn, dump, jobs=1 if tsdb else target.jobs
            )
        finally:
            if tsdb:
                await conn.execute("SELECT timescaledb_post_restore()")
        await conn.execute("ANALYZE")
        return warnings
    finally:
        await conn.close()


async def _prepare_timescaledb(conn: asyncpg.Connection, version: str) -> None:
    rows = await conn.fetch(
        "SELECT version FROM pg_available_extension_versions WHERE name = 'timescaledb'"
    )
    names = sorted(str(r["version"]) for r in rows)
    if version not in names or not _VERSION.fullmatch(version):
        raise BackupError(
            f"the backup was taken with TimescaleDB {version or '(unknown)'}; this server"
            f" offers {', '.join(names) or 'no TimescaleDB'}. Install TimescaleDB {version}"
            " for the restore, then update the extension (see docs/operations.md)"
        )
    await conn.execute(f"CREATE EXTENSION IF NOT EXISTS timescaledb VERSION {quote_ident(version)}")
    await conn.execute("SELECT timescaledb_pre_restore()")


async def _database_in_use(dsn: str, connect_timeout_s: float) -> bool:
    conn = await connect(
        dsn, application_name="envgrid restore", connect_timeout_s=connect_timeout_s
    )
    try:
        return not await database_is_empty(conn)
    finally:
        await conn.close()


async def _verify(dsn: str, manifest: Manifest) -> list[str]:
    conn = await connect(dsn, application_name="envgrid restore", statement_timeout_ms=0)
    try:
        actual = await table_sums(conn, checksums=manifest.checksums)
    finally:
        await conn.close()
    return compare_tables(manifest.tables, actual, checksums=manifest.checksums)


def _restore_files(reader: ArchiveReader, manifest: Manifest, target: RestoreTarget) -> int:
    count = 0
    for member in manifest.members:
        if member.name.startswith(UPLOADS_PREFIX):
            rel = safe_relative(member.name.removeprefix(UPLOADS_PREFIX))
            reader.extract(member, target.uploads_dir / rel)
        elif member.name.startswith(CONFIG_PREFIX):
            rel = safe_relative(member.name.removeprefix(CONFIG_PREFIX))
            reader.extract(member, target.config_dir / rel)
        elif member.name == SECRET_KEY_NAME:
            reader.extract(member, target.core.secret_key_path)
        else:
            continue
        count += 1
    return count


def restore_backup(
    archive: Path, target: RestoreTarget, *, force: bool = False, steps: Steps = QUIET
) -> RestoreResult:
    """Restore ``archive`` into ``target`` (see the module docstring)."""
    started = time.monotonic()
    with ArchiveReader(archive) as reader:
        manifest = reader.manifest()
        dump = manifest.member(DUMP_NAME)
        if dump is None:
            raise BackupInputError(f"{archive} has no {DUMP_NAME}")
        _check_engine(manifest, target)
        key_member = manifest.member(SECRET_KEY_NAME)
        key = reader.read_member(key_member) if key_member is not None else None
        in_the_way = target.occupants(key)
        if not (target.embedded or force) and asyncio.run(
            _database_in_use(str(target.database.dsn), target.database.connect_timeout_s)
        ):
            in_the_way.append("the target database is not empty (schema public has relations)")
        if in_the_way and not force:
            raise BackupInputError(
                "refusing to restore over what is in use: "
                + "; ".join(in_the_way)
                + " — restore into an empty core.data_dir (and database),"
                " or use --force to replace it"
            )
        if force:
            target.clear(manifest.engine)
        work = target.data_dir / ".restore-work"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True, mode=0o700)
        try:
            dump_file = work / DUMP_NAME
            with steps.step("checking the dump", dump.size):
                reader.extract(dump, dump_file, steps.advance)
            cluster: EmbeddedPostgres | None = None
            if target.embedded:
                cluster = target.cluster(manifest.engine)
                dsn = cluster.start()
            else:
                assert target.database.dsn is not None
                dsn = target.database.dsn
            try:
                t0 = time.monotonic()
                with steps.step("database (pg_restore)"):
                    warnings = asyncio.run(
                        _restore_database(dsn, dump_file, manifest, target, force)
                    )
                restore_s = time.monotonic() - t0
                dump_file.unlink()
                with steps.step("uploads, key, configuration"):
                    files = _restore_files(reader, manifest, target)
                t0 = time.monotonic()
                with steps.step("verifying counts and checksums"):
                    problems = asyncio.run(_verify(dsn, manifest))
                verify_s = time.monotonic() - t0
            finally:
                if cluster is not None and cluster.started_here:
                    cluster.stop()
        finally:
            shutil.rmtree(work, ignore_errors=True)
    if problems:
        raise BackupError(
            "the restored database differs from the backup: " + "; ".join(problems[:10])
        )
    return RestoreResult(manifest, time.monotonic() - started, restore_s, verify_s, warnings, files)
