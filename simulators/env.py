"""What every station of one process shares: clock, weather, counters, budget, rate.

One :class:`StationEnv` per process (built by :mod:`simulators.fleet`); there is
no module-level state.  :class:`FrameBudget` enforces ``--max-frames``;
:class:`RateLimiter` enforces ``--rate`` in fast pace (a token bucket refilled
every 10 ms that wakes waiting stations in FIFO order).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from datetime import tzinfo

from .clock import VirtualClock
from .config import FleetConfig
from .faults import FaultLog
from .stats import FleetCounters
from .values import Weather

__all__ = ["FrameBudget", "RateLimiter", "StationEnv"]


class FrameBudget:
    """``--max-frames``: how many more uploads this process may generate."""

    __slots__ = ("_on_exhausted", "left", "limit")

    def __init__(self, limit: int | None, on_exhausted: Callable[[], None]) -> None:
        self.limit = limit
        self.left = limit
        self._on_exhausted = on_exhausted

    def take(self) -> bool:
        if self.left is None:
            return True
        if self.left <= 0:
            return False
        self.left -= 1
        if self.left == 0:
            self._on_exhausted()
        return True


class RateLimiter:
    """A token bucket of ``rate`` tokens/s; waiters are called when a token is theirs."""

    __slots__ = ("_burst", "_handle", "_last", "_loop", "_tokens", "_waiters", "rate")

    def __init__(self, rate: float, loop: asyncio.AbstractEventLoop) -> None:
        self.rate = rate
        self._loop = loop
        self._burst = max(1.0, rate * 0.02)
        self._tokens = self._burst
        self._last = loop.time()
        self._waiters: deque[Callable[[], None]] = deque()
        self._handle: asyncio.TimerHandle | None = None

    def _refill(self) -> None:
        now = self._loop.time()
        self._tokens = min(self._burst, self._tokens + (now - self._last) * self.rate)
        self._last = now

    def take(self, waiter: Callable[[], None]) -> bool:
        """True: go ahead.  False: ``waiter()`` will be called once a token is set aside
        for it (it must then go ahead without calling take() again)."""
        self._refill()
        if self._tokens >= 1.0 and not self._waiters:
            self._tokens -= 1.0
            return True
        self._waiters.append(waiter)
        if self._handle is None:
            self._handle = self._loop.call_later(0.01, self._serve)
        return False

    def _serve(self) -> None:
        self._handle = None
        self._refill()
        while self._waiters and self._tokens >= 1.0:
            self._tokens -= 1.0  # the waiter's token: it goes ahead without take()
            self._waiters.popleft()()
        if self._waiters:
            self._handle = self._loop.call_later(0.01, self._serve)

    def debit(self, tokens: float) -> None:
        """Charge frames sent beyond the one a token was taken for (the bucket may go
        negative: later takers wait longer)."""
        self._tokens -= tokens

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._waiters.clear()


class StationEnv:
    """Shared by the stations of one process."""

    __slots__ = (
        "budget",
        "clock",
        "config",
        "counters",
        "fault_log",
        "limiter",
        "loop",
        "started",
        "tz",
        "weather",
    )

    def __init__(
        self,
        config: FleetConfig,
        *,
        loop: asyncio.AbstractEventLoop,
        clock: VirtualClock,
        budget: FrameBudget,
        limiter: RateLimiter | None,
    ) -> None:
        self.config = config
        self.loop = loop
        self.clock = clock
        self.tz: tzinfo = clock.tz
        self.weather = Weather(config.seed)
        self.counters = FleetCounters()
        self.fault_log = FaultLog(config.fault_log_limit)
        self.budget = budget
        self.limiter = limiter
        self.started = loop.time()

    def real_elapsed(self) -> float:
        return self.loop.time() - self.started
