"""store.metrics: a real pool's gauges by role, and the sampling loop."""

from __future__ import annotations

import asyncio
import logging

import asyncpg
import pytest
from prometheus_client import CollectorRegistry, Histogram

from store.db import create_pool
from store.metrics import PoolMetrics, observe_many, sampling


async def test_pool_gauges_follow_a_real_pool(db_dsn: str) -> None:
    registry = CollectorRegistry()
    metrics = PoolMetrics("scheduler", registry)

    def value(name: str) -> float | None:
        return registry.get_sample_value(f"envgrid_db_pool_{name}", {"role": "scheduler"})

    pool: asyncpg.Pool = await create_pool(db_dsn, min_size=2, max_size=3)
    try:
        async with pool.acquire():
            metrics.sample(pool)
            assert [value(n) for n in ("connections", "in_use", "idle", "max")] == [2, 1, 1, 3]
        metrics.sample(pool)
        assert (value("in_use"), value("idle")) == (0, 2)
    finally:
        await pool.close()
    metrics.sample(pool)  # closed: nothing open any more
    assert [value(n) for n in ("connections", "in_use", "idle", "max")] == [0, 0, 0, 0]


def test_a_pool_role_is_one_of_the_documented_ones() -> None:
    with pytest.raises(ValueError, match="unknown pool role 'worker'"):
        PoolMetrics("worker")


async def test_sampling_runs_at_once_and_survives_a_failing_sample(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[int] = []

    async def sample() -> None:
        calls.append(len(calls))
        if len(calls) in (2, 3):
            raise RuntimeError("no database")

    caplog.set_level(logging.WARNING, logger="store.metrics")
    async with sampling(sample, 0.01, "test"):
        await asyncio.sleep(0)
        assert calls == [0]  # the first sample runs before anything else waits
        while len(calls) < 5:
            await asyncio.sleep(0.01)
    done = len(calls)
    await asyncio.sleep(0.03)
    assert len(calls) == done  # stopped with the block
    warnings = [r.getMessage() for r in caplog.records]
    assert warnings == ["test: sampling failed (RuntimeError: no database)"]  # once in a row


@pytest.mark.parametrize(
    "values",
    [
        [],
        [0.004],
        [0.0, 0.005, 0.0051, 0.25, 0.2500001, 3.0, 1e9, -1.0],  # on, just above the bounds
        [0.1] * 1000,
    ],
)
def test_observe_many_counts_as_observe_does(values: list[float]) -> None:
    one, bulk = CollectorRegistry(), CollectorRegistry()
    buckets = (0.005, 0.05, 0.25, 1.0, 2.5)
    a = Histogram("h", "one by one", buckets=buckets, registry=one)
    b = Histogram("h", "all at once", buckets=buckets, registry=bulk)
    for v in values:
        a.observe(v)
    observe_many(b, values)
    for le in ("0.005", "0.05", "0.25", "1.0", "2.5", "+Inf"):
        assert bulk.get_sample_value("h_bucket", {"le": le}) == one.get_sample_value(
            "h_bucket", {"le": le}
        )
    assert bulk.get_sample_value("h_sum") == pytest.approx(one.get_sample_value("h_sum"))
    assert bulk.get_sample_value("h_count") == one.get_sample_value("h_count")
