"""The readings feed: committed measurements pushed to listeners (the alert engine).

The ingest writer sends, inside each batch transaction, ``NOTIFY envgrid_readings``
with the batch's new values — PostgreSQL delivers notifications at COMMIT and
only for committed transactions, in commit order, to every listener.  A
payload is at most :data:`MAX_PAYLOAD` bytes (the server's limit is 8000), so
a batch becomes several notifications.

Payload: ``<kind>|<station>,<factor>,<epoch>,<value>,<flag>;…`` with kind
``r`` (real-time 2011), ``m`` (minute 2051), ``h`` (hour 2061), ``d`` (day
2031); epoch in seconds (UTC); an empty flag means none was sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Final

__all__ = [
    "KIND_CODES",
    "MAX_PAYLOAD",
    "READINGS_CHANNEL",
    "Reading",
    "decode_readings",
    "encode_readings",
]

READINGS_CHANNEL: Final = "envgrid_readings"
MAX_PAYLOAD: Final = 7900
#: measurement table → kind code of the feed
KIND_CODES: Final = {
    "measurements_rtd": "r",
    "measurements_minute": "m",
    "measurements_hour": "h",
    "measurements_day": "d",
}


@dataclass(frozen=True, slots=True)
class Reading:
    station_id: int
    factor_id: int
    kind: str  # r, m, h, d
    ts: float  # epoch seconds
    value: float
    flag: str | None


def encode_readings(
    kind: str,
    rows: Iterable[tuple[int, int, datetime, float, object, object, object, object, str | None]],
) -> Iterator[str]:
    """Measurement rows (``ingest.rows`` layout) → notification payloads."""
    head = f"{kind}|"
    parts: list[str] = []
    size = len(head)
    last_ts: object = None
    epoch = ""
    for row in rows:
        ts = row[2]
        if ts is not last_ts:  # the rows of one frame share their datetime object
            last_ts = ts
            epoch = f"{ts.timestamp():.0f}"
        item = f"{row[0]},{row[1]},{epoch},{row[3]!r},{row[8] or ''}"
        if size + len(item) + 1 > MAX_PAYLOAD and parts:
            yield head + ";".join(parts)
            parts = []
            size = len(head)
        parts.append(item)
        size += len(item) + 1
    if parts:
        yield head + ";".join(parts)


def decode_readings(payload: str) -> list[Reading]:
    """A notification payload → readings (malformed items are skipped)."""
    kind, _, body = payload.partition("|")
    out = []
    for item in body.split(";"):
        fields = item.split(",")
        if len(fields) != 5:
            continue
        try:
            out.append(
                Reading(
                    int(fields[0]),
                    int(fields[1]),
                    kind,
                    float(fields[2]),
                    float(fields[3]),
                    fields[4] or None,
                )
            )
        except ValueError:
            continue
    return out
