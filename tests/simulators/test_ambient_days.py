"""Batch ambient-air days (simulators.ambient_days) and the exceedance bench on them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from bench import exceedance
from envgrid.settings import load_settings
from simulators.ambient_days import POLLUTANTS, ambient_days, hourly_means
from simulators.identities import Area, station_identities
from simulators.profiles import profile_for
from simulators.values import ValueModel, Weather

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 6, 10, tzinfo=SH).timestamp()


def test_days_follow_the_value_model() -> None:
    days = ambient_days(4, T0, 0.25, interval_s=60, seed=3)
    again = ambient_days(4, T0, 0.25, interval_s=60, seed=3)
    assert days.values.shape == (4, 6, 360) and days.codes == POLLUTANTS
    assert np.array_equal(days.values, again.values)  # seeded
    assert (days.values >= 0).all() and len(set(days.regions)) >= 1
    # the noise-free level of the live model and the batch agree on average (±10 %)
    profile = profile_for("22")
    weather = Weather(3)
    ident = station_identities(1, seed=3, st=("22",), area=Area(regions=8))[0]
    model = ValueModel(
        profile, seed=3, index=0, region=ident.region, urban=ident.urban, weather=weather, tz=SH
    )
    live = np.array([model.sample(float(t))[:6] for t in days.times[::10]])
    batch = days.values[0, :, ::10].T
    ratio = batch.mean(axis=0) / live.mean(axis=0)
    assert np.all(np.abs(ratio - 1) < 0.1), ratio


def test_hourly_means_are_the_means_of_whole_hours() -> None:
    days = ambient_days(2, T0 + 900, 0.2, interval_s=30)  # starts at 00:15
    means, valid, starts = hourly_means(days)
    assert starts[0] == T0 + 3600 and valid.all()
    first = days.values[:, :, 90:210].astype(np.float64).mean(axis=2)
    assert np.allclose(means[:, :, 0], first)


def test_the_bench_compares_before_and_after() -> None:
    def settings_for(overrides: dict[str, Any]) -> Any:
        return load_settings(None, {}, overrides, discover=False)

    result = exceedance.run(settings_for, 20, 1.0, date(2026, 11, 16), 2.0, 1, cases=False)
    before, after = result["before"], result["after"]
    assert result["station_days"] == 20
    assert before["alerts"] > after["alerts"] > 0  # real-time noise vs means
    assert set(before["severity"]) == {"critical"}  # one severity before: 严重
    assert set(after["severity"]) <= {"warning", "major", "critical"}
    assert after["cases"]["per_station_incident"] <= after["cases"]["per_station_rule_factor"]
    assert "| before |" in exceedance.report(result)
