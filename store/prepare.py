"""Get a database ready for envgrid: engine, migrations, reference data, partitions.

Called once by ``envgrid serve`` (the supervisor) before any worker starts, and
by ``envgrid db migrate``.  Idempotent: running it on a ready database changes
nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final

import asyncpg

from protocol.factors import CORRECTIONS, FACTORS
from store.db import connect
from store.engine import Engine, EngineChoice, EngineError, EngineInfo, detect_engine
from store.migrate import migrate
from store.partitions import apply_retention, ensure_ahead
from store.policies import ensure_policies, policies_for
from store.secretbox import SecretBox, seal_plain_passwords

__all__ = ["check_retention", "prepare_database", "seed_factors"]

log = logging.getLogger(__name__)

SEED_FACTORS_SQL: Final = """
INSERT INTO factors (code, name_zh, name_en, unit, grp)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
ON CONFLICT (code) DO NOTHING
"""


#: Factor rows still holding what HJ 212-2017 B.2 prints (细微颗粒物, ng/m³ particulates)
#: take the corrected name and unit; a name or unit the operator changed stays.
CORRECT_FACTORS_SQL: Final = """
UPDATE factors f SET name_zh = c.name_zh, unit = c.unit
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
     AS c(code, name_zh, unit, printed_name, printed_unit)
WHERE f.code = c.code AND f.name_zh = c.printed_name AND f.unit = c.printed_unit
"""


async def seed_factors(conn: asyncpg.Connection) -> None:
    """Every factor code of the HJ 212 tables, with names and default units."""
    rows = [(f.code, f.name_zh, f.name_en, f.unit, f.group) for f in FACTORS.values()]
    await conn.execute(SEED_FACTORS_SQL, *(list(column) for column in zip(*rows, strict=True)))
    fixes = [
        (code, FACTORS[code].name_zh, FACTORS[code].unit, name, unit)
        for code, (name, unit) in CORRECTIONS.items()
    ]
    await conn.execute(CORRECT_FACTORS_SQL, *(list(column) for column in zip(*fixes, strict=True)))


#: Raw tables the continuous aggregates are computed from.
ROLLUP_SOURCES: Final = ("measurements_rtd", "measurements_minute")


def check_retention(retention_days: Mapping[str, int], refresh_days: int) -> None:
    """Refuse retention that would cost history on TimescaleDB: a refresh over a range
    whose raw chunks are gone recomputes its rollups from nothing, so the raw data the
    rollups come from must outlive the refresh window by at least a day."""
    for table in ROLLUP_SOURCES:
        days = retention_days.get(table)
        if days is not None and days <= refresh_days + 1:
            setting = "ingest.retention_" + table.removeprefix("measurements_") + "_days"
            raise EngineError(
                f"{setting} = {days} would lose hourly and daily rollups on TimescaleDB: the"
                f" continuous aggregates re-materialise the last database.rollup_refresh_days"
                f" = {refresh_days} days from the raw data, so raw data must be kept at least"
                f" {refresh_days + 2} days; raise {setting} or lower"
                " database.rollup_refresh_days"
            )


async def prepare_database(
    dsn: str,
    *,
    engine: EngineChoice = "auto",
    retention_days: Mapping[str, int] | None = None,
    migrate_schema: bool = True,
    compress_after_days: int = 7,
    rollup_refresh_days: int = 3,
    box: SecretBox | None = None,
) -> EngineInfo:
    """Detect the engine (``database.engine``), apply migrations, seed factors, create
    partitions ahead, set TimescaleDB's jobs (:mod:`store.policies`), apply retention and
    seal plain station passwords with ``box``; returns the engine in use."""
    conn = await connect(dsn, application_name="envgrid-prepare")
    try:
        info = await detect_engine(conn, choice=engine)
        if migrate_schema:
            applied = await migrate(conn, info.engine)
            if applied:
                log.info("applied migrations: %s", ", ".join(f"{a.version:04d}" for a in applied))
        await seed_factors(conn)
        now = datetime.now(UTC)
        await ensure_ahead(conn, info.engine, now)
        if info.engine is Engine.TIMESCALEDB:
            check_retention(retention_days or {}, rollup_refresh_days)
            await ensure_policies(conn, policies_for(compress_after_days, rollup_refresh_days))
        if retention_days:
            await apply_retention(conn, info.engine, retention_days, now)
        if box is not None:
            sealed = await seal_plain_passwords(conn, box)
            if sealed:
                log.info("sealed %d plain station passwords (store.secretbox)", sealed)
        return info
    finally:
        await conn.close()
