"""Where a restore goes, and whether it may: an empty data directory and an empty database.

The data directory counts as empty when it holds nothing but ``backups/`` (the default
backup directory) and ``lost+found``.  The database (``database.dsn``, else the embedded
cluster in ``core.data_dir/pg``) counts as empty when schema ``public`` holds no
relation.  Without ``--force`` anything else is refused, naming what is there.  With
``--force`` the embedded cluster, ``uploads/``, ``restored-config/`` and the secret key
are replaced (envgrid and the embedded cluster must be stopped); an external database is
dropped and created again (the role needs CREATEDB); the rest of the data directory
(the spool of acked frames not yet stored, reports, backups) is left alone.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import unquote, urlsplit, urlunsplit

import asyncpg

from store.backup.manifest import BackupError
from store.db import connect, quote_ident
from store.embedded import EmbeddedPostgres, embedded_from_settings
from store.engine import EngineChoice
from store.settings import CoreSettings, DatabaseSettings

__all__ = ["RESTORED_CONFIG", "RestoreTarget", "database_is_empty", "recreate_database"]

RESTORED_CONFIG: Final = "restored-config"
_IGNORED: Final = frozenset({"backups", "lost+found"})


@dataclass(frozen=True, slots=True)
class RestoreTarget:
    core: CoreSettings
    database: DatabaseSettings
    uploads_dir: Path
    #: pg_restore --jobs on plain PostgreSQL (TimescaleDB restores run in one job)
    jobs: int = 2

    @property
    def embedded(self) -> bool:
        return self.database.dsn is None

    @property
    def data_dir(self) -> Path:
        return self.core.data_dir

    @property
    def config_dir(self) -> Path:
        return self.core.data_dir / RESTORED_CONFIG

    def cluster(self, engine: str) -> EmbeddedPostgres:
        """The embedded cluster to restore into, for a backup of ``engine``."""
        db = self.database
        choice: EngineChoice = "timescaledb" if engine == "timescaledb" else "postgres"
        return embedded_from_settings(
            self.core,
            DatabaseSettings(
                engine=choice,
                embedded_host=db.embedded_host,
                embedded_port=db.embedded_port,
                embedded_bindir=db.embedded_bindir,
                embedded_os_user=db.embedded_os_user,
                embedded_tuning=dict(db.embedded_tuning),
            ),
        )

    def occupants(self, secret_key: bytes | None) -> list[str]:
        """What is in the way of a restore into the data directory (files only; the
        database is checked once it runs)."""
        found: list[str] = []
        root = self.core.data_dir
        if root.is_dir():
            extra = sorted(p.name for p in root.iterdir() if p.name not in _IGNORED)
            if extra:
                found.append(f"{root} is not empty ({', '.join(extra[:8])})")
        key = self.core.secret_key_path
        if key.exists() and (secret_key is None or key.read_bytes() != secret_key):
            found.append(f"{key} holds a different secret key")
        if self.uploads_dir.is_dir() and any(self.uploads_dir.iterdir()):
            found.append(f"{self.uploads_dir} holds uploads")
        return found

    def clear(self, engine: str) -> None:
        """``--force``: remove what the restore replaces (see the module docstring)."""
        if self.embedded:
            cluster = self.cluster(engine)
            if cluster.is_running():
                raise BackupError(
                    f"the embedded PostgreSQL in {cluster.data_dir} is running; stop envgrid"
                    " and then `envgrid db stop` before restoring over it"
                )
            shutil.rmtree(self.core.pg_dir, ignore_errors=True)
        shutil.rmtree(self.uploads_dir, ignore_errors=True)
        shutil.rmtree(self.config_dir, ignore_errors=True)
        self.core.secret_key_path.unlink(missing_ok=True)


EMPTY_SQL: Final = """
SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public'
"""


async def database_is_empty(conn: asyncpg.Connection) -> bool:
    return int(await conn.fetchval(EMPTY_SQL)) == 0


async def recreate_database(dsn: str, *, connect_timeout_s: float) -> None:
    """DROP and CREATE the database of ``dsn``, connected to ``postgres`` on its server."""
    parts = urlsplit(dsn)
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise BackupError("database.dsn names no database; add /envgrid to it")
    admin = urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, parts.fragment))
    conn = await connect(
        admin, application_name="envgrid restore", connect_timeout_s=connect_timeout_s
    )
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {quote_ident(name)}")
    except asyncpg.PostgresError as exc:
        raise BackupError(
            f"--force could not recreate database {name!r} ({exc}); the role needs CREATEDB,"
            " or drop and create it by hand"
        ) from None
    finally:
        await conn.close()
