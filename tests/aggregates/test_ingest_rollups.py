"""The rollups maintained by the real ingest worker: frames in over TCP (with
retransmissions), the hourly rollup equals a GROUP BY of the stored rows, and the official
values prefer the station's own hourly upload."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from aggregates import jobs
from protocol import encode_upload
from store.engine import Engine, EngineInfo
from store.stations import NewStation
from tests.ingest.conftest import StationClient, register, start_worker  # noqa: F401

from .dbdata import settings_for
from .test_rollups import assert_rollup_equals_group_by

AIR = NewStation("AQ0000000000000000000042", "123456", "城东站", "22", 30.27, 120.15, "东区")


#: Yesterday (local): inside the ingest's accepted DataTime window and the refresh window.
DAY = (datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")) - timedelta(days=1)).strftime(
    "%Y%m%d"
)


def frame(cn: int, minute: int, values: dict[str, dict[str, str]], hour: int = 9) -> bytes:
    return encode_upload(
        cn,
        st="22",
        mn=AIR.mn,
        pw="123456",
        qn=f"{DAY}10{minute:02d}00{cn % 1000:03d}",
        data_time=f"{DAY}{hour:02d}{minute:02d}00",
        values=values,
        ack=True,
    )


async def _send(client: StationClient) -> None:
    frames = [
        frame(2011, m, {"a34004": {"Rtd": str(30 + m % 7), "Flag": "N" if m % 10 else "M"}})
        for m in range(60)
    ]
    hourly = frame(
        2061, 0, {"a34004": {"Avg": "33", "Min": "30", "Max": "36", "Flag": "N"}}, hour=8
    )
    await client.send(*frames, *frames[:10], hourly)  # 10 retransmissions
    await client.expect(71, timeout=20)


async def test_ingest_keeps_rollups_current(
    start_worker: Callable[..., Any],  # noqa: F811
    register: Callable[..., Any],  # noqa: F811
    db_pool: asyncpg.Pool,
    db_dsn: str,
    engine_info: EngineInfo,
) -> None:
    if engine_info.engine is not Engine.POSTGRESQL:
        pytest.skip("trigger-maintained rollups exist on plain PostgreSQL only")
    await register(AIR)
    worker = await start_worker()
    client = await StationClient.open(worker.bound_port)
    try:
        await _send(client)
    finally:
        await client.close()
    async with db_pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM measurements_rtd") == 60
        await assert_rollup_equals_group_by(conn, "measurements_rtd", "agg_hourly_rtd")
        row = await conn.fetchrow("SELECT * FROM agg_hourly_rtd")
        assert (row["n_total"], row["n_valid"], row["n_flag_m"]) == (60, 54, 6)
    await jobs.run_refresh(db_pool, settings_for(db_dsn))
    async with db_pool.acquire() as conn:
        hours = await conn.fetch(
            "SELECT to_char(ts AT TIME ZONE 'Asia/Shanghai', 'HH24') AS h, value, source, valid"
            " FROM hourly_values ORDER BY ts"
        )
        assert [(r["h"], r["source"], r["valid"]) for r in hours] == [
            ("08", "reported", True),
            ("09", "computed", True),
        ]
        day = await conn.fetchrow("SELECT * FROM daily_values")
        assert (day["n_hours"], day["n_valid_hours"], day["valid"]) == (2, 2, False)
