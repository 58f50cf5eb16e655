"""The virtual clock: simulated time = start + (real time elapsed) × scale.

``--time-scale 60`` makes one real second one simulated minute, so hourly
data arrive every minute and a 20-minute outage lasts 20 seconds.  Every
DataTime, QN, schedule and fault duration of the simulator is simulated time;
ack timeouts, reconnect back-off, connect pacing and the run's ``--duration``
are real time (they are about the network and the server, not the stations).

Simulated time is kept as POSIX seconds (a float); wall-clock fields come from
converting it in the configured zone (Asia/Shanghai by default, like the
stations of the standard).  Several processes share one clock by sharing the
anchor ``(real_anchor, sim_anchor)``: ``real_anchor`` is a ``time.time()``
value, read once per process and then advanced with the monotonic clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from protocol.timefmt import parse_time

__all__ = ["ClockAnchor", "VirtualClock", "parse_start_time", "zone"]


def zone(name: str) -> tzinfo:
    """An IANA zone by name, with an actionable error."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}; use an IANA name such as 'Asia/Shanghai' or 'UTC'"
        ) from None


def parse_start_time(text: str, tz: tzinfo) -> float:
    """``--start-time``: ISO 8601 (``2024-05-01T08:00``, with or without a zone) or the
    HJ 212 form ``20240501080000``; a value without zone is local time in ``tz``."""
    text = text.strip()
    moment: datetime | None = parse_time(text) if text.isdigit() else None
    if moment is None:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f"--start-time {text!r} is neither ISO 8601 (2024-05-01T08:00:00)"
                " nor YYYYMMDDhhmmss"
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.timestamp()


@dataclass(frozen=True, slots=True)
class ClockAnchor:
    """What processes share so their clocks agree: at real POSIX time ``real``
    the simulated time was ``sim``; it runs ``scale`` times faster."""

    real: float
    sim: float
    scale: float = 1.0

    @classmethod
    def starting_now(cls, start: float | None = None, scale: float = 1.0) -> ClockAnchor:
        now = time.time()
        return cls(now, now if start is None else start, scale)


class VirtualClock:
    """Simulated time for one process."""

    __slots__ = ("_mono0", "_monotonic", "_offset", "anchor", "scale", "tz")

    def __init__(
        self,
        anchor: ClockAnchor,
        tz: tzinfo,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        if anchor.scale <= 0:
            raise ValueError(f"time scale must be > 0 (got {anchor.scale})")
        self.anchor = anchor
        self.scale = anchor.scale
        self.tz = tz
        self._monotonic = monotonic
        self._mono0 = monotonic()
        # simulated time at _mono0
        self._offset = anchor.sim + (wall() - anchor.real) * anchor.scale

    def now(self) -> float:
        """Simulated POSIX seconds."""
        return self._offset + (self._monotonic() - self._mono0) * self.scale

    def real_delay(self, sim_target: float, sim_now: float | None = None) -> float:
        """Real seconds until the simulated instant ``sim_target`` (≥ 0)."""
        now = self.now() if sim_now is None else sim_now
        return max(0.0, (sim_target - now) / self.scale)

    def sim_span(self, real_seconds: float) -> float:
        """Simulated seconds that pass in ``real_seconds``."""
        return real_seconds * self.scale

    def real_span(self, sim_seconds: float) -> float:
        """Real seconds that ``sim_seconds`` of simulated time take."""
        return sim_seconds / self.scale
