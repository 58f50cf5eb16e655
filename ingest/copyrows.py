"""Real-time and minute uploads → PostgreSQL binary COPY rows (issue 23).

Theory of operation
-------------------
The batch writer used to parse each frame's CP into dicts (:func:`protocol.parse_cp`),
build a tuple a value (:func:`ingest.rows.measurement_rows`) and let asyncpg encode the
tuples for ``COPY``: a Python object per field of every value, about a third of an
ingest worker's CPU at 10,000 frames/s.  Here a frame of kind 2011 or 2051 becomes, in
one call, what the writer sends and publishes:

``(copy, feed, flags, rows, bad)``
    ``copy`` — the rows as binary COPY tuples (:data:`MEASUREMENT_COLUMNS`, no file
    header); ``feed`` — the rows for the readings feed (:mod:`store.feed`), 22 bytes
    each (:data:`FEED_ROW`: station id, factor id, data time in POSIX seconds, value,
    little-endian); ``flags`` — their Flag texts; ``rows`` and ``bad`` (values that
    were not numbers, left out).

:func:`encode` uses the compiled ``ingest._copyrows`` for the bodies it accepts (plain
ASCII, every code a 2017 code with an id) and :func:`encode_python` for every other
body; both give the same bytes (tests/ingest/test_copyrows.py checks them against each
other).  Without the compiled module (a checkout not installed with ``make setup``,
or ``ENVGRID_NO_EXTENSIONS=1``, as aiohttp's ``AIOHTTP_NO_EXTENSIONS``) everything
takes the Python path.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Final

from protocol import Frame
from protocol.compiled import compiled
from protocol.factors import FACTORS

from .compiled import copyrows as copyrows_module
from .pgtime import PG_EPOCH
from .rows import KIND_TABLES, MeasurementRow, measurement_rows

__all__ = [
    "COMPILED",
    "COPY_HEADER",
    "COPY_TABLES",
    "COPY_TRAILER",
    "FEED_ROW",
    "Encoded",
    "encode",
    "encode_python",
    "encode_rows",
    "pg_microseconds",
]

Encoded = tuple[bytes, bytes, tuple[str | None, ...], int, int]

#: the kinds whose rows go by COPY (hourly and daily values are upserted)
COPY_TABLES: Final = frozenset({"measurements_rtd", "measurements_minute"})
#: binary COPY file header (signature, flags, header extension length) and trailer
COPY_HEADER: Final = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
COPY_TRAILER: Final = b"\xff\xff"

_KNOWN: Final = frozenset(FACTORS)
_START: Final = struct.Struct(">hiiihiqid")  # 9 fields; station_id, factor_id, ts, value
_F8: Final = struct.Struct(">id")
_NULL: Final = b"\xff\xff\xff\xff"
_LENGTH: Final = struct.Struct(">i")
#: one row of :data:`Encoded`'s ``feed``
FEED_ROW: Final = struct.Struct("<ihdd")
_MICROSECOND: Final = timedelta(microseconds=1)


_compiled: Final[Callable[..., Encoded | None] | None] = compiled(copyrows_module, "encode")
#: is the compiled encoder in use?
COMPILED: Final = _compiled is not None


def pg_microseconds(ts: datetime) -> int:
    """An aware datetime → microseconds since 2000-01-01 UTC (binary ``timestamptz``)."""
    return (ts - PG_EPOCH) // _MICROSECOND


def _optional(value: float | None) -> bytes:
    return _NULL if value is None else _F8.pack(8, value)


def encode_rows(rows: Sequence[MeasurementRow], bad: int = 0) -> Encoded:
    """Measurement rows (:data:`ingest.rows.MeasurementRow`) → :data:`Encoded`."""
    parts: list[bytes] = []
    feed: list[bytes] = []
    flags: list[str | None] = []
    for station_id, factor_id, ts, value, vmin, vmax, cou, zs, flag in rows:
        parts.append(_START.pack(9, 4, station_id, 2, factor_id, 8, pg_microseconds(ts), 8, value))
        parts += (_optional(vmin), _optional(vmax), _optional(cou), _optional(zs))
        if flag is None:
            parts.append(_NULL)
        else:
            text = flag.encode("utf-8")
            parts += (_LENGTH.pack(len(text)), text)
        feed.append(FEED_ROW.pack(station_id, factor_id, ts.timestamp(), value))
        flags.append(flag)
    return b"".join(parts), b"".join(feed), tuple(flags), len(flags), bad


def encode_python(
    frame: Frame, station_id: int, ts: datetime, factor_ids: Mapping[str, int]
) -> Encoded:
    """Any upload of kind 2011 / 2051 → :data:`Encoded` (every code must have an id)."""
    rows: list[MeasurementRow] = []
    bad = measurement_rows(frame, station_id, ts, factor_ids.__getitem__, rows)
    return encode_rows(rows, bad)


def encode(
    frame: Frame,
    station_id: int,
    ts: datetime,
    factor_ids: Mapping[str, int],
    at: tuple[int, float] | None = None,
) -> Encoded | None:
    """The compiled path for ``frame`` if it takes it, else None (nothing parsed: the
    caller registers unknown codes and calls :func:`encode_python`).  ``at``:
    ``(pg_microseconds(ts), ts.timestamp())`` when the caller has them."""
    if _compiled is None:
        return None
    _, value_field, zs_field = KIND_TABLES[frame.cn]
    us, seconds = (pg_microseconds(ts), ts.timestamp()) if at is None else at
    return _compiled(
        frame.cp, value_field, zs_field, frame.cn != 2011, station_id, us, seconds,
        factor_ids, _KNOWN,
    )  # fmt: skip
