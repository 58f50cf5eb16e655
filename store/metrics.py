"""Prometheus metrics every process shares: its database pools, and the periodic
sampling that sets gauges.

Under ``envgrid serve`` every child runs prometheus_client in multiprocess mode
(``PROMETHEUS_MULTIPROC_DIR``, set by the supervisor) and the supervisor serves the sum
at its ``/metrics``.  A pool's gauges carry the ``role`` of its owner (``ingest``, ``web``,
``alerts``, ``scheduler``, ``forward``); the ingest workers' pools add up under ``role="ingest"``.
Gauges are ``livesum``: a dead process's values drop out of the sum.

:func:`sampling` runs one ``sample()`` call every ``every_s`` seconds while a block runs
(the sampled objects keep plain counters; the sample turns them into metrics), so no
request or frame waits for Prometheus.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Final

import asyncpg
import numpy as np
from prometheus_client import CollectorRegistry, Gauge, Histogram

__all__ = ["POOL_ROLES", "PoolMetrics", "observe_many", "sampling"]

log = logging.getLogger("store.metrics")

#: The owners of pools, one label value each (documented in docs/operations.md).
POOL_ROLES: Final = ("ingest", "web", "alerts", "scheduler", "forward")


class PoolMetrics:
    """The gauges of one process's pool with ``role``, registered in ``registry`` (a new
    one by default, so several owners in one test process do not collide)."""

    def __init__(self, role: str, registry: CollectorRegistry | None = None) -> None:
        if role not in POOL_ROLES:
            raise ValueError(f"unknown pool role {role!r} (one of {', '.join(POOL_ROLES)})")
        reg = registry if registry is not None else CollectorRegistry()
        self.role = role

        def gauge(name: str, text: str) -> Gauge:
            return Gauge(name, text, ["role"], registry=reg, multiprocess_mode="livesum")

        self.size = gauge("envgrid_db_pool_connections", "Open connections of the pools, by role")
        self.idle = gauge("envgrid_db_pool_idle", "Idle connections of the pools, by role")
        self.in_use = gauge(
            "envgrid_db_pool_in_use", "Connections of the pools lent out now, by role"
        )
        self.max = gauge("envgrid_db_pool_max", "Maximum size of the pools, by role")

    def sample(self, pool: asyncpg.Pool | None) -> None:
        """Set the gauges from ``pool`` (all 0 when there is none, or it is closed)."""
        if pool is None or pool.is_closing():
            self.clear()
            return
        size, idle = pool.get_size(), pool.get_idle_size()
        self.size.labels(self.role).set(size)
        self.idle.labels(self.role).set(idle)
        self.in_use.labels(self.role).set(size - idle)
        self.max.labels(self.role).set(pool.get_max_size())

    def clear(self) -> None:
        for gauge in (self.size, self.idle, self.in_use, self.max):
            gauge.labels(self.role).set(0)


def observe_many(histogram: Histogram, values: Sequence[float]) -> None:
    """``histogram.observe(v)`` for every one of ``values``, with one increment per bucket
    and one of the sum instead of two per value (an ingest worker observes every frame's
    latency: one ``observe`` a frame was 5 % of its CPU in multiprocess mode, issue 23).
    Reads the histogram's bucket bounds and values as prometheus_client 0.26 keeps them
    (``_upper_bounds``, ``_buckets``, ``_sum``; the version is pinned and
    tests/store/test_metrics.py checks the two ways agree)."""
    if not values:
        return
    bounds = histogram._upper_bounds
    cells = histogram._buckets
    data = np.asarray(values, dtype=np.float64)
    # observe() counts a value in the first bucket whose bound it does not exceed; NaN in none
    where = np.searchsorted(np.asarray(bounds, dtype=np.float64), data, side="left")
    counts = np.bincount(where, minlength=len(bounds) + 1)
    for i, n in enumerate(counts[: len(bounds)].tolist()):
        if n:
            cells[i].inc(n)
    histogram._sum.inc(float(data.sum()))


@contextlib.asynccontextmanager
async def sampling(
    sample: Callable[[], Awaitable[None] | None], every_s: float, name: str = "metrics"
) -> AsyncIterator[None]:
    """Call ``sample()`` at once and then every ``every_s`` seconds until the block ends.
    A failing sample is logged (once per kind of error in a row) and the next one runs."""

    async def loop() -> None:
        last_error = ""
        while True:
            try:
                result = sample()
                if result is not None:
                    await result
                last_error = ""
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a sample must never stop the process's work
                kind = type(exc).__name__
                if kind != last_error:
                    log.warning("%s: sampling failed (%s: %s)", name, kind, exc)
                last_error = kind
            await asyncio.sleep(every_s)

    task = asyncio.get_running_loop().create_task(loop(), name=f"{name}-sampling")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
