"""``envgrid demo clear``: remove exactly what ``envgrid demo load`` created.

The rows listed in ``demo_objects`` go, with what hangs off them: the cases' trail,
notices, alert links, attachments and grid history; the patrol plans' tasks, check-ins
and results; the stations' data in every table keyed by ``station_id`` (measurements,
ledger, rollups, official values, state, alerts), their grid history and daily ranking
rows; the users' sessions; the areas' duties and unit mappings.  Everything runs in one
transaction: if a row the demo did not create still needs a demo row (say, a real case
whose trail names a demo person), nothing is removed and the error names the table.
Uploaded photos are deleted afterwards when no attachment refers to them any more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import asyncpg

from store.db import quote_ident
from store.engine import Engine
from web.casework.kernel.uploads import remove_files

from .marker import KINDS, Kind, demo_ids

__all__ = ["ClearReport", "clear_demo"]

#: Tables keyed by station_id without a foreign key to stations (the time-partitioned data,
#: rollups and derived values): the demo stations' rows are deleted from each.
STATION_TABLES_SQL: Final = """
SELECT c.relname FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND a.attname = 'station_id' AND NOT a.attisdropped
  AND c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND NOT EXISTS (SELECT FROM pg_constraint k
                  WHERE k.conrelid = c.oid AND k.contype = 'f'
                    AND k.confrelid = 'stations'::regclass)
ORDER BY c.relname
"""
ATTACHMENTS_SQL: Final = """
DELETE FROM attachments a WHERE
    (a.owner = 'case_event' AND a.owner_id IN (SELECT id FROM case_events WHERE case_id = ANY($1)))
 OR (a.owner = 'hazard_round' AND a.owner_id IN
        (SELECT r.id FROM hazard_rounds r WHERE r.hazard_id = ANY($2)))
 OR (a.owner = 'task' AND a.owner_id IN (SELECT id FROM patrol_tasks WHERE plan_id = ANY($3)))
 OR (a.owner = 'checkin' AND a.owner_id IN
        (SELECT k.id FROM patrol_checkins k JOIN patrol_tasks t ON t.id = k.task_id
         WHERE t.plan_id = ANY($3)))
RETURNING a.path
"""
#: (statement, the kind whose ids it takes), in dependency order.
STEPS: Final[tuple[tuple[str, Kind], ...]] = (
    ("DELETE FROM case_notices WHERE case_id = ANY($1)", "case"),
    ("DELETE FROM case_alert_links WHERE case_id = ANY($1)", "case"),
    ("DELETE FROM area_assignments WHERE entity = 'case' AND entity_id = ANY($1)", "case"),
    ("DELETE FROM case_events WHERE case_id = ANY($1)", "case"),
    ("DELETE FROM cases WHERE id = ANY($1)", "case"),
    ("DELETE FROM patrol_hazards WHERE id = ANY($1)", "hazard"),
    ("DELETE FROM patrol_plans WHERE id = ANY($1)", "plan"),
    ("DELETE FROM alerts WHERE id = ANY($1)", "alert"),
    ("DELETE FROM area_assignments WHERE entity = 'patrol_point' AND entity_id = ANY($1)", "point"),
    ("DELETE FROM patrol_points WHERE id = ANY($1)", "point"),
    ("DELETE FROM area_assignments WHERE entity = 'station' AND entity_id = ANY($1)", "station"),
    (
        "DELETE FROM daily_rankings WHERE scope = 'station'"
        " AND scope_key IN (SELECT mn FROM stations WHERE id = ANY($1))",
        "station",
    ),
    ("DELETE FROM stations WHERE id = ANY($1)", "station"),
    ("DELETE FROM web_users WHERE id = ANY($1)", "user"),
    ("DELETE FROM grid_people WHERE id = ANY($1)", "person"),
    ("DELETE FROM grid_units WHERE id = ANY($1)", "unit"),
    (
        "DELETE FROM daily_rankings WHERE scope = 'grid'"
        " AND scope_key IN (SELECT code FROM areas WHERE id = ANY($1))",
        "area",
    ),
)
DELETE_AREAS_SQL: Final = """
DELETE FROM areas WHERE id = ANY($1) AND level = $2
"""
REFERENCED_SQL: Final = "SELECT count(*) FROM attachments WHERE path = $1"


@dataclass
class ClearReport:
    removed: dict[str, int] = field(default_factory=dict)
    data_rows: int = 0
    files: int = 0


class ClearError(RuntimeError):
    """A row the demo did not create still needs a demo row."""


async def clear_demo(conn: asyncpg.Connection, engine: Engine, uploads_dir: Path) -> ClearReport:
    report = ClearReport()
    ids = {kind: await demo_ids(conn, kind) for kind in KINDS}
    try:
        async with conn.transaction():
            await conn.execute("SET LOCAL envgrid.demo_clear = 'on'")
            paths = [
                r["path"]
                for r in await conn.fetch(ATTACHMENTS_SQL, ids["case"], ids["hazard"], ids["plan"])
            ]
            stations = ids["station"]
            if stations:
                for r in await conn.fetch(STATION_TABLES_SQL):
                    status = await conn.execute(
                        f"DELETE FROM {quote_ident(r['relname'])} WHERE station_id = ANY($1)",  # noqa: S608
                        stations,
                    )
                    report.data_rows += int(status.split()[-1])
            for sql, kind in STEPS:
                await conn.execute(sql, ids[kind])
            for level in (5, 4, 3, 2, 1):
                await conn.execute(DELETE_AREAS_SQL, ids["area"], level)
            await conn.execute("DELETE FROM demo_objects")
    except asyncpg.ForeignKeyViolationError as exc:
        raise ClearError(
            f"nothing removed: rows that are not demo data still need demo rows"
            f" ({exc.table_name or 'a table'}, {exc.constraint_name}) — e.g. a real case"
            " handled by a demo user / 非演示数据仍引用演示数据，未删除任何数据"
        ) from None
    report.removed = {kind: len(v) for kind, v in ids.items() if v}
    unused = [p for p in set(paths) if not await conn.fetchval(REFERENCED_SQL, p)]
    report.files = remove_files(uploads_dir, unused)
    if engine is Engine.TIMESCALEDB and stations:
        await _refresh_continuous(conn)
    return report


async def _refresh_continuous(conn: asyncpg.Connection) -> None:
    """Bring the continuous aggregates up to date over the demo window (outside a
    transaction, as TimescaleDB requires)."""
    from .readings import HOURS

    views = await conn.fetch(
        "SELECT format('%I.%I', view_schema, view_name) AS v"
        " FROM timescaledb_information.continuous_aggregates"
    )
    for r in views:
        await conn.execute(
            f"CALL refresh_continuous_aggregate('{r['v']}',"
            f" now() - interval '{HOURS + 48} hours', NULL)"
        )
