"""The scheduled jobs as data (alerts.jobs, aggregates.jobs); the scheduler that runs
them is tested in tests/envgrid/test_scheduler.py."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from aggregates import jobs as aggregates_jobs
from alerts import jobs as alerts_jobs

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
                "judge_means",
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
        "exceedance-means",
        "dispatch",
        "save-state",
        "reload-config",
        "daily-ranking",
        "housekeeping",
        "forward-backlog",
    ]
    assert jobs["offline-sweep"].every_s == 7.0 and jobs["offline-sweep"].run_at_start
    assert jobs["dispatch"].run_at_start and not jobs["save-state"].run_at_start
    means = jobs["exceedance-means"]
    assert means.every_s == settings.alerts.means_interval_s and means.run_at_start
    assert jobs["daily-ranking"].at == settings.aggregates.daily_ranking_time
    assert jobs["housekeeping"].at == settings.alerts.housekeeping_time
    assert {j.misfire_grace_s for j in jobs.values()} == {300.0}
    no_push = alert_settings("postgresql://x/y", tmp_path, daily_push=False)
    service.settings = no_push
    assert "daily-ranking" not in {j.name for j in alerts_jobs.scheduled_jobs(service)}
    (refresh,) = aggregates_jobs.scheduled_jobs(SimpleNamespace(), settings)  # type: ignore[arg-type]
    assert refresh.name == "aggregates-refresh"
    assert refresh.every_s == settings.aggregates.refresh_interval_min * 60
