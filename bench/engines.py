"""The storage engine a benchmark measured, and the legs of a side-by-side run.

A figure is labelled with the engine of the live database it was measured on, read from
that database (:func:`store.engine.detect_engine` without creating anything: the recorded
engine, ``extversion`` and ``timescaledb.license``), never with what happens to be
installed on the machine.

``envgrid bench SCENARIO --engines postgres,timescaledb`` runs the scenario once per
engine, back to back, each on a fresh server of its own: :func:`legs` gives each leg its
settings (``database.engine``, and the server binaries of ``database.embedded_bindir``)
and says, before anything starts, why a leg cannot run here (TimescaleDB not installed
for those binaries).  Such a leg is reported as skipped with that reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import asyncpg

from store.db import connect
from store.engine import ENGINE_CHOICES, EngineChoice, detect_engine
from store.pg_installation import EmbeddedError, find_installation, timescaledb_available

__all__ = ["BINDIR", "ENGINE", "Leg", "database_engine", "describe_engine", "legs", "parse_engines"]

#: The ``--set`` keys of the engine and of the server binaries.
ENGINE: Final = "database.engine"
BINDIR: Final = "database.embedded_bindir"


async def database_engine(conn: asyncpg.Connection) -> str:
    """What ``conn``'s database runs on, e.g. "PostgreSQL 15.20 + TimescaleDB 2.28.3
    (licence timescale)" or "PostgreSQL 15.20 (native partitions and rollup tables)"."""
    return (await detect_engine(conn, try_create=False)).describe()


async def describe_engine(dsn: str) -> str:
    """:func:`database_engine` of the database at ``dsn``."""
    conn = await connect(dsn)
    try:
        return await database_engine(conn)
    finally:
        await conn.close()


def parse_engines(text: str) -> list[EngineChoice]:
    """``"postgres,timescaledb"`` → ``["postgres", "timescaledb"]`` (ValueError otherwise)."""
    out: list[EngineChoice] = []
    for name in (part.strip() for part in text.split(",")):
        for choice in ENGINE_CHOICES:
            if name == choice and choice not in out:
                out.append(choice)
                break
        else:
            raise ValueError(
                f"--engines: {name!r} is not one of {', '.join(ENGINE_CHOICES)} (or repeated)"
            )
    return out


@dataclass(frozen=True, slots=True)
class Leg:
    """One engine of a side-by-side run: its server settings, or why it cannot run."""

    engine: EngineChoice
    overrides: Mapping[str, str] = field(default_factory=dict)
    #: why this leg cannot run here ("" when it can)
    skipped: str = ""

    @property
    def bindir(self) -> Path | None:
        value = self.overrides.get(BINDIR)
        return Path(value) if value else None


def unavailable(engine: EngineChoice, bindir: Path | None) -> str:
    """Why an embedded cluster of these binaries cannot run ``engine`` ("" if it can)."""
    if engine != "timescaledb":
        return ""
    try:
        installation = find_installation(bindir)
    except EmbeddedError as exc:
        return str(exc)
    if timescaledb_available(installation.bindir):
        return ""
    return (
        f"TimescaleDB is not installed for PostgreSQL {installation.version} in"
        f" {installation.bindir}; point ENVGRID_DATABASE__EMBEDDED_BINDIR (or --set"
        f" {BINDIR}=DIR) at a server with it"
    )


def legs(
    engines: Sequence[EngineChoice],
    overrides: Mapping[str, str],
    *,
    embedded: bool = True,
) -> list[Leg]:
    """One leg per engine over the user's ``overrides`` (``--set``).  ``embedded``: the
    servers run their own cluster, so a missing TimescaleDB is known before starting."""
    out = []
    for engine in engines:
        leg_overrides = {**overrides, ENGINE: engine}
        bindir = leg_overrides.get(BINDIR)
        reason = unavailable(engine, Path(bindir) if bindir else None) if embedded else ""
        out.append(Leg(engine, leg_overrides, reason))
    return out
