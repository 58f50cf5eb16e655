"""TimescaleDB continuous aggregates: same relations and numbers as the plain-PostgreSQL
rollups.  The database tests need the extension and skip without it (tests/conftest.py);
the static checks of the migration run everywhere."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from .test_rollups import DIRECT_HOURLY_SQL, ROLLUP_SQL, random_rows

MIGRATIONS = Path(__file__).resolve().parents[2] / "store" / "migrations"
TS_SQL = (MIGRATIONS / "0010_aggregates.timescaledb.sql").read_text(encoding="utf-8")
PG_SQL = (MIGRATIONS / "0010_aggregates.postgresql.sql").read_text(encoding="utf-8")


def _cagg_columns(name: str) -> list[str]:
    body = TS_SQL.split(f"CREATE MATERIALIZED VIEW {name}\n", 1)[1].split("FROM ", 1)[0]
    select = body.split("SELECT", 1)[1]
    return [m.group(1) for m in re.finditer(r"(?:AS\s+)?(\w+),?\n", select)]


def _table_columns(name: str) -> list[str]:
    body = PG_SQL.split(f"CREATE TABLE {name} (\n", 1)[1].split("PRIMARY KEY", 1)[0]
    return [line.split()[0] for line in body.strip().splitlines() if line.strip()]


def _view_columns(name: str) -> list[str]:
    body = PG_SQL.split(f"CREATE VIEW {name} AS\nSELECT", 1)[1].split("  FROM", 1)[0]
    return [m.group(1) for m in re.finditer(r"(?:AS\s+|a\.)(\w+),?\n", body)]


def test_continuous_aggregates_have_the_plain_postgresql_columns() -> None:
    assert _cagg_columns("agg_hourly_rtd") == _table_columns("agg_hourly_rtd")
    assert _cagg_columns("agg_hourly_minute") == _table_columns("agg_hourly_rtd")
    daily = _view_columns("agg_daily_rtd")
    assert daily[:4] == ["station_id", "factor_id", "day", "n_hours"]
    assert _cagg_columns("agg_daily_rtd") == daily
    assert _cagg_columns("agg_daily_minute") == _view_columns("agg_daily_minute")


def test_timescaledb_migration_turns_on_real_time_and_policies() -> None:
    caggs = re.findall(r"CREATE MATERIALIZED VIEW (\w+)", TS_SQL)
    assert caggs == ["agg_hourly_rtd", "agg_hourly_minute", "agg_daily_rtd", "agg_daily_minute"]
    assert TS_SQL.count("WITH (timescaledb.continuous, timescaledb.materialized_only = false)") == 4
    assert TS_SQL.count("\nWITH NO DATA;") == 4
    for name in caggs:
        assert f"add_continuous_aggregate_policy('{name}'" in TS_SQL
    assert "time_bucket(INTERVAL '1 day', bucket, 'Asia/Shanghai')" in TS_SQL


@pytest.mark.timescaledb
async def test_continuous_aggregates_equal_group_by(db_conn: asyncpg.Connection) -> None:
    """Same check as the plain-PostgreSQL trigger test, on the continuous aggregates: both
    engines equal a direct GROUP BY of the raw rows, hence each other."""
    rng = random.Random(212)
    rows = random_rows(rng, 3000, datetime(2024, 3, 1, 14, 17, tzinfo=UTC), 5)
    await db_conn.copy_records_to_table(
        "measurements_rtd",
        records=rows,
        columns=("station_id", "factor_id", "ts", "value", "vmin", "vmax", "cou", "zs", "flag"),
    )
    # real-time aggregation: visible before any refresh …
    live = await db_conn.fetch(ROLLUP_SQL.format(table="agg_hourly_rtd"))
    await db_conn.execute("CALL refresh_continuous_aggregate('agg_hourly_rtd', NULL, NULL)")
    await db_conn.execute("CALL refresh_continuous_aggregate('agg_daily_rtd', NULL, NULL)")
    # … and the same after materialisation
    kept = {(r["station_id"], r["factor_id"], r["bucket"]): r for r in live}
    direct = await db_conn.fetch(DIRECT_HOURLY_SQL.format(table="measurements_rtd"))
    assert len(direct) == len(kept)
    for d in direct:
        k = kept[(d["station_id"], d["factor_id"], d["bucket"])]
        for col in d.keys():  # noqa: SIM118 - asyncpg Record
            if col == "sum_valid" and d[col] is not None:
                assert k[col] == pytest.approx(d[col], rel=1e-12)
            else:
                assert k[col] == d[col], col
    info = await db_conn.fetch(
        "SELECT view_name, materialized_only FROM timescaledb_information.continuous_aggregates"
    )
    assert {r["view_name"]: r["materialized_only"] for r in info} == {
        "agg_hourly_rtd": False,
        "agg_hourly_minute": False,
        "agg_daily_rtd": False,
        "agg_daily_minute": False,
    }
