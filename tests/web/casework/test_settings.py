"""CaseSettings validation and loading through the project's coercion."""

from __future__ import annotations

import pytest

from store.config import build_section
from store.validation import ConfigError
from web.casework.kernel.settings import DEFAULT_STAGE_MINUTES, CaseSettings


def test_defaults() -> None:
    s = CaseSettings()
    assert s.stage_minutes == dict(DEFAULT_STAGE_MINUTES)
    assert s.level_name(5) == "网格"
    assert s.auto_dispatch and s.auto_archive and not s.verify_step


def test_partial_stage_minutes_are_merged() -> None:
    s = CaseSettings(stage_minutes={"handle": 900})
    assert s.stage_minutes["handle"] == 900
    assert s.stage_minutes["check"] == DEFAULT_STAGE_MINUTES["check"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"stage_minutes": {"handel": 10}}, "unknown stages"),
        ({"stage_minutes": {"handle": 0}}, "stage_minutes.handle"),
        ({"work_hours": ("8:30-12:00",)}, "work_hours"),
        ({"work_hours": ("13:00-17:00", "08:00-12:00")}, "ascending"),
        ({"weekend": (0,)}, "weekend"),
        ({"card_red_below": 0.95, "card_yellow_below": 0.9}, "red ≤ yellow"),
        ({"checkin_max_distance_m": 0}, "checkin_max_distance_m"),
        ({"level_names": ("市", "区")}, "level_names"),
        ({"upload_max_bytes": 10}, "upload_max_bytes"),
        ({"case_max_photos": 0}, "case_max_photos"),
        ({"user_daily_photos": 0}, "user_daily_photos"),
        ({"case_max_photo_bytes": 10}, "case_max_photo_bytes"),
        ({"user_daily_photo_bytes": 10}, "user_daily_photo_bytes"),
        ({"incident_window_minutes": -1}, "incident_window_minutes"),
        ({"auto_close_recovered_minutes": 20000}, "auto_close_recovered_minutes"),
    ],
)
def test_invalid(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        CaseSettings(**kwargs)  # type: ignore[arg-type]


def test_loads_from_toml_and_env() -> None:
    s = build_section(
        CaseSettings,
        {"stage_minutes": {"handle": 900}, "work_hours": ["09:00-12:00", "13:00-18:00"]},
        {"ENVGRID_CASES__AUTO_DISPATCH": "off", "ENVGRID_CASES__WEEKEND": "7"},
        "ENVGRID_CASES__",
    )
    assert s.stage_minutes["handle"] == 900
    assert s.work_hours == ("09:00-12:00", "13:00-18:00")
    assert s.auto_dispatch is False
    assert s.weekend == (7,)


def test_case_config_from_root_settings() -> None:
    from envgrid.settings import load_settings
    from web.casework.cases.workflow import Switches
    from web.casework.kernel.config import CaseConfig

    root = load_settings(None, {}, {"core.data_dir": "/srv/envgrid"}, discover=False)
    config = CaseConfig.from_settings(root)
    assert config.timezone == "Asia/Shanghai"
    assert str(config.uploads_dir) == "/srv/envgrid/uploads"
    assert Switches.of(config.cases).auto_dispatch is True
