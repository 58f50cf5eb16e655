"""Benchmarks of the alert engine: ``envgrid bench alerts [--dsn DSN] [--json FILE]``.

Figures (the issue's targets in brackets):

* ``sweep``: one offline sweep over 36,000 stations (``--stations``) — the set-based query
  of ``stations`` ⟕ ``station_state``, the in-memory comparison and the (batched) write
  of the transitions [≤ 1 s].  Measured in steady state (nothing changes), when 1 % of
  the stations go offline at once and recover, and when a whole region goes offline (one
  grouped alert and the inhibition marks of its stations).
* ``evaluator``: values per second one core evaluates in-stream — payloads built by the
  ingest writer's own encoder (:func:`store.feed.encode_readings`: 36,000 ambient-air
  stations × 6 factors, one real-time sample per station per round), parsed and run
  through the exceedance, flatline, jump and maintenance rules — and what that costs at
  the floor rate of the bench issue (10,000 frames/s = 60,000 values/s) as a share of one
  core [≤ 10 % of ingest throughput].  Also with 1 % of the values above their limit
  (alerts opening and closing), the reference decoder alone, and memory per slot.

The database figures use a private database: a new database on ``--dsn`` (dropped
afterwards; needs CREATE DATABASE) or a throwaway embedded cluster in a temporary
directory.  ``--no-db`` runs the evaluator figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Final

from alerts.config import AlertConfig, FactorInfo, StationInfo
from alerts.dispatcher import Dispatcher
from alerts.engine import StreamEvaluator
from alerts.loader import load_config
from alerts.settings import AlertsConfig, AlertSettings
from alerts.sweeper import OfflineSweeper, SweepResult
from alerts.writer import AlertWriter
from bench.db import private_database
from store.config import SettingsLoader
from store.db import connect
from store.feed import decode_readings, encode_readings

__all__ = ["bench_evaluator", "bench_sweep", "main"]

FLOOR_VALUES_PER_S: Final = 60_000  # 10,000 frames/s × 6 factors (bench issue floor)
#: the alert service evaluates what arrived since its last flush (alerts.flush_ms default)
FLUSH_S: Final = AlertSettings().flush_ms / 1000
AIR: Final = {  # code → (name, typical µg/m³ (CO mg/m³))
    "a21026": ("二氧化硫", 9.0),
    "a21004": ("二氧化氮", 32.0),
    "a21005": ("一氧化碳", 0.7),
    "a05024": ("臭氧", 70.0),
    "a34002": ("可吸入颗粒物", 62.0),
    "a34004": ("细颗粒物", 36.0),
}
BENCH_TUNING: Final = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "512MB",
}
REGIONS: Final = 50

INSERT_STATIONS_SQL: Final = """
INSERT INTO stations (id, mn, name, st, region, approved_at)
SELECT g, 'BENCH' || lpad(g::text, 9, '0'), '站点' || g, '22', '区' || (g % $2), now()
FROM generate_series(1, $1::integer) AS g
"""
INSERT_STATE_SQL: Final = """
INSERT INTO station_state (station_id, connected, worker, last_frame_at, last_data_at)
SELECT g, true, g % 4, now() - make_interval(secs => g % 30), now() - make_interval(secs => g % 30)
FROM generate_series(1, $1::integer) AS g
"""
SET_SILENT_SQL: Final = """
UPDATE station_state SET last_data_at = now() - make_interval(secs => $2), connected = false,
    disconnected_at = now() - make_interval(secs => $2)
WHERE station_id % $1 = $3
"""
SET_REGION_SILENT_SQL: Final = """
UPDATE station_state SET last_data_at = now() - interval '1 hour', connected = false,
    disconnected_at = now() - interval '1 hour'
WHERE station_id % $1 = $2
"""
ADD_RECEIVER_SQL: Final = """
WITH r AS (
    INSERT INTO alert_receivers (name, kind, address) VALUES ('值班', 'webhook', 'http://127.0.0.1:9/')
    RETURNING id)
INSERT INTO alert_responsibilities (receiver_id, role, scope, scope_key)
SELECT id, 'maintainer', 'all', '' FROM r
"""
SET_ALL_FRESH_SQL: Final = """
UPDATE station_state SET last_data_at = now(), connected = true, disconnected_at = NULL
"""


# ------------------------------------------------------------------------------------------
# the in-stream evaluator (no database)


def _config(stations: int, settings: AlertsConfig) -> AlertConfig:
    infos = {
        i: StationInfo(i, f"BENCH{i:09d}", f"站点{i}", "22", f"区{i % REGIONS}", None)
        for i in range(1, stations + 1)
    }
    factors = {
        k + 1: FactorInfo(k + 1, code, name, "µg/m³")
        for k, (code, (name, _)) in enumerate(AIR.items())
    }
    return AlertConfig(settings, stations=infos, factors=factors)


def _rounds(stations: int, rounds: int, start: float, exceed_every: int = 0) -> Iterator[list[str]]:
    """Per round (one real-time sample of every station) the writer's payloads."""
    bases = list(AIR.values())
    for r in range(rounds):
        ts = datetime.fromtimestamp(start + 30 * r, UTC)
        rows = []
        for s in range(1, stations + 1):
            for f, (_name, base) in enumerate(bases, start=1):
                # smooth, station-specific, never flat: no alerts unless asked for
                value = base * (1.0 + 0.08 * math.sin(0.37 * r + 0.11 * s + f))
                if exceed_every and (s * 7 + f + r // 4) % exceed_every == 0:
                    value = base * 10.0  # above any limit, for four rounds in a row
                rows.append((s, f, ts, round(value, 3), None, None, None, None, "N"))
        yield list(encode_readings("r", rows))


def _time_rounds(evaluator: StreamEvaluator, rounds: list[list[str]]) -> tuple[int, float]:
    """Feed the rounds as the service does: the payloads of one flush interval at the
    floor rate (``alerts.flush_ms``) in one batch, then take the transitions."""
    gc.collect()
    per_payload = max(1, len(decode_readings(rounds[0][0]))) if rounds and rounds[0] else 1
    batch = max(1, math.ceil(FLOOR_VALUES_PER_S * FLUSH_S / per_payload))
    values = 0
    t0 = time.process_time()
    for payloads in rounds:
        for i in range(0, len(payloads), batch):
            values += evaluator.feed_payloads(payloads[i : i + batch])
            evaluator.take()  # the flush loop's job; the batches go to the writer
    return values, time.process_time() - t0


def _time_encoding(stations: int, start: float) -> float:
    """µs per value the ingest writer spends encoding the feed (store.feed)."""
    ts = datetime.fromtimestamp(start, UTC)
    rows = [
        (s, f, ts, 10.0 + s % 97 + f / 10, None, None, None, None, "N")
        for s in range(1, stations + 1)
        for f in range(1, len(AIR) + 1)
    ]
    gc.collect()
    t0 = time.process_time()
    for _ in range(3):
        payloads = list(encode_readings("r", rows))
    assert payloads, "no payloads encoded"
    return 1e6 * (time.process_time() - t0) / (3 * len(rows))


def bench_evaluator(
    settings: AlertsConfig, stations: int = 36_000, rounds: int = 6, memory: bool = True
) -> dict[str, Any]:
    start = 1_790_000_000.0
    config = _config(stations, settings)
    out: dict[str, Any] = {"stations": stations, "factors": len(AIR), "rounds": rounds}

    # warm-up round: slots are created and bound to their rules
    evaluator = StreamEvaluator(config)
    all_rounds = list(_rounds(stations, rounds + 1, start))
    if memory:
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        _time_rounds(evaluator, all_rounds[:1])
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        out["memory_mb"] = round((after - before) / 1e6, 1)
        out["bytes_per_slot"] = round((after - before) / max(1, len(evaluator.slots)))
    else:
        _time_rounds(evaluator, all_rounds[:1])
    values, cpu = _time_rounds(evaluator, all_rounds[1:])
    rate = values / cpu
    out["steady"] = {
        "values": values,
        "cpu_s": round(cpu, 3),
        "values_per_s": round(rate),
        "us_per_value": round(1e6 * cpu / values, 3),
        "alert_changes": evaluator.changes,
    }

    storm = StreamEvaluator(config)
    storm_rounds = list(_rounds(stations, rounds + 1, start, exceed_every=100))
    _time_rounds(storm, storm_rounds[:1])
    values, cpu = _time_rounds(storm, storm_rounds[1:])
    out["with_exceedances"] = {
        "values": values,
        "values_per_s": round(values / cpu),
        "alert_changes": storm.changes,
    }

    payloads = [p for r in all_rounds[1:] for p in r]
    t0 = time.process_time()
    decoded = sum(len(decode_readings(p)) for p in payloads)
    decode_cpu = time.process_time() - t0
    out["reference_decode_values_per_s"] = round(decoded / decode_cpu)

    out["feed_encode_us_per_value"] = round(_time_encoding(stations, start), 3)
    share = FLOOR_VALUES_PER_S / rate
    out["floor_values_per_s"] = FLOOR_VALUES_PER_S
    out["core_share_at_floor"] = round(share, 4)
    return out


# ------------------------------------------------------------------------------------------
# the offline sweep (database)


def _sweep_json(r: SweepResult) -> dict[str, Any]:
    return {
        "total_ms": round(1000 * r.total_s, 1),
        "query_ms": round(1000 * r.query_s, 1),
        "evaluate_ms": round(1000 * r.evaluate_s, 1),
        "write_ms": round(1000 * r.write_s, 1),
        "offline": r.offline,
        "opened": r.opened,
        "resolved": r.resolved,
        "grouped": r.mass_open,
    }


async def bench_sweep(
    dsn: str, settings: AlertsConfig, stations: int = 36_000, repeat: int = 7
) -> dict[str, Any]:
    conn = await connect(dsn)
    try:
        await conn.execute(INSERT_STATIONS_SQL, stations, REGIONS)
        await conn.execute(INSERT_STATE_SQL, stations)
        await conn.execute("ANALYZE stations; ANALYZE station_state")
        config = await load_config(conn, settings)
        writer = AlertWriter()
        await writer.load(conn)
        sweeper = OfflineSweeper()
        gc.collect()
        gc.freeze()  # as the alert service does after its start (alerts.service)
        await sweeper.sweep(conn, writer, config)  # warm-up (plans, caches)
        steady = [await sweeper.sweep(conn, writer, config) for _ in range(repeat)]
        out: dict[str, Any] = {
            "stations": stations,
            "steady_ms": {
                "median": round(1000 * statistics.median(r.total_s for r in steady), 1),
                "max": round(1000 * max(r.total_s for r in steady), 1),
                "detail": _sweep_json(sorted(steady, key=lambda r: r.total_s)[len(steady) // 2]),
            },
        }
        await conn.execute(SET_SILENT_SQL, 100, 1200.0, 0)  # 1 % scattered: 20 min silent
        out["one_percent_offline"] = _sweep_json(await sweeper.sweep(conn, writer, config))
        out["steady_with_offline"] = _sweep_json(await sweeper.sweep(conn, writer, config))
        await conn.execute(SET_ALL_FRESH_SQL)
        out["one_percent_recover"] = _sweep_json(await sweeper.sweep(conn, writer, config))
        await conn.execute(SET_REGION_SILENT_SQL, REGIONS, 7)  # one region: 2 % of stations
        out["region_offline"] = _sweep_json(await sweeper.sweep(conn, writer, config))
        inhibited = await conn.fetchval(
            "SELECT count(*) FROM alerts WHERE state <> 'resolved' AND inhibited_by IS NOT NULL"
        )
        out["region_offline"]["inhibited"] = inhibited
        await conn.execute(SET_ALL_FRESH_SQL)
        out["region_recover"] = _sweep_json(await sweeper.sweep(conn, writer, config))

        # the platform's own outage: 60 % of the fleet silent at once → one grouped alert
        await conn.execute(ADD_RECEIVER_SQL)
        config = await load_config(conn, settings)
        await conn.execute(SET_SILENT_SQL, 5, 3600.0, 1)
        await conn.execute(SET_SILENT_SQL, 5, 3600.0, 2)
        await conn.execute(SET_SILENT_SQL, 5, 3600.0, 3)
        outage = await sweeper.sweep(conn, writer, config)
        out["fleet_outage"] = _sweep_json(outage)
        out["fleet_outage"]["steady_ms"] = round(
            1000 * (await sweeper.sweep(conn, writer, config)).total_s, 1
        )
        dispatcher = Dispatcher(lambda: config)
        t0 = time.perf_counter()
        await dispatcher.load(conn)
        load_s = time.perf_counter() - t0
        await dispatcher.tick(conn)  # first tick: routes every alert, starts the groups
        ticks = []
        for _ in range(5):
            t0 = time.perf_counter()
            await dispatcher.tick(conn)
            ticks.append(time.perf_counter() - t0)
        out["fleet_outage"]["dispatcher"] = {
            "active_alerts": len(dispatcher.alerts),
            "load_ms": round(1000 * load_s, 1),
            "tick_ms": round(1000 * statistics.median(ticks), 1),
            "messages_queued": dispatcher.queued,
        }
        out["target_ms"] = 1000
        return out
    finally:
        await conn.close()


# ------------------------------------------------------------------------------------------


def report(result: dict[str, Any]) -> str:
    lines = ["alerts benchmark"]
    ev = result.get("evaluator")
    if ev:
        st = ev["steady"]
        lines += [
            f"  in-stream evaluation ({ev['stations']:,} stations × {ev['factors']} factors,"
            f" {ev['rounds']} rounds):",
            f"    {st['values_per_s']:>12,} values/s per core   {st['us_per_value']} µs/value",
            f"    {ev['with_exceedances']['values_per_s']:>12,} values/s with 1 % of the values"
            f" above their limit ({ev['with_exceedances']['alert_changes']:,} alert changes)",
            f"    {ev['reference_decode_values_per_s']:>12,} values/s: store.feed.decode_readings"
            " alone, for comparison",
            f"    {ev['feed_encode_us_per_value']:>12} µs/value: the ingest writer's feed encoding",
            f"    at the floor rate ({ev['floor_values_per_s']:,} values/s):"
            f" {100 * ev['core_share_at_floor']:.1f} % of one core",
        ]
        if "memory_mb" in ev:
            lines.append(
                f"    memory: {ev['memory_mb']} MB for the slots ({ev['bytes_per_slot']} B per"
                " station × factor)"
            )
    sw = result.get("sweep")
    if sw:
        lines += [
            f"  offline sweep over {sw['stations']:,} stations (target ≤ {sw['target_ms']} ms):",
            f"    steady state: median {sw['steady_ms']['median']} ms, max {sw['steady_ms']['max']}"
            f" ms (query {sw['steady_ms']['detail']['query_ms']} ms, compare"
            f" {sw['steady_ms']['detail']['evaluate_ms']} ms)",
        ]
        for key, text in (
            ("one_percent_offline", "1 % go offline at once"),
            ("one_percent_recover", "they recover"),
            ("region_offline", "a region goes offline (grouped + inhibition)"),
            ("region_recover", "the region recovers"),
            ("fleet_outage", "60 % of the fleet silent (one grouped alert)"),
        ):
            r = sw[key]
            lines.append(
                f"    {text:<45} {r['total_ms']:>7} ms (write {r['write_ms']} ms;"
                f" +{r['opened']} −{r['resolved']})"
            )
        d = sw["fleet_outage"]["dispatcher"]
        lines.append(
            f"    then: sweep {sw['fleet_outage']['steady_ms']} ms; dispatcher with"
            f" {d['active_alerts']:,} active alerts: load {d['load_ms']} ms,"
            f" tick {d['tick_ms']} ms"
        )
    return "\n".join(lines)


async def run_benchmarks(
    settings: AlertsConfig, dsn: str | None, stations: int, rounds: int, with_db: bool, memory: bool
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "scenario": "alerts",
        "machine": {
            "python": sys.version.split()[0],
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
        },
    }
    result["evaluator"] = bench_evaluator(settings, stations, rounds, memory)
    if with_db:
        async with private_database(dsn, label="alerts", tuning=BENCH_TUNING) as target:
            result["sweep"] = await bench_sweep(target, settings, stations)
    return result


def main(argv: list[str], settings_for: SettingsLoader[AlertsConfig]) -> int:
    """``envgrid bench alerts``; ``settings_for(overrides)`` gives the settings of the engine
    under test (defaults and ``overrides`` only: no file, no environment)."""
    parser = argparse.ArgumentParser(prog="envgrid bench alerts", description=__doc__)
    parser.add_argument("--dsn", help="PostgreSQL server to create the benchmark database on")
    parser.add_argument("--stations", type=int, default=36_000)
    parser.add_argument("--rounds", type=int, default=6, help="evaluator rounds (samples)")
    parser.add_argument("--no-db", action="store_true", help="evaluator figures only")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory figure")
    parser.add_argument("--json", metavar="OUT", help="also write the result as JSON")
    args = parser.parse_args(argv)
    result = asyncio.run(
        run_benchmarks(
            # the in-stream cost with every limit judged on single values (basis rtd), the
            # heaviest configuration (by default ambient limits are judged on means)
            settings_for({"alerts.exceedance_basis": "rtd"}),
            args.dsn,
            args.stations,
            args.rounds,
            not args.no_db,
            not args.no_memory,
        )
    )
    print(report(result))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=2, ensure_ascii=False)
    return 0
