"""Benchmarks of the analytics: ``envgrid bench aggregates [--dsn DSN] [--json FILE]``.

Figures (the issue's targets in brackets):

* ``ranking_aqci_ms``: ranking of N stations (1,000) by composite index over a year of
  hourly data, read from the rollups [≤ 200 ms];
* ``daily_aqi_s``: daily AQI of M stations (36,000) for one day [≤ 5 s];
* ``monthly_xlsx_s``: a monthly XLSX report of a region with 100 stations [≤ 3 s];
* ``trigger``: rows/s of ingest-style COPY batches (one transaction per 1,000 six-factor
  frames) into ``measurements_rtd`` with and without the plain-PostgreSQL rollup trigger.

Also reported (not targets): how long the data took to load and the refresh job took to
derive the official daily/monthly values from it.  The data is generated server-side in a
private database: a new database on ``--dsn`` (dropped afterwards; needs CREATE DATABASE),
or a throwaway embedded cluster in a temporary directory.  Each timed figure is the best of
``--repeat`` runs (default 3) after one warm-up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

import asyncpg

from aggregates import rankings
from aggregates.analysis import AQI_FACTORS
from aggregates.aqi_series import station_daily_aqi
from aggregates.exports import export
from aggregates.jobs import refresh_days
from aggregates.periods import day_bounds, period_of
from aggregates.report_model import ReportSpec
from aggregates.reports import build_report
from aggregates.selection import Selection, factor_ids
from aggregates.settings import AggregatesConfig
from bench.db import private_database
from store.config import SettingsLoader
from store.db import connect, create_pool
from store.engine import Engine, detect_engine
from store.partitions import PartitionCache

__all__ = ["main", "run_benchmarks"]

log = logging.getLogger("bench.aggregates")

TZ: Final = "Asia/Shanghai"
#: Typical concentrations (µg/m³, CO mg/m³) around which the generator draws values.
BASE: Final = {"SO2": 9.0, "NO2": 30.0, "CO": 0.8, "O3": 95.0, "PM10": 65.0, "PM2.5": 38.0}
BENCH_TUNING: Final = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "1GB",
    "work_mem": "128MB",
    "maintenance_work_mem": "512MB",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "30min",
}

INSERT_STATIONS_SQL: Final = """
INSERT INTO stations (id, mn, name, st, lat, lon, region, approved_at)
SELECT g, 'BENCH' || lpad(g::text, 9, '0'), '站点' || g, '22',
       30.0 + (g % 200) * 0.01, 120.0 + (g / 200) * 0.01,
       CASE WHEN g <= $3 THEN '基准区' ELSE '区' || (g % 50) END, now()
FROM generate_series($1::integer, $2::integer) AS g
"""
INSERT_HOURLY_SQL: Final = """
INSERT INTO measurements_hour (station_id, factor_id, ts, value, flag)
SELECT s, f.id, t,
       f.base * (0.55 + 0.9 * random()) * (1 + 0.3 * sin(extract(epoch FROM t) / 86400.0)),
       CASE WHEN random() < 0.01 THEN 'M' ELSE 'N' END
FROM generate_series($1::integer, $2::integer) AS s,
     unnest($3::smallint[], $4::float8[]) AS f(id, base),
     generate_series($5::timestamptz, $6::timestamptz - interval '1 hour', interval '1 hour') AS t
"""
RTD_COLUMNS: Final = ("station_id", "factor_id", "ts", "value", "vmin", "vmax", "cou", "zs", "flag")
TRIGGER_SQL: Final = {
    True: "ALTER TABLE measurements_rtd ENABLE TRIGGER agg_rollup",
    False: "ALTER TABLE measurements_rtd DISABLE TRIGGER agg_rollup",
}
TRUNCATE_RTD_SQL: Final = "TRUNCATE measurements_rtd, agg_hourly_rtd, agg_dirty_days"


async def best_of(repeat: int, job: Callable[[], Awaitable[object]]) -> float:
    """Seconds of the fastest of ``repeat`` runs after one warm-up."""
    await job()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        await job()
        times.append(time.perf_counter() - t0)
    return min(times)


async def _load_hourly(
    conn: asyncpg.Connection,
    first: int,
    last: int,
    start: date,
    days: int,
    say: Callable[[str], None],
) -> float:
    tz = ZoneInfo(TZ)
    fids = await factor_ids(conn, AQI_FACTORS.values())
    ids = [fids[AQI_FACTORS[p]] for p in BASE]
    bases = list(BASE.values())
    cache = PartitionCache(Engine.POSTGRESQL)
    t0 = time.perf_counter()
    d = start
    end = start + timedelta(days=days)
    while d < end:
        chunk_end = min(d + timedelta(days=7), end)
        lo, hi = day_bounds(d, tz)[0], day_bounds(chunk_end, tz)[0]
        await cache.ensure(
            conn, [("measurements_hour", lo), ("measurements_hour", hi - timedelta(hours=1))]
        )
        await conn.execute(INSERT_HOURLY_SQL, first, last, ids, bases, lo, hi)
        say(f"  hourly data {d} .. {chunk_end - timedelta(days=1)}")
        d = chunk_end
    return time.perf_counter() - t0


async def _refresh(
    conn: asyncpg.Connection,
    settings: AggregatesConfig,
    first: int,
    last: int,
    start: date,
    days: int,
) -> float:
    t0 = time.perf_counter()
    pairs = [
        (sid, start + timedelta(days=k)) for sid in range(first, last + 1) for k in range(days)
    ]
    async with conn.transaction():
        await refresh_days(conn, settings, pairs)
    await conn.execute("DELETE FROM agg_dirty_days")
    return time.perf_counter() - t0


async def _trigger_overhead(conn: asyncpg.Connection, batches: int) -> dict[str, float]:
    """Rows/s of COPY batches (1,000 six-factor frames, one transaction each)."""
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    await PartitionCache(Engine.POSTGRESQL).ensure(
        conn, [("measurements_rtd", start), ("measurements_rtd", start + timedelta(hours=2))]
    )
    rng = random.Random(7)
    data = []
    sid, t = 0, 0
    for _ in range(batches):
        rows = []
        for _frame in range(1000):
            sid = sid % 10_000 + 1
            if sid == 1:
                t += 30
            ts = start + timedelta(seconds=t)
            rows += [
                (sid, f, ts, rng.uniform(0, 100), None, None, None, None, "N") for f in range(1, 7)
            ]
        data.append(rows)
    out: dict[str, float] = {}
    for enabled in (False, True, False, True):
        await conn.execute(TRUNCATE_RTD_SQL)
        await conn.execute(TRIGGER_SQL[enabled])
        t0 = time.perf_counter()
        n = 0
        for rows in data:
            async with conn.transaction():
                await conn.copy_records_to_table(
                    "measurements_rtd", records=rows, columns=RTD_COLUMNS
                )
            n += len(rows)
        rate = n / (time.perf_counter() - t0)
        key = "with_trigger_rows_per_s" if enabled else "without_trigger_rows_per_s"
        out[key] = max(out.get(key, 0.0), rate)
    await conn.execute(TRIGGER_SQL[True])
    await conn.execute(TRUNCATE_RTD_SQL)
    out["overhead_factor"] = out["without_trigger_rows_per_s"] / out["with_trigger_rows_per_s"]
    return out


async def run_benchmarks(
    dsn: str | None,
    settings_for: SettingsLoader[AggregatesConfig],
    *,
    year_stations: int = 1000,
    year_days: int = 365,
    day_stations: int = 36_000,
    report_stations: int = 100,
    repeat: int = 3,
    trigger_batches: int = 200,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the benchmarks on a private database; returns the figures."""
    results: dict[str, Any] = {
        "sizes": {
            "year_stations": year_stations,
            "year_days": year_days,
            "day_stations": day_stations,
            "report_stations": report_stations,
        }
    }
    async with private_database(dsn, label="aggregates", tuning=BENCH_TUNING) as target:
        settings = settings_for({"database.dsn": target})
        conn = await connect(target)
        pool = await create_pool(target, min_size=1, max_size=2)
        try:
            engine = (await detect_engine(conn, try_create=False)).engine
            results["engine"] = str(engine)
            if engine is Engine.POSTGRESQL:
                say("trigger overhead (ingest-style COPY into measurements_rtd) …")
                results["trigger"] = await _trigger_overhead(conn, trigger_batches)
                say(f"  {results['trigger']}")
            total = max(year_stations, day_stations)
            await conn.execute(INSERT_STATIONS_SQL, 1, total, report_stations)
            year = date(2024, 1, 1)
            say(f"{year_stations} stations × {year_days} days of hourly data …")
            results["load_year_s"] = await _load_hourly(
                conn, 1, year_stations, year, year_days, say
            )
            say("refresh job: official daily and monthly values …")
            results["refresh_year_s"] = await _refresh(
                conn, settings, 1, year_stations, year, year_days
            )
            end = year + timedelta(days=year_days)
            selection = Selection(station_ids=tuple(range(1, year_stations + 1)))

            async def rank() -> object:
                rows = await rankings.ranking(
                    pool, settings, "aqci", year, end, selection=selection
                )
                assert rows and rows[0].rank == 1
                return rows

            results["ranking_aqci_ms"] = 1000 * await best_of(repeat, rank)
            say(f"  ranking by composite index: {results['ranking_aqci_ms']:.0f} ms")

            day = date(2024, 7, 1) if year_days < 182 else date(2024, 12, 31)
            day = min(day, end - timedelta(days=1))
            say(f"{day_stations} stations × 1 day of hourly data ({day}) …")
            extra_first = year_stations + 1
            if day_stations > year_stations:
                results["load_day_s"] = await _load_hourly(
                    conn, extra_first, day_stations, day, 1, say
                )
                results["refresh_day_s"] = await _refresh(
                    conn, settings, extra_first, day_stations, day, 1
                )

            async def daily_aqi() -> object:
                rows = await station_daily_aqi(pool, settings, day)
                assert len(rows) == day_stations, len(rows)
                return rows

            results["daily_aqi_s"] = await best_of(repeat, daily_aqi)
            say(f"  daily AQI of {day_stations} stations: {results['daily_aqi_s']:.2f} s")

            month = period_of("month", date(2024, 3, 1))
            out_dir = Path(tempfile.mkdtemp(prefix="envgrid-bench-report-"))

            async def xlsx() -> object:
                spec = ReportSpec("region", "基准区", month)
                report = await build_report(pool, settings, spec)
                assert len(report.main.rows) == report_stations
                return export(report, "xlsx", out_dir / "month.xlsx")

            try:
                results["monthly_xlsx_s"] = await best_of(repeat, xlsx)
            finally:
                shutil.rmtree(out_dir, ignore_errors=True)
            say(f"  monthly XLSX, {report_stations} stations: {results['monthly_xlsx_s']:.2f} s")
        finally:
            await pool.close()
            await conn.close()
    return results


def main(argv: list[str], settings_for: SettingsLoader[AggregatesConfig]) -> int:
    """``envgrid bench aggregates``; ``settings_for(overrides)`` gives the settings of the
    code under test (defaults and ``overrides`` only: no file, no environment)."""
    parser = argparse.ArgumentParser(prog="envgrid bench aggregates", description=__doc__)
    parser.add_argument(
        "--dsn", help="server to create the private database on (default: embedded)"
    )
    parser.add_argument("--year-stations", type=int, default=1000)
    parser.add_argument("--year-days", type=int, default=365)
    parser.add_argument("--day-stations", type=int, default=36_000)
    parser.add_argument("--report-stations", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--trigger-batches", type=int, default=200)
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    if args.report_stations > args.year_stations:
        parser.error("--report-stations cannot exceed --year-stations")
    logging.basicConfig(level=logging.WARNING)
    sizes = {k: v for k, v in vars(args).items() if k not in ("dsn", "json")}
    say = partial(print, file=sys.stderr, flush=True)
    results = asyncio.run(run_benchmarks(args.dsn, settings_for, **sizes, say=say))
    text = json.dumps(results, indent=2, ensure_ascii=False)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    return 0
