"""Settings of the grid, patrol and case modules (section ``[cases]`` of envgrid.toml).

Switches and stage durations as the reference 数字城管 platforms have them.  Durations
are **working minutes** of the work calendar (``work_hours`` on working days; holidays and
调休 make-up days live in the ``work_calendar_days`` table).  Per-category limits in the
``case_time_limits`` table override :attr:`CaseSettings.stage_minutes`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from store.validation import require

__all__ = ["DEFAULT_LEVEL_NAMES", "DEFAULT_STAGE_MINUTES", "STAGES", "CaseSettings"]

#: Stages that have a clock, in lifecycle order (see web.casework.cases.workflow).
STAGES: Final = ("accept", "verify", "file", "dispatch", "handle", "check", "visit", "close")

#: 450 working minutes = one day of 08:30–12:00 + 13:30–17:30.
DEFAULT_STAGE_MINUTES: Final[Mapping[str, int]] = {
    "accept": 60,  # 受理时限
    "verify": 240,  # 核实时限
    "file": 60,  # 立案时限
    "dispatch": 60,  # 派遣时限
    "handle": 1350,  # 处置时限 (3 working days), category limits override it
    "check": 240,  # 核查时限
    "visit": 450,  # 回访时限
    "close": 120,  # 结案时限
}
DEFAULT_LEVEL_NAMES: Final = ("市", "区县", "街道(乡镇)", "社区(村)", "网格")
_HOURS_RE: Final = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]|24):([0-5]\d)$")


def _stage_defaults() -> dict[str, int]:
    return dict(DEFAULT_STAGE_MINUTES)


@dataclass(frozen=True, slots=True)
class CaseSettings:
    """Grid / patrol / case configuration (``[cases]``)."""

    # -- switches -------------------------------------------------------------------
    #: Dispatch automatically to the grid's responsible unit for the case category.
    auto_dispatch: bool = True
    #: Reported cases must be verified on site (核实) before they are accepted.
    verify_step: bool = False
    #: A return visit (回访) between a passed check and the closing audit.
    return_visit_step: bool = False
    #: Closing a case archives it at once (归档); off = an officer archives.
    auto_archive: bool = True
    # -- time limits ----------------------------------------------------------------
    #: Working minutes per stage (keys: accept verify file dispatch handle check visit close).
    stage_minutes: dict[str, int] = field(default_factory=_stage_defaults)
    #: Working periods of a working day, local time, ``HH:MM-HH:MM``, ascending.
    work_hours: tuple[str, ...] = ("08:30-12:00", "13:30-17:30")
    #: ISO weekdays that are not working days unless listed as 调休 make-up days.
    weekend: tuple[int, ...] = (6, 7)
    #: Remind the responsible people this many working minutes before a stage deadline.
    reminder_lead_minutes: int = 60
    #: Escalate (督办) this many working minutes after a stage deadline passed (0 = at once).
    escalate_after_minutes: int = 0
    # -- assessment -----------------------------------------------------------------
    #: Units whose 按期结案率 is below these fractions get a yellow / red card.
    card_yellow_below: float = 0.90
    card_red_below: float = 0.80
    #: Units with fewer 应结案 − 缓办 cases than this in a period get no card.
    card_min_cases: int = 5
    # -- alert cases (web/casework/cases/bridge.py) -------------------------------------
    #: One case per station incident: an alert of a station joins the open case of its kind
    #: (exceedance, offline …) while one of the case's alerts is active, or until this many
    #: minutes after they all cleared; later alerts open a new case.
    incident_window_minutes: int = 120
    #: 自动恢复: a case whose alerts all cleared within this many minutes of its opening
    #: and that no person acted on closes by itself (0 = off: an officer closes it).
    auto_close_recovered_minutes: int = 0
    # -- patrol -----------------------------------------------------------------------
    #: A check-in farther than this from the station / area is flagged (metres).
    checkin_max_distance_m: float = 200.0
    #: Default rectification time for a hazard (working minutes).
    hazard_rectify_minutes: int = 2250
    # -- grid -------------------------------------------------------------------------
    #: Display names of the five area levels (city … grid).
    level_names: tuple[str, ...] = DEFAULT_LEVEL_NAMES
    # -- public complaints --------------------------------------------------------------
    #: At most this many complaints per client address per window.
    complaint_rate_limit: int = 5
    complaint_rate_window_s: int = 3600
    #: At most this many status look-ups (受理编号 + 电话) per client address per window.
    complaint_lookup_limit: int = 10
    complaint_max_photos: int = 6
    #: Largest accepted photo (bytes), complaints and attachments alike.
    upload_max_bytes: int = 10 * 1024 * 1024
    # -- upload quotas (web/casework/kernel/quotas.py) -------------------------------------
    #: Photos one case may carry over its whole life (all its events), and their total size:
    #: a case's record, its exports and the 案卷 stay readable.
    case_max_photos: int = 30
    case_max_photo_bytes: int = 100 * 1024 * 1024
    #: Photos (and bytes, as sent) one dashboard user may upload per local day: ample for a
    #: grid member's rounds (dozens of photos), a stop for a script filling the disk.
    user_daily_photos: int = 200
    user_daily_photo_bytes: int = 1024 * 1024 * 1024
    # -- background work of the web process (web/casework/cases/background.py) -----------------
    #: Deadline sweep (reminders, due notices, 督办) and overdue patrol tasks, seconds.
    sweep_interval_s: float = 60.0
    #: Sending the queued notices through the alert notifiers, seconds.
    notice_interval_s: float = 15.0
    #: Generating the patrol tasks of the current periods, seconds.
    patrol_interval_s: float = 600.0
    #: Re-checking firing alerts (offline past N hours, missed notifications), seconds.
    alert_sweep_interval_s: float = 300.0

    def __post_init__(self) -> None:
        unknown = sorted(set(self.stage_minutes) - set(STAGES))
        require(
            not unknown,
            f"cases.stage_minutes has unknown stages {unknown}; valid: {', '.join(STAGES)}",
        )
        merged = {**DEFAULT_STAGE_MINUTES, **self.stage_minutes}
        for stage, minutes in merged.items():
            require(
                isinstance(minutes, int) and minutes > 0,
                f"cases.stage_minutes.{stage} must be a positive number of working minutes"
                f" (got {minutes!r})",
            )
        object.__setattr__(self, "stage_minutes", merged)
        require(bool(self.work_hours), "cases.work_hours must list at least one period")
        previous_end = -1
        for text in self.work_hours:
            match = _HOURS_RE.match(text)
            require(
                match is not None,
                f"cases.work_hours entries must look like '08:30-12:00' (got {text!r})",
            )
            assert match is not None
            h1, m1, h2, m2 = (int(g) for g in match.groups())
            start, end = h1 * 60 + m1, h2 * 60 + m2
            require(
                start < end <= 24 * 60 and start >= previous_end,
                f"cases.work_hours periods must be non-empty, ascending and not overlap"
                f" (got {', '.join(self.work_hours)})",
            )
            previous_end = end
        require(
            all(1 <= d <= 7 for d in self.weekend) and len(set(self.weekend)) < 7,
            f"cases.weekend must be ISO weekdays 1..7 leaving at least one working day"
            f" (got {self.weekend})",
        )
        require(
            self.reminder_lead_minutes >= 0,
            f"cases.reminder_lead_minutes must be ≥ 0 (got {self.reminder_lead_minutes})",
        )
        require(
            self.escalate_after_minutes >= 0,
            f"cases.escalate_after_minutes must be ≥ 0 (got {self.escalate_after_minutes})",
        )
        require(
            0 <= self.card_red_below <= self.card_yellow_below <= 1,
            "cases.card_red_below and cases.card_yellow_below must satisfy"
            f" 0 ≤ red ≤ yellow ≤ 1 (got red={self.card_red_below},"
            f" yellow={self.card_yellow_below})",
        )
        require(self.card_min_cases >= 0, "cases.card_min_cases must be ≥ 0")
        for name in ("incident_window_minutes", "auto_close_recovered_minutes"):
            value = getattr(self, name)
            require(
                isinstance(value, int) and 0 <= value <= 10080,
                f"cases.{name} must be 0..10080 minutes (got {value!r})",
            )
        require(
            self.checkin_max_distance_m > 0,
            f"cases.checkin_max_distance_m must be > 0 (got {self.checkin_max_distance_m})",
        )
        require(self.hazard_rectify_minutes > 0, "cases.hazard_rectify_minutes must be > 0")
        require(
            len(self.level_names) == 5 and all(n.strip() for n in self.level_names),
            f"cases.level_names must name the 5 levels city … grid (got {self.level_names})",
        )
        require(self.complaint_rate_limit >= 1, "cases.complaint_rate_limit must be ≥ 1")
        require(self.complaint_rate_window_s >= 1, "cases.complaint_rate_window_s must be ≥ 1")
        require(self.complaint_lookup_limit >= 1, "cases.complaint_lookup_limit must be ≥ 1")
        require(0 <= self.complaint_max_photos <= 20, "cases.complaint_max_photos must be 0..20")
        require(
            1024 <= self.upload_max_bytes <= 100 * 1024 * 1024,
            f"cases.upload_max_bytes must be between 1 KiB and 100 MiB"
            f" (got {self.upload_max_bytes})",
        )
        for name in ("case_max_photos", "user_daily_photos"):
            value = getattr(self, name)
            require(
                isinstance(value, int) and 1 <= value <= 100_000,
                f"cases.{name} must be between 1 and 100000 (got {value!r})",
            )
        for name in ("case_max_photo_bytes", "user_daily_photo_bytes"):
            value = getattr(self, name)
            require(
                isinstance(value, int) and 1024 <= value <= 1024**4,
                f"cases.{name} must be between 1 KiB and 1 TiB (got {value!r})",
            )
        for name in ("sweep_interval_s", "notice_interval_s", "patrol_interval_s",
                     "alert_sweep_interval_s"):  # fmt: skip
            value = getattr(self, name)
            require(
                isinstance(value, int | float) and 0 < value <= 86400,
                f"cases.{name} must be between 0 and 86400 seconds (got {value!r})",
            )

    def level_name(self, level: int) -> str:
        """Display name of area level 1..5."""
        return self.level_names[level - 1]
