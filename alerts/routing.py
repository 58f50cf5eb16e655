"""Who gets what, and what is muted: routes, responsibilities, silences, windows (pure).

Labels
------
Every alert is described by string labels: ``rule``, ``severity``, ``station`` (id),
``region``, ``grid`` (area id), ``st`` (station type), ``factor`` (code), ``worker``
(ingest worker, offline alerts) and ``scope`` (``station``, ``region``, ``worker``,
``all``).  Matchers are ``{label: {value, …}}``: every named label must have one of its
values (an empty matcher set matches everything).

Routes (ALERTS_AND_DASHBOARDS.md §1.2 "Routing tree")
------------------------------------------------------
Evaluated by ascending ``position``; the first matching route ends the walk unless it
has ``continue_matching``.  A route sends to its explicit receivers and to the people
responsible for the alert in the roles it names (maintainers for offline and flatline,
officers for exceedance by default).  Responsibility scopes: ``station`` (id), ``region``
(name), ``area`` (an area id: every grid below it), ``all``.

Silences and maintenance windows (§1.2 "Silences", "Time intervals")
---------------------------------------------------------------------
A silence is one-off (start..end); a window is one-off or recurring (ISO weekdays and
local time-of-day ranges, which may cross midnight, optionally bounded by start/end).
Both mute notifications of matching alerts without hiding the alerts; a route may also
name windows in ``mute_window_ids`` (quiet hours of one audience).  What was muted is
notified when the mute ends if it is still firing (alertmanager#3367).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

__all__ = [
    "MATCHER_LABELS",
    "ROLES",
    "SCOPES",
    "Matchers",
    "ResponsibilityIndex",
    "Route",
    "RoutingError",
    "Silence",
    "Window",
    "group_key",
    "matches",
    "muted_by",
    "parse_matchers",
    "parse_time_ranges",
    "select_routes",
    "window_active",
]

MATCHER_LABELS: Final = (
    "rule",
    "severity",
    "station",
    "region",
    "grid",
    "st",
    "factor",
    "worker",
    "scope",
)
ROLES: Final = ("maintainer", "officer")
SCOPES: Final = ("station", "region", "area", "all")

Matchers = Mapping[str, frozenset[str]]


class RoutingError(ValueError):
    """Invalid matchers, route or window definition; the message says what to change."""


def parse_matchers(obj: object) -> dict[str, frozenset[str]]:
    """``{"rule": ["offline"], "station": [12]}`` → matchers; validates label names."""
    if obj is None:
        return {}
    if not isinstance(obj, Mapping):
        raise RoutingError(f"matchers must be an object {{label: [values]}} (got {obj!r})")
    out: dict[str, frozenset[str]] = {}
    for label, raw in obj.items():
        if label not in MATCHER_LABELS:
            raise RoutingError(
                f"unknown matcher label {label!r}; labels: {', '.join(MATCHER_LABELS)}"
            )
        values = [raw] if isinstance(raw, str | int) else raw
        if not isinstance(values, Iterable) or isinstance(values, Mapping):
            raise RoutingError(f"matcher {label!r} needs a list of values (got {values!r})")
        items = frozenset(str(v) for v in values)
        if not items:
            raise RoutingError(f"matcher {label!r} has no values; leave it out to match all")
        out[str(label)] = items
    return out


def matches(matchers: Matchers, labels: Mapping[str, str]) -> bool:
    return all(labels.get(label, "") in values for label, values in matchers.items())


@dataclass(frozen=True, slots=True)
class Route:
    id: int
    name: str
    position: int = 100
    matchers: Matchers = field(default_factory=dict)
    receiver_ids: tuple[int, ...] = ()
    to_roles: tuple[str, ...] = ()
    group_by: tuple[str, ...] = ("region", "rule")
    group_wait_s: float | None = None
    group_interval_s: float | None = None
    repeat_interval_s: float | None = None
    send_resolved: bool = True
    mute_window_ids: tuple[int, ...] = ()
    continue_matching: bool = False
    enabled: bool = True

    def validate(self) -> None:
        for role in self.to_roles:
            if role not in ROLES:
                raise RoutingError(f"route {self.name!r}: unknown role {role!r}; roles: {ROLES}")
        for label in self.group_by:
            if label not in MATCHER_LABELS:
                raise RoutingError(
                    f"route {self.name!r}: cannot group by {label!r}; labels: "
                    + ", ".join(MATCHER_LABELS)
                )
        for name in ("group_wait_s", "group_interval_s", "repeat_interval_s"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise RoutingError(f"route {self.name!r}: {name} must be ≥ 0")


def select_routes(routes: Sequence[Route], labels: Mapping[str, str]) -> list[Route]:
    """The routes an alert goes through (``routes`` sorted by position)."""
    out: list[Route] = []
    for route in routes:
        if not route.enabled or not matches(route.matchers, labels):
            continue
        out.append(route)
        if not route.continue_matching:
            break
    return out


def group_key(route: Route, labels: Mapping[str, str]) -> str:
    """``region=西湖区|rule=offline`` — the route's group of an alert."""
    return "|".join(f"{label}={labels.get(label, '')}" for label in route.group_by)


class ResponsibilityIndex:
    """(scope, key) → [(receiver id, role)] for fast look-ups per alert."""

    __slots__ = ("_by_scope",)

    def __init__(self, rows: Iterable[tuple[int, str, str, str]]) -> None:
        """``rows``: (receiver_id, role, scope, scope_key)."""
        self._by_scope: dict[tuple[str, str], list[tuple[int, str]]] = {}
        for receiver_id, role, scope, key in rows:
            self._by_scope.setdefault((scope, key if scope != "all" else ""), []).append(
                (receiver_id, role)
            )

    def receivers(
        self, roles: Iterable[str], labels: Mapping[str, str], areas: Iterable[int] = ()
    ) -> set[int]:
        """Receivers holding one of ``roles`` for the alert: responsible for its station,
        its region, an area containing its grid (``areas``: the grid and its ancestors),
        or everything.  Alerts of a whole region (offline_mass) reach the region's and
        everybody-scope people; worker/all scopes reach the everybody-scope people."""
        wanted = set(roles)
        if not wanted:
            return set()
        keys: list[tuple[str, str]] = [("all", "")]
        scope = labels.get("scope", "station")
        if scope in ("station", "region") and labels.get("region"):
            keys.append(("region", labels["region"]))
        if scope == "station":
            if labels.get("station"):
                keys.append(("station", labels["station"]))
            keys.extend(("area", str(a)) for a in areas)
        out: set[int] = set()
        for key in keys:
            for receiver_id, role in self._by_scope.get(key, ()):
                if role in wanted:
                    out.add(receiver_id)
        return out


# ------------------------------------------------------------------------------------------
# silences and maintenance windows


@dataclass(frozen=True, slots=True)
class Silence:
    id: int
    matchers: Matchers
    starts_at: float
    ends_at: float

    def active(self, now: float) -> bool:
        return self.starts_at <= now < self.ends_at


@dataclass(frozen=True, slots=True)
class Window:
    """A maintenance window (see the module docstring); times POSIX seconds."""

    id: int
    name: str
    matchers: Matchers
    recurring: bool
    tz: ZoneInfo
    starts_at: float | None = None
    ends_at: float | None = None
    weekdays: frozenset[int] = frozenset()
    #: (start minute, end minute) of the local day; start ≥ end crosses midnight
    ranges: tuple[tuple[int, int], ...] = ()
    enabled: bool = True


def parse_time_ranges(obj: object) -> tuple[tuple[int, int], ...]:
    """``[["08:00", "18:00"], ["22:00", "06:00"]]`` → minutes of the day."""
    if obj is None:
        return ()
    if not isinstance(obj, list | tuple):
        raise RoutingError(f"time_ranges must be a list of [HH:MM, HH:MM] pairs (got {obj!r})")
    out = []
    for item in obj:
        if not isinstance(item, list | tuple) or len(item) != 2:
            raise RoutingError(f"time range {item!r} must be [HH:MM, HH:MM]")
        out.append((_minute(item[0]), _minute(item[1])))
    return tuple(out)


def _minute(text: object) -> int:
    if isinstance(text, str):
        hh, sep, mm = text.partition(":")
        if sep and hh.isascii() and hh.isdigit() and mm.isascii() and mm.isdigit():
            h, m = int(hh), int(mm)
            if (h < 24 and m < 60) or (h == 24 and m == 0):
                return h * 60 + m
    raise RoutingError(f"time {text!r} must be HH:MM (00:00..24:00)")


def window_active(window: Window, now: float) -> bool:
    if not window.enabled:
        return False
    if window.starts_at is not None and now < window.starts_at:
        return False
    if window.ends_at is not None and now >= window.ends_at:
        return False
    if not window.recurring:
        return window.starts_at is not None and window.ends_at is not None
    local = datetime.fromtimestamp(now, window.tz)
    minute = local.hour * 60 + local.minute
    today = local.isoweekday()
    yesterday = (local - timedelta(days=1)).isoweekday()
    days = window.weekdays
    ranges = window.ranges or ((0, 24 * 60),)
    for start, end in ranges:
        if start < end:
            if (not days or today in days) and start <= minute < end:
                return True
        else:  # crosses midnight: [start, 24:00) today, [00:00, end) belongs to yesterday
            if (not days or today in days) and minute >= start:
                return True
            if (not days or yesterday in days) and minute < end:
                return True
    return False


def muted_by(
    labels: Mapping[str, str],
    silences: Iterable[Silence],
    windows: Iterable[Window],
    now: float,
) -> str | None:
    """``"silence:<id>"`` / ``"window:<id>"`` muting an alert with ``labels``, or None."""
    for silence in silences:
        if silence.active(now) and matches(silence.matchers, labels):
            return f"silence:{silence.id}"
    for window in windows:
        if matches(window.matchers, labels) and window_active(window, now):
            return f"window:{window.id}"
    return None
