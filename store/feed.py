"""The readings feed: committed measurements pushed to listeners (the alert engine, the
web's live view).

The ingest writer sends, inside each batch transaction, ``NOTIFY envgrid_readings``
with the batch's new values — PostgreSQL delivers notifications at COMMIT and only for
committed transactions, in commit order, to every listener.  A payload is at most
:data:`MAX_PAYLOAD` characters (the server's limit is 8000 bytes), so a batch becomes
several notifications.

Payload: ``<kind>|<base64>``, kind ``r`` (real-time 2011), ``m`` (minute 2051), ``h``
(hour 2061) or ``d`` (day 2031).  The base64 text holds columns, little-endian::

    u2 n, u1 k                      values in the payload, distinct flags
    k × (u2 length, UTF-8 bytes)    the flag table (flag code i ≥ 1 is entry i)
    i4[n] station id   i2[n] factor id   f8[n] data time (POSIX s)   f8[n] value
    u1[n] flag code    (0: no flag sent)

Why columns and not text: every committed value crosses this feed, and the alert engine
evaluates it in-stream.  Formatting and splitting text cost 0.5 µs per value in the
writer and 0.7 µs in each listener (bench/alerts.py); packing and unpacking columns is
done by numpy and base64 in C, at a few tens of nanoseconds per value.  PostgreSQL's own
cost is small either way (0.2 µs per value: 8 ms per MB of payload, measured).
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Final, NamedTuple

import numpy as np

__all__ = [
    "KINDS",
    "KIND_CODES",
    "MAX_PAYLOAD",
    "READINGS_CHANNEL",
    "Columns",
    "FeedFormatError",
    "Packed",
    "Reading",
    "decode_arrays",
    "decode_columns",
    "decode_readings",
    "encode_columns",
    "encode_readings",
    "readings_payloads",
]

READINGS_CHANNEL: Final = "envgrid_readings"
MAX_PAYLOAD: Final = 7900
KINDS: Final = frozenset("rmhd")
#: measurement table → kind code of the feed
KIND_CODES: Final = {
    "measurements_rtd": "r",
    "measurements_minute": "m",
    "measurements_hour": "h",
    "measurements_day": "d",
}

_HEAD: Final = struct.Struct("<HB")
_LENGTH: Final = struct.Struct("<H")
_ROW_BYTES: Final = 4 + 2 + 8 + 8 + 1
#: binary bytes that fit in one payload after "<kind>|" and base64's 4/3
_BUDGET: Final = (MAX_PAYLOAD - 2) // 4 * 3
_MAX_ROWS: Final = min(0xFFFF, (_BUDGET - _HEAD.size - 64) // _ROW_BYTES)
#: flags are one letter in HJ 212; anything longer is cut to this in the feed (the
#: database keeps it whole)
MAX_FLAG: Final = 32
#: a batch whose flag table is at most this long shares it across its payloads
_SHARED_TABLE: Final = 512
#: columns of an ``ingest.rows`` measurement row
_STATION, _FACTOR, _TS, _VALUE, _FLAG = (itemgetter(i) for i in (0, 1, 2, 3, 8))


class FeedFormatError(ValueError):
    """A payload that is not in the feed format (the message says what is wrong)."""


@dataclass(frozen=True, slots=True)
class Reading:
    station_id: int
    factor_id: int
    kind: str  # r, m, h, d
    ts: float  # epoch seconds
    value: float
    flag: str | None


@dataclass(frozen=True, slots=True)
class Columns:
    """One payload, decoded: parallel lists (``zip`` them)."""

    kind: str
    stations: list[int]
    factors: list[int]
    ts: list[float]
    values: list[float]
    flags: list[str | None]

    def __len__(self) -> int:
        return len(self.stations)

    def readings(self) -> list[Reading]:
        kind = self.kind
        return [
            Reading(s, f, kind, t, v, flag)
            for s, f, t, v, flag in zip(
                self.stations, self.factors, self.ts, self.values, self.flags, strict=True
            )
        ]


def _flag_table(flags: Sequence[str | None]) -> tuple[int, bytes, bytes] | None:
    """(distinct flags, table bytes, code per value) — None if more than 255 flags."""
    distinct = dict.fromkeys(flags)
    table = [f for f in distinct if f]
    if len(table) > 255:
        return None
    code: dict[str | None, int] = {None: 0, "": 0}
    parts = []
    for i, flag in enumerate(table, start=1):
        code[flag] = i
        data = flag[:MAX_FLAG].encode("utf-8", "backslashreplace")
        parts.append(_LENGTH.pack(len(data)))
        parts.append(data)
    if len(distinct) == 1:  # one flag for every value (nearly always "N"): its code n times
        return len(table), b"".join(parts), bytes([1 if table else 0]) * len(flags)
    return len(table), b"".join(parts), bytes(map(code.__getitem__, flags))


def encode_columns(
    kind: str,
    stations: Sequence[int] | np.ndarray,
    factors: Sequence[int] | np.ndarray,
    ts: Sequence[float] | np.ndarray,
    values: Sequence[float] | np.ndarray,
    flags: Sequence[str | None],
) -> Iterator[str]:
    """Parallel columns → notification payloads (see the module docstring)."""
    if kind not in KINDS:
        raise ValueError(f"feed kind must be one of r, m, h, d, got {kind!r}")
    total = len(stations)
    if not total:
        return
    head = f"{kind}|"
    columns = (
        np.asarray(stations, dtype="<i4"),
        np.asarray(factors, dtype="<i2"),
        np.asarray(ts, dtype="<f8"),
        np.asarray(values, dtype="<f8"),
    )
    shared = _flag_table(flags)  # usually one or two flags: one table for the batch
    if shared is not None and len(shared[1]) <= _SHARED_TABLE:
        k, table, codes = shared
        step = min(_MAX_ROWS, (_BUDGET - _HEAD.size - len(table)) // _ROW_BYTES)
        for start in range(0, total, step):
            end = min(total, start + step)
            yield head + _pack(columns, start, end, k, table, codes[start:end])
        return
    start = 0
    while start < total:
        n = min(total - start, _MAX_ROWS)
        while True:
            end = start + n
            packed = _flag_table(flags[start:end])
            size = _HEAD.size + n * _ROW_BYTES
            if packed is not None and size + len(packed[1]) <= _BUDGET:
                break
            n = max(1, n // 2)  # many or long flags: fewer values per payload
        yield head + _pack(columns, start, end, *packed)
        start = end


def _pack(
    columns: tuple[np.ndarray, ...], start: int, end: int, k: int, table: bytes, codes: bytes
) -> str:
    raw = b"".join((
        _HEAD.pack(end - start, k), table,
        *(c[start:end].tobytes() for c in columns),
        codes,
    ))  # fmt: skip
    return base64.b64encode(raw).decode("ascii")


def encode_readings(
    kind: str,
    rows: Sequence[tuple[int, int, datetime, float, object, object, object, object, str | None]],
) -> Iterator[str]:
    """Measurement rows (``ingest.rows`` layout) → notification payloads."""
    if not rows:
        return
    n = len(rows)
    times = list(map(_TS, rows))  # the rows of a frame share their datetime: few distinct
    epoch = {t: t.timestamp() for t in dict.fromkeys(times)}
    yield from encode_columns(
        kind,
        np.fromiter(map(_STATION, rows), "<i4", n),
        np.fromiter(map(_FACTOR, rows), "<i2", n),
        np.fromiter(map(epoch.__getitem__, times), "<f8", n),
        np.fromiter(map(_VALUE, rows), "<f8", n),
        list(map(_FLAG, rows)),
    )


class Packed(NamedTuple):
    """One payload as arrays (the alert engine's input): ``flags[codes[j]]`` is value
    j's flag."""

    kind: str
    stations: np.ndarray  # int32
    factors: np.ndarray  # int16
    ts: np.ndarray  # float64
    values: np.ndarray  # float64
    codes: np.ndarray  # uint8
    flags: list[str | None]


def decode_arrays(payload: str) -> Packed:
    """A notification payload → its arrays; :class:`FeedFormatError` if malformed."""
    kind, sep, body = payload.partition("|")
    if not sep or kind not in KINDS:
        raise FeedFormatError(
            f"payload does not start with a kind (r, m, h, d) and '|': {payload[:20]!r}"
        )
    try:
        raw = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FeedFormatError(f"payload body is not base64 ({exc})") from None
    if len(raw) < _HEAD.size:
        raise FeedFormatError(f"payload of {len(raw)} bytes has no header")
    n, k = _HEAD.unpack_from(raw)
    pos = _HEAD.size
    table: list[str | None] = [None]
    try:
        for _ in range(k):
            (length,) = _LENGTH.unpack_from(raw, pos)
            table.append(raw[pos + 2 : pos + 2 + length].decode("utf-8"))
            pos += 2 + length
    except (struct.error, UnicodeDecodeError) as exc:
        raise FeedFormatError(f"flag table unreadable ({exc})") from None
    if len(raw) != pos + n * _ROW_BYTES:
        raise FeedFormatError(
            f"payload holds {len(raw) - pos} bytes of columns, {n} values need {n * _ROW_BYTES}"
        )
    stations = np.frombuffer(raw, "<i4", n, pos)
    pos += 4 * n
    factors = np.frombuffer(raw, "<i2", n, pos)
    pos += 2 * n
    ts = np.frombuffer(raw, "<f8", n, pos)
    pos += 8 * n
    values = np.frombuffer(raw, "<f8", n, pos)
    pos += 8 * n
    codes = np.frombuffer(raw, "u1", n, pos)
    if n and int(codes.max()) > k:
        raise FeedFormatError(f"flag code {int(codes.max())} beyond the table of {k}")
    return Packed(kind, stations, factors, ts, values, codes, table)


def decode_columns(payload: str) -> Columns:
    """A notification payload → its columns as lists; :class:`FeedFormatError` if
    malformed."""
    p = decode_arrays(payload)
    return Columns(
        p.kind,
        p.stations.tolist(),
        p.factors.tolist(),
        p.ts.tolist(),
        p.values.tolist(),
        list(map(p.flags.__getitem__, p.codes.tolist())),
    )


def decode_readings(payload: str) -> list[Reading]:
    """A notification payload → readings; :class:`FeedFormatError` if malformed."""
    return decode_columns(payload).readings()


def readings_payloads(
    kind: str, items: Iterable[tuple[int, int, float, float, str | None]]
) -> list[str]:
    """(station, factor, POSIX s, value, flag) tuples → payloads (tests, tools)."""
    cols = list(zip(*items, strict=True)) or [(), (), (), (), ()]
    return list(encode_columns(kind, *cols))
