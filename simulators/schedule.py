"""When a data logger samples and uploads: grids on the (station's) clock.

Theory of operation
-------------------
A data logger works on the wall clock ([S17] §6.7, C.14–C.18):

* it samples and sends real-time data (2011) every ``RtdInterval`` seconds;
* when a minute period (``MinInterval`` minutes), an hour or a day *ends* it
  sends that period's data (2051 / 2061 / 2031) with ``DataTime`` = the period
  start ([S17] table 4: "for 2051/2061/2031 the start of the period").

All grids are aligned to local midnight (``00:00:00`` in the station's zone),
so a 10-minute station sends at :00, :10 … and a 30-second one at :00 and :30.
:meth:`Schedule.next_event` returns the next instant strictly after a given
time and a bit mask of what happens then.  At one instant, periods ending
there close *before* the sample at that instant is taken (the sample belongs
to the next period) — :class:`Events` is ordered that way.

Times are integer POSIX seconds (simulated).  A station sends at
``instant + phase`` (a per-station delay of a few simulated seconds, as real
loggers do, so that thousands of stations do not all fire in the same
millisecond); the phase is the caller's business, not this module's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from enum import IntFlag

__all__ = [
    "MIN_INTERVALS",
    "Events",
    "Schedule",
    "floor_to_grid",
    "next_on_grid",
    "period_starts",
]

#: [S17] table 4: the values MinInterval may take (minutes).
MIN_INTERVALS: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30)
RTD_MIN, RTD_MAX = 30, 3600

_DAY = 86400


class Events(IntFlag):
    """What happens at one instant (in the order a station handles them)."""

    NONE = 0
    MINUTE = 1  # a minute period ended: 2051
    HOUR = 2  # an hour ended: 2061
    DAY = 4  # a day ended: 2031 (and 2041)
    SAMPLE = 8  # take a sample; send 2011 (and 2021) if switched on


def _utc_offset(ts: float, tz: tzinfo) -> int:
    offset = datetime.fromtimestamp(ts, tz).utcoffset() or timedelta(0)
    return int(offset.total_seconds())


def floor_to_grid(ts: float, period: int, tz: tzinfo) -> int:
    """The last grid instant ≤ ``ts`` of a grid with ``period`` seconds, aligned to
    local midnight."""
    offset = _utc_offset(ts, tz)
    local = math.floor(ts) + offset
    day_start = local - local % _DAY
    return day_start + ((local - day_start) // period) * period - offset


def next_on_grid(ts: float, period: int, tz: tzinfo) -> int:
    """The first grid instant strictly after ``ts`` (a grid restarts at each local
    midnight, so a period that does not divide a day has a short last step)."""
    offset = _utc_offset(ts, tz)
    local = math.floor(ts) + offset
    day_start = local - local % _DAY
    nxt = day_start + ((local - day_start) // period + 1) * period
    return min(nxt, day_start + _DAY) - offset


def period_starts(begin: float, end: float, period: int, tz: tzinfo) -> list[int]:
    """Grid instants in ``[floor(begin), end]`` — the periods a history request
    ``BeginTime..EndTime`` names ([S17] C.20–C.22: both ends included)."""
    out: list[int] = []
    t = floor_to_grid(begin, period, tz)
    if t < begin:
        t = next_on_grid(t, period, tz)
    while t <= end:
        out.append(t)
        t = next_on_grid(t, period, tz)
    return out


@dataclass(slots=True)
class Schedule:
    """The periodic duties of one station (mutable: 1062/1064 change intervals)."""

    rtd_interval: int = 30
    #: MinInterval in minutes; None: no minute data
    min_interval: int | None = None
    hourly: bool = False
    daily: bool = False

    def __post_init__(self) -> None:
        validate_rtd_interval(self.rtd_interval)
        if self.min_interval is not None:
            validate_min_interval(self.min_interval)

    def next_event(self, after: float, tz: tzinfo) -> tuple[int, Events]:
        """The next instant strictly after ``after`` at which something happens."""
        candidates: list[tuple[int, Events]] = [
            (next_on_grid(after, self.rtd_interval, tz), Events.SAMPLE)
        ]
        if self.min_interval is not None:
            candidates.append((next_on_grid(after, self.min_interval * 60, tz), Events.MINUTE))
        if self.hourly:
            candidates.append((next_on_grid(after, 3600, tz), Events.HOUR))
        if self.daily:
            candidates.append((next_on_grid(after, _DAY, tz), Events.DAY))
        when = min(t for t, _ in candidates)
        mask = Events.NONE
        for t, event in candidates:
            if t == when:
                mask |= event
        return when, mask


def validate_rtd_interval(seconds: int) -> None:
    if not RTD_MIN <= seconds <= RTD_MAX:
        raise ValueError(
            f"RtdInterval must be {RTD_MIN}..{RTD_MAX} s ([S17] table 4), got {seconds}"
        )


def validate_min_interval(minutes: int) -> None:
    if minutes not in MIN_INTERVALS:
        raise ValueError(
            f"MinInterval must be one of {', '.join(map(str, MIN_INTERVALS))} minutes"
            f" ([S17] table 4), got {minutes}"
        )


__all__ += ["validate_min_interval", "validate_rtd_interval"]
