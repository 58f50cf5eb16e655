"""Accepted frames → database rows (pure: no I/O, no clock).

One narrow measurement row per (station, factor, time, kind) —
``(station_id, factor_id, ts, value, vmin, vmax, cou, zs, flag)`` — into the
table of the frame's kind: 2011 → ``measurements_rtd`` (value = Rtd), 2051 →
``measurements_minute``, 2061 → ``measurements_hour``, 2031 →
``measurements_day`` (value = Avg, with Min/Max/Cou).  Values that are not
numbers are counted and left out, never guessed.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Final

from protocol import Frame, parse_time
from protocol.compiled import compiled
from protocol.factors import FACTORS

from .compiled import copyrows as copyrows_module

__all__ = [
    "KIND_TABLES",
    "RECORD_CNS",
    "MeasurementRow",
    "TimeParser",
    "cp_digest",
    "latest_values",
    "measurement_rows",
    "record_rows",
    "status_rows",
]

#: CN → (table, field holding the value, field holding the converted value).
KIND_TABLES: Final[Mapping[int, tuple[str, str, str]]] = {
    2011: ("measurements_rtd", "Rtd", "ZsRtd"),
    2051: ("measurements_minute", "Avg", "ZsAvg"),
    2061: ("measurements_hour", "Avg", "ZsAvg"),
    2031: ("measurements_day", "Avg", "ZsAvg"),
}
MeasurementRow = tuple[
    int, int, datetime, float, float | None, float | None, float | None, float | None, str | None
]
MEASUREMENT_COLUMNS: Final = (
    "station_id", "factor_id", "ts", "value", "vmin", "vmax", "cou", "zs", "flag",
)  # fmt: skip
STATUS_COLUMNS: Final = ("station_id", "ts", "cn", "device", "field", "value", "received_at")


class TimeParser:
    """HJ 212 times (station wall clock in ``tz``) → aware datetimes in UTC, cached:
    thousands of stations share each DataTime, so nearly every call is a dict hit.

    The same instant as the wall-clock time in ``tz``, held with :data:`datetime.UTC`:
    every later use of it (the plausibility window, the ledger key, asyncpg encoding six
    measurement rows a frame) then skips the zone's offset lookup (issue 23: 8 % of a
    worker's CPU went to ``ZoneInfo.utcoffset``)."""

    __slots__ = ("_cache", "_limit", "_tz")

    def __init__(self, tz: tzinfo, limit: int = 50_000) -> None:
        self._tz = tz
        self._cache: dict[str, datetime | None] = {}
        self._limit = limit

    def __call__(self, text: str | None) -> datetime | None:
        if text is None:
            return None
        cache = self._cache
        try:
            return cache[text]
        except KeyError:
            pass
        naive = parse_time(text)
        value = naive.replace(tzinfo=self._tz).astimezone(UTC) if naive is not None else None
        if len(cache) >= self._limit:
            cache.clear()
        cache[text] = value
        return value


def cp_digest(frame: Frame) -> int:
    """CRC-32 of the CP body: with MN, CN, DataTime and PNO it tells a retransmission
    (identical body, whatever its QN) from a different frame."""
    return zlib.crc32(frame.cp.encode("utf-8"))


def _number(text: str | None) -> float | None:
    if text is None or text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def measurement_rows(
    frame: Frame,
    station_id: int,
    ts: datetime,
    factor_id: Callable[[str], int],
    out: list[MeasurementRow],
) -> int:
    """Append the rows of a data upload to ``out``; returns how many values were not
    numbers (left out)."""
    _, value_field, zs_field = KIND_TABLES[frame.cn]
    bad = 0
    period = frame.cn != 2011
    append = out.append
    for code, fields in frame.values.items():
        get = fields.get
        text = get(value_field)
        if text is None:
            text = get("Data")  # noise day data: xxx-Data / -DayData / -NightData
            if text is None:
                continue
        # _number() inlined (once per value: the hottest loop of the writer)
        try:
            value = float(text)
        except ValueError:  # "" included
            bad += 1
            continue
        if value - value != 0.0:  # NaN or ±inf
            bad += 1
            continue
        zs = get(zs_field)
        if period:
            append((
                station_id, factor_id(code), ts, value,
                _number(get("Min")), _number(get("Max")),
                _number(get("Cou")), _number(zs) if zs is not None else None,
                get("Flag"),
            ))  # fmt: skip
        else:
            append((
                station_id, factor_id(code), ts, value, None, None, None,
                _number(zs) if zs is not None else None, get("Flag"),
            ))  # fmt: skip
    return bad


def status_rows(
    frame: Frame, station_id: int, ts: datetime, received_at: datetime
) -> list[tuple[Any, ...]]:
    """2021 ``SBx-RS`` / 2041 ``SBx-RT`` → equipment_status rows."""
    return [
        (station_id, ts, frame.cn, device, field, value, received_at)
        for device, fields in frame.values.items()
        for field, value in fields.items()
    ]


#: HJ 212-2025 uploads stored in ``records_2025`` (migration 0054): CN → the field holding
#: the row's number; the factor's other fields are kept as sent.
RECORD_CNS: Final[Mapping[int, str]] = {
    2013: "Avg",  # raw periodic data: -SampleTime, -CompleteTime, -SampleType, -Avg, -Flag
    2052: "Data",  # single noise measurement
    2062: "SampleRd",  # standard-sample check: -SampleRd, -StandardValue, -ResultType
    2111: "Avg",  # furnace temperature 5-min mean (a01901-Avg), DataTime = window start
}
RECORD_COLUMNS: Final = (
    "station_id", "cn", "code", "ts", "value", "fields", "received_at", "backfill",
)  # fmt: skip


def record_rows(
    frame: Frame, station_id: int, ts: datetime, received_at: datetime
) -> list[tuple[Any, ...]]:
    """A 2013 / 2052 / 2062 / 2111 upload → ``records_2025`` rows, one per factor: the
    number of :data:`RECORD_CNS` (None when it is missing or not a number) and the other
    fields as sent."""
    value_field = RECORD_CNS[frame.cn]
    backfill = True if frame.backfill else None
    return [
        (
            station_id,
            frame.cn,
            code,
            ts,
            _number(fields.get(value_field)),
            {k: v for k, v in fields.items() if k != value_field},
            received_at,
            backfill,
        )
        for code, fields in frame.values.items()
    ]


#: ingest._copyrows.latest: the same read of a plain body in C (None: not in use)
_LATEST: Final[Callable[[str, frozenset[str]], list[tuple[str, float, str]] | None] | None] = (
    compiled(copyrows_module, "latest")
)
_KNOWN: Final = frozenset(FACTORS)


def latest_values(frame: Frame) -> dict[str, dict[str, Any]]:
    """The latest real-time values of a 2011 frame for ``station_state.latest``:
    ``{"a21026": {"v": 8.0, "f": "N"}}``.  Every real-time frame of a station that sends
    less often than the state is flushed (every 2 s) comes here, so plain bodies are
    read in C (the Python parse costs about 20 µs)."""
    if _LATEST is not None and (found := _LATEST(frame.cp, _KNOWN)) is not None:
        return {code: {"v": value, "f": flag} for code, value, flag in found}
    out: dict[str, dict[str, Any]] = {}
    for code, fields in frame.values.items():
        value = _number(fields.get("Rtd"))
        if value is not None:
            out[code] = {"v": value, "f": fields.get("Flag") or "N"}
    return out


def in_window(ts: datetime, now: datetime, max_age: timedelta, max_future: timedelta) -> bool:
    """Is a DataTime plausible (not older than the retention horizon, not far ahead)?"""
    return now - max_age <= ts <= now + max_future
