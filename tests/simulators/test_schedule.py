"""Schedules on the virtual clock: grids, boundaries, history periods."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from simulators.clock import ClockAnchor, VirtualClock, parse_start_time
from simulators.schedule import Events, Schedule, floor_to_grid, next_on_grid, period_starts

TZ = ZoneInfo("Asia/Shanghai")
E = Events


def ts(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=TZ).timestamp()


def local(t: float) -> str:
    return datetime.fromtimestamp(t, TZ).strftime("%Y-%m-%d %H:%M:%S")


@pytest.mark.parametrize(
    ("now", "schedule", "when", "events"),
    [
        ("2024-05-01 08:00:05", Schedule(30), "2024-05-01 08:00:30", E.SAMPLE),
        ("2024-05-01 08:00:00", Schedule(30), "2024-05-01 08:00:30", E.SAMPLE),
        ("2024-05-01 08:09:45", Schedule(30, 10), "2024-05-01 08:10:00", E.SAMPLE | E.MINUTE),
        (
            "2024-05-01 08:59:59",
            Schedule(30, 10, True),
            "2024-05-01 09:00:00",
            E.SAMPLE | E.MINUTE | E.HOUR,
        ),
        (
            "2024-05-01 23:59:31",
            Schedule(60, 5, True, True),
            "2024-05-02 00:00:00",
            E.SAMPLE | E.MINUTE | E.HOUR | E.DAY,
        ),
        ("2024-05-01 08:00:10", Schedule(300), "2024-05-01 08:05:00", E.SAMPLE),
        # a 45 s grid has no sample at 08:01:00; the minute boundary is its own event
        ("2024-05-01 08:00:40", Schedule(45, 1), "2024-05-01 08:00:45", E.SAMPLE),
        ("2024-05-01 08:00:46", Schedule(45, 1), "2024-05-01 08:01:00", E.MINUTE),
        ("2024-05-01 08:10:00", Schedule(3600, 30, True), "2024-05-01 08:30:00", E.MINUTE),
        # a grid that does not divide the day restarts at midnight
        ("2024-05-01 23:59:00", Schedule(7 * 60), "2024-05-02 00:00:00", E.SAMPLE),
    ],
)
def test_next_event(now: str, schedule: Schedule, when: str, events: Events) -> None:
    t, mask = schedule.next_event(ts(now), TZ)
    assert (local(t), mask) == (when, events)


def test_a_day_of_events() -> None:
    schedule = Schedule(30, 10, True, True)
    t = ts("2024-05-01 00:00:00")
    counts = {e: 0 for e in (E.SAMPLE, E.MINUTE, E.HOUR, E.DAY)}
    while True:
        t, mask = schedule.next_event(t, TZ)
        if t > ts("2024-05-02 00:00:00"):
            break
        for e in counts:
            if mask & e:
                counts[e] += 1
    assert counts == {E.SAMPLE: 2880, E.MINUTE: 144, E.HOUR: 24, E.DAY: 1}


def test_grid_helpers() -> None:
    t = ts("2024-05-01 08:17:42")
    assert local(floor_to_grid(t, 600, TZ)) == "2024-05-01 08:10:00"
    assert local(next_on_grid(t, 600, TZ)) == "2024-05-01 08:20:00"
    assert local(floor_to_grid(t, 86400, TZ)) == "2024-05-01 00:00:00"  # local midnight
    assert local(next_on_grid(ts("2024-05-01 08:20:00"), 600, TZ)) == "2024-05-01 08:30:00"


@pytest.mark.parametrize(
    ("begin", "end", "period", "expected"),
    [
        ("2024-05-01 08:00:00", "2024-05-01 08:00:00", 3600, ["2024-05-01 08:00:00"]),
        (
            "2024-05-01 08:00:00",
            "2024-05-01 10:00:00",
            3600,
            ["2024-05-01 08:00:00", "2024-05-01 09:00:00", "2024-05-01 10:00:00"],
        ),
        (
            "2024-05-01 08:05:00",
            "2024-05-01 08:30:00",
            600,
            ["2024-05-01 08:10:00", "2024-05-01 08:20:00", "2024-05-01 08:30:00"],
        ),
        (
            "2024-05-01 00:00:00",
            "2024-05-02 00:00:00",
            86400,
            ["2024-05-01 00:00:00", "2024-05-02 00:00:00"],
        ),
        ("2024-05-01 10:00:00", "2024-05-01 08:00:00", 3600, []),
    ],
)
def test_period_starts(begin: str, end: str, period: int, expected: list[str]) -> None:
    assert [local(t) for t in period_starts(ts(begin), ts(end), period, TZ)] == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rtd_interval": 10}, "RtdInterval must be 30..3600"),
        ({"min_interval": 7}, "MinInterval must be one of"),
    ],
)
def test_schedule_validation(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Schedule(**kwargs)


class FakeTime:
    def __init__(self) -> None:
        self.mono = 100.0
        self.wall = 1_700_000_000.0

    def monotonic(self) -> float:
        return self.mono

    def time(self) -> float:
        return self.wall


def test_virtual_clock_scales_time() -> None:
    fake = FakeTime()
    start = ts("2024-05-01 08:00:00")
    anchor = ClockAnchor(real=fake.wall, sim=start, scale=60)
    clock = VirtualClock(anchor, TZ, monotonic=fake.monotonic, wall=fake.time)
    assert clock.now() == start
    fake.mono += 2.0
    assert local(clock.now()) == "2024-05-01 08:02:00"
    assert clock.real_delay(ts("2024-05-01 09:00:00")) == pytest.approx(58.0)
    assert clock.real_span(1200) == 20.0 and clock.sim_span(1.0) == 60.0


def test_processes_share_one_clock() -> None:
    fake = FakeTime()
    anchor = ClockAnchor(real=fake.wall, sim=ts("2024-05-01 08:00:00"), scale=10)
    fake.wall += 3.0  # a child process starting three seconds later
    clock = VirtualClock(anchor, TZ, monotonic=fake.monotonic, wall=fake.time)
    assert local(clock.now()) == "2024-05-01 08:00:30"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20240501080000", "2024-05-01 08:00:00"),
        ("2024-05-01T08:00:00", "2024-05-01 08:00:00"),
        ("2024-05-01T00:00:00+00:00", "2024-05-01 08:00:00"),
    ],
)
def test_parse_start_time(text: str, expected: str) -> None:
    assert local(parse_start_time(text, TZ)) == expected


def test_parse_start_time_error() -> None:
    with pytest.raises(ValueError, match="neither ISO 8601"):
        parse_start_time("yesterday", TZ)
