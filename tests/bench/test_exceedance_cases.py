"""``envgrid bench exceedance`` through the real alert writer and case bridge, small: the
real-time alerts of a few simulated stations for a day make exactly the cases the
incident model predicts, at most one open case per station incident; and the incident
check itself, table-driven."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bench import exceedance
from bench.exceedance_cases import incident_violations, replay
from envgrid.settings import load_settings
from simulators.ambient_days import ambient_days

TZ = ZoneInfo("Asia/Shanghai")
T = datetime(2026, 11, 16, 8, tzinfo=TZ)
H = timedelta(hours=1)
WINDOW = 2 * H


def _case(station: int, start: timedelta, recovered: timedelta | None) -> dict[str, Any]:
    return {
        "station_id": station,
        "first_seen": T + start,
        "reported_at": T + start,
        "recovered_at": None if recovered is None else T + recovered,
    }


@pytest.mark.parametrize(
    ("cases", "violations"),
    [
        ([], 0),
        ([_case(1, 0 * H, 1 * H), _case(1, 4 * H, None)], 0),  # 3 h after recovery: new
        ([_case(1, 0 * H, 1 * H), _case(2, 1.5 * H, None)], 0),  # another station
        ([_case(1, 0 * H, 1 * H), _case(1, 2.5 * H, None)], 1),  # within the window
        ([_case(1, 0 * H, None), _case(1, 5 * H, None)], 1),  # the first still active
        ([_case(1, 0 * H, 1 * H), _case(1, 3.5 * H, 4 * H), _case(1, 5 * H, None)], 1),
    ],
)
def test_incident_violations(cases: list[dict[str, Any]], violations: int) -> None:
    assert incident_violations(cases, WINDOW) == violations


async def test_real_bridge_makes_one_case_per_incident(db_dsn: str) -> None:
    """Three stations, one day of real-time values judged per value (before issue 21): the
    storm of 严重 alerts through the writer and the bridge — one case per incident."""
    settings = load_settings(None, {}, dict(exceedance.OFF), discover=False)
    start = date(2026, 11, 16)
    t0 = datetime(2026, 11, 16, tzinfo=TZ).timestamp()
    data = ambient_days(3, t0, 1.0, seed=1, timezone="Asia/Shanghai")
    run = exceedance.before(settings, data, start)
    model = exceedance.tally(run, 3.0, float(data.times[-1]) + 30, WINDOW.total_seconds())
    real = await replay(run.batches, 3, data.codes, "Asia/Shanghai", database=db_dsn)
    assert model["alerts"] > 5 and real["alerts_fired"] == model["alerts"]
    assert real["alert_severity"] == {"严重": model["alerts"]}
    assert real["cases"] == model["cases"]["per_station_incident"] > 0
    assert real["incident_violations"] == 0 and real["open_unrecovered_per_station_max"] <= 1
    assert (
        real["case_priority"] == {"严重": real["cases"]} and real["cases_urgent"] == real["cases"]
    )
    assert real["alerts_per_case_max"] > 1  # several alerts joined one incident
