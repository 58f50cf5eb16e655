"""Disk per station-year on each engine: ``envgrid bench disk [--stations N] [--json FILE]``.

Theory of operation
-------------------
For each engine available — plain PostgreSQL always; TimescaleDB when the binaries given by
``--timescaledb-bindir`` (default: ``ENVGRID_DATABASE__EMBEDDED_BINDIR``) have it, unless
``ENVGRID_DATABASE__ENGINE=postgres`` — the benchmark

1. starts a throwaway embedded cluster (``/dev/shm``; TimescaleDB's scheduler off:
   ``timescaledb.max_background_workers = 0``), creates a database, applies the migrations
   for that engine and registers N stations;
2. writes one local day (yesterday, Asia/Shanghai) as N ambient-air stations send it, six
   AQI pollutants each (a34004 PM2.5, a34002 PM10, a21026 SO2, a21004 NO2, a05024 O3,
   a21005 CO; values of the simulator's value model, flag N): real-time data (2011) every
   30 s, minute data (2051) every ``--min-interval`` minutes, hourly (2061) and daily (2031)
   data — each an HJ 212 frame encoded and decoded by the codec and written by the ingest
   writer (:class:`ingest.writer.BatchWriter`: packet ledger, COPY, upserts, and on plain
   PostgreSQL the rollup triggers) in batches of ``ingest.batch_rows`` rows, in time order;
3. does what the engine does over time: the analytics' refresh
   (:func:`aggregates.jobs.run_refresh`: official daily/monthly/yearly values; on
   TimescaleDB the refresh of the continuous aggregates) and the daily ranking, then
   VACUUM (autovacuum's work);
4. measures every table that grew: ``pg_total_relation_size`` (plain partitions summed per
   parent), ``hypertable_size`` for hypertables and for the continuous aggregates'
   materialised hypertables; on TimescaleDB again after compressing the raw chunks
   (``compress_chunk`` on every chunk of the compressed hypertables — the compression job
   only takes chunks older than ``database.compress_after_days``, and the day written is
   yesterday);
5. turns the sizes into bytes per station-day and into what one station keeps on disk
   after a year of operation under the default retention (:func:`resident_bytes`).

Bounded: one day of N stations (200: about 0.87 million frames, 5.2 million values) per
engine: about five minutes each on this two-core machine.  Not written: equipment status
(2021), info uploads, alerts and cases — their volume depends on the site, not on the
engine.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

import asyncpg

from aggregates.jobs import run_daily_ranking, run_refresh
from aggregates.settings import AggregatesConfig
from bench.db import private_database, throwaway_server
from ingest.settings import IngestSettings
from ingest.writer import BatchWriter, Inbound
from protocol import Decoder, Frame, encode_upload, format_qn, format_time
from simulators.identities import station_identities
from simulators.periods import Derivations, PeriodAccumulator
from simulators.profiles import profile_for
from simulators.values import NORMAL, ValueModel, Weather
from store.config import SettingsLoader
from store.db import connect, create_pool
from store.engine import Engine, EngineChoice, detect_engine
from store.migrate import migrate
from store.partitions import PartitionCache
from store.pg_installation import find_installation, timescaledb_available
from store.prepare import seed_factors
from store.settings import DatabaseSettings
from store.validation import ConfigError

__all__ = [
    "TableCost",
    "costs_from_sizes",
    "load_database_settings",
    "main",
    "measure_engine",
    "resident_bytes",
    "station_year",
    "timescaledb_binaries",
]

log = logging.getLogger("bench.disk")

TZ: Final = "Asia/Shanghai"
#: The six AQI pollutants (HJ 633-2012): PM2.5, PM10, SO2, NO2, O3, CO.
FACTORS: Final = ("a34004", "a34002", "a21026", "a21004", "a05024", "a21005")
RTD_INTERVAL_S: Final = 30
#: Raw tables and the ``[ingest]`` retention setting that bounds them.
RETENTION_SETTING: Final = {
    "packet_ledger": "retention_ledger_days",
    "measurements_rtd": "retention_rtd_days",
    "measurements_minute": "retention_minute_days",
    "measurements_hour": "retention_hour_days",
    "measurements_day": "retention_day_days",
    "equipment_status": "retention_status_days",
}
#: Tables holding one row per station, factor and month / year (not per day).
PERIOD_OF_TABLE: Final[Mapping[str, Literal["month", "year"]]] = {
    "monthly_values": "month",
    "yearly_values": "year",
}
#: Work queues emptied by the refresh job: bounded, not a cost per day.
TRANSIENT: Final = frozenset({"agg_dirty_days", "agg_dirty_hours"})
BENCH_TUNING: Final = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "512MB",
    "maintenance_work_mem": "256MB",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "30min",
    # no TimescaleDB scheduler (a placeholder setting where it is not loaded): the
    # benchmark runs the refresh and the compression itself, once, at a known point
    "timescaledb.max_background_workers": "0",
}

INSERT_STATIONS_SQL: Final = """
INSERT INTO stations (id, mn, password, name, st, lat, lon, region, expected_factors,
                      rtd_interval, min_interval, approved_at)
SELECT s.id, s.mn, s.pw, s.name, '22', s.lat, s.lon, s.region, $7::text[], $8, $9, now()
  FROM unnest($1::integer[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::float8[],
              $10::text[]) AS s(id, mn, pw, name, lat, lon, region)
"""
FACTOR_IDS_SQL: Final = "SELECT code, id FROM factors"
VACUUM_SQL: Final = "VACUUM (ANALYZE)"
#: Plain PostgreSQL: every table of the schema, a partitioned one with its partitions.
PLAIN_SIZES_SQL: Final = """
SELECT c.relname AS name,
       CASE WHEN c.relkind = 'p'
            THEN (SELECT coalesce(sum(pg_total_relation_size(t.relid)), 0)
                    FROM pg_partition_tree(c.oid) AS t)
            ELSE pg_total_relation_size(c.oid) END::bigint AS bytes
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'm') AND NOT c.relispartition
"""
#: TimescaleDB: plain tables, hypertables (with their chunks, compressed or not) and the
#: continuous aggregates (their materialised hypertables).
TIMESCALE_SIZES_SQL: Final = """
SELECT c.relname AS name,
       CASE WHEN h.hypertable_name IS NOT NULL THEN coalesce(hypertable_size(c.oid), 0)
            ELSE pg_total_relation_size(c.oid) END::bigint AS bytes
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN timescaledb_information.hypertables h
         ON h.hypertable_schema = n.nspname AND h.hypertable_name = c.relname
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
UNION ALL
SELECT view_name,
       coalesce(hypertable_size(format('%I.%I', materialization_hypertable_schema,
                                       materialization_hypertable_name)::regclass), 0)::bigint
  FROM timescaledb_information.continuous_aggregates
 WHERE view_schema = 'public'
"""
COMPRESSED_HYPERTABLES_SQL: Final = """
SELECT hypertable_name FROM timescaledb_information.hypertables
 WHERE hypertable_schema = 'public' AND compression_enabled ORDER BY 1
"""
COMPRESS_SQL: Final = """
SELECT count(compress_chunk(c, if_not_compressed => true))
  FROM show_chunks($1::regclass) AS c
"""
COMPRESSION_STATS_SQL: Final = """
SELECT total_chunks, number_compressed_chunks,
       before_compression_total_bytes, after_compression_total_bytes
  FROM hypertable_compression_stats($1::regclass)
"""
ROW_COUNTS_SQL: Final = """
SELECT (SELECT count(*) FROM packet_ledger) AS packet_ledger,
       (SELECT count(*) FROM measurements_rtd) AS measurements_rtd,
       (SELECT count(*) FROM measurements_minute) AS measurements_minute,
       (SELECT count(*) FROM measurements_hour) AS measurements_hour,
       (SELECT count(*) FROM measurements_day) AS measurements_day,
       (SELECT count(*) FROM daily_values) AS daily_values,
       (SELECT count(DISTINCT day) FROM daily_values) AS daily_values_days
"""


# -- the arithmetic (pure) ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TableCost:
    """What one station adds to a table per day."""

    table: str
    #: bytes per station and day as written (TimescaleDB: before compression)
    bytes_per_day: float
    #: days the rows are kept (the retention of a raw table); None: for ever (rollups)
    kept_days: int | None = None
    #: bytes per station and day once compressed (TimescaleDB's compressed hypertables),
    #: reached ``compress_after_days`` after the day; None: never compressed
    compressed_bytes_per_day: float | None = None
    #: "month" / "year": one row per station, factor and month or year — the size measured
    #: after one day is the cost of a month or a year, not of a day
    per: Literal["day", "month", "year"] = "day"


def resident_bytes(cost: TableCost, days: int, compress_after_days: int) -> float:
    """Bytes of ``cost.table`` one station has on disk after ``days`` days of operation:
    the days still kept (``min(days, retention)``) at their size, the newest
    ``compress_after_days`` of them uncompressed and the older ones compressed."""
    if days <= 0:
        return 0.0
    if cost.per == "month":
        return cost.bytes_per_day * days * 12 / 365
    if cost.per == "year":
        return cost.bytes_per_day * days / 365
    kept = days if cost.kept_days is None else min(days, cost.kept_days)
    if cost.compressed_bytes_per_day is None:
        return cost.bytes_per_day * kept
    hot = min(kept, compress_after_days)
    return cost.bytes_per_day * hot + cost.compressed_bytes_per_day * (kept - hot)


def station_year(
    costs: Sequence[TableCost], compress_after_days: int, days: int = 365
) -> dict[str, float]:
    """Bytes per table (and ``"total"``) one station has on disk after ``days`` days."""
    out = {c.table: resident_bytes(c, days, compress_after_days) for c in costs}
    out["total"] = sum(out.values())
    return out


def costs_from_sizes(
    grown: Mapping[str, int],
    stations: int,
    retention: IngestSettings,
    compressed: Mapping[str, int] | None = None,
) -> list[TableCost]:
    """Per-station costs from the bytes each table grew by for one day of ``stations``
    stations (``compressed``: the same after compression, for the compressed tables)."""
    out = []
    for table, grew in sorted(grown.items()):
        if table in TRANSIENT or grew <= 0:
            continue
        setting = RETENTION_SETTING.get(table)
        after = (compressed or {}).get(table)
        out.append(
            TableCost(
                table,
                grew / stations,
                getattr(retention, setting) if setting else None,
                after / stations if after is not None else None,
                PERIOD_OF_TABLE.get(table, "day"),
            )
        )
    return out


# -- the day of data ------------------------------------------------------------------------


def _day_frames(
    stations: int, day: date, min_interval: int, tz: ZoneInfo
) -> Iterator[tuple[int, str, datetime, bytes]]:
    """(station id, MN, DataTime, frame) of one local day, in the order the stations send
    them: at each 30-s instant the real-time frames, and at the end of a minute period /
    hour / day that period's frame (DataTime = period start)."""
    identities = station_identities(stations, seed=1, st=("22",))
    base = profile_for("22")
    profile = dataclasses.replace(base, factors=tuple(f for f in base.factors if f.code in FACTORS))
    codes = tuple(f.code for f in profile.factors)
    weather = Weather(1)
    models = [
        ValueModel(
            profile, seed=1, index=i.index, region=i.region, urban=i.urban, weather=weather, tz=tz
        )
        for i in identities
    ]
    derive = Derivations(profile)
    flags = [NORMAL] * len(codes)
    start = datetime.combine(day, datetime.min.time(), tz)
    t0 = int(start.timestamp())
    periods = ((2051, min_interval * 60), (2061, 3600), (2031, 86400))
    accs: list[dict[int, PeriodAccumulator]] = [{} for _ in identities]
    for step in range(86400 // RTD_INTERVAL_S):
        t = t0 + step * RTD_INTERVAL_S
        moment = datetime.fromtimestamp(t, tz)
        data_time = format_time(moment)
        qn = format_qn(moment)
        for sid, (ident, model, acc) in enumerate(zip(identities, models, accs, strict=True), 1):
            texts = model.texts(model.sample(t))
            values = [float(x) for x in texts]
            zs, cou = derive.zs(values), derive.cou(values, RTD_INTERVAL_S)
            rtd = {code: {"Rtd": texts[k], "Flag": NORMAL} for k, code in enumerate(codes)}
            yield sid, ident.mn, moment, _upload(2011, ident.mn, ident.pw, qn, data_time, rtd)
            for cn, length in periods:
                a = acc.get(cn)
                if a is None:
                    a = acc[cn] = PeriodAccumulator(profile, t - (t - t0) % length)
                a.add(values, flags, zs, cou)
        end = t + RTD_INTERVAL_S
        for cn, length in periods:
            if (end - t0) % length:
                continue
            for sid, (ident, acc) in enumerate(zip(identities, accs, strict=True), 1):
                a = acc.pop(cn)
                period = datetime.fromtimestamp(a.start, tz)
                frame = _upload(cn, ident.mn, ident.pw, qn, format_time(period), a.values(codes))
                yield sid, ident.mn, period, frame


def _upload(
    cn: int, mn: str, pw: str, qn: str, data_time: str, values: Mapping[str, Mapping[str, str]]
) -> bytes:
    return encode_upload(cn, st="22", mn=mn, pw=pw, qn=qn, data_time=data_time, values=values)


def _batches(
    stations: int, day: date, min_interval: int, batch_rows: int, tz: ZoneInfo
) -> Iterator[list[Inbound]]:
    """The day's frames decoded and in batches of ``batch_rows`` values, as the ingest
    pipeline hands them to the writer (received 2 s after their DataTime)."""
    decoder = Decoder()
    batch: list[Inbound] = []
    weight = 0
    for sid, mn, ts, raw in _day_frames(stations, day, min_interval, tz):
        (event,) = decoder.feed(raw)
        assert isinstance(event, Frame), event
        received = ts.astimezone(UTC) + timedelta(seconds=2)
        batch.append(Inbound(event, sid, mn, ts, received, 0.0, weight=len(FACTORS)))
        weight += len(FACTORS)
        if weight >= batch_rows:
            yield batch
            batch, weight = [], 0
    if batch:
        yield batch


async def _write_day(
    dsn: str,
    engine: Engine,
    stations: int,
    day: date,
    min_interval: int,
    batch_rows: int,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """Write the day through the ingest writer; returns counts and seconds."""
    conn = await connect(dsn)
    try:
        factor_ids = {r["code"]: r["id"] for r in await conn.fetch(FACTOR_IDS_SQL)}
    finally:
        await conn.close()
    writer = BatchWriter(
        dsn,
        engine,
        worker=0,
        factor_ids=factor_ids,
        partitions=PartitionCache(engine),
        publish=False,
    )
    frames = rows = 0
    by_table: dict[str, int] = {}
    batches = _batches(stations, day, min_interval, batch_rows, ZoneInfo(TZ))
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    last_say = started
    try:
        # the next batch is built in a thread while the database writes this one
        pending = loop.run_in_executor(None, next, batches, None)
        while (batch := await pending) is not None:
            pending = loop.run_in_executor(None, next, batches, None)
            result = await writer.write(batch)
            frames += len(batch)
            rows += result.rows
            for table, n in result.by_table.items():
                by_table[table] = by_table.get(table, 0) + n
            now = time.perf_counter()
            if now - last_say > 15:
                at = batch[-1].ts.astimezone(ZoneInfo(TZ))
                say(f"  {rows:,} values, up to {at:%H:%M} ({now - started:.0f} s)")
                last_say = now
    finally:
        await writer.close()
    return {
        "frames": frames,
        "rows": rows,
        "rows_by_table": by_table,
        "write_s": round(time.perf_counter() - started, 1),
    }


# -- one engine -----------------------------------------------------------------------------


async def _sizes(conn: asyncpg.Connection, engine: Engine) -> dict[str, int]:
    sql = TIMESCALE_SIZES_SQL if engine is Engine.TIMESCALEDB else PLAIN_SIZES_SQL
    return {r["name"]: int(r["bytes"]) for r in await conn.fetch(sql)}


def _grown(after: Mapping[str, int], before: Mapping[str, int]) -> dict[str, int]:
    return {t: b - before.get(t, 0) for t, b in after.items() if b - before.get(t, 0) > 0}


async def _register_stations(conn: asyncpg.Connection, stations: int, min_interval: int) -> None:
    ids = station_identities(stations, seed=1, st=("22",))
    await conn.execute(
        INSERT_STATIONS_SQL,
        list(range(1, stations + 1)),
        [i.mn for i in ids],
        [i.pw for i in ids],
        [i.name for i in ids],
        [i.lat for i in ids],
        [i.lon for i in ids],
        list(FACTORS),
        RTD_INTERVAL_S,
        min_interval,
        [i.region_name for i in ids],
    )


async def measure_engine(
    dsn: str,
    choice: EngineChoice,
    settings_for: SettingsLoader[AggregatesConfig],
    *,
    stations: int,
    min_interval: int,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """Steps 1–5 of the module docstring on a new database of the server ``dsn``."""
    ingest = IngestSettings()
    tz = ZoneInfo(TZ)
    day = datetime.now(tz).date() - timedelta(days=1)
    out: dict[str, Any] = {"day": day.isoformat()}
    async with private_database(dsn, label="disk", tuning=BENCH_TUNING, migrated=False) as db:
        conn = await connect(db)
        try:
            info = await detect_engine(conn, choice=choice)
            await migrate(conn, info.engine)
            await seed_factors(conn)
            await _register_stations(conn, stations, min_interval)
            engine = info.engine
            out["engine"] = str(engine)
            out["engine_description"] = info.describe()
            await conn.execute(VACUUM_SQL)
            before = await _sizes(conn, engine)
        finally:
            await conn.close()
        say(f"{info.describe()}: {stations} stations × 1 day ({day}) …")
        out["load"] = await _write_day(
            db, engine, stations, day, min_interval, ingest.batch_rows, say
        )
        say(f"  written: {out['load']}")
        settings = settings_for({"database.dsn": db})
        pool = await create_pool(db, min_size=1, max_size=2)
        try:
            t0 = time.perf_counter()
            end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tz)
            out["refresh_daily_rows"] = await run_refresh(
                pool, settings, now=end + timedelta(hours=1)
            )
            out["ranking_rows"] = await run_daily_ranking(pool, settings, day)
            out["refresh_s"] = round(time.perf_counter() - t0, 1)
        finally:
            await pool.close()
        conn = await connect(db)
        try:
            out["rows"] = dict(await conn.fetchrow(ROW_COUNTS_SQL))
            t0 = time.perf_counter()
            await conn.execute(VACUUM_SQL)
            out["vacuum_s"] = round(time.perf_counter() - t0, 1)
            grown = _grown(await _sizes(conn, engine), before)
            out["bytes"] = grown
            compressed: dict[str, int] | None = None
            if engine is Engine.TIMESCALEDB:
                say("  compressing the raw chunks …")
                t0 = time.perf_counter()
                tables = [r[0] for r in await conn.fetch(COMPRESSED_HYPERTABLES_SQL)]
                chunks = {t: int(await conn.fetchval(COMPRESS_SQL, t)) for t in tables}
                out["compress_s"] = round(time.perf_counter() - t0, 1)
                out["compressed_chunks"] = chunks
                await conn.execute(VACUUM_SQL)
                after = _grown(await _sizes(conn, engine), before)
                out["bytes_compressed"] = after
                out["compression_stats"] = {
                    t: dict(await conn.fetchrow(COMPRESSION_STATS_SQL, t) or {}) for t in tables
                }
                compressed = {t: after.get(t, 0) for t in tables}
        finally:
            await conn.close()
    costs = costs_from_sizes(grown, stations, ingest, compressed)
    compress_after = DatabaseSettings().compress_after_days
    out["per_station_day"] = {
        c.table: {
            "bytes": round(c.bytes_per_day),
            **(
                {"compressed_bytes": round(c.compressed_bytes_per_day)}
                if c.compressed_bytes_per_day is not None
                else {}
            ),
            "kept_days": c.kept_days,
            "per": c.per,
        }
        for c in costs
    }
    out["station_year_bytes"] = {
        k: round(v) for k, v in station_year(costs, compress_after).items()
    }
    out["station_10_years_bytes"] = {
        k: round(v) for k, v in station_year(costs, compress_after, 3650).items()
    }
    out["station_year_mib"] = round(out["station_year_bytes"]["total"] / 2**20, 1)
    say(f"  one station, one year: {out['station_year_mib']} MiB")
    return out


# -- the run --------------------------------------------------------------------------------


def timescaledb_binaries(
    explicit: str | None, environ: Mapping[str, str]
) -> tuple[Path | None, str]:
    """The binaries to run TimescaleDB with, or None and why it is skipped."""
    try:
        database = load_database_settings(environ)
    except ConfigError as exc:
        return None, f"configuration error: {exc}"
    if explicit is None and database.engine == "postgres":
        return None, "ENVGRID_DATABASE__ENGINE=postgres"
    bindir = Path(explicit) if explicit else database.embedded_bindir
    try:
        inst = find_installation(bindir)
    except Exception as exc:  # BinariesNotFoundError and the like: say why, skip
        return None, str(exc)
    if not timescaledb_available(inst.bindir):
        return None, (
            f"no TimescaleDB in {inst.bindir} (set ENVGRID_DATABASE__EMBEDDED_BINDIR, or"
            " --timescaledb-bindir, to the binaries of a server that has it)"
        )
    return inst.bindir, ""


def load_database_settings(environ: Mapping[str, str]) -> DatabaseSettings:
    """``[database]`` from the two variables the benchmark reads (engine and binaries)."""
    bindir = environ.get("ENVGRID_DATABASE__EMBEDDED_BINDIR")
    engine = environ.get("ENVGRID_DATABASE__ENGINE", "auto")
    return DatabaseSettings(
        engine=engine,  # type: ignore[arg-type]  # validated by DatabaseSettings
        embedded_bindir=Path(bindir) if bindir else None,
    )


async def run_benchmark(
    settings_for: SettingsLoader[AggregatesConfig],
    *,
    dsn: str | None,
    stations: int,
    min_interval: int,
    timescaledb: tuple[Path | None, str],
    say: Callable[[str], None],
) -> dict[str, Any]:
    ingest = IngestSettings()
    results: dict[str, Any] = {
        "scenario": "disk",
        "stations": stations,
        "factors": list(FACTORS),
        "rtd_interval_s": RTD_INTERVAL_S,
        "min_interval_min": min_interval,
        "batch_rows": ingest.batch_rows,
        "retention_days": {t: getattr(ingest, s) for t, s in RETENTION_SETTING.items()},
        "compress_after_days": DatabaseSettings().compress_after_days,
        "engines": {},
    }
    engines: dict[str, Any] = results["engines"]
    measure = partial(
        measure_engine, settings_for=settings_for, stations=stations,
        min_interval=min_interval, say=say,
    )  # fmt: skip
    if dsn is not None:
        result = await measure(dsn, "auto")
        engines[result["engine"]] = result
        return results
    with throwaway_server(None, "disk", BENCH_TUNING, engine="postgres") as server:
        engines["postgresql"] = await measure(server, "postgres")
    bindir, why = timescaledb
    if bindir is None:
        engines["timescaledb"] = {"skipped": why}
        say(f"TimescaleDB skipped: {why}")
    else:
        with throwaway_server(
            None, "disk", BENCH_TUNING, engine="timescaledb", bindir=bindir
        ) as server:
            engines["timescaledb"] = await measure(server, "timescaledb")
    return results


def main(
    argv: list[str],
    settings_for: SettingsLoader[AggregatesConfig],
    environ: Mapping[str, str] | None = None,
) -> int:
    """``envgrid bench disk``; ``settings_for(overrides)`` gives the settings of the code
    under test (defaults and ``overrides`` only).  Of the environment only
    ``ENVGRID_DATABASE__ENGINE`` and ``ENVGRID_DATABASE__EMBEDDED_BINDIR`` are read: they
    say where TimescaleDB is (this is the benchmark's entry point)."""
    parser = argparse.ArgumentParser(prog="envgrid bench disk", description=__doc__)
    parser.add_argument(
        "--dsn", help="measure only this server's engine, in a new database (needs CREATEDB)"
    )
    parser.add_argument("--stations", type=int, default=200, help="stations (default 200)")
    parser.add_argument(
        "--min-interval",
        type=int,
        default=1,
        choices=(1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30),
        help="minutes between minute-data uploads (2051; default 1)",
    )
    parser.add_argument(
        "--timescaledb-bindir",
        metavar="DIR",
        help="binaries of a PostgreSQL with TimescaleDB"
        " (default: ENVGRID_DATABASE__EMBEDDED_BINDIR)",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    if args.stations < 1:
        parser.error("--stations must be ≥ 1")
    logging.basicConfig(level=logging.WARNING)
    say = partial(print, file=sys.stderr, flush=True)
    timescaledb = timescaledb_binaries(
        args.timescaledb_bindir, os.environ if environ is None else environ
    )
    results = asyncio.run(
        run_benchmark(
            settings_for,
            dsn=args.dsn,
            stations=args.stations,
            min_interval=args.min_interval,
            timescaledb=timescaledb,
            say=say,
        )
    )
    text = json.dumps(results, indent=2, ensure_ascii=False, default=str)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    return 0
