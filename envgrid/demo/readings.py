"""The demo stations' last days of data, as their data loggers would have sent it.

Theory of operation
-------------------
Each station gets a :class:`~simulators.values.ValueModel` (the simulator's value model:
the city's pollution weather, diurnal and weekly cycles, station offsets, noise).  Every
hour of the window is sampled every five minutes; the samples make the hour's
Min/Avg/Max/Flag through :class:`~simulators.periods.PeriodAccumulator` exactly as a
simulated logger does, and complete local days likewise make the 2031 daily upload.
Each period becomes a real HJ 212-2017 frame (:func:`simulators.packets.build_upload`),
is decoded by :class:`protocol.Decoder` and written by the ingest's
:class:`~ingest.writer.BatchWriter` (ledger, measurements, rollups); the newest sample
goes out as a 2011 real-time frame whose values the ingest's
:class:`~ingest.state.StateFlusher` makes each station's latest.  Finally the official
daily values of the stations' days are derived (:func:`aggregates.jobs.refresh_days`).
Nothing is published to the alert engine (``publish=False``): the demo's alerts are made
explicitly (:mod:`envgrid.demo.activity`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from aggregates.continuous import refresh_continuous
from aggregates.jobs import refresh_days
from envgrid.settings import Settings
from ingest.state import StateFlusher
from ingest.writer import BatchWriter, Inbound
from protocol import Decoder, Frame, format_qn, format_time
from simulators.packets import build_upload
from simulators.periods import Derivations, PeriodAccumulator
from simulators.profiles import profile_for, wire_codes
from simulators.values import NORMAL, ValueModel, Weather
from store.engine import Engine
from store.partitions import PartitionCache

from .world import City

__all__ = ["HOURS", "write_history"]

#: How far back the demo data reaches (hours), and the sampling step inside an hour (s).
HOURS = 72
STEP_S = 300
#: The simulated city's seed (its weather and station offsets).
SEED = 2026


def _frame(cn: int, st: str, mn: str, at: datetime, values: dict[str, dict[str, str]]) -> Frame:
    parts = build_upload(
        cn, st=st, mn=mn, pw="******", edition="2017", qn=lambda: format_qn(at),
        data_time=format_time(at), values=values, ack=False,
    )  # fmt: skip
    frames = [e for p in parts for e in Decoder().feed(p.data) if isinstance(e, Frame)]
    if len(frames) != 1:
        raise RuntimeError(f"demo frame for {mn} did not decode as one frame: {frames!r}")
    return frames[0]


def _station_frames(
    station: tuple[int, str, str, int, float, float, str],
    index: int,
    weather: Weather,
    tz: ZoneInfo,
    seed: int,
    start: datetime,
    now: datetime,
) -> list[Inbound]:
    """Hourly (2061), daily (2031) and one real-time (2011) upload of one station."""
    sid, mn, st, _grid, _lat, _lon, region = station
    profile = profile_for(st)
    codes = wire_codes(profile, "2017")
    model = ValueModel(
        profile, seed=seed, index=index, region=region, urban=0.4 + 0.05 * (index % 8),
        weather=weather, tz=tz,
    )  # fmt: skip
    derive = Derivations(profile)
    flags = [NORMAL] * len(codes)
    out: list[Inbound] = []
    day: PeriodAccumulator | None = None
    hour = start
    last_texts: Sequence[str] = ()
    while hour + timedelta(hours=1) <= now:
        local = hour.astimezone(tz)
        if day is None or local.hour == 0:
            if day is not None and day.count >= 24 * 3600 // STEP_S:
                out.append(
                    _inbound(
                        2031, st, mn, sid, datetime.fromtimestamp(day.start, tz), day.values(codes)
                    )
                )
            day = PeriodAccumulator(profile, int(local.replace(hour=0).timestamp()))
        acc = PeriodAccumulator(profile, int(hour.timestamp()))
        for k in range(3600 // STEP_S):
            raw = model.sample(hour.timestamp() + k * STEP_S + STEP_S / 2)
            last_texts = model.texts(raw)
            values = [float(t) for t in last_texts]
            zs, cou = derive.zs(values), derive.cou(values, STEP_S)
            acc.add(values, flags, zs, cou)
            day.add(values, flags, zs, cou)
        out.append(_inbound(2061, st, mn, sid, local, acc.values(codes)))
        hour += timedelta(hours=1)
    rtd = {
        code: {"Rtd": text, "Flag": NORMAL} for code, text in zip(codes, last_texts, strict=True)
    }
    out.append(
        _inbound(
            2011,
            st,
            mn,
            sid,
            (now - timedelta(minutes=1)).astimezone(tz).replace(microsecond=0),
            rtd,
        )
    )
    return out


def _inbound(
    cn: int, st: str, mn: str, sid: int, at: datetime, values: dict[str, dict[str, str]]
) -> Inbound:
    received = at + (timedelta(hours=1, minutes=1) if cn == 2061 else timedelta(seconds=5))
    return Inbound(_frame(cn, st, mn, at, values), sid, mn, at, received.astimezone(UTC), 0.0)


async def write_history(
    pool: asyncpg.Pool, dsn: str, engine: Engine, city: City, settings: Settings, now: datetime
) -> int:
    """Write the window's data for every demo station; returns the measurement rows."""
    tz = ZoneInfo(settings.core.timezone)
    start = (now - timedelta(hours=HOURS)).replace(minute=0, second=0, microsecond=0)
    weather = Weather(SEED)
    async with pool.acquire() as conn:
        factor_ids = {r["code"]: r["id"] for r in await conn.fetch("SELECT code, id FROM factors")}
    writer = BatchWriter(
        dsn,
        engine,
        worker=0,
        factor_ids=factor_ids,
        partitions=PartitionCache(engine),
        publish=False,
    )
    state = StateFlusher(pool, worker=0)
    rows = 0
    days: set[tuple[int, date]] = set()
    try:
        for index, station in enumerate(city.stations):
            items = _station_frames(station, index, weather, tz, SEED, start, now)
            rows += (await writer.write(items)).rows
            for item in items:
                state.data(item)
                days.add((station[0], item.ts.astimezone(tz).date()))
    finally:
        await writer.close()
    await state.flush()
    if engine is Engine.TIMESCALEDB:
        await refresh_continuous(pool, settings, now)
    async with pool.acquire() as conn, conn.transaction():
        await refresh_days(conn, settings, sorted(days))
    return rows
