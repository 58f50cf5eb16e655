"""``envgrid demo load``: the sample city in one go (see :mod:`envgrid.demo`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg

from envgrid.settings import Settings
from store.db import create_pool
from store.engine import Engine, recorded_engine
from web.casework.kernel.config import CaseConfig

from .activity import add_alerts, add_cases, add_patrols
from .marker import real_stations
from .readings import write_history
from .world import City, build_city, city_spec

__all__ = ["DemoError", "LoadReport", "load_demo"]


class DemoError(RuntimeError):
    """The demo cannot be loaded here (message says why and what to do)."""


@dataclass
class LoadReport:
    city: City
    rows: int = 0
    tasks: int = 0
    alerts: int = 0
    case_states: dict[str, int] = field(default_factory=dict)


async def _check(conn: asyncpg.Connection, force: bool) -> None:
    if await conn.fetchval("SELECT EXISTS (SELECT FROM demo_objects)"):
        raise DemoError(
            "demo data is already loaded (run `envgrid demo clear` first)"
            " / 演示数据已加载，请先清除"
        )
    real = await real_stations(conn)
    if real and not force:
        raise DemoError(
            f"this database has {real} real station(s): demo data does not belong on a"
            " production instance; use --force to load it anyway"
            " / 数据库中已有真实站点，拒绝加载演示数据（确需加载请加 --force）"
        )


async def load_demo(
    dsn: str, settings: Settings, *, force: bool = False, now: datetime | None = None
) -> LoadReport:
    """Load the sample city into the (migrated) database at ``dsn``."""
    now = now or datetime.now(UTC)
    spec = city_spec()
    config = CaseConfig.from_settings(settings)
    pool = await create_pool(dsn, min_size=1, max_size=2, application_name="envgrid-demo")
    try:
        async with pool.acquire() as conn:
            await _check(conn, force)
            engine = await recorded_engine(conn) or Engine.POSTGRESQL
            city = await build_city(conn, settings, now)
        report = LoadReport(city)
        report.rows = await write_history(pool, dsn, engine, city, settings, now)
        report.tasks = await add_patrols(pool, city, config, now)
        async with pool.acquire() as conn:
            report.case_states = await add_cases(conn, city, spec, config, now)
            report.alerts = await add_alerts(conn, city, spec, now)
    finally:
        await pool.close()
    return report
