"""The map data: stations with status and current AQI, columnar for 36,000 stations.

Theory of operation
-------------------
The map endpoint must answer for 36,000 stations in ≤ 150 ms.  It runs one query for
the stations (coordinates, status, ``last_data_time`` — no jsonb), then fetches
``station_state.latest`` only for online stations whose ``last_data_time`` differs
from the one remembered in :class:`MapCache` (the current AQI of a station changes
only when its latest values do), computes their AQI (``web.map.aqi``) and remembers it.
The answer is columnar (``columns`` + ``rows`` of arrays): a third of the bytes of
per-station objects.  Latest values for the popup come from the station endpoint.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Final

import asyncpg

from web.responses import dumps

from . import queries
from .aqi import StationAqi, evaluator

__all__ = ["COLUMNS", "MapCache", "map_payload"]

#: Columns of ``rows`` (built by PostgreSQL) followed by those of ``aqi`` (Python).
ROW_COLUMNS: Final = (
    "id",
    "mn",
    "name",
    "st",
    "lat",
    "lon",
    "region",
    "grid_id",
    "status",
    "last_data_at",
)
AQI_COLUMNS: Final = ("aqi", "level", "color", "primary")
COLUMNS: Final = ROW_COLUMNS + AQI_COLUMNS
STATUSES: Final = ("online", "offline", "disabled")

AqiCells = tuple[int | None, int | None, str, tuple[str, ...]]


@dataclass(slots=True)
class MapCache:
    """station id → (table id, data stamp, AQI cells) of the last computation."""

    entries: dict[int, tuple[str, int, AqiCells]] = field(default_factory=dict)
    hits: int = 0
    misses: int = 0
    #: (scope, filters) → (monotonic time, document) of recent answers (web.map_cache_s)
    documents: dict[tuple[object, ...], tuple[float, bytes]] = field(default_factory=dict)

    def recent(self, key: tuple[object, ...], max_age_s: float) -> bytes | None:
        hit = self.documents.get(key)
        if hit is None or time.monotonic() - hit[0] > max_age_s:
            return None
        return hit[1]

    def remember(self, key: tuple[object, ...], document: bytes) -> None:
        now = time.monotonic()
        if len(self.documents) > 256:
            self.documents = {k: v for k, v in self.documents.items() if now - v[0] < 60}
        self.documents[key] = (now, document)


def _cells(result: StationAqi) -> AqiCells:
    return (result.aqi, result.level, result.color, result.primary)


async def map_payload(
    conn: asyncpg.Connection,
    cache: MapCache,
    *,
    scope: list[int] | None,
    online_window_s: int,
    today: date,
    st: str | None = None,
    region: str | None = None,
    area: int | None = None,
    status: str | None = None,
) -> bytes:
    """The map document as JSON bytes: ``columns``, ``rows`` (station facts, one array
    per station) and ``aqi`` (the AQI cells of each row, same order) + counts, legend."""
    data = await queries.map_rows(
        conn, scope, online_window_s, st=st, region=region, area=area, status=status
    )
    aqi = evaluator(today)
    table_id = aqi.table.id
    entries = cache.entries
    ids: list[int] = data["ids"]
    stamps: list[int | None] = data["stamps"]
    stale = [
        sid
        for sid, stamp in zip(ids, stamps, strict=True)
        if stamp is not None
        and ((hit := entries.get(sid)) is None or hit[0] != table_id or hit[1] != stamp)
    ]
    if stale:
        cache.misses += len(stale)
        for lr in await queries.latest_of(conn, stale):
            if lr["stamp"] is not None:
                entries[lr["station_id"]] = (
                    table_id,
                    lr["stamp"],
                    _cells(aqi.of_latest(lr["latest"])),
                )
    cache.hits += len(ids) - len(stale)
    none = _cells(aqi.no_data)
    cells = [
        none if stamp is None or (hit := entries.get(sid)) is None else hit[2]
        for sid, stamp in zip(ids, stamps, strict=True)
    ]
    head = {
        "columns": COLUMNS,
        "counts": {
            "online": data["online"],
            "offline": data["offline"],
            "disabled": data["disabled"],
        },
        "legend": aqi.legend,
        "no_data": {"label": aqi.table.no_data.label, "color": aqi.table.no_data.hex},
        "standard": aqi.table.code,
        "aqi_rule": "实时报：最新实时数据按 1 小时浓度计算（HJ 633-2012）",
        "generated_at": datetime.now(UTC),
    }
    rows_json: str = data["rows"]
    return dumps(head)[:-1] + b',"rows":' + rows_json.encode() + b',"aqi":' + dumps(cells) + b"}"
