"""Benchmarks of the analytics: ``envgrid bench aggregates [--dsn DSN] [--json FILE]``.

Figures (the issue's targets in brackets):

* ``ranking_aqci_ms``: ranking of N stations (1,000) by composite index over a year of
  hourly data, read from the rollups [≤ 200 ms];
* ``daily_aqi_s``: daily AQI of M stations (36,000) for one day [≤ 5 s];
* ``monthly_xlsx_s``: a monthly XLSX report of a region with 100 stations [≤ 3 s];
* ``trigger``: rows/s of ingest-style COPY batches (one transaction per 1,000 six-factor
  frames) into ``measurements_rtd`` with and without the plain-PostgreSQL rollup trigger.

Also reported (not targets): how long the data took to load and the refresh job took to
derive the official daily/monthly values from it.

``refresh`` (issue 17; ``--parts refresh``): the cost of the analytics' refresh job
(:func:`aggregates.jobs.run_refresh`, which on TimescaleDB also refreshes the continuous
aggregates through :mod:`aggregates.continuous`) on the engine of the private database:

* ``load_hour_s`` / ``refresh_hour_s``: the last hour (59 minutes up to now, so no row
  counts as late) of real-time frames (six factors every ``--interval-s``, default 30 s)
  of ``--stations`` stations (default 36,000) written with one server-side INSERT, then
  one refresh; ``refresh_idle_s``: the next refresh, with nothing new (TimescaleDB:
  ``continuous_idle_s``, the continuous aggregates' part of it, timed alone after it);
* ``load_backfill_s`` / ``refresh_backfill_s``: a 30-day backfill (``--backfill-days``)
  — frames every ``--backfill-interval-s`` (default 3,600 s) from 30 days ago up to a day
  ago for ``--backfill-stations`` (default a tenth) of them, the late writes marking what
  they touched (``agg_dirty_hours`` on TimescaleDB, ``agg_dirty_days`` on plain
  PostgreSQL; ``marked`` counts them) — then one refresh.

Every figure carries ``engine``: the description of the live database it was measured on
(``--engine`` chooses it as ``database.engine`` does; ``--bindir`` the server binaries of
the embedded cluster, e.g. a copy of PostgreSQL with TimescaleDB).

The data is generated server-side in a private database: a new database on ``--dsn``
(dropped afterwards; needs CREATE DATABASE), or a throwaway embedded cluster in a temporary
directory.  Each timed analytics figure is the best of ``--repeat`` runs (default 3) after
one warm-up; the refresh figures are single runs, in order.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import random
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

import asyncpg

from aggregates import rankings
from aggregates.analysis import AQI_FACTORS
from aggregates.aqi_series import station_daily_aqi
from aggregates.continuous import refresh_continuous
from aggregates.exports import export
from aggregates.jobs import refresh_days, run_refresh
from aggregates.periods import day_bounds, period_of
from aggregates.report_model import ReportSpec
from aggregates.reports import build_report
from aggregates.selection import Selection, factor_ids
from aggregates.settings import AggregatesConfig
from bench.db import private_database
from bench.engines import database_engine
from store.config import SettingsLoader
from store.db import connect, create_pool
from store.engine import ENGINE_CHOICES, Engine, EngineChoice, detect_engine
from store.partitions import PartitionCache, ensure_ahead

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
#: Real-time frames of stations $1..$2 (factors $3 around $4) every $7 s in [$5, $6).
INSERT_RTD_SQL: Final = """
INSERT INTO measurements_rtd (station_id, factor_id, ts, value, flag)
SELECT s, f.id, t, f.base * (0.55 + 0.9 * random()), 'N'
FROM generate_series($1::integer, $2::integer) AS s,
     unnest($3::smallint[], $4::float8[]) AS f(id, base),
     generate_series($5::timestamptz, $6::timestamptz - make_interval(secs => $7::float8),
                     make_interval(secs => $7::float8)) AS t
"""
#: What late writes marked for the refresh: (station, hour) pairs and (station, day) pairs.
MARKED_SQL: Final = """
SELECT (SELECT count(*) FROM agg_dirty_hours) AS hours,
       (SELECT count(*) FROM agg_dirty_days) AS days
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
    engine: Engine,
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
    cache = PartitionCache(engine)
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


@dataclass
class _Bench:
    """A benchmark's private database: its settings, a connection, a small pool, the
    engine kind and the engine as the database describes it."""

    settings: AggregatesConfig
    conn: asyncpg.Connection
    pool: asyncpg.Pool
    kind: Engine
    engine: str


@contextlib.asynccontextmanager
async def _bench_database(
    dsn: str | None,
    settings_for: SettingsLoader[AggregatesConfig],
    *,
    label: str,
    engine: EngineChoice,
    bindir: Path | None,
) -> AsyncIterator[_Bench]:
    async with private_database(
        dsn, label=label, tuning=BENCH_TUNING, engine=engine, bindir=bindir
    ) as target:
        conn = await connect(target)
        pool = await create_pool(target, min_size=1, max_size=2)
        try:
            kind = (await detect_engine(conn, try_create=False)).engine
            yield _Bench(
                settings_for({"database.dsn": target}),
                conn,
                pool,
                kind,
                await database_engine(conn),
            )
        finally:
            await pool.close()
            await conn.close()


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
    engine: EngineChoice = "auto",
    bindir: Path | None = None,
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
    async with _bench_database(
        dsn, settings_for, label="aggregates", engine=engine, bindir=bindir
    ) as bench:
        settings, conn, pool, kind = bench.settings, bench.conn, bench.pool, bench.kind
        results["engine"] = bench.engine
        if kind is Engine.POSTGRESQL:
            say("trigger overhead (ingest-style COPY into measurements_rtd) …")
            results["trigger"] = await _trigger_overhead(conn, trigger_batches)
            say(f"  {results['trigger']}")
        total = max(year_stations, day_stations)
        await conn.execute(INSERT_STATIONS_SQL, 1, total, report_stations)
        year = date(2024, 1, 1)
        say(f"{year_stations} stations × {year_days} days of hourly data …")
        results["load_year_s"] = await _load_hourly(
            conn, kind, 1, year_stations, year, year_days, say
        )
        say("refresh job: official daily and monthly values …")
        results["refresh_year_s"] = await _refresh(
            conn, settings, 1, year_stations, year, year_days
        )
        end = year + timedelta(days=year_days)
        selection = Selection(station_ids=tuple(range(1, year_stations + 1)))

        async def rank() -> object:
            rows = await rankings.ranking(pool, settings, "aqci", year, end, selection=selection)
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
                conn, kind, extra_first, day_stations, day, 1, say
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
    return results


async def _insert_rtd(
    conn: asyncpg.Connection,
    stations: int,
    lo: datetime,
    hi: datetime,
    interval_s: float,
) -> tuple[float, int]:
    """Frames of stations 1..``stations`` every ``interval_s`` in [lo, hi): (seconds, rows)."""
    fids = await factor_ids(conn, AQI_FACTORS.values())
    ids = [fids[AQI_FACTORS[p]] for p in BASE]
    t0 = time.perf_counter()
    status = await conn.execute(
        INSERT_RTD_SQL, 1, stations, ids, list(BASE.values()), lo, hi, interval_s
    )
    return time.perf_counter() - t0, int(status.split()[-1])


async def _timed_refresh(
    pool: asyncpg.Pool, settings: AggregatesConfig, now: datetime
) -> tuple[float, int]:
    t0 = time.perf_counter()
    written = await run_refresh(pool, settings, now=now)
    return time.perf_counter() - t0, written


async def _marked(conn: asyncpg.Connection) -> dict[str, int]:
    row = await conn.fetchrow(MARKED_SQL)
    return {"hours": int(row["hours"]), "days": int(row["days"])}


async def run_refresh_cost(
    dsn: str | None,
    settings_for: SettingsLoader[AggregatesConfig],
    *,
    stations: int = 36_000,
    interval_s: float = 30.0,
    backfill_stations: int | None = None,
    backfill_days: int = 30,
    backfill_interval_s: float = 3600.0,
    engine: EngineChoice = "auto",
    bindir: Path | None = None,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """The refresh job's cost after an hour of ``stations`` and after a backfill (module
    docstring, ``refresh``), on a private database of its own; returns the figures."""
    backfill = stations // 10 if backfill_stations is None else backfill_stations
    backfill = max(1, min(backfill, stations))
    out: dict[str, Any] = {
        "sizes": {
            "stations": stations,
            "interval_s": interval_s,
            "backfill_stations": backfill,
            "backfill_days": backfill_days,
            "backfill_interval_s": backfill_interval_s,
        }
    }
    async with _bench_database(
        dsn, settings_for, label="refresh", engine=engine, bindir=bindir
    ) as bench:
        settings, conn, pool, kind = bench.settings, bench.conn, bench.pool, bench.kind
        out["engine"] = bench.engine
        now = datetime.now(UTC)
        await ensure_ahead(conn, kind, now, days_ahead=1, days_back=backfill_days + 1)
        await conn.execute(INSERT_STATIONS_SQL, 1, stations, 0)
        # 59 minutes up to now: no row is older than an hour, none counts as late
        say(f"refresh: {stations} stations × one hour of frames every {interval_s:g} s …")
        out["load_hour_s"], out["hour_rows"] = await _insert_rtd(
            conn, stations, now - timedelta(minutes=59), now, interval_s
        )
        out["hour_marked"] = await _marked(conn)
        now = datetime.now(UTC)
        out["refresh_hour_s"], out["hour_daily_rows"] = await _timed_refresh(pool, settings, now)
        say(f"  loaded in {out['load_hour_s']:.1f} s, refresh {out['refresh_hour_s']:.1f} s")
        out["refresh_idle_s"], _ = await _timed_refresh(pool, settings, datetime.now(UTC))
        if kind is Engine.TIMESCALEDB:
            # of which the continuous aggregates' part (nothing marked: nothing is lost)
            t0 = time.perf_counter()
            await refresh_continuous(pool, settings, datetime.now(UTC))
            out["continuous_idle_s"] = time.perf_counter() - t0
        say(
            f"refresh: backfill of {backfill} stations × {backfill_days} days,"
            f" every {backfill_interval_s:g} s …"
        )
        end = (now - timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
        out["load_backfill_s"], out["backfill_rows"] = await _insert_rtd(
            conn, backfill, end - timedelta(days=backfill_days - 1), end, backfill_interval_s
        )
        out["backfill_marked"] = await _marked(conn)
        out["refresh_backfill_s"], out["backfill_daily_rows"] = await _timed_refresh(
            pool, settings, datetime.now(UTC)
        )
        say(
            f"  loaded in {out['load_backfill_s']:.1f} s (marked {out['backfill_marked']}),"
            f" refreshed in {out['refresh_backfill_s']:.1f} s"
        )
    return out


PARTS: Final = ("analytics", "refresh")


def main(argv: list[str], settings_for: SettingsLoader[AggregatesConfig]) -> int:
    """``envgrid bench aggregates``; ``settings_for(overrides)`` gives the settings of the
    code under test (defaults and ``overrides`` only: no file, no environment)."""
    parser = argparse.ArgumentParser(prog="envgrid bench aggregates", description=__doc__)
    parser.add_argument(
        "--dsn", help="server to create the private database on (default: embedded)"
    )
    parser.add_argument(
        "--parts",
        default=",".join(PARTS),
        help="what to measure, comma-separated: analytics (ranking, daily AQI, XLSX, trigger)"
        " and refresh (the refresh job after an hour and after a backfill); default both",
    )
    parser.add_argument("--engine", choices=ENGINE_CHOICES, default="auto")
    parser.add_argument(
        "--bindir", type=Path, help="server binaries of the embedded cluster (default: found)"
    )
    parser.add_argument("--year-stations", type=int, default=1000)
    parser.add_argument("--year-days", type=int, default=365)
    parser.add_argument("--day-stations", type=int, default=36_000)
    parser.add_argument("--report-stations", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--trigger-batches", type=int, default=200)
    parser.add_argument("--stations", type=int, default=36_000, help="refresh: stations")
    parser.add_argument("--interval-s", type=float, default=30.0, help="refresh: frame interval")
    parser.add_argument(
        "--backfill-stations", type=int, help="refresh: stations backfilled (default: a tenth)"
    )
    parser.add_argument("--backfill-days", type=int, default=30)
    parser.add_argument("--backfill-interval-s", type=float, default=3600.0)
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    if not parts or any(p not in PARTS for p in parts):
        parser.error(f"--parts: choose from {', '.join(PARTS)} (got {args.parts!r})")
    if args.report_stations > args.year_stations:
        parser.error("--report-stations cannot exceed --year-stations")
    logging.basicConfig(level=logging.WARNING)
    say = partial(print, file=sys.stderr, flush=True)
    common = {"engine": args.engine, "bindir": args.bindir, "say": say}
    results: dict[str, Any] = {}
    if "analytics" in parts:
        sizes = {
            "year_stations": args.year_stations,
            "year_days": args.year_days,
            "day_stations": args.day_stations,
            "report_stations": args.report_stations,
            "repeat": args.repeat,
            "trigger_batches": args.trigger_batches,
        }
        results = asyncio.run(run_benchmarks(args.dsn, settings_for, **sizes, **common))
    if "refresh" in parts:
        refresh = asyncio.run(
            run_refresh_cost(
                args.dsn,
                settings_for,
                stations=args.stations,
                interval_s=args.interval_s,
                backfill_stations=args.backfill_stations,
                backfill_days=args.backfill_days,
                backfill_interval_s=args.backfill_interval_s,
                **common,
            )
        )
        results.setdefault("engine", refresh["engine"])
        results["refresh"] = refresh
    text = json.dumps(results, indent=2, ensure_ascii=False)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    return 0
