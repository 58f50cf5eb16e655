"""The scheduled jobs as data (alerts.jobs, aggregates.jobs) and the process's scheduler
built from them (alerts.process.start_scheduler)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from aggregates import jobs as aggregates_jobs
from alerts import jobs as alerts_jobs
from alerts.process import start_scheduler
from store.jobs import Job

from .conftest import alert_settings

SH = ZoneInfo("Asia/Shanghai")


async def _nothing() -> None:
    return None


def test_alert_jobs_names_and_triggers(tmp_path: Path) -> None:
    settings = alert_settings("postgresql://x/y", tmp_path, sweep_interval_s=7.0)
    service: Any = SimpleNamespace(
        settings=settings,
        **{
            name: _nothing
            for name in (
                "sweep",
                "dispatch",
                "save_state",
                "reload_config",
                "daily_ranking",
                "housekeeping",
            )
        },
    )
    jobs = {job.name: job for job in alerts_jobs.scheduled_jobs(service)}
    assert list(jobs) == [
        "offline-sweep",
        "dispatch",
        "save-state",
        "reload-config",
        "daily-ranking",
        "housekeeping",
    ]
    assert jobs["offline-sweep"].every_s == 7.0 and jobs["offline-sweep"].run_at_start
    assert jobs["dispatch"].run_at_start and not jobs["save-state"].run_at_start
    assert jobs["daily-ranking"].at == settings.aggregates.daily_ranking_time
    assert jobs["housekeeping"].at == settings.alerts.housekeeping_time
    assert {j.misfire_grace_s for j in jobs.values()} == {300.0}
    no_push = alert_settings("postgresql://x/y", tmp_path, daily_push=False)
    service.settings = no_push
    assert "daily-ranking" not in {j.name for j in alerts_jobs.scheduled_jobs(service)}
    (refresh,) = aggregates_jobs.scheduled_jobs(SimpleNamespace(), settings)  # type: ignore[arg-type]
    assert refresh.name == "aggregates-refresh"
    assert refresh.every_s == settings.aggregates.refresh_interval_min * 60


async def test_start_scheduler_runs_logs_and_survives_failures(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ran: list[str] = []

    async def counted(now: datetime) -> int:
        assert now.tzinfo is not None
        ran.append("counted")
        return 3

    async def broken(now: datetime) -> None:
        ran.append("broken")
        raise RuntimeError("bug")

    jobs = [
        Job("counted", counted, every_s=3600, run_at_start=True),
        Job("broken", broken, every_s=3600, run_at_start=True),
        Job("later", counted, at="03:40"),
    ]
    caplog.set_level(logging.INFO, logger="envgrid.alerts")
    scheduler = start_scheduler(jobs, SH)
    try:
        for _ in range(100):
            if len(ran) >= 2:
                break
            await asyncio.sleep(0.02)
        assert sorted(ran) == ["broken", "counted"]
        later = scheduler.get_job("later")
        assert later is not None and (later.next_run_time.hour, later.next_run_time.minute) == (
            3,
            40,
        )
        assert scheduler.get_job("broken").max_instances == 1
    finally:
        scheduler.shutdown(wait=False)
    messages = [r.getMessage() for r in caplog.records]
    assert "counted: 3" in messages and "broken failed" in messages
