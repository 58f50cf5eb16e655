"""The pure rules of one case per station incident: priority from severity, the window,
自动恢复, the title."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.web.casework.conftest import NOW
from web.casework.cases.incident import auto_closes, incident_title, joins, priority_of

H = timedelta(hours=1)


@pytest.mark.parametrize(
    ("severity", "priority"),
    [
        ("critical", 3), ("严重", 3), ("紧急", 3), ("CRITICAL", 3),
        ("major", 2), ("较重", 2),
        ("warning", 1), ("info", 1), ("一般", 1), ("提示", 1),
        ("", 1), (None, 1), ("bogus", 1),
    ],
)  # fmt: skip
def test_priority_of(severity: object, priority: int) -> None:
    assert priority_of(severity) == priority


@pytest.mark.parametrize(
    ("recovered_at", "alert_time", "expected"),
    [
        (None, NOW + 30 * H, True),  # still active: anything joins
        (NOW, NOW + H, True),
        (NOW, NOW + 2 * H, True),  # the window's edge belongs to it
        (NOW, NOW + 2 * H + timedelta(seconds=1), False),
        (NOW, NOW - H, True),  # data older than the recovery
    ],
)
def test_joins(recovered_at: datetime | None, alert_time: datetime, expected: bool) -> None:
    assert joins(recovered_at, alert_time, 2 * H) is expected


@pytest.mark.parametrize(
    ("recovered_after", "limit", "touched", "expected"),
    [
        (timedelta(minutes=30), H, False, True),
        (H, H, False, True),
        (timedelta(minutes=61), H, False, False),
        (timedelta(minutes=30), H, True, False),  # a person acted on it
        (timedelta(minutes=1), timedelta(0), False, False),  # the setting is off
    ],
)
def test_auto_closes(
    recovered_after: timedelta, limit: timedelta, touched: bool, expected: bool
) -> None:
    assert auto_closes(NOW, NOW + recovered_after, limit, touched) is expected


@pytest.mark.parametrize(
    ("kind", "factors", "title"),
    [
        ("exceedance", ["PM2.5"], "一号站 PM2.5 超标"),
        ("exceedance", ["PM2.5", "PM10", "PM2.5"], "一号站 PM2.5、PM10 超标"),
        ("exceedance", [""], "一号站 超标"),
        ("offline", [""], "一号站 站点离线"),
        ("flatline", ["SO2"], "一号站 SO2 恒值"),
    ],
)
def test_incident_title(kind: str, factors: list[str], title: str) -> None:
    assert incident_title("一号站", kind, factors) == title
