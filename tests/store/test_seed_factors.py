"""seed_factors corrects the factor rows that still hold what HJ 212-2017 B.2 prints
(细微颗粒物 PM2.5, particulates in ng/m³) and leaves a name or unit the operator set."""

from __future__ import annotations

import asyncpg

from protocol.factors import CORRECTIONS, FACTORS
from store.prepare import seed_factors

PRINTED = "INSERT INTO factors (code, name_zh, name_en, unit, grp) VALUES ($1, $2, '', $3, 'air')"


async def test_printed_defaults_are_corrected_operator_changes_kept(
    db_conn: asyncpg.Connection,
) -> None:
    await db_conn.execute("DELETE FROM factors WHERE code = ANY($1::text[])", list(CORRECTIONS))
    await db_conn.execute(PRINTED, "a34004", "细微颗粒物 PM2.5", "ng/m³")  # as B.2 prints it
    await db_conn.execute(PRINTED, "a34002", "可吸入颗粒物 PM10", "mg/m³")  # the operator's unit
    await seed_factors(db_conn)
    await seed_factors(db_conn)  # idempotent
    rows = {
        r["code"]: (r["name_zh"], r["unit"])
        for r in await db_conn.fetch(
            "SELECT code, name_zh, unit FROM factors WHERE code = ANY($1::text[])",
            list(CORRECTIONS),
        )
    }
    assert rows == {
        "a34001": ("总悬浮颗粒物 TSP", "µg/m³"),
        "a34002": ("可吸入颗粒物 PM10", "mg/m³"),
        "a34004": ("细颗粒物 PM2.5", "µg/m³"),
        "a34005": ("亚微米颗粒物 PM1.0", "µg/m³"),
    }
    assert CORRECTIONS["a34004"] == ("细微颗粒物 PM2.5", "ng/m³")
    assert all(FACTORS[code].unit_zh == "微克/立方米" for code in CORRECTIONS)
