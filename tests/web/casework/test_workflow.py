"""The case lifecycle table: every allowed transition, every forbidden one for each role."""

from __future__ import annotations

import itertools

import pytest

from web.casework.cases.workflow import (
    CLOSED_STATES,
    OPEN_STATES,
    TERMINAL_STATES,
    TRANSITIONS,
    Action,
    Clock,
    State,
    Switches,
    allowed_actions,
    apply,
    find_rule,
)
from web.casework.kernel.errors import WorkflowError
from web.casework.kernel.people import Role

ALL_SWITCHES = [
    Switches(verify_step=v, return_visit_step=r, auto_archive=a, auto_dispatch=d)
    for v, r, a, d in itertools.product([False, True], repeat=4)
]
DEFAULT = Switches()


def _allowed_cases() -> list[tuple[State, Action, Role, Switches, State]]:
    out = []
    for rule in TRANSITIONS:
        for role in sorted(rule.roles):
            for sw in ALL_SWITCHES:
                if sw.holds(rule.when):
                    out.append((rule.state, rule.action, role, sw, rule.next or rule.state))
    return out


ALLOWED = _allowed_cases()


@pytest.mark.parametrize(("state", "action", "role", "switches", "expected"), ALLOWED)
def test_every_allowed_transition(
    state: State, action: Action, role: Role, switches: Switches, expected: State
) -> None:
    t = apply(state, action, role, switches)
    assert t.from_state is state
    assert t.to_state is expected
    assert t.role is role
    assert t.action is action


def _forbidden_cases() -> list[tuple[State, Action, Role]]:
    out = []
    for state, action, role in itertools.product(State, Action, Role):
        if find_rule(state, action, role, DEFAULT) is None:
            out.append((state, action, role))
    return out


FORBIDDEN = _forbidden_cases()


@pytest.mark.parametrize(("state", "action", "role"), FORBIDDEN)
def test_every_forbidden_transition_is_refused(state: State, action: Action, role: Role) -> None:
    with pytest.raises(WorkflowError) as info:
        apply(state, action, role, DEFAULT)
    err = info.value
    assert err.code in ("role", "state", "switch")
    message = str(err)
    assert action.label in message
    if err.code == "role":
        assert "需要" in message  # says who may
    if state in TERMINAL_STATES:
        assert err.code == "state"


def test_counts_are_meaningful() -> None:
    assert len(ALLOWED) > 300
    assert len(FORBIDDEN) > 2000
    # viewers can do nothing at all
    assert all(Role.VIEWER not in r.roles for r in TRANSITIONS)
    assert all(allowed_actions(s, Role.VIEWER) == [] for s in State)


def test_brief_example_message() -> None:
    with pytest.raises(WorkflowError, match="单位不能在'已立案'状态执行'派遣'；需要指挥中心派遣员"):
        apply("filed", "dispatch", "unit")


def test_state_refusal_lists_the_possible_actions() -> None:
    with pytest.raises(WorkflowError, match="'已结案'状态不能执行'派遣'；此状态可执行：归档、备注"):
        apply("closed", "dispatch", "officer")


def test_terminal_state_refusal() -> None:
    with pytest.raises(WorkflowError, match="已作废（已终结）"):
        apply("cancelled", "note", "officer")


def test_unknown_names() -> None:
    for args in [
        ("nope", "accept", "officer"),
        ("reported", "nope", "officer"),
        ("reported", "accept", "boss"),
    ]:
        with pytest.raises(WorkflowError) as info:
            apply(*args)
        assert info.value.code == "unknown"


# -- switch-dependent paths -------------------------------------------------------------


def test_verify_step_on_forces_verification() -> None:
    on = Switches(verify_step=True)
    with pytest.raises(WorkflowError, match="已开启核实环节") as info:
        apply("reported", "accept", "officer", on)
    assert info.value.code == "switch"
    assert apply("reported", "verify", "officer", on).to_state is State.VERIFYING
    assert apply("verifying", "verify_ok", "grid_member", on).to_state is State.ACCEPTED
    # sensor (alert) cases are accepted by the system even then
    assert apply("reported", "accept", "system", on).to_state is State.ACCEPTED


def test_verify_step_off_has_no_verification() -> None:
    with pytest.raises(WorkflowError, match="未开启核实环节"):
        apply("reported", "verify", "officer")
    assert apply("reported", "accept", "officer").to_state is State.ACCEPTED


def test_return_visit_switch() -> None:
    assert apply("checking", "check_pass", "grid_member").to_state is State.CLOSING
    on = Switches(return_visit_step=True)
    assert apply("checking", "check_pass", "grid_member", on).to_state is State.RETURN_VISIT
    assert apply("return_visit", "visit_done", "officer", on).to_state is State.CLOSING


def test_auto_archive_and_auto_dispatch_switches_gate_the_system_only() -> None:
    off = Switches(auto_archive=False, auto_dispatch=False)
    with pytest.raises(WorkflowError, match="未开启自动归档"):
        apply("closed", "archive", "system", off)
    with pytest.raises(WorkflowError, match="未开启自动派遣"):
        apply("filed", "dispatch", "system", off)
    assert apply("closed", "archive", "officer", off).to_state is State.ARCHIVED
    assert apply("filed", "dispatch", "officer", off).to_state is State.DISPATCHED


# -- clock effects -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "action", "role", "clock", "stage"),
    [
        ("reported", "accept", "officer", Clock.START, "file"),
        ("accepted", "file", "officer", Clock.START, "dispatch"),
        ("filed", "dispatch", "officer", Clock.START, "handle"),
        ("dispatched", "take", "unit", Clock.KEEP, None),
        ("dispatched", "return", "unit", Clock.START, "dispatch"),
        ("handling", "feedback", "unit", Clock.START, "check"),
        ("extension_requested", "approve_extension", "officer", Clock.EXTEND, None),
        ("hang_requested", "approve_hang", "officer", Clock.PAUSE, None),
        ("hung", "resume", "officer", Clock.RESUME, None),
        ("checking", "check_fail", "grid_member", Clock.START, "handle"),
        ("checking", "check_pass", "grid_member", Clock.START, "close"),
        ("closing", "close", "officer", Clock.STOP, None),
        ("handling", "supervise", "system", Clock.KEEP, None),
    ],
)
def test_clock_effects(state: str, action: str, role: str, clock: Clock, stage: str | None) -> None:
    t = apply(state, action, role)
    assert t.clock.kind is clock
    assert t.clock.stage == stage


def test_note_and_supervise_keep_the_state() -> None:
    for state in OPEN_STATES:
        assert apply(state, "note", "unit").to_state is state
        assert apply(state, "supervise", "officer").to_state is state
    for state in CLOSED_STATES:
        with pytest.raises(WorkflowError):
            apply(state, "supervise", "officer")


def test_allowed_actions_for_buttons() -> None:
    assert allowed_actions("dispatched", "unit") == [Action.TAKE, Action.RETURN, Action.NOTE]
    assert Action.DISPATCH in allowed_actions("filed", "officer")
    assert allowed_actions("archived", "admin") == []


# -- 恢复结案 (one-step close of a recovered alert case) -------------------------------------


@pytest.mark.parametrize(
    ("state", "role", "expected"),
    [
        ("dispatched", "officer", "closed"),
        ("handling", "officer", "closed"),
        ("filed", "system", "closed"),
        ("hung", "admin", "closed"),
        ("feedback", "officer", "closed"),
        ("closing", "officer", "closed"),
        ("dispatched", "unit", "role"),
        ("checking", "grid_member", "role"),
        ("handling", "viewer", "role"),
        ("closed", "officer", "state"),
        ("archived", "officer", "state"),
        ("cancelled", "system", "state"),
    ],
)
def test_close_recovered(state: str, role: str, expected: str) -> None:
    if expected == "closed":
        t = apply(state, "close_recovered", role)
        assert t.to_state is State.CLOSED and t.clock.kind is Clock.STOP
        assert Action.CLOSE_RECOVERED.label == "恢复结案"
        return
    with pytest.raises(WorkflowError) as info:
        apply(state, "close_recovered", role)
    assert info.value.code == expected
