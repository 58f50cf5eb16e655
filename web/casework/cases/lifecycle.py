"""The vocabulary of the case lifecycle: states, actions, the clock effects and the
module switches, with their Chinese labels.  The transition table that joins them is
:mod:`web.casework.cases.workflow` (which re-exports everything here)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from web.casework.kernel.settings import CaseSettings

__all__ = [
    "CLOSED_STATES",
    "OPEN_STATES",
    "SWITCH_OFF_REASONS",
    "TERMINAL_STATES",
    "Action",
    "Clock",
    "ClockEffect",
    "State",
    "Switches",
    "When",
]


class State(StrEnum):
    REPORTED = "reported"
    VERIFYING = "verifying"
    ACCEPTED = "accepted"
    FILED = "filed"
    DISPATCHED = "dispatched"
    RETURNED = "returned"
    HANDLING = "handling"
    EXTENSION_REQUESTED = "extension_requested"
    HANG_REQUESTED = "hang_requested"
    HUNG = "hung"
    FEEDBACK = "feedback"
    CHECKING = "checking"
    RETURN_VISIT = "return_visit"
    CLOSING = "closing"
    CLOSED = "closed"
    ARCHIVED = "archived"
    REJECTED = "rejected"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return _STATE_LABELS[self]


_STATE_LABELS: Final = {
    State.REPORTED: "已上报",
    State.VERIFYING: "核实中",
    State.ACCEPTED: "已受理",
    State.FILED: "已立案",
    State.DISPATCHED: "已派遣",
    State.RETURNED: "已回退",
    State.HANDLING: "处置中",
    State.EXTENSION_REQUESTED: "延期申请中",
    State.HANG_REQUESTED: "挂账申请中",
    State.HUNG: "已挂账",
    State.FEEDBACK: "已反馈",
    State.CHECKING: "核查中",
    State.RETURN_VISIT: "回访中",
    State.CLOSING: "结案审核",
    State.CLOSED: "已结案",
    State.ARCHIVED: "已归档",
    State.REJECTED: "不予受理",
    State.CANCELLED: "已作废",
}

#: States with no way out.
TERMINAL_STATES: Final = frozenset({State.ARCHIVED, State.REJECTED, State.CANCELLED})
#: A case counts as closed (结案) in these states.
CLOSED_STATES: Final = frozenset({State.CLOSED, State.ARCHIVED})
#: Work still to do: everything but closed and terminal states.
OPEN_STATES: Final = frozenset(State) - TERMINAL_STATES - CLOSED_STATES


class Action(StrEnum):
    VERIFY = "verify"
    VERIFY_OK = "verify_ok"
    VERIFY_FALSE = "verify_false"
    ACCEPT = "accept"
    REJECT = "reject"
    FILE = "file"
    CANCEL = "cancel"
    DISPATCH = "dispatch"
    TAKE = "take"
    RETURN = "return"
    FEEDBACK = "feedback"
    REQUEST_EXTENSION = "request_extension"
    APPROVE_EXTENSION = "approve_extension"
    DENY_EXTENSION = "deny_extension"
    REQUEST_HANG = "request_hang"
    APPROVE_HANG = "approve_hang"
    DENY_HANG = "deny_hang"
    RESUME = "resume"
    SEND_CHECK = "send_check"
    CHECK_PASS = "check_pass"
    CHECK_FAIL = "check_fail"
    VISIT_DONE = "visit_done"
    CLOSE = "close"
    CLOSE_RECOVERED = "close_recovered"
    ARCHIVE = "archive"
    SUPERVISE = "supervise"
    NOTE = "note"

    @property
    def label(self) -> str:
        return _ACTION_LABELS[self]


_ACTION_LABELS: Final = {
    Action.VERIFY: "发送核实",
    Action.VERIFY_OK: "核实属实",
    Action.VERIFY_FALSE: "核实不属实",
    Action.ACCEPT: "受理",
    Action.REJECT: "不予受理",
    Action.FILE: "立案",
    Action.CANCEL: "作废",
    Action.DISPATCH: "派遣",
    Action.TAKE: "签收",
    Action.RETURN: "回退",
    Action.FEEDBACK: "处置反馈",
    Action.REQUEST_EXTENSION: "申请延期",
    Action.APPROVE_EXTENSION: "批准延期",
    Action.DENY_EXTENSION: "驳回延期",
    Action.REQUEST_HANG: "申请挂账",
    Action.APPROVE_HANG: "批准挂账",
    Action.DENY_HANG: "驳回挂账",
    Action.RESUME: "恢复处置",
    Action.SEND_CHECK: "发送核查",
    Action.CHECK_PASS: "核查通过",
    Action.CHECK_FAIL: "核查不通过（返工）",
    Action.VISIT_DONE: "回访完成",
    Action.CLOSE: "结案",
    Action.CLOSE_RECOVERED: "恢复结案",
    Action.ARCHIVE: "归档",
    Action.SUPERVISE: "督办",
    Action.NOTE: "备注",
}


class Clock(StrEnum):
    START = "start"  # start the named stage's limit now
    KEEP = "keep"  # the running deadline stays
    PAUSE = "pause"  # 挂账: no deadline while paused; remaining time kept
    RESUME = "resume"  # deadline = now + remaining working minutes
    EXTEND = "extend"  # 延期: deadline + approved working minutes
    STOP = "stop"  # no further deadline


@dataclass(frozen=True, slots=True)
class ClockEffect:
    kind: Clock
    #: The stage started (``kind is Clock.START`` only), a key of CaseSettings.stage_minutes.
    stage: str | None = None

    def __post_init__(self) -> None:
        if (self.kind is Clock.START) != (self.stage is not None):
            raise ValueError("a stage is named exactly when the clock starts one")


class When(StrEnum):
    """Which switch setting a rule depends on."""

    ALWAYS = "always"
    VERIFY_ON = "verify_on"
    VERIFY_OFF = "verify_off"
    VISIT_ON = "visit_on"
    VISIT_OFF = "visit_off"
    AUTO_ARCHIVE_ON = "auto_archive_on"
    AUTO_DISPATCH_ON = "auto_dispatch_on"


@dataclass(frozen=True, slots=True)
class Switches:
    """The module switches the lifecycle depends on (from CaseSettings)."""

    verify_step: bool = False
    return_visit_step: bool = False
    auto_archive: bool = True
    auto_dispatch: bool = True

    @classmethod
    def of(cls, settings: CaseSettings) -> Switches:
        return cls(
            verify_step=settings.verify_step,
            return_visit_step=settings.return_visit_step,
            auto_archive=settings.auto_archive,
            auto_dispatch=settings.auto_dispatch,
        )

    def holds(self, when: When) -> bool:
        return {
            When.ALWAYS: True,
            When.VERIFY_ON: self.verify_step,
            When.VERIFY_OFF: not self.verify_step,
            When.VISIT_ON: self.return_visit_step,
            When.VISIT_OFF: not self.return_visit_step,
            When.AUTO_ARCHIVE_ON: self.auto_archive,
            When.AUTO_DISPATCH_ON: self.auto_dispatch,
        }[when]


SWITCH_OFF_REASONS: Final = {
    When.VERIFY_ON: "未开启核实环节",
    When.VERIFY_OFF: "已开启核实环节，人工上报的案件须先发送核实",
    When.VISIT_ON: "未开启回访环节",
    When.VISIT_OFF: "已开启回访环节，核查通过后须先回访",
    When.AUTO_ARCHIVE_ON: "未开启自动归档",
    When.AUTO_DISPATCH_ON: "未开启自动派遣",
}
