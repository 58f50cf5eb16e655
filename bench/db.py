"""The benchmarks' private databases and ports.

:func:`private_database` gives a benchmark a fresh database of its own: a new database on
``dsn``'s server (dropped afterwards; the DSN must be allowed to CREATE DATABASE), or, with
no DSN, a throwaway embedded cluster in a temporary directory (in ``/dev/shm`` where it can
be written) tuned with the benchmark's settings.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from store.db import connect, quote_ident
from store.embedded import EmbeddedPostgres
from store.engine import EngineChoice, detect_engine
from store.migrate import migrate
from store.prepare import seed_factors

__all__ = ["free_port", "private_database", "throwaway_server", "with_database"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (now)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def with_database(dsn: str, database: str) -> str:
    """``dsn`` with its database replaced by ``database``."""
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


@contextlib.contextmanager
def throwaway_server(
    dsn: str | None,
    label: str,
    tuning: Mapping[str, str],
    port: int = 0,
    engine: EngineChoice = "auto",
    bindir: Path | None = None,
) -> Iterator[str]:
    """``dsn`` itself, or (None) the DSN of a throwaway embedded cluster."""
    if dsn is not None:
        yield dsn
        return
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    directory = Path(tempfile.mkdtemp(prefix=f"envgrid-bench-{label}-", dir=base))
    try:
        directory.chmod(0o755)  # the postgres OS account must enter it when we are root
        cluster = EmbeddedPostgres(
            directory,
            "127.0.0.1",
            port or free_port(),
            tuning=tuning,
            bindir=bindir,
            engine=engine,
        )
        try:
            yield cluster.start()
        finally:
            cluster.stop("immediate")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.asynccontextmanager
async def private_database(
    dsn: str | None,
    *,
    label: str,
    tuning: Mapping[str, str],
    migrated: bool = True,
    port: int = 0,
    engine: EngineChoice = "auto",
    bindir: Path | None = None,
) -> AsyncIterator[str]:
    """Yield the DSN of a fresh database, dropped (with its cluster) on the way out.

    ``dsn``: the server to create it on (None: a throwaway embedded cluster on ``port``,
    any free one for 0, tuned with ``tuning``).  ``label`` names the temporary directory
    and the database.  ``migrated``: the schema applied and the factors seeded first, for
    ``engine`` (``database.engine``; an embedded cluster runs the server in ``bindir``,
    ``database.embedded_bindir``).
    """
    with throwaway_server(dsn, label, tuning, port, engine, bindir) as server:
        name = f"bench_{label}_{uuid.uuid4().hex[:10]}"
        admin = await connect(server)
        try:
            await admin.execute(f"CREATE DATABASE {quote_ident(name)}")
            target = with_database(server, name)
            if migrated:
                conn = await connect(target)
                try:
                    info = await detect_engine(conn, choice=engine)
                    await migrate(conn, info.engine)
                    await seed_factors(conn)
                finally:
                    await conn.close()
            yield target
        finally:
            with contextlib.suppress(asyncpg.PostgresError):
                await admin.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")
            await admin.close()
