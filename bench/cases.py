"""Case-module scale benchmark: 1,000 grids and 100,000 cases.

``python -m bench.cases`` (private embedded PostgreSQL in a temporary directory, removed
afterwards) or ``python -m bench.cases --dsn postgresql://admin@host/postgres`` (a DSN
allowed to CREATE DATABASE: a scratch database ``bench_cases_<random>`` is created,
migrated and dropped).  Generates the area hierarchy (1 city, 10 districts, 50 streets,
200 communities, 1,000 grid cells with polygons), 30 units, ~1,100 people and 100,000
cases spread over the last year in realistic states (~15 % open, 3 % 挂账, 2 % 作废, the
rest closed/archived; ~10 % overdue, ~5 % reworked), loaded with binary COPY.

Then it times, through the real service functions, with warm caches:

* the case board (:func:`web.casework.cases.service.case_board`, page of 50 + total count) for
  the usual filters: everything open, a district's scope, one grid, a state + unit, overdue
  only, a deep page, a text search — target ≤ 100 ms;
* a month's assessment (:func:`web.casework.cases.assessment.assessment`) per unit, grid, person,
  district and in total — target ≤ 1 s;
* what the pages read (round 2): the board page (six columns of 20 + the counters, as
  ``GET /api/v1/cases/board``), a unit's "my cases", a district's grid detail — ≤ 100 ms;
  the grid map's layers (1,000 polygons + every open case) — ≤ 500 ms.

Prints a table and writes JSON with ``--json FILE``.  Exit status 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from bench.db import private_database
from store.db import connect
from web.casework.cases.assessment import assessment
from web.casework.cases.board import (
    BoardFilter,
    actionable_states,
    board_columns,
    board_counts,
    case_board,
)
from web.casework.cases.workflow import Switches
from web.casework.grid.views import area_detail, grid_map
from web.casework.kernel.people import Role
from web.casework.kernel.settings import DEFAULT_LEVEL_NAMES

TZ = ZoneInfo("Asia/Shanghai")
BOARD_TARGET_MS = 100.0
ASSESS_TARGET_MS = 1000.0
#: The grid map is one request per page view: every grid polygon and open case.
MAP_TARGET_MS = 500.0
OPEN_STATES = ["reported", "accepted", "filed", "dispatched", "handling", "feedback",
               "checking", "closing", "returned", "extension_requested"]  # fmt: skip
TUNING = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
          "shared_buffers": "256MB", "log_min_duration_statement": "-1"}  # fmt: skip


def _square(x0: float, y0: float, size: float) -> dict[str, Any]:
    ring = [[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


async def populate(
    conn: asyncpg.Connection, n_cases: int, n_grids: int, seed: int
) -> dict[str, Any]:
    """Areas, units, people and cases; returns ids the queries need."""
    rng = random.Random(seed)
    per = {2: 10, 3: 5, 4: 4}  # children per parent at each level
    area_rows: list[tuple[Any, ...]] = []
    next_id = 1
    area_rows.append((next_id, None, 1, "C0", "全市", None))
    levels: dict[int, list[int]] = {1: [next_id]}
    for level in (2, 3, 4):
        levels[level] = []
        for parent in levels[level - 1]:
            for _ in range(per[level]):
                next_id += 1
                levels[level].append(next_id)
                area_rows.append((next_id, parent, level, f"L{level}-{next_id}",
                                  f"{level}级区域{next_id}", None))  # fmt: skip
    levels[5] = []
    communities = levels[4]
    for g in range(n_grids):
        next_id += 1
        levels[5].append(next_id)
        col, row = g % 40, g // 40
        area_rows.append(
            (
                next_id,
                communities[g * len(communities) // n_grids],
                5,
                f"G{g:04d}",
                f"网格{g:04d}",
                _square(120.0 + col * 0.01, 30.0 + row * 0.01, 0.01),
            )
        )
    await conn.copy_records_to_table(
        "areas", records=area_rows,
        columns=["id", "parent_id", "level", "code", "name", "boundary"],
    )  # fmt: skip
    await conn.execute("SELECT setval(pg_get_serial_sequence('areas', 'id'), $1)", next_id)

    units = [(u + 1, f"U{u:02d}", f"责任单位{u:02d}") for u in range(30)]
    await conn.copy_records_to_table("grid_units", records=units, columns=["id", "code", "name"])
    people: list[tuple[Any, ...]] = [(1, "值班员", "officer", None)]
    handlers: dict[int, list[int]] = {}
    pid = 1
    for unit_id, _, _ in units:
        for _ in range(2):
            pid += 1
            people.append((pid, f"处置员{pid}", "unit", unit_id))
            handlers.setdefault(unit_id, []).append(pid)
    members = []
    for _ in levels[5]:
        pid += 1
        people.append((pid, f"网格员{pid}", "grid_member", None))
        members.append(pid)
    await conn.copy_records_to_table(
        "grid_people", records=people, columns=["id", "name", "role", "unit_id"]
    )
    await conn.copy_records_to_table(
        "area_people", records=[(g, m, "member") for g, m in zip(levels[5], members, strict=True)],
        columns=["area_id", "person_id", "duty"],
    )  # fmt: skip
    district_unit = {d: units[i % len(units)][0] for i, d in enumerate(levels[2])}
    await conn.copy_records_to_table(
        "area_units", records=[(d, "*", u) for d, u in district_unit.items()],
        columns=["area_id", "category", "unit_id"],
    )  # fmt: skip

    now = datetime.now(TZ).replace(microsecond=0)
    categories = ["env.exceedance", "env.offline", "complaint.air", "complaint.noise",
                  "complaint.water", "complaint.waste", "patrol.hazard", "other"]  # fmt: skip
    sources = {"env.exceedance": "alert", "env.offline": "alert", "patrol.hazard": "hazard"}
    records = []
    for i in range(1, n_cases + 1):
        reported = now - timedelta(seconds=rng.randrange(365 * 86400))
        grid_index = rng.randrange(len(levels[5]))
        grid_id = levels[5][grid_index]
        lon = 120.0 + (grid_index % 40) * 0.01 + rng.uniform(0.001, 0.009)
        lat = 30.0 + (grid_index // 40) * 0.01 + rng.uniform(0.001, 0.009)
        unit_id = rng.choice(units)[0]
        category = rng.choice(categories)
        roll = rng.random()
        handle_deadline = reported + timedelta(hours=rng.choice((8, 24, 72, 120)))
        dispatched = reported + timedelta(minutes=rng.randrange(10, 240))
        overdue = rng.random() < 0.10
        rework = 1 if rng.random() < 0.05 else 0
        closed: datetime | None = None
        hung: datetime | None = None
        ended: datetime | None = None
        deadline: datetime | None = None
        stage: str | None = None
        dispatched_at: datetime | None = dispatched
        if roll < 0.15:
            state = rng.choice(OPEN_STATES)
            deadline = now + timedelta(hours=rng.uniform(-48, 96))
            stage = "handle"
            if state in ("reported", "accepted", "filed"):
                dispatched_at = None
        elif roll < 0.18:
            state, hung = "hung", reported + timedelta(days=1)
        elif roll < 0.20:
            state, ended, dispatched_at = "cancelled", reported + timedelta(hours=2), None
        else:
            state = "archived" if rng.random() < 0.8 else "closed"
            closing = handle_deadline + timedelta(hours=rng.uniform(-60, 24 if overdue else -1))
            closed = max(closing, dispatched + timedelta(minutes=30))
        if dispatched_at is None or state == "cancelled":
            assess_at = None
        elif state == "hung":
            assess_at = hung
        elif closed is not None:
            assess_at = min(closed, handle_deadline)
        else:
            assess_at = handle_deadline
        handler = rng.choice(handlers[unit_id]) if dispatched_at else None
        records.append((
            i, f"BJ{i:08d}", f"案件{i} {category}", category, category == "env.exceedance",
            sources.get(category, rng.choice(("complaint", "manual"))), state, grid_id,
            unit_id if dispatched_at else None, handler, stage, deadline, handle_deadline,
            overdue, rework, reported, dispatched_at, hung, closed, ended, assess_at, lat, lon,
        ))  # fmt: skip
    await conn.copy_records_to_table(
        "cases", records=records,
        columns=["id", "code", "title", "category", "urgent", "source", "state", "grid_id",
                 "unit_id", "handler_person_id", "stage", "deadline", "handle_deadline",
                 "handle_overdue", "rework_count", "reported_at", "dispatched_at", "hung_at",
                 "closed_at", "ended_at", "assess_at", "lat", "lon"],
    )  # fmt: skip
    await conn.execute("SELECT setval(pg_get_serial_sequence('cases', 'id'), $1)", n_cases)
    await conn.execute("ANALYZE")
    return {"now": now, "districts": levels[2], "grids": levels[5], "units": [u[0] for u in units]}


async def _time(fn: Callable[[], Awaitable[Any]], repeat: int) -> dict[str, float]:
    await fn()  # warm-up (plans, caches)
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(samples[min(len(samples) - 1, int(len(samples) * 0.95))], 2),
        "max_ms": round(samples[-1], 2),
    }


async def measure(
    conn: asyncpg.Connection, ids: dict[str, Any], repeat: int
) -> list[dict[str, Any]]:
    now: datetime = ids["now"]
    district, grid_id, unit = ids["districts"][3], ids["grids"][500], ids["units"][7]
    boards = {
        "board: open cases, page 1": BoardFilter(),
        "board: district scope": BoardFilter(scope=(district,)),
        "board: one grid": BoardFilter(scope=(grid_id,)),
        "board: state=handling + unit": BoardFilter(states=("handling",), unit_id=unit),
        "board: overdue only": BoardFilter(overdue_only=True),
        "board: all states, page 101": BoardFilter(open=None, offset=5000),
        "board: text search": BoardFilter(open=None, search="案件4242"),
    }
    results = []
    for name, f in boards.items():

        async def run(f: BoardFilter = f) -> None:
            await case_board(conn, f, now=now)

        results.append({"query": name, "target_ms": BOARD_TARGET_MS, **await _time(run, repeat)})
    unit_states = actionable_states(Role.UNIT, Switches())

    async def columns(scope: tuple[int, ...] | None) -> None:
        f = BoardFilter(scope=scope)
        counts = await board_counts(conn, f, now=now)
        await board_columns(conn, f, now=now, per_column=20, counts=counts)

    web_reads: dict[str, tuple[float, Callable[[], Awaitable[Any]]]] = {
        "board page (6 columns × 20 + counts)": (BOARD_TARGET_MS, lambda: columns(None)),
        "board page, district scope": (BOARD_TARGET_MS, lambda: columns((district,))),
        "my cases: a unit (actionable states)": (
            BOARD_TARGET_MS,
            lambda: case_board(conn, BoardFilter(states=unit_states, unit_id=unit), now=now),
        ),
        "grid map layers (1,000 grids, open cases)": (
            MAP_TARGET_MS,
            lambda: grid_map(conn, None, area=None, min_level=1, now=now),
        ),
        "grid detail: a district": (
            BOARD_TARGET_MS,
            lambda: area_detail(conn, district, None, now=now, level_names=DEFAULT_LEVEL_NAMES),
        ),
    }
    for name, (target, fn) in web_reads.items():
        results.append({"query": name, "target_ms": target, **await _time(fn, repeat)})
    month_end = now.replace(day=1, hour=0, minute=0, second=0)
    month_start = (month_end - timedelta(days=1)).replace(day=1)
    for group in ("unit", "grid", "person", "area", "all"):

        async def run_assess(group: str = group) -> None:
            await assessment(conn, group, month_start, month_end, as_of=now)  # type: ignore[arg-type]

        results.append({"query": f"assessment: last month by {group}",
                        "target_ms": ASSESS_TARGET_MS,
                        **await _time(run_assess, max(3, repeat // 3))})  # fmt: skip
    return results


async def run(args: argparse.Namespace) -> tuple[float, list[dict[str, Any]]]:
    """Create, fill and measure a scratch database (on ``--dsn``'s server or embedded)."""
    async with private_database(
        args.dsn or None, label="cases", tuning=TUNING, port=args.port
    ) as target:
        conn = await connect(target)
        try:
            t0 = time.perf_counter()
            ids = await populate(conn, args.cases, args.grids, args.seed)
            load_s = time.perf_counter() - t0
            print(f"loaded {args.grids} grids and {args.cases} cases in {load_s:.1f} s")
            results = await measure(conn, ids, args.repeat)
        finally:
            await conn.close()
    return load_s, results


def report(args: argparse.Namespace, load_s: float, results: list[dict[str, Any]]) -> int:
    width = max(len(r["query"]) for r in results)
    print(f"{'query':<{width}}  {'p50 ms':>8}  {'p95 ms':>8}  {'max ms':>8}  target")
    failed = False
    for r in results:
        ok = r["p95_ms"] <= r["target_ms"]
        failed |= not ok
        verdict = "ok" if ok else "MISSED"
        print(
            f"{r['query']:<{width}}  {r['p50_ms']:>8.2f}  {r['p95_ms']:>8.2f}"
            f"  {r['max_ms']:>8.2f}  ≤{r['target_ms']:.0f} {verdict}"
        )
    if args.json:
        document = {"cases": args.cases, "grids": args.grids, "load_s": round(load_s, 2),
                    "results": results}  # fmt: skip
        Path(args.json).write_text(json.dumps(document, ensure_ascii=False, indent=2))
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.cases", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--dsn", help="admin DSN allowed to CREATE DATABASE (default: embedded)")
    parser.add_argument("--port", type=int, default=0, help="embedded cluster port (0 = any)")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--grids", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--seed", type=int, default=212)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    return report(args, *asyncio.run(run(args)))


if __name__ == "__main__":
    sys.exit(main())
