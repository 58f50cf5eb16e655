"""The map document: the stations of a request as columnar JSON, from :class:`MapState`.

The document is columnar: ``rows`` (the facts, in ``columns`` order), ``cell`` (per row an
index into ``cells``, the distinct (status, AQI, level, colour, primary pollutants, basis)
combinations) and ``last_data_at`` (epoch seconds, 0 = never), plus counts and legend.
How the parts are kept current is told in :mod:`web.map.service`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Final

import asyncpg
import numpy as np
import orjson

from web.responses import dumps
from web.settings import WebConfig
from web.standards import unverified_notes

from . import queries
from .aqi import evaluator
from .service import AqiCells, MapState

__all__ = ["CELL_COLUMNS", "COLUMNS", "STATUSES", "map_payload"]

#: Columns of ``rows``.
COLUMNS: Final = ("id", "mn", "name", "st", "lat", "lon", "region", "grid_id")
#: Columns of ``cells``.
CELL_COLUMNS: Final = ("status", "aqi", "level", "color", "primary", "basis")
STATUSES: Final = ("online", "offline", "disabled")
_DISABLED: Final = 2
#: Above this many selected stations the live state is read for every station.
_SOME_STATIONS: Final = 2000
_OPTIONS: Final = orjson.OPT_SERIALIZE_NUMPY


async def map_payload(
    pool: asyncpg.Pool,
    conn: asyncpg.Connection,
    state: MapState,
    settings: WebConfig,
    *,
    scope: list[int] | None,
    today: date,
    st: str | None = None,
    region: str | None = None,
    area: int | None = None,
    status: str | None = None,
    cache_key: tuple[object, ...] | None = None,
) -> bytes:
    """The map document as JSON bytes (see the module docstring).  With ``cache_key``, a
    document computed while this call waited for the lock (``web.map_cache_s``) is reused
    and the new one remembered."""
    web = settings.web
    async with state.lock:  # one computation at a time: they share the memo
        if cache_key is not None and web.map_cache_s:
            recent = state.recent(cache_key, web.map_cache_s)
            if recent is not None:
                return recent
        now = datetime.now(UTC)
        reg = await state.ensure_registry(conn)
        key, positions = await state.selection(conn, reg, scope, st, region, area)
        await state.ensure_hourly(pool, settings, now, today)
        n = reg.ids.size
        wanted = None if positions.size > _SOME_STATIONS else reg.ids[positions].tolist()
        ids, seen, stamps, fresh = await queries.live_state(conn, web.online_window_s, wanted)
        at, known = reg.lookup(ids)
        full_seen = np.zeros(n, dtype=np.int64)
        full_stamp = np.zeros(n, dtype=np.int64)
        full_fresh = np.zeros(n, dtype=np.bool_)
        if at.size:
            full_seen[at] = seen[known]
            full_stamp[at] = stamps[known]
            full_fresh[at] = fresh[known]
        status_code = np.where(reg.enabled, np.where(full_fresh, 0, 1), _DISABLED)
        cell = await state.aqi_cells(
            conn,
            reg,
            positions,
            full_stamp,
            full_fresh,
            today,
            settings.aggregates.unit_factors,
        )
        sel_status = status_code[positions]
        counts = np.bincount(sel_status, minlength=3) if positions.size else np.zeros(3, int)
        if status is not None:
            keep = sel_status == STATUSES.index(status)
            positions, cell, sel_status = positions[keep], cell[keep], sel_status[keep]
            rows_json = b"[" + b",".join([reg.rows[p] for p in positions.tolist()]) + b"]"
        else:
            rows_json = reg.joined.get(key) or b""
            if not rows_json:
                rows_json = b"[" + b",".join([reg.rows[p] for p in positions.tolist()]) + b"]"
                reg.joined[key] = rows_json
        combined = sel_status * len(state.cells) + cell
        uniq, inverse = (
            np.unique(combined, return_inverse=True)
            if combined.size
            else (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))
        )
        width = len(state.cells)
        palette = [
            [STATUSES[int(c) // width], *_cell_json(state.cells[int(c) % width])]
            for c in uniq.tolist()
        ]
        hour = state.hourly.hour
    ev = evaluator(today)
    head = {
        "columns": COLUMNS,
        "cell_columns": CELL_COLUMNS,
        "counts": {"online": int(counts[0]), "offline": int(counts[1]), "disabled": int(counts[2])},
        "legend": ev.legend,
        "no_data": {"label": ev.table.no_data.label, "color": ev.table.no_data.hex},
        "standard": ev.table.code,
        "aqi_rule": f"实时报（{ev.table.code}）：上一完整小时的小时均值；"
        "该小时无有效数据时用最新实时数据",
        "hour": hour,
        "unverified": unverified_notes(today, ("aqi",), None),
        "generated_at": now,
        "cells": palette,
    }
    document = (
        dumps(head)[:-1]
        + b',"rows":'
        + rows_json
        + b',"cell":'
        + orjson.dumps(inverse.astype(np.int64).reshape(-1), option=_OPTIONS)
        + b',"last_data_at":'
        + orjson.dumps(full_seen[positions], option=_OPTIONS)
        + b"}"
    )
    if cache_key is not None and web.map_cache_s:
        state.remember(cache_key, document)
    return document


def _cell_json(cells: AqiCells) -> list[Any]:
    aqi, level, color, primary, basis = cells
    return [aqi, level, color, list(primary), basis]
