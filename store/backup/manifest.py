"""The manifest of a backup archive: what is in it and how to check it (pure).

``manifest.json`` is the last member of the archive.  It names the format, when and
where the backup was taken, the versions (envgrid, PostgreSQL, pg_dump, TimescaleDB),
the storage engine, the schema version, every other member with its size and SHA-256,
and every table with its row count and checksum *as of the dump's snapshot* (see
:mod:`store.backup.snapshot`), so a restore can prove it holds the same rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Final

__all__ = [
    "CONFIG_PREFIX",
    "DUMP_NAME",
    "FORMAT",
    "MANIFEST_NAME",
    "SECRET_KEY_NAME",
    "UPLOADS_PREFIX",
    "BackupError",
    "BackupInputError",
    "Manifest",
    "Member",
    "TableSum",
    "compare_tables",
]

FORMAT: Final = "envgrid-backup/1"
MANIFEST_NAME: Final = "manifest.json"
DUMP_NAME: Final = "database.dump"
SECRET_KEY_NAME: Final = "secret.key"
UPLOADS_PREFIX: Final = "uploads/"
CONFIG_PREFIX: Final = "config/"


class BackupError(RuntimeError):
    """A backup or restore cannot go on; the message says why and what to do."""


class BackupInputError(BackupError):
    """The input is wrong (not a backup, damaged, a target in use, an output that exists):
    the command line exits with 2."""


@dataclass(frozen=True, slots=True)
class Member:
    """One file of the archive."""

    name: str
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class TableSum:
    """A table's row count and checksum (``None``: not computed; rows then estimated)."""

    name: str
    rows: int
    checksum: str | None = None


@dataclass(frozen=True, slots=True)
class Manifest:
    created_at: str
    envgrid_version: str
    host: str
    engine: str
    server_version: str
    pg_dump_version: str
    database: str
    schema_version: int
    timescaledb_version: str | None = None
    checksums: bool = True
    secret_key: bool = False
    members: tuple[Member, ...] = ()
    tables: tuple[TableSum, ...] = ()
    notes: tuple[str, ...] = ()
    format: str = FORMAT
    extra: Mapping[str, Any] = field(default_factory=dict)

    def member(self, name: str) -> Member | None:
        return next((m for m in self.members if m.name == name), None)

    @property
    def size(self) -> int:
        return sum(m.size for m in self.members)

    def rows(self, table: str) -> int | None:
        return next((t.rows for t in self.tables if t.name == table), None)

    def to_json(self) -> bytes:
        document = asdict(self)
        document["extra"] = dict(self.extra)
        return json.dumps(document, ensure_ascii=False, indent=2).encode() + b"\n"

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        """Parse ``manifest.json``; :class:`BackupError` for anything that is not a
        manifest this envgrid can read."""
        try:
            doc = json.loads(data)
        except ValueError as exc:
            raise BackupInputError(f"the manifest is not valid JSON ({exc})") from None
        if not isinstance(doc, dict):
            raise BackupInputError("the manifest is not a JSON object")
        fmt = doc.get("format")
        if fmt != FORMAT:
            raise BackupInputError(
                f"unknown backup format {fmt!r} (this envgrid reads {FORMAT!r});"
                " restore it with the envgrid version that wrote it"
            )
        try:
            return cls(
                created_at=str(doc["created_at"]),
                envgrid_version=str(doc["envgrid_version"]),
                host=str(doc["host"]),
                engine=str(doc["engine"]),
                server_version=str(doc["server_version"]),
                pg_dump_version=str(doc["pg_dump_version"]),
                database=str(doc["database"]),
                schema_version=int(doc["schema_version"]),
                timescaledb_version=doc.get("timescaledb_version"),
                checksums=bool(doc.get("checksums", False)),
                secret_key=bool(doc.get("secret_key", False)),
                members=tuple(
                    Member(str(m["name"]), int(m["size"]), str(m["sha256"]))
                    for m in doc.get("members", [])
                ),
                tables=tuple(
                    TableSum(str(t["name"]), int(t["rows"]), t.get("checksum"))
                    for t in doc.get("tables", [])
                ),
                notes=tuple(str(n) for n in doc.get("notes", [])),
                extra=dict(doc.get("extra", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BackupInputError(f"the manifest is incomplete or malformed ({exc!r})") from None


def compare_tables(
    expected: Sequence[TableSum], actual: Iterable[TableSum], *, checksums: bool
) -> list[str]:
    """What differs between the manifest's tables and the restored ones, one line per
    table (empty: identical).  Without ``checksums`` only the presence of each table is
    checked (estimated counts differ run to run)."""
    have: dict[str, TableSum] = {t.name: t for t in actual}
    problems: list[str] = []
    for table in expected:
        got = have.pop(table.name, None)
        if got is None:
            problems.append(f"{table.name}: missing after the restore")
        elif checksums and got.rows != table.rows:
            problems.append(f"{table.name}: {got.rows} rows, the backup has {table.rows}")
        elif checksums and got.checksum != table.checksum:
            problems.append(f"{table.name}: checksum differs ({table.rows} rows)")
    problems.extend(f"{name}: not in the backup" for name in sorted(have))
    return problems
