"""The case (案件) lifecycle: states, actions, who may do what, and the stage clock.

Theory of operation
-------------------
This module is pure: no I/O, no clock, no database.  It is the single authority on which
transitions exist; the services (``web.casework.cases.service``) lock the case row, call
:func:`apply` and then carry out what the returned :class:`Transition` says (new state,
clock effect, trail entry).

The lifecycle is the standard one of the digital city-management standards (CJJ/T 106,
CJ/T 315 / GB/T 30428.8 立案、处置和结案; see ``shared/workflow/CASES.md`` §4.3)::

    reported ─(verify)→ verifying ─(verify_ok)→ accepted ─(file)→ filed ─(dispatch)→ dispatched
        │  └─────────────(accept)──────────────↗    │                        ↑   │    │
        └(reject)→ rejected     verifying─(verify_false)→ rejected          │   │  (return)
                                 accepted ─(cancel)→ cancelled   returned ─(dispatch)┘  ↓
                                                                              returned
    dispatched ─(take)→ handling ─(feedback)→ feedback ─(send_check)→ checking
    handling ⇄ extension_requested (request_extension / approve_extension | deny_extension)
    handling → hang_requested → hung (approve_hang) → handling (resume)  [挂账/缓办, clock paused]
    checking ─(check_pass)→ [return_visit ─(visit_done)→] closing ─(close)→ closed
    closed ─(archive)→ archived
    checking ─(check_fail)→ dispatched   (返工: rework, a new disposal deadline)

Every row of :data:`TRANSITIONS` is (state, action, allowed roles, next state, clock
effect, switch condition).  ``supervise`` (督办) is allowed in every open state, ``note``
(备注) also on a closed case; neither changes the state.  ``close_recovered`` (恢复结案)
closes an alert case in one step from any open state once all its alerts cleared (the
service checks ``recovered_at``; the system uses it for 自动恢复).  ``cancel`` (作废, e.g. a
duplicate) is allowed for the command centre in every state before feedback.

Roles (the web layer maps its users onto these):

* ``admin`` — may do everything a person may do;
* ``officer`` — 监督中心/指挥中心: operator (受理), shift lead (立案/结案/审批), dispatcher (派遣);
* ``unit`` — 专业部门 handler: takes, returns, handles, asks for extension / 挂账;
* ``grid_member`` — 网格员/监督员: verifies (核实) and checks (核查) on site;
* ``viewer`` — reads only;
* ``system`` — automatic steps: accepting sensor (alert) cases, auto-dispatch,
  auto-archive, escalation (督办), notes from the alert bridge.

Data-level rules (a unit acts only on cases dispatched to it, a grid member only inside
its area scope) are checked by the services, not here.

Stage clock: each row says what happens to the stage deadline — ``start`` a stage (its
limit in working minutes comes from settings / the category), ``keep`` it, ``pause`` it
(挂账), ``resume`` it with the remaining working minutes, ``extend`` it (延期) or
``stop`` it (terminal).  Switches: ``verify_step`` makes 核实 mandatory for human-reported
cases, ``return_visit_step`` inserts 回访, ``auto_archive`` lets the system archive on
close, ``auto_dispatch`` lets the system dispatch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, TypeVar

from web.casework.cases.lifecycle import (
    CLOSED_STATES,
    OPEN_STATES,
    SWITCH_OFF_REASONS,
    TERMINAL_STATES,
    Action,
    Clock,
    ClockEffect,
    State,
    Switches,
    When,
)
from web.casework.kernel.errors import WorkflowError
from web.casework.kernel.people import Role

__all__ = [
    "CLOSED_STATES",
    "OPEN_STATES",
    "TERMINAL_STATES",
    "TRANSITIONS",
    "Action",
    "Clock",
    "ClockEffect",
    "Rule",
    "State",
    "Switches",
    "Transition",
    "When",
    "allowed_actions",
    "apply",
    "find_rule",
]


_E = TypeVar("_E", bound=StrEnum)
#: The switches of the default settings.
DEFAULT_SWITCHES: Final = Switches()


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of the transition table."""

    state: State
    action: Action
    roles: frozenset[Role]
    #: None = the state does not change (note, supervise).
    next: State | None
    clock: ClockEffect
    when: When = When.ALWAYS
    #: Who does this, in the words of the platform (for refusals).
    actor: str = ""


def _r(*roles: Role) -> frozenset[Role]:
    return frozenset(roles)


_A, _O, _U, _G, _S = Role.ADMIN, Role.OFFICER, Role.UNIT, Role.GRID_MEMBER, Role.SYSTEM
_KEEP: Final = ClockEffect(Clock.KEEP)
_STOP: Final = ClockEffect(Clock.STOP)


def _start(stage: str) -> ClockEffect:
    return ClockEffect(Clock.START, stage)


_MAIN_RULES: Final[tuple[Rule, ...]] = (
    # 受理 (监督中心)
    Rule(State.REPORTED, Action.VERIFY, _r(_A, _O), State.VERIFYING, _start("verify"),
         When.VERIFY_ON, "监督中心受理员"),
    Rule(State.REPORTED, Action.ACCEPT, _r(_A, _O), State.ACCEPTED, _start("file"),
         When.VERIFY_OFF, "监督中心受理员"),
    Rule(State.REPORTED, Action.ACCEPT, _r(_S), State.ACCEPTED, _start("file"),
         When.ALWAYS, "系统（监测数据自动受理）"),
    Rule(State.REPORTED, Action.REJECT, _r(_A, _O), State.REJECTED, _STOP,
         When.ALWAYS, "监督中心受理员"),
    # 核实 (网格员/监督员)
    Rule(State.VERIFYING, Action.VERIFY_OK, _r(_A, _O, _G), State.ACCEPTED, _start("file"),
         When.ALWAYS, "网格员（核实结果）"),
    Rule(State.VERIFYING, Action.VERIFY_FALSE, _r(_A, _O, _G), State.REJECTED, _STOP,
         When.ALWAYS, "网格员（核实结果）"),
    # 立案 (值班长)
    Rule(State.ACCEPTED, Action.FILE, _r(_A, _O, _S), State.FILED, _start("dispatch"),
         When.ALWAYS, "监督中心值班长"),
    # 派遣 (指挥中心)
    Rule(State.FILED, Action.DISPATCH, _r(_A, _O), State.DISPATCHED, _start("handle"),
         When.ALWAYS, "指挥中心派遣员"),
    Rule(State.FILED, Action.DISPATCH, _r(_S), State.DISPATCHED, _start("handle"),
         When.AUTO_DISPATCH_ON, "指挥中心派遣员"),
    Rule(State.RETURNED, Action.DISPATCH, _r(_A, _O), State.DISPATCHED, _start("handle"),
         When.ALWAYS, "指挥中心派遣员"),
    # 处置 (专业部门)
    Rule(State.DISPATCHED, Action.TAKE, _r(_A, _U), State.HANDLING, _KEEP,
         When.ALWAYS, "责任单位"),
    Rule(State.DISPATCHED, Action.RETURN, _r(_A, _U), State.RETURNED, _start("dispatch"),
         When.ALWAYS, "责任单位"),
    Rule(State.HANDLING, Action.FEEDBACK, _r(_A, _U), State.FEEDBACK, _start("check"),
         When.ALWAYS, "责任单位"),
    Rule(State.HANDLING, Action.REQUEST_EXTENSION, _r(_A, _U), State.EXTENSION_REQUESTED, _KEEP,
         When.ALWAYS, "责任单位"),
    Rule(State.EXTENSION_REQUESTED, Action.APPROVE_EXTENSION, _r(_A, _O), State.HANDLING,
         ClockEffect(Clock.EXTEND), When.ALWAYS, "指挥中心值班长"),
    Rule(State.EXTENSION_REQUESTED, Action.DENY_EXTENSION, _r(_A, _O), State.HANDLING, _KEEP,
         When.ALWAYS, "指挥中心值班长"),
    Rule(State.HANDLING, Action.REQUEST_HANG, _r(_A, _U), State.HANG_REQUESTED, _KEEP,
         When.ALWAYS, "责任单位"),
    Rule(State.HANG_REQUESTED, Action.APPROVE_HANG, _r(_A, _O), State.HUNG,
         ClockEffect(Clock.PAUSE), When.ALWAYS, "指挥中心值班长"),
    Rule(State.HANG_REQUESTED, Action.DENY_HANG, _r(_A, _O), State.HANDLING, _KEEP,
         When.ALWAYS, "指挥中心值班长"),
    Rule(State.HUNG, Action.RESUME, _r(_A, _O), State.HANDLING, ClockEffect(Clock.RESUME),
         When.ALWAYS, "指挥中心值班长"),
    # 核查 (监督中心 → 网格员)
    Rule(State.FEEDBACK, Action.SEND_CHECK, _r(_A, _O, _S), State.CHECKING, _KEEP,
         When.ALWAYS, "监督中心"),
    Rule(State.CHECKING, Action.CHECK_PASS, _r(_A, _O, _G), State.CLOSING, _start("close"),
         When.VISIT_OFF, "网格员（核查结果）"),
    Rule(State.CHECKING, Action.CHECK_PASS, _r(_A, _O, _G), State.RETURN_VISIT,
         _start("visit"), When.VISIT_ON, "网格员（核查结果）"),
    Rule(State.CHECKING, Action.CHECK_FAIL, _r(_A, _O, _G), State.DISPATCHED,
         _start("handle"), When.ALWAYS, "网格员（核查结果）"),
    Rule(State.RETURN_VISIT, Action.VISIT_DONE, _r(_A, _O), State.CLOSING, _start("close"),
         When.VISIT_ON, "监督中心回访员"),
    # 结案 / 归档
    Rule(State.CLOSING, Action.CLOSE, _r(_A, _O), State.CLOSED, _STOP,
         When.ALWAYS, "监督中心值班长"),
    Rule(State.CLOSED, Action.ARCHIVE, _r(_A, _O), State.ARCHIVED, _STOP,
         When.ALWAYS, "监督中心值班长"),
    Rule(State.CLOSED, Action.ARCHIVE, _r(_S), State.ARCHIVED, _STOP,
         When.AUTO_ARCHIVE_ON, "系统（自动归档）"),
)  # fmt: skip

#: States a case may be cancelled (作废) in: anything before the unit reported back.
_CANCELLABLE: Final = (
    State.REPORTED,
    State.VERIFYING,
    State.ACCEPTED,
    State.FILED,
    State.DISPATCHED,
    State.RETURNED,
    State.HANDLING,
    State.EXTENSION_REQUESTED,
    State.HANG_REQUESTED,
    State.HUNG,
)


def _everywhere_rules() -> tuple[Rule, ...]:
    rules: list[Rule] = []
    for state in _CANCELLABLE:
        if state is not State.REPORTED:  # reported → reject (不予受理) instead
            rules.append(
                Rule(state, Action.CANCEL, _r(_A, _O), State.CANCELLED, _STOP, When.ALWAYS,
                     "监督中心值班长")
            )  # fmt: skip
    for state in sorted(OPEN_STATES):
        # 恢复结案: an alert case whose alerts all cleared (checked by the service)
        rules.append(
            Rule(state, Action.CLOSE_RECOVERED, _r(_A, _O, _S), State.CLOSED, _STOP,
                 When.ALWAYS, "监督中心值班长")
        )  # fmt: skip
        rules.append(
            Rule(state, Action.SUPERVISE, _r(_A, _O, _S), None, _KEEP, When.ALWAYS, "督办人员")
        )
    for state in sorted(OPEN_STATES | {State.CLOSED}):
        rules.append(
            Rule(state, Action.NOTE, _r(_A, _O, _U, _G, _S), None, _KEEP, When.ALWAYS,
                 "参与人员")
        )  # fmt: skip
    return tuple(rules)


#: THE transition table.  Everything else in this module reads it.
TRANSITIONS: Final[tuple[Rule, ...]] = _MAIN_RULES + _everywhere_rules()


def _check_table(rules: Iterable[Rule]) -> None:
    """At import: one rule per (state, action, role, switch setting) — no ambiguity."""
    seen: dict[tuple[State, Action, Role, When], Rule] = {}
    for rule in rules:
        for role in rule.roles:
            key = (rule.state, rule.action, role, rule.when)
            if key in seen:
                raise AssertionError(f"duplicate workflow rule {key}")
            seen[key] = rule


_check_table(TRANSITIONS)


@dataclass(frozen=True, slots=True)
class Transition:
    """What :func:`apply` decided."""

    rule: Rule
    role: Role
    from_state: State
    to_state: State
    action: Action
    clock: ClockEffect


def _parse(kind: type[_E], value: _E | str, what: str) -> _E:
    try:
        return kind(value)
    except ValueError:
        raise WorkflowError(f"未知的{what}：{value!r}", "unknown") from None


def find_rule(state: State, action: Action, role: Role, switches: Switches) -> Rule | None:
    """The rule that lets ``role`` do ``action`` in ``state`` under ``switches``, if any."""
    for rule in TRANSITIONS:
        if (
            rule.state is state
            and rule.action is action
            and role in rule.roles
            and switches.holds(rule.when)
        ):
            return rule
    return None


def allowed_actions(
    state: State | str, role: Role | str, switches: Switches = DEFAULT_SWITCHES
) -> list[Action]:
    """Actions ``role`` may take in ``state`` (for the buttons of a case page), table order."""
    st = _parse(State, state, "案件状态")
    rl = _parse(Role, role, "角色")
    out: list[Action] = []
    for rule in TRANSITIONS:
        if (
            rule.state is st
            and rl in rule.roles
            and switches.holds(rule.when)
            and rule.action not in out
        ):
            out.append(rule.action)
    return out


def apply(
    state: State | str,
    action: Action | str,
    role: Role | str,
    switches: Switches = DEFAULT_SWITCHES,
) -> Transition:
    """Decide the transition, or raise :class:`WorkflowError` saying why not and who may."""
    st = _parse(State, state, "案件状态")
    act = _parse(Action, action, "操作")
    rl = _parse(Role, role, "角色")
    rule = find_rule(st, act, rl, switches)
    if rule is not None:
        return Transition(
            rule=rule,
            role=rl,
            from_state=st,
            to_state=rule.next if rule.next is not None else st,
            action=act,
            clock=rule.clock,
        )
    in_state = [r for r in TRANSITIONS if r.state is st and r.action is act]
    if not in_state:
        if st in TERMINAL_STATES:
            raise WorkflowError(f"案件{st.label}（已终结），不能再执行'{act.label}'", "state")
        possible = [a.label for a in allowed_actions(st, Role.ADMIN, switches)]
        hint = f"；此状态可执行：{'、'.join(possible)}" if possible else ""
        raise WorkflowError(f"'{st.label}'状态不能执行'{act.label}'{hint}", "state")
    for_role = [r for r in in_state if rl in r.roles]
    if for_role:  # the role could, but not under the current switches
        reason = SWITCH_OFF_REASONS.get(for_role[0].when, "当前配置不允许")
        raise WorkflowError(f"{reason}，不能在'{st.label}'状态执行'{act.label}'", "switch")
    usable = [r for r in in_state if switches.holds(r.when)] or in_state
    who = "或".join(dict.fromkeys(r.actor for r in usable))
    if rl is Role.VIEWER:
        raise WorkflowError(f"查看人员只能查看案件，不能执行'{act.label}'；需要{who}", "role")
    raise WorkflowError(f"{rl.label}不能在'{st.label}'状态执行'{act.label}'；需要{who}", "role")
