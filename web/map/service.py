"""The map data: stations with status and current AQI, for 36,000 stations per request.

Theory of operation
-------------------
The map endpoint must answer for 36,000 stations in ≤ 150 ms without its short document
cache (``web.map_cache_s``).  What a station looks like on the map has three parts that
change at very different rates, and :class:`MapState` (one per web process) keeps each
where it is cheapest:

* **Station facts** (id, MN, name, type, coordinates, region, grid, enabled) change when
  somebody edits the registry.  :class:`Registry` holds them as numpy arrays plus one
  pre-serialised JSON array per station, and per filter/scope key the positions of the
  selected stations (the selection is still computed by SQL — ``envgrid_scope_stations``
  — once per registry version).  Migration 0031 makes every change of ``stations`` or
  ``areas`` send ``NOTIFY envgrid_registry``; the live hub's LISTEN connection calls
  :meth:`MapState.invalidate`, as do this process's own registry edits; a registry older
  than :data:`REGISTRY_MAX_AGE_S` is rebuilt anyway.
* **Live state** (last data received, online, the data time of the latest values) is read
  on every request: one scan of ``station_state`` returning four binary arrays.
* **Current AQI** (``web.map.aqi.current_aqi``: the last complete hour's official hourly
  values, else fresh real-time values) is memoised per station under the key (latest-
  values stamp, fresh); the hourly values of the last complete hour are one query per
  refresh (:class:`HourlyAqi`, every ``web.hourly_aqi_refresh_s`` and when the hour
  changes, in the background after the first) and a refresh invalidates only the
  stations whose hourly values changed.  The latest values (jsonb) are fetched only for
  stations whose stamp moved.

The document itself (columnar JSON) is built by :mod:`web.map.document`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

import asyncpg
import numpy as np
import orjson

from aggregates.analysis import outside_plan
from web.settings import WebConfig

from . import queries
from .aqi import AIR_FACTORS, StationAqi, current_aqi, evaluator

__all__ = ["AqiCells", "HourlyAqi", "MapState", "Registry", "last_complete_hour"]

log = logging.getLogger("envgrid.web.map")

#: Rebuild the station facts at least this often even without a NOTIFY (seconds).
REGISTRY_MAX_AGE_S: Final = 300.0

AqiCells = tuple[int | None, int | None, str, tuple[str, ...], str | None]


def last_complete_hour(now: datetime) -> datetime:
    """Start of the hour before the current one (UTC; whole-hour zones agree)."""
    return now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)


def _cells(result: StationAqi) -> AqiCells:
    return (result.aqi, result.level, result.color, result.primary, result.basis)


@dataclass(slots=True)
class Registry:
    version: int
    built_at: float
    ids: np.ndarray
    enabled: np.ndarray
    rows: list[bytes]
    selections: dict[tuple[object, ...], np.ndarray] = field(default_factory=dict)
    joined: dict[tuple[object, ...], bytes] = field(default_factory=dict)

    def lookup(self, station_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(positions of the known ids, which of ``station_ids`` are known)."""
        if not self.ids.size or not station_ids.size:
            return np.empty(0, dtype=np.int64), np.zeros(station_ids.size, dtype=np.bool_)
        pos = np.minimum(np.searchsorted(self.ids, station_ids), self.ids.size - 1)
        known: np.ndarray = self.ids[pos] == station_ids
        return pos[known], known

    def positions(self, station_ids: np.ndarray) -> np.ndarray:
        """Positions of the given station ids (ids unknown to the registry dropped)."""
        return self.lookup(station_ids)[0]


@dataclass(slots=True)
class HourlyAqi:
    """The official hourly values of the last complete hour (station → code → value) and,
    for the stations whose values give an AQI, that AQI's cell (``current_aqi`` returns it
    whatever the real-time values are)."""

    hour: datetime | None = None
    values: dict[int, dict[str, float]] = field(default_factory=dict)
    cells: dict[int, int] = field(default_factory=dict)
    table_id: str = ""
    version: int = 0
    refreshed_at: float = 0.0
    task: asyncio.Task[None] | None = None
    factor_codes: dict[int, str] = field(default_factory=dict)


@dataclass(slots=True)
class MapState:
    """Per-process memory of the map (see the module docstring)."""

    registry: Registry | None = None
    registry_version: int = 0
    hourly: HourlyAqi = field(default_factory=HourlyAqi)
    #: per registry position: the memo key (stamp, fresh) and the AQI cell index
    memo_stamp: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    memo_fresh: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.bool_))
    memo_cell: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    memo_table: str = ""
    #: station → AQI pollutants outside its monitoring plan (HJ 633—2026 §5.3.2)
    plans: dict[int, frozenset[str]] = field(default_factory=dict)
    #: per registry position: the hourly AQI cell (-1: none), for (registry, version)
    hour_cell: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    hour_cell_of: tuple[int, int] = (-1, -1)
    #: station → (stamp, station_state.latest) of the last fetch
    latest: dict[int, tuple[int, Mapping[str, Any]]] = field(default_factory=dict)
    cells: list[AqiCells] = field(default_factory=list)
    cell_index: dict[AqiCells, int] = field(default_factory=dict)
    hits: int = 0
    misses: int = 0
    #: (scope, filters) → (monotonic time, document) of recent answers (web.map_cache_s)
    documents: dict[tuple[object, ...], tuple[float, bytes]] = field(default_factory=dict)
    #: held by one document computation at a time (they share the memo)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    # -- the document cache -------------------------------------------------------------
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

    # -- station facts ------------------------------------------------------------------
    def invalidate(self, *_: object) -> None:
        """The registry changed (NOTIFY envgrid_registry, a registry edit, a reconnect)."""
        self.registry_version += 1
        self.documents.clear()

    async def ensure_registry(self, conn: asyncpg.Connection) -> Registry:
        reg = self.registry
        if (
            reg is not None
            and reg.version == self.registry_version
            and time.monotonic() - reg.built_at < REGISTRY_MAX_AGE_S
        ):
            return reg
        version = self.registry_version
        rows = await queries.registry(conn)
        ids = np.fromiter((r["id"] for r in rows), dtype=np.int64, count=len(rows))
        enabled = np.fromiter((r["enabled"] for r in rows), dtype=np.bool_, count=len(rows))
        facts = [
            orjson.dumps(
                [
                    r["id"],
                    r["mn"],
                    r["name"],
                    r["st"],
                    round(r["lat"], 6),  # ≈ 0.1 m: shorter JSON than the full float
                    round(r["lon"], 6),
                    r["region"],
                    r["grid_id"],
                ]
            )
            for r in rows
        ]
        plans = {r["id"]: p for r in rows if (p := outside_plan(r["expected_factors"]))}
        old = self.registry
        reg = Registry(version, time.monotonic(), ids, enabled, facts)
        self._carry_memo(old, reg)
        if plans != self.plans:  # a changed plan changes AQIs whose values did not change
            self.plans = plans
            self.memo_stamp[:] = -1
            self.hourly.table_id = ""  # recompute every hourly AQI, as for a new table
        self.registry = reg
        return reg

    def _carry_memo(self, old: Registry | None, new: Registry) -> None:
        """Keep the AQI memo of stations that are still there."""
        n = new.ids.size
        stamp = np.full(n, -1, dtype=np.int64)
        fresh = np.zeros(n, dtype=np.bool_)
        cell = np.zeros(n, dtype=np.int64)
        if old is not None and old.ids.size and self.memo_stamp.size == old.ids.size:
            src = np.searchsorted(old.ids, new.ids)
            src = np.minimum(src, old.ids.size - 1)
            same = old.ids[src] == new.ids
            stamp[same] = self.memo_stamp[src[same]]
            fresh[same] = self.memo_fresh[src[same]]
            cell[same] = self.memo_cell[src[same]]
        self.memo_stamp, self.memo_fresh, self.memo_cell = stamp, fresh, cell

    async def selection(
        self,
        conn: asyncpg.Connection,
        reg: Registry,
        scope: list[int] | None,
        st: str | None,
        region: str | None,
        area: int | None,
    ) -> tuple[tuple[object, ...], np.ndarray]:
        key = (tuple(scope) if scope is not None else None, st, region, area)
        found = reg.selections.get(key)
        if found is None:
            ids = await queries.selection(conn, scope, st=st, region=region, area=area)
            found = reg.positions(ids)
            if len(reg.selections) > 512:
                reg.selections.clear()
                reg.joined.clear()
            reg.selections[key] = found
        return key, found

    # -- hourly values of the last complete hour ----------------------------------------
    async def ensure_hourly(
        self, pool: asyncpg.Pool, settings: WebConfig, now: datetime, today: date
    ) -> None:
        """Current hourly values: computed inline the first time (and always when
        ``web.hourly_aqi_refresh_s`` is 0), else refreshed in the background when the
        hour changed or they are older than that."""
        hour = last_complete_hour(now)
        refresh_s = settings.web.hourly_aqi_refresh_s
        h = self.hourly
        if h.hour is None or refresh_s <= 0 or h.table_id != evaluator(today).table.id:
            await self._refresh_hourly(pool, settings, hour, today)
            return
        stale = h.hour != hour or time.monotonic() - h.refreshed_at > refresh_s
        if stale and (h.task is None or h.task.done()):
            h.task = asyncio.create_task(self._refresh_background(pool, settings, hour, today))

    async def _refresh_background(
        self, pool: asyncpg.Pool, settings: WebConfig, hour: datetime, today: date
    ) -> None:
        try:
            await self._refresh_hourly(pool, settings, hour, today)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the old values stay; retried at the next request
            log.warning("map: could not refresh the hourly values of %s: %s", hour, exc)
            self.hourly.refreshed_at = time.monotonic()

    async def _refresh_hourly(
        self, db: asyncpg.Pool, settings: WebConfig, hour: datetime, today: date
    ) -> None:
        h = self.hourly
        if not h.factor_codes:
            h.factor_codes = await queries.air_factor_ids(db, list(AIR_FACTORS))
        row = await queries.hourly(db, hour, list(h.factor_codes))
        values: dict[int, dict[str, float]] = {}
        codes = h.factor_codes
        for sid, fid, value in zip(row["stations"], row["factors"], row["values"], strict=True):
            values.setdefault(sid, {})[codes[fid]] = value
        table_id = evaluator(today).table.id
        old = h.values if h.table_id == table_id else {}
        changed = [sid for sid in values.keys() | old.keys() if values.get(sid) != old.get(sid)]
        cells = dict(h.cells) if h.table_id == table_id else {}
        factors = settings.aggregates.unit_factors
        for sid in changed:
            result = current_aqi(
                values.get(sid),
                None,
                today,
                fresh=False,
                unit_factors=factors,
                not_monitored=self.plans.get(sid, ()),
            )
            if result.aqi is None:
                cells.pop(sid, None)
            else:
                cells[sid] = self._cell_id(_cells(result))
        h.hour, h.values, h.cells, h.table_id = hour, values, cells, table_id
        h.refreshed_at = time.monotonic()
        if changed or not h.version:
            h.version += 1
        reg = self.registry
        if changed and reg is not None and self.memo_stamp.size == reg.ids.size:
            self.memo_stamp[reg.positions(np.asarray(sorted(changed), dtype=np.int64))] = -1

    def hourly_of(self, station_id: int, hour: datetime) -> dict[str, float] | None:
        """The cached hourly values of one station when they are those of ``hour``."""
        h = self.hourly
        if h.hour != hour:
            return None
        return h.values.get(station_id, {})

    async def close(self) -> None:
        task = self.hourly.task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- AQI cells ----------------------------------------------------------------------
    def _cell_id(self, cells: AqiCells) -> int:
        found = self.cell_index.get(cells)
        if found is None:
            found = self.cell_index[cells] = len(self.cells)
            self.cells.append(cells)
        return found

    def _hour_cells(self, reg: Registry) -> np.ndarray:
        """The hourly AQI cell of every registry position (-1: none)."""
        h = self.hourly
        key = (id(reg), h.version)
        if self.hour_cell_of != key or self.hour_cell.size != reg.ids.size:
            cell = np.full(reg.ids.size, -1, dtype=np.int64)
            if h.cells:
                sids = np.fromiter(h.cells.keys(), dtype=np.int64, count=len(h.cells))
                ids = np.fromiter(h.cells.values(), dtype=np.int64, count=len(h.cells))
                at, known = reg.lookup(sids)
                cell[at] = ids[known]
            self.hour_cell, self.hour_cell_of = cell, key
        return self.hour_cell

    async def aqi_cells(
        self,
        conn: asyncpg.Connection,
        reg: Registry,
        positions: np.ndarray,
        stamps: np.ndarray,
        fresh: np.ndarray,
        today: date,
        unit_factors: Mapping[str, float],
    ) -> np.ndarray:
        """AQI cell index of each selected station (``stamps``/``fresh`` aligned with the
        registry): the hourly AQI where the last complete hour gives one, else
        ``current_aqi`` of the real-time values, recomputed only where they changed."""
        ev = evaluator(today)
        if self.memo_table != ev.table.id:
            self.memo_stamp[:] = -1
            self.memo_table = ev.table.id
        no_data = self._cell_id(_cells(ev.no_data))
        hour = self._hour_cells(reg)[positions]
        active = reg.enabled[positions]
        sel_stamp, sel_fresh = stamps[positions], fresh[positions]
        stale_mask = (
            active
            & (hour < 0)
            & (
                (self.memo_stamp[positions] != sel_stamp)
                | (self.memo_fresh[positions] != sel_fresh)
            )
        )
        stale = positions[stale_mask]
        self.misses += int(stale.size)
        self.hits += int(positions.size - stale.size)
        if stale.size:
            await self._recompute(conn, reg, stale, stamps, fresh, today, unit_factors)
        out: np.ndarray = np.where(
            active, np.where(hour >= 0, hour, self.memo_cell[positions]), no_data
        )
        return out

    async def _recompute(
        self,
        conn: asyncpg.Connection,
        reg: Registry,
        stale: np.ndarray,
        stamps: np.ndarray,
        fresh: np.ndarray,
        today: date,
        unit_factors: Mapping[str, float],
    ) -> None:
        hourly = self.hourly.values
        need = []
        for p in stale.tolist():
            if not fresh[p]:
                continue  # the rule ignores stale real-time values
            sid = int(reg.ids[p])
            hit = self.latest.get(sid)
            if hit is None or hit[0] != stamps[p]:
                need.append(sid)
        if need:
            for r in await queries.latest_of(conn, need):
                self.latest[r["station_id"]] = (r["stamp"], r["latest"] or {})
        for p in stale.tolist():
            sid = int(reg.ids[p])
            is_fresh = bool(fresh[p])
            hit = self.latest.get(sid) if is_fresh else None
            result = current_aqi(
                hourly.get(sid),
                hit[1] if hit is not None else None,
                today,
                fresh=is_fresh,
                unit_factors=unit_factors,
                not_monitored=self.plans.get(sid, ()),
            )
            self.memo_cell[p] = self._cell_id(_cells(result))
            self.memo_stamp[p] = stamps[p]
            self.memo_fresh[p] = is_fresh
