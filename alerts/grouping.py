"""When a notification group speaks (pure): Alertmanager's three timers.

A *group* is (route, receiver, the values of the route's ``group_by`` labels); its
*members* are the alerts routed to it.  :func:`decide` looks at the members and the
group's timing state and says whether a message goes out now and what it contains
(ALERTS_AND_DASHBOARDS.md §1.2 "Timers"):

* ``group_wait``: a new group waits this long before its first message, collecting the
  alerts that arrive together (and giving grouped offline alerts time to inhibit);
* ``group_interval``: after a message, new firing alerts or newly resolved ones are sent
  at most this often;
* ``repeat_interval``: an unchanged group with firing alerts is re-sent (a reminder) this
  often — the hourly "still offline" reminder is this timer on the offline route.

Choices beyond Alertmanager, for the complaints in §1.6:

* Muted members (silence, maintenance window, inhibition) are not notified and not
  marked; once the mute ends and they are still firing they are notified as new
  (alertmanager#3367).  A resolved notice for an alert that *was* notified as firing is
  never muted — the people who were told it started are told it ended.
* Acknowledged alerts get no reminders (someone is on it); their resolution is still
  sent.  Reminders list every firing member.
* ``send_resolved = false`` drops resolved notices; resolved alerts that were never
  notified (pending ones that did not fire, alerts muted throughout) say nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["Decision", "GroupState", "Member", "Timers", "decide", "idle"]


@dataclass(frozen=True, slots=True)
class Timers:
    group_wait: float
    group_interval: float
    repeat_interval: float
    send_resolved: bool = True


@dataclass(frozen=True, slots=True)
class Member:
    alert_id: int
    #: firing or acknowledged
    firing: bool
    acknowledged: bool = False
    notified_firing: bool = False
    notified_resolved: bool = False
    #: silenced, in a maintenance window, or inhibited
    muted: bool = False


@dataclass(slots=True)
class GroupState:
    #: when the group first had something to say (group_wait runs from here)
    created_at: float | None = None
    last_sent_at: float | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    kind: Literal["alert", "reminder"]
    #: alerts notified as firing for the first time
    new_firing: tuple[int, ...]
    #: alerts notified as resolved
    resolved: tuple[int, ...]
    #: every firing, unmuted member (listed in the message)
    firing: tuple[int, ...]


def _ids(members: Sequence[Member]) -> tuple[int, ...]:
    return tuple(sorted(m.alert_id for m in members))


def decide(
    members: Sequence[Member], state: GroupState, now: float, timers: Timers
) -> Decision | None:
    """A message to send now, or None.  Starts ``state.created_at`` when the group first
    has something to say; the caller sets ``state.last_sent_at`` once the message is
    queued."""
    new_firing = [m for m in members if m.firing and not m.muted and not m.notified_firing]
    resolved = (
        [m for m in members if not m.firing and m.notified_firing and not m.notified_resolved]
        if timers.send_resolved
        else []
    )
    firing = [m for m in members if m.firing and not m.muted]
    if state.last_sent_at is None:
        if not new_firing:
            state.created_at = None
            return None
        if state.created_at is None:
            state.created_at = now
        if now - state.created_at < timers.group_wait:
            return None
        return Decision("alert", _ids(new_firing), _ids(resolved), _ids(firing))
    since = now - state.last_sent_at
    if new_firing or resolved:
        if since >= timers.group_interval:
            return Decision("alert", _ids(new_firing), _ids(resolved), _ids(firing))
        return None
    if (
        timers.repeat_interval > 0
        and since >= timers.repeat_interval
        and any(m.notified_firing and not m.acknowledged for m in firing)
    ):
        return Decision("reminder", (), (), _ids(firing))
    return None


def idle(members: Sequence[Member], send_resolved: bool = True) -> bool:
    """Nothing firing and nothing left to say: the group can be forgotten (the next alert
    starts a new group with a fresh group_wait)."""
    for m in members:
        if m.firing:
            return False
        if send_resolved and m.notified_firing and not m.notified_resolved:
            return False
    return True
