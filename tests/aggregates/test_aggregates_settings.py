"""The [aggregates] settings added for the analytics."""

from __future__ import annotations

from pathlib import Path

import pytest

from envgrid.settings import load_settings
from store.validation import ConfigError


def test_defaults_and_overrides() -> None:
    s = load_settings(None, {}, {}, discover=False).aggregates
    assert (s.unit_factors, s.refresh_window_days, s.idw_power) == ({}, 2, 2.0)
    assert s.ranking_hour_minute == (8, 30)
    env = {"ENVGRID_AGGREGATES__UNIT_FACTORS": "a21026=1000,a21004=1000"}
    s = load_settings(None, env, {"aggregates.cjk_font": "/x.ttc"}, discover=False).aggregates
    assert s.unit_factors == {"a21026": 1000.0, "a21004": 1000.0}
    assert s.cjk_font == Path("/x.ttc")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("unit_factors", "a21026=-1", "unit_factors.a21026 must be a positive number"),
        ("refresh_window_days", "1", "refresh_window_days must be ≥ 2"),
        ("idw_power", "0", "idw_power must be in"),
        ("idw_max_distance_km", "-5", "idw_max_distance_km must be ≥ 0"),
        ("daily_ranking_time", "8h30", "HH:MM"),
    ],
)
def test_invalid_values_are_named(key: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(None, {}, {f"aggregates.{key}": value}, discover=False)
