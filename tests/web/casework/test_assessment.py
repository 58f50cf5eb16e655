"""Assessment formulas on a known set of cases: the pure reference and the SQL agree."""

from __future__ import annotations

from datetime import datetime

import asyncpg
import pytest

from tests.web.casework.conftest import TZ, World
from web.casework.cases.assessment import (
    CaseFacts,
    Indicators,
    assess,
    assessment,
    card,
)


def d(month: int, day: int) -> datetime:
    return datetime(2024, month, day, 12, tzinfo=TZ)


START, END = datetime(2024, 3, 1, tzinfo=TZ), datetime(2024, 4, 1, tzinfo=TZ)

# (label, unit, facts) — unit "A" / "B"
KNOWN: list[tuple[str, str, CaseFacts]] = [
    ("closed on time", "A", CaseFacts("archived", d(3, 5), d(3, 6))),
    ("closed late", "A", CaseFacts("closed", d(3, 10), d(3, 10), handle_overdue=True)),
    ("reworked, on time", "A", CaseFacts("archived", d(3, 12), d(3, 14), rework_count=1)),
    ("hung (缓办)", "A", CaseFacts("hung", d(3, 15), None)),
    ("open past deadline", "A", CaseFacts("handling", d(3, 20), d(3, 20))),
    ("open, deadline next month", "A", CaseFacts("handling", d(4, 5), d(4, 5))),
    ("closed last month", "A", CaseFacts("archived", d(2, 28), d(3, 2))),
    ("cancelled", "A", CaseFacts("cancelled", None, d(3, 8))),
    ("B closed on time", "B", CaseFacts("archived", d(3, 3), d(3, 4))),
    ("B overdue (swept)", "B", CaseFacts("dispatched", d(3, 25), d(3, 25), handle_overdue=True)),
    # alert cases whose alerts cleared: 自动恢复 apart, 恢复结案 like any closed case
    ("自动恢复", "A", CaseFacts("archived", d(3, 6), d(3, 8), close_kind="auto_recovered")),
    ("B 恢复结案", "B", CaseFacts("archived", d(3, 7), d(3, 9), close_kind="recovered")),
]


def by_unit(as_of: datetime) -> dict[object, Indicators]:
    facts = [f for _, _, f in KNOWN]
    keyed = {id(f): u for (_, u, f) in KNOWN}
    return assess(facts, START, END, as_of, key=lambda f: keyed[id(f)])


def test_known_set_per_unit() -> None:
    result = by_unit(END)
    assert result["A"] == Indicators(
        due=5, hung=1, closed=3, on_time=2, overdue=2, rework=1, auto_recovered=1
    )
    assert result["B"] == Indicators(due=3, hung=0, closed=2, on_time=2, overdue=1, rework=0)
    a = result["A"]
    assert a.base == 4
    assert a.on_time_rate == 0.5  # 按期结案数 / (应结案数 − 缓办数) = 2 / (5 − 1)
    assert a.closure_rate == 0.75
    assert a.rework_rate == pytest.approx(1 / 3)
    total = result["A"] + result["B"]
    assert total == Indicators(
        due=8, hung=1, closed=5, on_time=4, overdue=3, rework=1, auto_recovered=1
    )
    assert total.on_time_rate == 4 / 7


def test_as_of_excludes_deadlines_not_reached() -> None:
    result = by_unit(d(3, 18))
    assert result["A"].due == 4  # the case due 3/20 is not due yet
    assert "B" in result and result["B"].due == 2  # 3/25 not yet


def test_empty_denominators() -> None:
    only_hung = Indicators(due=2, hung=2)
    assert only_hung.on_time_rate is None
    assert only_hung.closure_rate is None
    assert Indicators().rework_rate is None


@pytest.mark.parametrize(
    ("ind", "expected"),
    [
        (Indicators(due=10, closed=10, on_time=10), None),
        (Indicators(due=10, closed=10, on_time=9), None),  # 0.9 is not below 0.9
        (Indicators(due=10, closed=10, on_time=8), "yellow"),
        (Indicators(due=10, closed=10, on_time=7), "red"),
        (Indicators(due=3, closed=3, on_time=0), None),  # too few cases
        (Indicators(due=6, hung=2, closed=4, on_time=3), None),  # base 4 < 5
    ],
)
def test_cards(ind: Indicators, expected: str | None) -> None:
    assert card(ind, yellow_below=0.9, red_below=0.8, min_cases=5) == expected


async def test_sql_matches_the_reference(db_conn: asyncpg.Connection, world: World) -> None:
    units = {"A": world.units["U_ENV"], "B": world.units["U_WATER"]}
    grids = {"A": world.areas["G1"], "B": world.areas["G3"]}
    for i, (label, u, f) in enumerate(KNOWN):
        closed = f.state in ("closed", "archived")
        await db_conn.execute(
            "INSERT INTO cases (code, title, category, source, state, reported_at, unit_id,"
            " grid_id, handle_deadline, handle_overdue, rework_count, dispatched_at,"
            " closed_at, assess_at, close_kind) VALUES ($1, $2, 'other', 'manual', $3, $4, $5,"
            " $6, $7, $8, $9, $4, $10, $11, $12)",
            f"T{i}",
            label,
            f.state,
            d(2, 1),
            units[u],
            grids[u],
            f.handle_deadline,
            f.handle_overdue,
            f.rework_count,
            f.assess_at if closed else None,
            f.assess_at,
            f.close_kind,
        )
    expected = by_unit(END)
    rows = await assessment(db_conn, "unit", START, END, as_of=END, min_cases=1)
    got = {r.key: r.indicators for r in rows}
    assert got == {units["A"]: expected["A"], units["B"]: expected["B"]}
    assert {r.key: r.card for r in rows} == {units["A"]: "red", units["B"]: "red"}
    total = await assessment(db_conn, "all", START, END, as_of=END)
    assert total[0].indicators == expected["A"] + expected["B"]
    grid_rows = await assessment(db_conn, "grid", START, END, as_of=END)
    assert {r.name for r in grid_rows} == {"网格一", "网格三"}
    districts = await assessment(db_conn, "area", START, END, as_of=END, level=2)
    assert {r.name: r.indicators.due for r in districts} == {"区一": 5, "区二": 3}
    scoped = await assessment(db_conn, "all", START, END, as_of=END, scope=[world.areas["D2"]])
    assert scoped[0].indicators == expected["B"]
    earlier = await assessment(db_conn, "all", START, END, as_of=d(3, 18))
    assert earlier[0].indicators.due == 6
