"""``envgrid bench disk``: the station-year arithmetic (pure) and a small run of the
scenario on the suite's engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.disk import (
    TableCost,
    costs_from_sizes,
    load_database_settings,
    measure_engine,
    resident_bytes,
    station_year,
    timescaledb_binaries,
)
from envgrid.settings import load_settings
from ingest.settings import IngestSettings
from tests.conftest import PgServer

MIB = 2**20


def test_raw_table_is_bounded_by_its_retention() -> None:
    rtd = TableCost("measurements_rtd", 1_000.0, kept_days=30)
    assert resident_bytes(rtd, 10, 7) == 10_000
    assert resident_bytes(rtd, 365, 7) == 30_000
    assert resident_bytes(rtd, 3650, 7) == 30_000
    assert resident_bytes(rtd, 0, 7) == 0


def test_rollups_grow_for_ever() -> None:
    hourly = TableCost("agg_hourly_rtd", 50.0)
    assert resident_bytes(hourly, 365, 7) == 365 * 50
    assert resident_bytes(hourly, 3650, 7) == 3650 * 50


def test_compressed_days_after_compress_after() -> None:
    """The newest ``compress_after_days`` days are as written, the rest compressed."""
    ledger = TableCost("packet_ledger", 1_000.0, kept_days=90, compressed_bytes_per_day=100.0)
    assert resident_bytes(ledger, 5, 7) == 5 * 1_000
    assert resident_bytes(ledger, 365, 7) == 7 * 1_000 + 83 * 100
    short = TableCost("measurements_rtd", 1_000.0, kept_days=3, compressed_bytes_per_day=1.0)
    assert resident_bytes(short, 365, 7) == 3 * 1_000  # dropped before it is compressed


def test_monthly_and_yearly_rows() -> None:
    """A month / year row measured after one day costs 12 / 1 such rows a year."""
    month = TableCost("monthly_values", 10.0, per="month")
    year = TableCost("yearly_values", 10.0, per="year")
    assert resident_bytes(month, 365, 7) == pytest.approx(120.0)
    assert resident_bytes(year, 365, 7) == pytest.approx(10.0)
    assert resident_bytes(year, 3650, 7) == pytest.approx(100.0)


def test_station_year_from_measured_sizes() -> None:
    """Sizes of one day of 200 stations → per-station costs → the year under the
    default retention (rtd 30 days, minute 90, hour 3650, day 7300, ledger 90)."""
    grown = {
        "measurements_rtd": 200 * 1 * MIB,
        "measurements_minute": 200 * MIB // 2,
        "measurements_hour": 200 * 20_000,
        "packet_ledger": 200 * 2 * MIB,
        "agg_hourly_rtd": 200 * 40_000,
        "monthly_values": 200 * 12_000,
        "agg_dirty_days": 200 * 8_192,  # a work queue: left out
    }
    costs = {c.table: c for c in costs_from_sizes(grown, 200, IngestSettings())}
    assert "agg_dirty_days" not in costs
    assert costs["measurements_rtd"].kept_days == 30
    assert costs["packet_ledger"].kept_days == 90
    assert costs["agg_hourly_rtd"].kept_days is None
    assert costs["monthly_values"].per == "month"
    year = station_year(list(costs.values()), compress_after_days=7)
    assert year["measurements_rtd"] == 30 * MIB
    assert year["measurements_minute"] == 90 * MIB / 2
    assert year["measurements_hour"] == 365 * 20_000
    assert year["packet_ledger"] == 180 * MIB
    assert year["agg_hourly_rtd"] == 365 * 40_000
    assert year["monthly_values"] == pytest.approx(12 * 12_000)
    assert year["total"] == pytest.approx(sum(v for k, v in year.items() if k != "total"))


def test_compressed_sizes_apply_to_their_tables_only() -> None:
    grown = {"measurements_rtd": 2_000, "measurements_hour": 2_000}
    costs = costs_from_sizes(grown, 2, IngestSettings(), {"measurements_rtd": 200})
    by_table = {c.table: c for c in costs}
    assert by_table["measurements_rtd"].compressed_bytes_per_day == 100
    assert by_table["measurements_hour"].compressed_bytes_per_day is None


def test_engine_variables() -> None:
    assert load_database_settings({}).engine == "auto"
    db = load_database_settings(
        {"ENVGRID_DATABASE__ENGINE": "postgres", "ENVGRID_DATABASE__EMBEDDED_BINDIR": "/x/bin"}
    )
    assert (db.engine, str(db.embedded_bindir)) == ("postgres", "/x/bin")


async def test_small_day_on_the_suite_engine(pg_server: PgServer) -> None:
    """Two stations, minute data every 10 minutes: every table the day touches grew,
    the counts are the day's, and the year adds up."""

    def settings_for(overrides: Any = None) -> Any:
        return load_settings(None, {}, overrides or {}, discover=False)

    result = await measure_engine(
        pg_server.admin_dsn,
        "auto",
        settings_for,
        stations=2,
        min_interval=10,
        say=lambda _msg: None,
    )
    rows = result["rows"]
    assert rows["measurements_rtd"] == 2 * 2880 * 6
    assert rows["measurements_minute"] == 2 * 144 * 6
    assert rows["measurements_hour"] == 2 * 24 * 6
    assert rows["measurements_day"] == 2 * 6
    assert rows["packet_ledger"] == 2 * (2880 + 144 + 24 + 1)
    assert rows["daily_values_days"] == 1
    per_day = result["per_station_day"]
    for table in ("packet_ledger", "measurements_rtd", "measurements_minute", "daily_values"):
        assert per_day[table]["bytes"] > 0, table
    assert per_day["measurements_rtd"]["kept_days"] == 30
    if result["engine"] == "timescaledb":
        assert (
            0
            < per_day["measurements_rtd"]["compressed_bytes"]
            < per_day["measurements_rtd"]["bytes"]
        )
        assert "agg_daily_rtd" in per_day  # materialised on TimescaleDB
    year = result["station_year_bytes"]
    assert year["total"] == pytest.approx(sum(v for k, v in year.items() if k != "total"), abs=20)
    assert year["measurements_rtd"] <= 30 * per_day["measurements_rtd"]["bytes"] + 30


def test_timescaledb_skipped_with_the_reason(tmp_path: Path) -> None:
    bindir, why = timescaledb_binaries(None, {"ENVGRID_DATABASE__ENGINE": "postgres"})
    assert bindir is None and "ENVGRID_DATABASE__ENGINE=postgres" in why
    bindir, why = timescaledb_binaries(str(tmp_path), {})
    assert bindir is None and why
