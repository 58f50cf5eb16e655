"""The one scheduler: jobs as data in, a real APScheduler running them."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from prometheus_client import CollectorRegistry

from envgrid.scheduler import OUTCOMES, SchedulerMetrics, start_scheduler
from store.jobs import Job, next_run


async def test_runs_jobs_at_start_and_logs_results_and_failures(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[datetime] = []
    done = asyncio.Event()

    async def counting(now: datetime) -> int:
        seen.append(now)
        done.set()
        return 3

    async def failing(now: datetime) -> None:
        raise RuntimeError("a bug")

    async def offline(now: datetime) -> None:
        raise ConnectionRefusedError("connection refused")

    caplog.set_level(logging.INFO, logger="envgrid.scheduler")
    registry = CollectorRegistry()
    scheduler = start_scheduler(
        [
            Job("count", counting, every_s=3600, run_at_start=True),
            Job("fail", failing, every_s=3600, run_at_start=True),
            Job("offline", offline, every_s=3600, run_at_start=True),
            Job("nightly", counting, at="03:15"),
        ],
        UTC,
        SchedulerMetrics(registry),
    )

    def finished(job: str, outcome: str) -> bool:
        value = registry.get_sample_value(
            "envgrid_scheduler_job_runs_total", {"name": job, "outcome": outcome}
        )
        return bool(value)

    try:
        await asyncio.wait_for(done.wait(), 5)
        async with asyncio.timeout(10):  # the three start runs, however busy the machine
            while not all(
                finished(*run) for run in (("fail", "failed"), ("offline", "db_unavailable"))
            ):
                await asyncio.sleep(0.02)
        before = time.time()
        ids = {job.id for job in scheduler.get_jobs()}
        assert ids == {"count", "fail", "offline", "nightly"}
        nightly = scheduler.get_job("nightly")
        assert (nightly.next_run_time.hour, nightly.next_run_time.minute) == (3, 15)
        for job in scheduler.get_jobs():
            assert job.max_instances == 1 and job.coalesce is True
    finally:
        scheduler.shutdown(wait=False)
    assert len(seen) == 1 and seen[0].tzinfo is not None
    assert "job count: 3" in caplog.text
    failed = next(r for r in caplog.records if r.getMessage() == "job fail failed")
    assert failed.levelno == logging.ERROR and failed.exc_info is not None  # the traceback
    away = next(r for r in caplog.records if r.getMessage().startswith("job offline"))
    assert away.levelno == logging.WARNING and away.exc_info is None
    assert "database unavailable" in away.getMessage()

    def sample(family: str, **labels: str) -> float | None:
        return registry.get_sample_value(f"envgrid_scheduler_job_{family}", labels)

    runs = {
        (job, outcome): sample("runs_total", name=job, outcome=outcome)
        for job in ("count", "fail", "offline", "nightly")
        for outcome in OUTCOMES
    }
    assert {k: v for k, v in runs.items() if v} == {
        ("count", "ok"): 1,
        ("fail", "failed"): 1,
        ("offline", "db_unavailable"): 1,
    }
    assert set(runs.values()) == {0, 1}  # every job and outcome announced, at 0
    assert sample("seconds_count", name="fail") == 1
    success = sample("last_success_timestamp_seconds", name="count")
    assert success is not None and success <= before
    assert sample("last_success_timestamp_seconds", name="fail") is None
    assert sample("interval_seconds", name="count") == 3600
    assert sample("interval_seconds", name="nightly") == 86400
    assert sample("running", name="count") == 0


async def test_two_jobs_of_one_name_are_refused() -> None:
    async def noop(now: datetime) -> None:
        return None

    with pytest.raises(ValueError, match="named 'x'"):
        start_scheduler([Job("x", noop, every_s=1), Job("x", noop, every_s=2)], UTC)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one"),
        ({"every_s": 1, "at": "01:00"}, "exactly one"),
        ({"every_s": 0}, "every_s must be > 0"),
        ({"at": "25:00"}, "HH:MM"),
        ({"at": "7"}, "HH:MM"),
    ],
)
def test_a_job_says_when_it_runs(kwargs: dict[str, object], message: str) -> None:
    async def noop(now: datetime) -> None:
        return None

    with pytest.raises(ValueError, match=message):
        Job("j", noop, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("every_s", "now", "expected"),
    [
        (1800, "2026-12-06 10:05:00", "2026-12-06 10:30:00"),
        (1800, "2026-12-06 10:30:00", "2026-12-06 11:00:00"),  # at a run: the next one
        (1800, "2026-12-06 23:59:59", "2026-12-07 00:00:00"),
        (3600, "2026-12-06 00:00:01", "2026-12-06 01:00:00"),
        (600, "2026-12-06 10:05:00", "2026-12-06 10:10:00"),
    ],
)
def test_next_run_is_on_the_lattice(every_s: float, now: str, expected: str) -> None:
    tz = ZoneInfo("Asia/Shanghai")
    at = datetime.fromisoformat(now).replace(tzinfo=tz)
    assert next_run(every_s, at) == datetime.fromisoformat(expected).replace(tzinfo=tz)


async def test_a_periodic_job_runs_when_next_run_says() -> None:
    async def noop(now: datetime) -> None:
        return None

    tz = ZoneInfo("Asia/Shanghai")
    scheduler = start_scheduler([Job("refresh", noop, every_s=1800)], tz)
    try:
        job = scheduler.get_job("refresh")
        assert job.next_run_time == next_run(1800, datetime.now(tz))
    finally:
        scheduler.shutdown(wait=False)
