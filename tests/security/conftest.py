"""Fixtures of the security tests: the web seed of ``tests/web`` (a city with districts
R01/R02, grid cells G01-1/G02-1, stations in both districts, a user per role) plus, for
every role of ``web_roles``, a user scoped to district R01 (``<role>.r01``) and an
unscoped one (``<role>.all``), and the app under
pytest-aiohttp on a real PostgreSQL (``db_dsn`` of tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from envgrid.settings import Settings
from store.db import connect
from store.engine import EngineInfo
from tests.web.conftest import Seed, make_web_settings, seed_database
from tests.webapp import add_login
from web.app import create_app
from web.permissions import ROLES

#: The district every scoped user is limited to; R02 is outside.
SCOPE_AREA = "R01"


async def add_user(seed: Seed, username: str, role: str, scope: list[str] | None = None) -> None:
    """A user of ``role`` (scope: area codes of the seed) with an API token."""
    conn = await connect(seed.dsn)
    try:
        areas = [seed.areas[ref] for ref in scope or ()]
        seed.users[username], seed.tokens[username] = await add_login(conn, username, role, areas)
    finally:
        await conn.close()


async def role_permissions(dsn: str) -> dict[str, frozenset[str]]:
    """Every role of ``web_roles`` (the migrations' seeds: the source of truth)."""
    conn = await connect(dsn)
    try:
        rows = await conn.fetch("SELECT name, permissions FROM web_roles ORDER BY name")
    finally:
        await conn.close()
    return {r["name"]: frozenset(r["permissions"]) for r in rows}


def scoped_user(role: str) -> str:
    return f"{role}.r01"


def unscoped_user(role: str) -> str:
    return f"{role}.all"


@pytest.fixture
async def seeded(db_dsn: str, engine_info: EngineInfo) -> Seed:
    seed = await seed_database(db_dsn, engine_info)
    roles = await role_permissions(db_dsn)
    assert set(ROLES) <= set(roles)
    for role in roles:
        await add_user(seed, scoped_user(role), role, [SCOPE_AREA])
        await add_user(seed, unscoped_user(role), role)
    return seed


@pytest.fixture
def web_settings(db_dsn: str, pg_reachable_tmp: Path) -> Settings:
    return make_web_settings(db_dsn, pg_reachable_tmp)


@pytest.fixture
async def client(
    aiohttp_client: Callable[..., Any], web_settings: Settings, db_dsn: str, seeded: Seed
) -> TestClient:
    return await aiohttp_client(create_app(web_settings, db_dsn, background=False))


@pytest.fixture
async def live_server(
    aiohttp_server: Callable[..., Any], web_settings: Settings, db_dsn: str, seeded: Seed
) -> TestServer:
    return await aiohttp_server(create_app(web_settings, db_dsn, background=False))
