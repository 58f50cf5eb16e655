"""Rollups on the real PostgreSQL: the trigger-maintained hourly rollups equal a direct
GROUP BY of the raw rows (flags, late data, several statements), the daily rollups follow
the local day, and the flag rules in SQL match protocol.flags."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from protocol.flags import EXCLUDED_FROM_MEANS, VALID_FLAGS, is_valid
from store.engine import Engine, EngineInfo

from .dbdata import COLUMNS, Row, add_stations, copy_rows, local

pytestmark = pytest.mark.usefixtures("plain_postgresql")

FLAGS = [
    None,
    "",
    "N",
    "N",
    "N",
    "N",
    "M",
    "C",
    "D",
    "F",
    "T",
    "B",
    "P",
    "S",
    "0",
    "2",
    "n",
    "m",
    "X",
]

DIRECT_HOURLY_SQL = """
SELECT station_id, factor_id, date_bin('1 hour', ts, timestamptz '2000-01-01 00:00+00') AS bucket,
       count(value) AS n_total,
       count(value) FILTER (WHERE envgrid_flag_valid(flag)) AS n_valid,
       sum(value) FILTER (WHERE envgrid_flag_valid(flag)) AS sum_valid,
       min(value) FILTER (WHERE envgrid_flag_valid(flag)) AS min_valid,
       max(value) FILTER (WHERE envgrid_flag_valid(flag)) AS max_valid,
       count(value) FILTER (WHERE upper(flag) = 'M') AS n_flag_m,
       count(value) FILTER (WHERE upper(flag) = 'C') AS n_flag_c,
       count(value) FILTER (WHERE upper(flag) = 'D') AS n_flag_d,
       count(value) FILTER (WHERE upper(flag) = 'F') AS n_flag_f,
       count(value) FILTER (WHERE upper(flag) = 'T') AS n_flag_t,
       count(value) FILTER (WHERE upper(flag) = 'B') AS n_flag_b,
       count(value) FILTER (WHERE upper(flag) IN ('P', '0', '2')) AS n_flag_other,
       bit_or(1::bigint << extract(minute FROM ts AT TIME ZONE 'UTC')::int)
           FILTER (WHERE envgrid_flag_valid(flag)) AS valid_minutes
FROM {table}
GROUP BY 1, 2, 3
"""
ROLLUP_SQL = """
SELECT station_id, factor_id, bucket, n_total, n_valid, sum_valid, min_valid, max_valid,
       n_flag_m, n_flag_c, n_flag_d, n_flag_f, n_flag_t, n_flag_b, n_flag_other, valid_minutes
FROM {table}
"""


@pytest.fixture
def plain_postgresql(engine_info: EngineInfo) -> None:
    if engine_info.engine is not Engine.POSTGRESQL:
        pytest.skip("trigger-maintained rollups exist on plain PostgreSQL only")


def _key(r: asyncpg.Record) -> tuple[int, int, datetime]:
    return (r["station_id"], r["factor_id"], r["bucket"])


async def assert_rollup_equals_group_by(conn: asyncpg.Connection, raw: str, rollup: str) -> int:
    direct = {_key(r): r for r in await conn.fetch(DIRECT_HOURLY_SQL.format(table=raw))}
    kept = {_key(r): r for r in await conn.fetch(ROLLUP_SQL.format(table=rollup))}
    assert direct.keys() == kept.keys()
    for key, d in direct.items():
        k = kept[key]
        for col in d.keys():  # noqa: SIM118 - iterating a Record yields values
            if col == "sum_valid" and d[col] is not None:
                assert k[col] == pytest.approx(d[col], rel=1e-12), (key, col)
            else:
                assert k[col] == d[col], (key, col)
    return len(direct)


def random_rows(
    rng: random.Random, n: int, start: datetime, hours: int, stations: int = 3
) -> list[Row]:
    rows: list[Row] = []
    for _ in range(n):
        ts = start + timedelta(seconds=rng.randrange(hours * 3600))
        rows.append(
            (
                rng.randint(1, stations),
                rng.randint(1, 3),
                ts,
                round(rng.uniform(0, 200), 3),
                None,
                None,
                None,
                None,
                rng.choice(FLAGS),
            )
        )
    return rows


@pytest.mark.parametrize(
    ("raw", "rollup"),
    [
        ("measurements_rtd", "agg_hourly_rtd"),
        ("measurements_minute", "agg_hourly_minute"),
    ],
)
async def test_trigger_rollup_equals_group_by(
    db_conn: asyncpg.Connection, raw: str, rollup: str
) -> None:
    rng = random.Random(212)
    start = datetime(2024, 3, 1, 14, 17, tzinfo=UTC)
    rows = random_rows(rng, 6000, start, 5)
    # several statements, in and out of transactions, COPY and INSERT
    for k in range(0, 4000, 1000):
        async with db_conn.transaction():
            await copy_rows(db_conn, raw, rows[k : k + 1000])
    await db_conn.executemany(
        f"INSERT INTO {raw} ({', '.join(COLUMNS)}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        rows[4000:4100],
    )
    await copy_rows(db_conn, raw, rows[4100:])
    assert await assert_rollup_equals_group_by(db_conn, raw, rollup) > 20


async def test_late_data_merges_into_aggregated_hours(db_conn: asyncpg.Connection) -> None:
    """History uploaded after a reconnect lands in hours that were already aggregated (and
    in days outside the refresh window, which are marked dirty for the refresh job)."""
    await add_stations(db_conn, [(1, "东区"), (2, "东区")])
    now = datetime.now(UTC).replace(microsecond=0)
    hour = now.replace(minute=0, second=0) - timedelta(hours=1)
    first = [
        (1, 1, hour + timedelta(minutes=m), 10.0, None, None, None, None, "N")
        for m in range(0, 60, 2)
    ]
    await copy_rows(db_conn, "measurements_rtd", first)
    before = await db_conn.fetchrow("SELECT * FROM agg_hourly_rtd WHERE station_id = 1")
    assert (before["n_total"], before["sum_valid"]) == (30, 300.0)
    assert await db_conn.fetchval("SELECT count(*) FROM agg_dirty_days") == 0  # recent data
    # the odd minutes arrive later, with a new maximum and a flagged value
    late = [
        (1, 1, hour + timedelta(minutes=m), 20.0, None, None, None, None, "N")
        for m in range(1, 58, 2)
    ]
    late.append((1, 1, hour + timedelta(minutes=59), 99.0, None, None, None, None, "C"))
    # and 3 days old history of station 2
    old_day = now - timedelta(days=3)
    late.append((2, 1, old_day, 5.0, None, None, None, None, "N"))
    await copy_rows(db_conn, "measurements_rtd", late)
    after = await db_conn.fetchrow("SELECT * FROM agg_hourly_rtd WHERE station_id = 1")
    assert (after["n_total"], after["n_valid"], after["n_flag_c"]) == (60, 59, 1)
    assert after["sum_valid"] == 300.0 + 29 * 20.0
    assert after["max_valid"] == 20.0  # the flagged 99 is excluded
    assert after["valid_minutes"] == (1 << 59) - 1  # minutes 0..58
    dirty = await db_conn.fetch("SELECT station_id, day FROM agg_dirty_days")
    assert [(r["station_id"], r["day"]) for r in dirty] == [
        (2, (old_day + timedelta(hours=8)).date())
    ]
    await assert_rollup_equals_group_by(db_conn, "measurements_rtd", "agg_hourly_rtd")


async def test_daily_rollup_uses_local_days(db_conn: asyncpg.Connection) -> None:
    day = date(2024, 3, 1)
    rows = [
        (1, 1, local(day, 0, 0), 1.0, None, None, None, None, "N"),  # 2024-02-29 16:00Z
        (1, 1, local(day, 7, 59), 2.0, None, None, None, None, "N"),  # 23:59Z the day before
        (1, 1, local(day, 8, 0), 3.0, None, None, None, None, "N"),  # UTC midnight
        (1, 1, local(day, 23, 59, 59), 4.0, None, None, None, None, "M"),
        (1, 1, local(day + timedelta(days=1), 0, 0), 100.0, None, None, None, None, "N"),
    ]
    await copy_rows(db_conn, "measurements_rtd", rows)
    got = await db_conn.fetch(
        "SELECT day, n_hours, n_total, n_valid, sum_valid, max_valid, n_flag_m"
        " FROM agg_daily_rtd ORDER BY day"
    )
    assert [
        (
            r["day"],
            r["n_hours"],
            r["n_total"],
            r["n_valid"],
            r["sum_valid"],
            r["max_valid"],
            r["n_flag_m"],
        )
        for r in got
    ] == [
        (local(day), 4, 4, 3, 6.0, 3.0, 1),
        (local(day + timedelta(days=1)), 1, 1, 1, 100.0, 100.0, 0),
    ]
    union = await db_conn.fetch("SELECT kind, count(*) FROM agg_daily GROUP BY kind")
    assert {r["kind"]: r["count"] for r in union} == {"rtd": 2}


async def test_timezone_setting_moves_day_boundaries(db_conn: asyncpg.Connection) -> None:
    from aggregates.jobs import sync_timezone
    from envgrid.settings import load_settings

    rows = [(1, 1, datetime(2024, 3, 1, 20, tzinfo=UTC), 1.0, None, None, None, None, "N")]
    await copy_rows(db_conn, "measurements_rtd", rows)
    day_sh = await db_conn.fetchval("SELECT day FROM agg_daily_rtd")
    assert day_sh == datetime(2024, 3, 1, 16, tzinfo=UTC)  # 2024-03-02 in Shanghai
    shanghai = load_settings(None, {}, {}, discover=False)
    assert not await sync_timezone(db_conn, shanghai, Engine.POSTGRESQL)
    utc = load_settings(None, {}, {"core.timezone": "UTC"}, discover=False)
    assert await sync_timezone(db_conn, utc, Engine.POSTGRESQL)
    with pytest.raises(Exception, match="Asia/Shanghai"):
        await sync_timezone(db_conn, utc, Engine.TIMESCALEDB)
    assert await db_conn.fetchval("SELECT day FROM agg_daily_rtd") == datetime(
        2024, 3, 1, tzinfo=UTC
    )


async def test_sql_flag_rules_match_protocol_flags(db_conn: asyncpg.Connection) -> None:
    flags: list[str | None] = [
        None,
        "",
        *sorted(VALID_FLAGS | EXCLUDED_FROM_MEANS),
        "n",
        "m",
        "c",
        "Q",
        "NN",
    ]
    for flag in flags:
        valid = await db_conn.fetchval("SELECT envgrid_flag_valid($1)", flag)
        assert valid == is_valid(flag), flag
        cls = await db_conn.fetchval("SELECT envgrid_flag_class($1)", flag)
        if is_valid(flag):
            assert cls is None, flag
        else:
            assert cls == (flag.upper() if flag.upper() in "MCDFTB" else "other"), flag


#: flags around the classes: both cases, neighbours, several characters, spaces, and the
#: non-ASCII letters whose upper case is ASCII (ı → I, ſ → S) or several letters (ß → SS)
_FLAG_PROBES = [
    *"MCDFTBPmcdftbp02NnAaQq1",
    "",
    " M",
    "M ",
    "MM",
    "mC",
    "other",
    "ı",
    "ſ",
    "ß",
    "ｍ",
    "Ｍ",
    "м",
]


async def test_flag_class_is_the_upper_case_rule_of_migration_0010(
    db_conn: asyncpg.Connection,
) -> None:
    """Migration 0072 classifies by comparison; the classes are those of upper() (0010)."""
    rows = await db_conn.fetch(
        """
        SELECT f, envgrid_flag_class(f) AS now,
               CASE WHEN f IS NULL OR upper(f) NOT IN ('M', 'C', 'D', 'F', 'T', 'B', 'P', '0', '2')
                        THEN NULL
                    WHEN upper(f) IN ('M', 'C', 'D', 'F', 'T', 'B') THEN upper(f)
                    ELSE 'other' END AS before
        FROM unnest($1::text[]) AS f
        """,
        [*_FLAG_PROBES, None],
    )
    assert len(rows) == len(_FLAG_PROBES) + 1
    body = await db_conn.fetchval("SELECT prosrc FROM pg_proc WHERE proname = 'envgrid_flag_class'")
    assert "upper" not in body  # 0072 is what is compared
    assert [(r["f"], r["now"]) for r in rows] == [(r["f"], r["before"]) for r in rows]


@pytest.mark.parametrize(
    ("timezone", "row_utc", "days"),
    [
        # a whole-hour zone: the local day of the row, however late in the hour
        ("Asia/Shanghai", datetime(2024, 3, 1, 15, 59, tzinfo=UTC), [date(2024, 3, 1)]),
        ("Asia/Shanghai", datetime(2024, 3, 1, 16, 0, tzinfo=UTC), [date(2024, 3, 2)]),
        # UTC+5:30: the hour 18:00–19:00 UTC crosses local midnight; both days are marked
        (
            "Asia/Kolkata",
            datetime(2024, 3, 1, 18, 10, tzinfo=UTC),
            [date(2024, 3, 1), date(2024, 3, 2)],
        ),
        (
            "Asia/Kolkata",
            datetime(2024, 3, 1, 18, 45, tzinfo=UTC),
            [date(2024, 3, 1), date(2024, 3, 2)],
        ),
        ("Asia/Kolkata", datetime(2024, 3, 1, 17, 45, tzinfo=UTC), [date(2024, 3, 1)]),
    ],
)
async def test_late_rows_mark_the_local_days_of_their_hour(
    db_conn: asyncpg.Connection, timezone: str, row_utc: datetime, days: list[date]
) -> None:
    """Migration 0073 marks late data's days from the grouped hours: always the day of
    each row, and in zones with a part-hour offset the other day an hour reaches into."""
    await db_conn.execute("UPDATE agg_config SET timezone = $1", timezone)
    for kind in ("rtd", "minute"):
        await db_conn.execute("DELETE FROM agg_dirty_days")
        row = (1, 1, row_utc, 1.0, None, None, None, None, "N")
        await copy_rows(db_conn, f"measurements_{kind}", [row])
        marked = await db_conn.fetch("SELECT station_id, day FROM agg_dirty_days ORDER BY day")
        assert [(r["station_id"], r["day"]) for r in marked] == [(1, d) for d in days], kind
