"""``envgrid backup create``: the database (pg_dump, custom format), the uploads, the
configuration and the secret key, in one archive with a manifest — taken while envgrid
serves.

Order: the snapshot first (:class:`~store.backup.snapshot.SnapshotSession`: the table
sums, then pg_dump from the same snapshot, streamed into the archive), then the files.
A photo uploaded during the backup may be in the archive without its database row; a
row in the snapshot always finds its photo (uploads are deleted only after their rows).
The archive is written as ``.<name>.part`` and renamed when complete, so a crash never
leaves a file that looks like a backup.
"""

from __future__ import annotations

import importlib.metadata
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from store.backup.archive import ArchiveWriter
from store.backup.manifest import (
    CONFIG_PREFIX,
    DUMP_NAME,
    SECRET_KEY_NAME,
    UPLOADS_PREFIX,
    BackupError,
    BackupInputError,
    Manifest,
)
from store.backup.pgtools import client_installation, dump_chunks, tool_version
from store.backup.progress import QUIET, Steps
from store.backup.snapshot import SnapshotSession

__all__ = ["BackupResult", "BackupSources", "backup_name", "create_backup"]

NAME_PREFIX: Final = "envgrid-"
NAME_SUFFIX: Final = ".tar"


@dataclass(frozen=True, slots=True)
class BackupSources:
    """What goes into a backup."""

    dsn: str
    uploads_dir: Path
    secret_key_file: Path
    #: Configuration files copied as they are (``config/<name>``).
    config_files: Sequence[Path] = ()
    #: The effective configuration, secrets masked (``config/effective.toml``).
    effective_config: str = ""
    checksums: bool = True
    bindir: Path | None = None
    connect_timeout_s: float = 10.0
    notes: Sequence[str] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    manifest: Manifest
    seconds: float
    #: seconds spent in the table sums and in pg_dump
    sums_seconds: float
    dump_seconds: float


def backup_name(now: datetime) -> str:
    """``envgrid-YYYYmmddTHHMMSSZ.tar`` (UTC), which sorts by time."""
    return f"{NAME_PREFIX}{now.astimezone(UTC):%Y%m%dT%H%M%SZ}{NAME_SUFFIX}"


def _version() -> str:
    try:
        return importlib.metadata.version("envgrid")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _upload_files(root: Path) -> list[tuple[Path, str]]:
    if not root.is_dir():
        return []
    out = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            out.append((path, UPLOADS_PREFIX + path.relative_to(root).as_posix()))
    return out


def create_backup(sources: BackupSources, output: Path, steps: Steps = QUIET) -> BackupResult:
    """Write the backup to ``output`` (which must not exist).  BackupError when it cannot."""
    if output.exists():
        raise BackupInputError(f"{output} already exists; choose another --output")
    output.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    started = time.monotonic()
    partial = output.with_name(f".{output.name}.part")
    partial.unlink(missing_ok=True)
    writer = ArchiveWriter(partial)
    notes = list(sources.notes)
    try:
        with SnapshotSession(sources.dsn, connect_timeout_s=sources.connect_timeout_s) as snap:
            facts = snap.facts()
            if not facts["engine"]:
                raise BackupError(
                    f"database {facts['database']!r} holds no envgrid schema"
                    " (no schema_migrations); nothing to back up"
                )
            inst = client_installation(sources.bindir, facts["server_version_num"] // 10000)
            t0 = time.monotonic()
            with steps.step("table counts and checksums" if sources.checksums else "table sizes"):
                tables = snap.table_sums(checksums=sources.checksums)
            sums_s = time.monotonic() - t0
            t0 = time.monotonic()
            with steps.step("database (pg_dump)"):
                writer.add_stream(
                    DUMP_NAME,
                    dump_chunks(inst, sources.dsn, snap.snapshot_id),
                    advance=steps.advance,
                )
            dump_s = time.monotonic() - t0
        uploads = _upload_files(sources.uploads_dir)
        with steps.step("uploads", sum(p.stat().st_size for p, _ in uploads)):
            for path, name in uploads:
                writer.add_file(path, name, advance=steps.advance)
        for path in sources.config_files:
            writer.add_file(path, CONFIG_PREFIX + path.name)
        if sources.effective_config:
            writer.add_bytes(CONFIG_PREFIX + "effective.toml", sources.effective_config.encode())
        has_key = sources.secret_key_file.is_file()
        if has_key:
            writer.add_file(sources.secret_key_file, SECRET_KEY_NAME)
        else:
            notes.append(
                f"no secret key at {sources.secret_key_file}: no station password was sealed"
            )
        manifest = Manifest(
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            envgrid_version=_version(),
            host=socket.gethostname(),
            engine=facts["engine"],
            server_version=facts["server_version"],
            pg_dump_version=tool_version(inst, "pg_dump"),
            database=facts["database"],
            schema_version=facts["schema_version"],
            timescaledb_version=facts["timescaledb_version"],
            checksums=sources.checksums,
            secret_key=has_key,
            members=tuple(writer.members),
            tables=tuple(tables),
            notes=tuple(notes),
        )
        writer.finish(manifest)
        partial.replace(output)
        _fsync_dir(output.parent)
    except BaseException:
        writer.abort()
        raise
    return BackupResult(output, manifest, time.monotonic() - started, sums_s, dump_s)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
