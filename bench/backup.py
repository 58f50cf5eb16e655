"""Backup and restore of a station-day: ``envgrid bench backup [--stations N] [--json FILE]``.

Theory of operation
-------------------
On a throwaway embedded cluster (plain PostgreSQL; with ``ENVGRID_DATABASE__ENGINE=
timescaledb`` and TimescaleDB installed, TimescaleDB), the benchmark

1. writes one local day of N ambient-air stations through the ingest writer, exactly as
   ``envgrid bench disk`` does (:func:`bench.disk._write_day`: real-time data every 30 s,
   minute, hourly and daily data, six pollutants; ledger, measurements and rollups), then
   VACUUM ANALYZE;
2. takes a backup with exact counts and checksums (:func:`store.backup.create.create_backup`:
   the table sums and pg_dump in one snapshot), and one without (estimates only);
3. restores the first into a new, empty database on the same server
   (:func:`store.backup.restore.restore_backup`: pg_restore, ANALYZE, re-count and
   re-checksum every table against the manifest);
4. reports the database size, the archive size and every time, and estimates a day of a
   36,000-station platform: steps 2–3 run on the empty schema first (the fixed cost: a
   few hundred tables and partitions), and the day's growth over it is scaled linearly
   to 36,000 stations — dump, checksums and restore each read or write every row once.

The cluster lives on /dev/shm (tmpfs), so the figures are CPU-bound (pg_dump's
compression, the checksums, index builds) and leave out the disk: on a server add the
time to write (backup) or read (restore) the archive and the database at the disk's
speed.  Bounded: one day of N stations (default 100: about 0.44 million frames).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

from bench.db import private_database, with_database
from bench.disk import BENCH_TUNING, TZ, _register_stations, _write_day
from ingest.settings import IngestSettings
from store.backup.create import BackupResult, BackupSources, create_backup
from store.backup.restore import RestoreResult, restore_backup
from store.backup.target import RestoreTarget
from store.db import connect, quote_ident
from store.engine import EngineChoice, detect_engine
from store.migrate import migrate
from store.prepare import seed_factors
from store.settings import CoreSettings, DatabaseSettings

__all__ = ["main", "run_benchmark"]

PLATFORM_STATIONS: Final = 36_000


def _scaled(value: float, stations: int) -> float:
    return value * PLATFORM_STATIONS / stations


@dataclass(frozen=True, slots=True)
class _Round:
    database_bytes: int
    archive_bytes: int
    rows: int
    backup: BackupResult
    quick: BackupResult
    restore: RestoreResult

    def figures(self) -> dict[str, Any]:
        return {
            "database_bytes": self.database_bytes,
            "archive_bytes": self.archive_bytes,
            "rows": self.rows,
            "backup_s": round(self.backup.seconds, 2),
            "backup_sums_s": round(self.backup.sums_seconds, 2),
            "backup_dump_s": round(self.backup.dump_seconds, 2),
            "backup_without_checksums_s": round(self.quick.seconds, 2),
            "restore_s": round(self.restore.seconds, 2),
            "restore_pg_restore_s": round(self.restore.restore_seconds, 2),
            "restore_verify_s": round(self.restore.verify_seconds, 2),
        }


async def _round(db: str, engine: EngineChoice, work: Path, label: str) -> _Round:
    """Back up ``db`` (with and without checksums) and restore it into a new database."""
    conn = await connect(db)
    try:
        await conn.execute("VACUUM ANALYZE")
        size = int(await conn.fetchval("SELECT pg_database_size(current_database())"))
    finally:
        await conn.close()
    (work / "uploads").mkdir(exist_ok=True)
    sources = BackupSources(
        dsn=db, uploads_dir=work / "uploads", secret_key_file=work / "secret.key"
    )
    full = await asyncio.to_thread(create_backup, sources, work / f"{label}.tar")
    quick = await asyncio.to_thread(
        create_backup,
        dataclasses.replace(sources, checksums=False),
        work / f"{label}-quick.tar",
    )
    target_db = f"{db.rpartition('/')[2]}_{label}"
    admin = await connect(db)
    try:
        await admin.execute(f"CREATE DATABASE {quote_ident(target_db)}")
        target = RestoreTarget(
            CoreSettings(data_dir=work / f"restored-{label}"),
            DatabaseSettings(dsn=with_database(db, target_db), engine=engine),
            work / f"restored-{label}" / "uploads",
        )
        restored = await asyncio.to_thread(restore_backup, full.path, target)
        await admin.execute(f"DROP DATABASE {quote_ident(target_db)} WITH (FORCE)")
    finally:
        await admin.close()
    rows = sum(t.rows for t in full.manifest.tables)
    return _Round(size, full.path.stat().st_size, rows, full, quick, restored)


def _estimate(base: _Round, day: _Round, stations: int) -> dict[str, Any]:
    """The day's growth over the empty schema, scaled to 36,000 stations, plus the
    empty schema's fixed cost."""

    def scale(empty: float, loaded: float) -> float:
        return empty + (loaded - empty) * PLATFORM_STATIONS / stations

    return {
        "method": "fixed cost of the empty schema + the growth of one station-day"
        " × 36,000 (every row is dumped, summed and restored once)",
        "database_gib": round(scale(base.database_bytes, day.database_bytes) / 2**30, 1),
        "archive_gib": round(scale(base.archive_bytes, day.archive_bytes) / 2**30, 2),
        "rows_millions": round(scale(base.rows, day.rows) / 1e6, 1),
        "backup_min": round(scale(base.backup.seconds, day.backup.seconds) / 60, 1),
        "backup_without_checksums_min": round(scale(base.quick.seconds, day.quick.seconds) / 60, 1),
        "restore_min": round(scale(base.restore.seconds, day.restore.seconds) / 60, 1),
    }


async def run_benchmark(
    *, stations: int, engine: EngineChoice, say: Callable[[str], None]
) -> dict[str, Any]:
    tz = ZoneInfo(TZ)
    day = datetime.now(tz).date() - timedelta(days=1)
    out: dict[str, Any] = {"scenario": "backup", "stations": stations, "day": day.isoformat()}
    work = Path(tempfile.mkdtemp(prefix="envgrid-bench-backup-", dir=_tmp_base()))
    try:
        async with private_database(
            None, label="backup", tuning=BENCH_TUNING, migrated=False, engine=engine
        ) as db:
            conn = await connect(db)
            try:
                info = await detect_engine(conn, choice=engine)
                await migrate(conn, info.engine)
                await seed_factors(conn)
                await _register_stations(conn, stations, 1)
            finally:
                await conn.close()
            out["engine"] = info.describe()
            say(f"{info.describe()}: backup and restore of the empty schema …")
            base = await _round(db, engine, work, "empty")
            say(f"writing {stations} stations × 1 day …")
            out["load"] = await _write_day(
                db, info.engine, stations, day, 1, IngestSettings().batch_rows, say
            )
            say("backup and restore of the day …")
            loaded = await _round(db, engine, work, "day")
        out["empty_schema"] = base.figures()
        out["one_day"] = loaded.figures()
        out["estimate_36000_stations_one_day"] = _estimate(base, loaded, stations)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def _tmp_base() -> str | None:
    return "/dev/shm" if os.access("/dev/shm", os.W_OK) else None


def main(argv: list[str], environ: dict[str, str] | None = None) -> int:
    """``envgrid bench backup``; reads ``ENVGRID_DATABASE__ENGINE`` (the engine to use)."""
    parser = argparse.ArgumentParser(prog="envgrid bench backup", description=__doc__)
    parser.add_argument("--stations", type=int, default=100, help="stations (default 100)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    if args.stations < 1:
        parser.error("--stations must be ≥ 1")
    env = os.environ if environ is None else environ
    engine: EngineChoice = (
        "timescaledb" if env.get("ENVGRID_DATABASE__ENGINE") == ("timescaledb") else "postgres"
    )
    logging.basicConfig(level=logging.WARNING)
    say = partial(print, file=sys.stderr, flush=True)
    started = time.monotonic()
    result = asyncio.run(run_benchmark(stations=args.stations, engine=engine, say=say))
    result["wall_s"] = round(time.monotonic() - started, 1)
    text = json.dumps(result, indent=2, ensure_ascii=False)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    return 0
