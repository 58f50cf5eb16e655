"""Working time left as words, and the public lookup's pure parts (table-driven)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from web.casework.cases.status_lookup import check_input, phone_matches, public_phase
from web.casework.cases.timeleft import annotate_deadlines, time_left, work_span
from web.casework.kernel.calendar import WorkCalendar
from web.casework.kernel.errors import WorkflowError

TZ = ZoneInfo("Asia/Shanghai")
#: 08:30–12:00 and 13:30–17:30: 450 working minutes a day; 2026-12-07 is a Monday.
CAL = WorkCalendar()


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=TZ)


@pytest.mark.parametrize(
    ("now", "deadline", "text", "minutes"),
    [
        (at(7, 9), at(7, 12), "剩余 3 个工作小时", 180),
        (at(7, 9), at(7, 10, 30), "剩余 1.5 个工作小时", 90),
        (at(7, 9), at(7, 9, 45), "剩余 45 个工作分钟", 45),
        (at(7, 9), at(8, 14, 15), "剩余 1.5 个工作日", 675),
        (at(7, 9), at(8, 16), "剩余 1.7 个工作日", 780),
        (at(4, 17), at(7, 9), "剩余 1 个工作小时", 60),  # Friday → Monday over the weekend
        (at(7, 9), at(4, 15), "已超期 3 个工作小时", -180),
        (at(7, 9), at(1, 9), "已超期 4 个工作日", -1800),
        (at(7, 8), at(6, 10), "已到期", 0),  # passed on Sunday, no working time since
    ],
)
def test_time_left(now: datetime, deadline: datetime, text: str, minutes: int) -> None:
    left = time_left(CAL, deadline, now)
    assert left == {"minutes": minutes, "overdue": minutes < 0 or deadline <= now, "text": text}


def test_no_deadline_and_spans() -> None:
    assert time_left(CAL, None, at(7, 9)) is None
    assert [work_span(m, 450) for m in (0, 59, 60, 449, 450, 900, 1000)] == [
        "0 个工作分钟", "59 个工作分钟", "1 个工作小时", "7.5 个工作小时", "1 个工作日",
        "2 个工作日", "2.2 个工作日",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("given", "stored", "match"),
    [
        ("13812345678", "13812345678", True),
        ("5678", "13812345678", True),
        ("138-1234-5678", "13812345678", True),
        ("057187654321", "0571-87654321", True),
        ("5679", "13812345678", False),
        ("13812345679", "13812345678", False),
        ("1381234567", "13812345678", False),  # a prefix is no match
        ("5678", "", False),  # no phone given at submission: nothing matches
        ("0000", "", False),  # … not even the dummy the comparison runs against
        ("00000000000", "", False),
    ],
)
def test_phone_matches(given: str, stored: str, match: bool) -> None:
    assert phone_matches(given, stored) is match


@pytest.mark.parametrize(
    ("code", "phone", "message"),
    [
        ("", "5678", "受理编号"),
        ("XY123", "5678", "受理编号"),
        ("AJ2026120600001'--", "5678", "受理编号"),
        ("AJ20261206000001", "", "联系电话"),
        ("AJ20261206000001", "12", "联系电话"),
        ("AJ20261206000001", "abcd", "联系电话"),
    ],
)
def test_lookup_input_refusals(code: str, phone: str, message: str) -> None:
    with pytest.raises(WorkflowError, match=message):
        check_input(code, phone)


def test_input_is_normalised_and_phases_are_words() -> None:
    assert check_input(" aj20261206000001 ", "138 1234 5678") == ("AJ20261206000001", "13812345678")
    assert public_phase("reported") == "已收到，等待受理"
    assert public_phase("handling") == "处理中"
    assert public_phase("archived") == "已办结"


def test_annotate_patrol_rows_by_field_skipping_closed_states() -> None:
    """Patrol tasks (``due_at``) and hazards (``rectify_deadline``): the same working time
    left as cases; a finished row (``closed`` state) or one without a deadline gets None."""
    rows: list[dict[str, Any]] = [
        {"state": "pending", "due_at": at(7, 12)},
        {"state": "overdue", "due_at": at(4, 15)},
        {"state": "done", "due_at": at(7, 12)},
        {"state": "pending", "due_at": None},
    ]
    annotate_deadlines(rows, CAL, at(7, 9), "due_at", frozenset({"done"}))
    texts = [r["deadline_left"] and r["deadline_left"]["text"] for r in rows]
    assert texts == ["剩余 3 个工作小时", "已超期 3 个工作小时", None, None]
