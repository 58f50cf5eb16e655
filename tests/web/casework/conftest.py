"""Fixtures for the grid / patrol / case tests: a small area world with people and units.

World (WGS 84, near Hangzhou)::

    C  城市   [120.0, 30.0]–[120.4, 30.4]
    ├─ D1 区一 [120.0, 30.0]–[120.2, 30.4]   responsible unit '*': U_ENV (生态环境分局)
    │  └─ S1 街道一 [120.0, 30.0]–[120.2, 30.2]
    │     └─ M1 社区一 [120.0, 30.0]–[120.1, 30.2]
    │        ├─ G1 网格一 [120.0, 30.0]–[120.1, 30.1]   head GH, member GM
    │        └─ G2 网格二 [120.0, 30.1]–[120.1, 30.2]
    └─ D2 区二 [120.2, 30.0]–[120.4, 30.4]
       └─ S2 → M2 → G3 网格三 [120.2, 30.0]–[120.3, 30.1]
    C: 'complaint.water' → U_WATER (水务局)

Station ST1 at (120.05, 30.05) lies in G1.  ``now`` is Monday 2024-03-04 09:00 +08:00.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from envgrid.settings import Settings
from tests.web.casework.alerts_fixture import ensure_alerts_table
from tests.web.casework.web_fixture import WebSeed, case_settings, seed_logins
from web.app import create_app
from web.casework.grid import service as grid
from web.casework.kernel import people as kpeople
from web.casework.kernel.config import CaseConfig
from web.casework.kernel.people import Actor, Role
from web.casework.kernel.settings import CaseSettings

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2024, 3, 4, 9, 0, tzinfo=TZ)

# small real images: uploads are decoded and re-encoded (metadata stripped)
from tests.images import JPEG, PNG, WEBP  # noqa: E402,F401 - used by the test modules


def square(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    return {
        "type": "Polygon",
        "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]],
    }


@dataclass
class World:
    areas: dict[str, int]
    units: dict[str, int]
    people: dict[str, int]
    station: int

    def actor(self, name: str, role: Role, unit: str | None = None, **kw: Any) -> Actor:
        return Actor(role, self.people[name], name, self.units[unit] if unit else None, **kw)

    @property
    def officer(self) -> Actor:
        return self.actor("O", Role.OFFICER)

    @property
    def handler(self) -> Actor:
        return self.actor("H", Role.UNIT, "U_ENV")

    @property
    def member(self) -> Actor:
        return self.actor("GM", Role.GRID_MEMBER, scope=(self.areas["G1"],))


AREAS = [
    ("C", 1, None, (120.0, 30.0, 120.4, 30.4)),
    ("D1", 2, "C", (120.0, 30.0, 120.2, 30.4)),
    ("S1", 3, "D1", (120.0, 30.0, 120.2, 30.2)),
    ("M1", 4, "S1", (120.0, 30.0, 120.1, 30.2)),
    ("G1", 5, "M1", (120.0, 30.0, 120.1, 30.1)),
    ("G2", 5, "M1", (120.0, 30.1, 120.1, 30.2)),
    ("D2", 2, "C", (120.2, 30.0, 120.4, 30.4)),
    ("S2", 3, "D2", (120.2, 30.0, 120.4, 30.2)),
    ("M2", 4, "S2", (120.2, 30.0, 120.3, 30.2)),
    ("G3", 5, "M2", (120.2, 30.0, 120.3, 30.1)),
]
NAMES = {
    "C": "城市",
    "D1": "区一",
    "D2": "区二",
    "S1": "街道一",
    "S2": "街道二",
    "M1": "社区一",
    "M2": "社区二",
    "G1": "网格一",
    "G2": "网格二",
    "G3": "网格三",
}


async def build_world(conn: asyncpg.Connection) -> World:
    areas: dict[str, int] = {}
    for code, level, parent, box in AREAS:
        areas[code] = await grid.create_area(
            conn,
            code=code,
            name=NAMES[code],
            level=level,
            parent_id=areas[parent] if parent else None,
            boundary=square(*box),
        )
    units = {
        "U_ENV": await kpeople.create_unit(conn, "U_ENV", "生态环境分局"),
        "U_WATER": await kpeople.create_unit(conn, "U_WATER", "水务局"),
    }
    await kpeople.set_area_unit(conn, areas["D1"], units["U_ENV"])
    await kpeople.set_area_unit(conn, areas["D2"], units["U_ENV"])
    await kpeople.set_area_unit(conn, areas["C"], units["U_WATER"], "complaint.water")
    people = {
        "O": await kpeople.create_person(conn, "值班员", "officer", phone="13800000001"),
        "H": await kpeople.create_person(conn, "处置员", "unit", unit_id=units["U_ENV"]),
        "H2": await kpeople.create_person(conn, "水务员", "unit", unit_id=units["U_WATER"]),
        "GM": await kpeople.create_person(conn, "网格员甲", "grid_member"),
        "GM2": await kpeople.create_person(conn, "网格员乙", "grid_member"),
        "GH": await kpeople.create_person(conn, "网格长", "grid_member"),
        "V": await kpeople.create_person(conn, "查看员", "viewer"),
        "A": await kpeople.create_person(conn, "管理员", "admin"),
    }
    await kpeople.set_duty(conn, areas["G1"], people["GM"], "member")
    await kpeople.set_duty(conn, areas["G1"], people["GH"], "head")
    await kpeople.set_duty(conn, areas["G3"], people["GM2"], "member")
    station = await conn.fetchval(
        "INSERT INTO stations (mn, name, st, lat, lon, grid_id) VALUES"
        " ('88888880000001', '一号站', '22', 30.05, 120.05, $1) RETURNING id",
        areas["G1"],
    )
    return World(areas, units, people, station)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Headless Chromium (skips without it); screenshots in ``test-artifacts/cases/``."""
    from tests.browser import ARTIFACTS_ROOT, chromium

    async with chromium(ARTIFACTS_ROOT / "cases") as b:
        yield b


@pytest.fixture
async def world(db_conn: asyncpg.Connection) -> World:
    return await build_world(db_conn)


@pytest.fixture
async def alerts(db_conn: asyncpg.Connection, world: World) -> World:
    """The world with an ``alerts`` table (the bridge tests)."""
    await ensure_alerts_table(db_conn)
    return world


@pytest.fixture
def config(pg_reachable_tmp: Path) -> CaseConfig:
    return CaseConfig(CaseSettings(), "Asia/Shanghai", pg_reachable_tmp)


@pytest.fixture
async def web_seed(db_conn: asyncpg.Connection, world: World) -> WebSeed:
    """Dashboard logins linked to the world's people (see ``web_fixture``)."""
    return await seed_logins(db_conn, world)


@pytest.fixture
def case_web_settings(db_dsn: str, pg_reachable_tmp: Path) -> Settings:
    return case_settings(db_dsn, pg_reachable_tmp, **{"cases.complaint_rate_limit": 3})


@pytest.fixture
async def client(
    aiohttp_client: Any, case_web_settings: Settings, db_dsn: str, web_seed: WebSeed
) -> TestClient:
    return await aiohttp_client(create_app(case_web_settings, db_dsn, background=False))
