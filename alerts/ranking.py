"""The daily push job (08:30 Asia/Shanghai by default, ``aggregates.daily_ranking_time``).

The ranking itself belongs to the aggregates module: the scheduled job
(:func:`rank_and_push`) refreshes the official values (``aggregates.jobs.run_refresh``),
has ``aggregates.jobs.run_daily_ranking`` rank yesterday, then queues yesterday's push —
AQCI ranking, exceedances, overdue cases, offline stations — one message per receiver
(:mod:`alerts.daily_push`).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import asyncpg

from aggregates.jobs import run_daily_ranking, run_refresh
from alerts.settings import AlertsConfig

from .config import AlertConfig
from .daily_push import push_daily

__all__ = ["rank_and_push", "yesterday"]


def yesterday(config: AlertConfig, now: datetime | None = None) -> date:
    local = (now or datetime.now(config.tz)).astimezone(config.tz)
    return local.date() - timedelta(days=1)


async def rank_and_push(pool: asyncpg.Pool, settings: AlertsConfig, config: AlertConfig) -> int:
    """The ``daily-ranking`` job: the official values refreshed, yesterday ranked
    (aggregates), the push queued; returns the messages queued."""
    await run_refresh(pool, settings)
    await run_daily_ranking(pool, settings)
    return await push_daily(pool, config, yesterday(config))
