"""The engine's configuration snapshot: stations, factors, limits, rule parameters, routes,
receivers, responsibilities, silences and windows — loaded together, then resolved per
(station, factor) on demand.

Resolution
----------
*Limits* (``alert_limits`` over :mod:`alerts.limits`): the most specific row wins —
station > region > st (station type) > default — then the built-in limit of the station
type (ambient air: the GB 3095 grade of the station's 功能区类别, ``area_class``).
A row with ``enabled = false`` removes the limit at its level and below.

*Rule parameters* (``alert_rule_config`` over the ``alerts.*`` settings): merged from the
least to the most specific row (default, st, region, station; at each level the
all-factor row before the factor's own).  ``enabled`` and ``severity`` follow the same
merge.  By default flatline and jump apply to the factors that have an exceedance limit
(regulated pollutants; meteorological factors legitimately stay flat or swing) — a row
with ``params.factors = "all"`` or a factor-specific row that enables them widens that.
A disabled station (``stations.enabled = false``) raises nothing.

The rule parameters' names and types: :mod:`alerts.params`; reading the snapshot from the
database: :mod:`alerts.loader`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aggregates.standards import StandardRegistry, default_registry, load_standards
from alerts.settings import AlertsConfig

from .exceedance_config import exceedance_rule
from .limits import AIR_POLLUTANTS, LimitSpec, ambient_mean_limits, aqi_threshold, builtin_limits
from .means import MeanRule
from .routing import (
    ResponsibilityIndex,
    Route,
    Silence,
    Window,
)
from .rules import (
    AQI_LEVEL,
    EXCEEDANCE,
    FLATLINE,
    JUMP,
    MAINTENANCE,
    OFFLINE,
    SEVERITIES,
    FlatlineRule,
    JumpRule,
    MaintenanceRule,
    OfflineRule,
    RuleError,
    Severity,
    ThresholdRule,
)

__all__ = [
    "AlertConfig",
    "ConfigRow",
    "FactorInfo",
    "KeyRules",
    "LimitRow",
    "Receiver",
    "StationInfo",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StationInfo:
    id: int
    mn: str
    name: str
    st: str
    region: str
    grid_id: int | None
    enabled: bool = True
    #: report interval in seconds (rtd_interval, else min_interval), 0 if unknown
    expected_interval: float = 0.0
    #: the grid and its ancestor areas (responsibilities by area)
    areas: tuple[int, ...] = ()
    #: GB 3095 功能区类别: 1 一类区 (grade I limits), 2 二类区 (grade II)
    area_class: int = 2

    @property
    def display(self) -> str:
        return self.name or self.mn


@dataclass(frozen=True, slots=True)
class FactorInfo:
    id: int
    code: str
    name_zh: str
    unit: str

    @property
    def display(self) -> str:
        return self.name_zh or self.code


@dataclass(frozen=True, slots=True)
class LimitRow:
    rule: str
    level: str
    scope_key: str
    factor_code: str
    upper: float | None
    lower: float | None
    aqi_level: int | None
    severity: str | None
    enabled: bool
    source: str


@dataclass(frozen=True, slots=True)
class ConfigRow:
    rule: str
    level: str
    scope_key: str
    factor_code: str
    enabled: bool | None
    severity: str | None
    params: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Receiver:
    id: int
    name: str
    kind: str
    address: str
    secret: str | None
    settings: Mapping[str, Any]
    enabled: bool
    #: the dashboard user the contact point belongs to (their channels: alerts.daily_push)
    user_id: int | None = None


@dataclass(slots=True)
class KeyRules:
    """The in-stream rules of one (station, factor); None = not applied."""

    #: exceedance on single values (basis "rtd") — or on means (alerts.means)
    exceedance: ThresholdRule | None = None
    mean: MeanRule | None = None
    aqi: ThresholdRule | None = None
    flatline: FlatlineRule | None = None
    jump: JumpRule | None = None
    maintenance: MaintenanceRule | None = None

    @property
    def empty(self) -> bool:
        return (
            self.exceedance is None
            and self.mean is None
            and self.aqi is None
            and self.flatline is None
            and self.jump is None
            and self.maintenance is None
        )


@dataclass(slots=True)
class _Merged:
    enabled: bool | None = None
    severity: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    factor_specific: bool = False


class AlertConfig:
    """One consistent snapshot of everything configurable (see the module docstring)."""

    def __init__(
        self,
        settings: AlertsConfig,
        *,
        stations: Mapping[int, StationInfo] | None = None,
        factors: Mapping[int, FactorInfo] | None = None,
        limits: Iterable[LimitRow] = (),
        rule_rows: Iterable[ConfigRow] = (),
        routes: Iterable[Route] = (),
        receivers: Mapping[int, Receiver] | None = None,
        responsibilities: Iterable[tuple[int, str, str, str]] = (),
        silences: Iterable[Silence] = (),
        windows: Iterable[Window] = (),
        on: date | None = None,
        registry: StandardRegistry | None = None,
        area_codes: Mapping[int, str] | None = None,
    ) -> None:
        self.settings = settings
        self.alerts = settings.alerts
        self.tz = ZoneInfo(settings.core.timezone)
        self.on = on or datetime.now(self.tz).date()
        self.registry = registry or _registry(settings)
        self.stations: dict[int, StationInfo] = dict(stations or {})
        #: area id → area code (daily rankings key grids by code)
        self.area_codes: dict[int, str] = dict(area_codes or {})
        self.factors: dict[int, FactorInfo] = dict(factors or {})
        self.limits: dict[tuple[str, str, str, str], LimitRow] = {
            (r.rule, r.level, r.scope_key, r.factor_code): r for r in limits
        }
        self.rule_rows: dict[tuple[str, str, str, str], ConfigRow] = {
            (r.rule, r.level, r.scope_key, r.factor_code): r for r in rule_rows
        }
        self.routes: tuple[Route, ...] = tuple(sorted(routes, key=lambda r: (r.position, r.id)))
        self.receivers: dict[int, Receiver] = dict(receivers or {})
        self.responsibility_rows = tuple(responsibilities)
        self.responsibilities = ResponsibilityIndex(self.responsibility_rows)
        self.silences: tuple[Silence, ...] = tuple(silences)
        self.windows: dict[int, Window] = {w.id: w for w in windows}
        #: built-in limits by GB 3095 grade (= the station's area class); ``builtin`` is
        #: grade II, what a class-2 station (the default) gets
        self.builtin_by_grade: dict[int, dict[str, dict[str, LimitSpec]]] = {
            grade: builtin_limits(self.on, self.registry, grade) for grade in (1, 2)
        }
        self.builtin = self.builtin_by_grade[2]
        #: GB 3095 short-term limits by grade (ambient air, judged on means)
        self.ambient_by_grade: dict[int, dict[str, tuple[LimitSpec, ...]]] = {
            grade: ambient_mean_limits(self.on, self.registry, grade) for grade in (1, 2)
        }
        self._warned: set[str] = set()
        #: stations with rows of their own; the others share rule objects per
        #: (station type, region, factor) — 36,000 stations × 6 factors, a few hundred rules
        self._specific = {key[2] for key in (*self.limits, *self.rule_rows) if key[1] == "station"}
        self._rules: dict[tuple[Any, ...], KeyRules] = {}
        self._offline: dict[tuple[Any, ...], OfflineRule | None] = {}

    # -- limits ---------------------------------------------------------------------------
    def _chain(self, station: StationInfo) -> tuple[tuple[str, str], ...]:
        return (
            ("default", ""),
            ("st", station.st),
            ("region", station.region),
            ("station", str(station.id)),
        )

    def limit(self, rule: str, station: StationInfo, code: str) -> LimitRow | LimitSpec | None:
        """The limit row (or built-in limit) of ``rule`` for a station's factor."""
        for level, key in reversed(self._chain(station)):
            row = self.limits.get((rule, level, key, code))
            if row is not None:
                return row if row.enabled else None
        if rule == EXCEEDANCE:
            return self._builtin(station).get(station.st, {}).get(code)
        if (
            rule == AQI_LEVEL
            and self.alerts.aqi_level
            and station.st == "22"
            and code in AIR_POLLUTANTS
        ):
            return LimitRow(
                AQI_LEVEL, "builtin", "", code, None, None, self.alerts.aqi_level, None, True, ""
            )
        return None

    def _builtin(self, station: StationInfo) -> dict[str, dict[str, LimitSpec]]:
        """The built-in limits of the station's grade (class 1 → grade I, else II)."""
        return self.builtin_by_grade[1 if station.area_class == 1 else 2]

    def unit_for(self, station: StationInfo, factor: FactorInfo) -> str:
        """The unit values of this factor are reported in at this station type (the
        built-in limit's unit), else the factor table's."""
        spec = self._builtin(station).get(station.st, {}).get(factor.code)
        return spec.unit if spec is not None and spec.unit else factor.unit

    # -- rule parameters ----------------------------------------------------------------------
    def merged(self, rule: str, station: StationInfo, code: str) -> _Merged:
        out = _Merged()
        for level, key in self._chain(station):
            for factor in ("", code):
                row = self.rule_rows.get((rule, level, key, factor))
                if row is None:
                    continue
                if row.enabled is not None:
                    out.enabled = row.enabled
                if row.severity is not None:
                    out.severity = row.severity
                out.params.update(row.params)
                if factor:
                    out.factor_specific = True
        return out

    def _build(self, what: str, make: Callable[[], Any], fallback: Callable[[], Any]) -> Any:
        try:
            return make()
        except (RuleError, TypeError, ValueError) as exc:
            if what not in self._warned:
                self._warned.add(what)
                log.warning("%s: %s; using the defaults", what, exc)
            return fallback()

    def rules_for(self, station: StationInfo, factor: FactorInfo) -> KeyRules:
        """The in-stream rules of one station's factor (shared between stations whose
        configuration is the same; treat as read-only)."""
        specific = str(station.id) in self._specific
        key = (
            specific and station.id,
            station.st,
            station.region,
            factor.code,
            station.enabled,
            station.area_class,
        )
        found = self._rules.get(key)
        if found is None:
            found = self._rules[key] = self._resolve(station, factor)
        return found

    def _resolve(self, station: StationInfo, factor: FactorInfo) -> KeyRules:
        out = KeyRules()
        if not station.enabled:
            return out
        s, code = self.alerts, factor.code
        where = f"station {station.id} factor {code}"

        limit = self.limit(EXCEEDANCE, station, code)
        upper = lower = None
        if limit is not None and (limit.upper is not None or limit.lower is not None):
            upper, lower = limit.upper, limit.lower
            m = self.merged(EXCEEDANCE, station, code)
            if m.enabled is not False:
                severity = _severity(getattr(limit, "severity", None) or m.severity, "warning")
                builtin = limit if isinstance(limit, LimitSpec) else None
                ambient: tuple[LimitSpec, ...] = ()
                if builtin is not None and station.st == "22":
                    grade = 1 if station.area_class == 1 else 2
                    ambient = self.ambient_by_grade[grade].get(code, ())
                source = limit.source or "用户设定"

                def exceedance(params: Mapping[str, Any]) -> ThresholdRule | MeanRule:
                    return exceedance_rule(
                        s, upper, lower, source, severity, params, builtin=builtin, ambient=ambient
                    )

                rule = self._build(
                    f"exceedance {where}", lambda: exceedance(m.params), lambda: exceedance({})
                )
                if isinstance(rule, MeanRule):
                    out.mean = rule
                else:
                    out.exceedance = rule

        aqi = self.limit(AQI_LEVEL, station, code)
        if isinstance(aqi, LimitRow) and aqi.aqi_level:
            found = aqi_threshold(code, aqi.aqi_level, self.on, self.registry)
            m = self.merged(AQI_LEVEL, station, code)
            if found is not None and m.enabled is not False:
                threshold, text = found
                severity = _severity(aqi.severity or m.severity, "major")
                aqi_base: dict[str, Any] = {
                    "pending_count": 1,
                    "clear_count": 1,
                    "hysteresis_ratio": 0.0,
                }

                def aqi_rule(params: Mapping[str, Any]) -> ThresholdRule:
                    merged = {"kinds": "h", **aqi_base, **params}
                    return ThresholdRule(
                        threshold, None, severity=severity, name=AQI_LEVEL, source=text, **merged
                    )

                out.aqi = self._build(
                    f"aqi_level {where}", lambda: aqi_rule(m.params), lambda: aqi_rule({})
                )

        limited = upper is not None or lower is not None
        reference = upper if upper is not None else lower
        m = self.merged(FLATLINE, station, code)
        if self._applies(m, limited) and (s.flatline_count or s.flatline_s):
            params = {k: v for k, v in m.params.items() if k != "factors"}
            flat_base: dict[str, Any] = {
                "count": s.flatline_count,
                "duration_s": s.flatline_s,
                "min_count": max(2, s.flatline_min_count),
                "tolerance": s.flatline_tolerance,
                "min_value": s.flatline_min_value_ratio * abs(reference) if reference else 0.0,
                "major_after_s": s.flatline_major_after_s,
                "critical_after_s": s.flatline_critical_after_s,
            }
            sev = _severity(m.severity, "warning")
            out.flatline = self._build(
                f"flatline {where}",
                lambda: FlatlineRule(severity=sev, **{**flat_base, **params}),
                lambda: FlatlineRule(severity=sev, **flat_base),
            )

        m = self.merged(JUMP, station, code)
        if self._applies(m, limited) and (s.jump_rel or s.jump_abs or s.jump_sigma):
            params = {k: v for k, v in m.params.items() if k != "factors"}
            jump_base: dict[str, Any] = {
                "rel": s.jump_rel,
                "min_delta": s.jump_min_delta_ratio * abs(reference) if reference else 0.0,
                "abs": s.jump_abs,
                "sigma": s.jump_sigma,
                "window_s": s.jump_window_s,
                "clear_count": s.jump_clear_count,
            }
            sev = _severity(m.severity, "warning")
            out.jump = self._build(
                f"jump {where}",
                lambda: JumpRule(severity=sev, **{**jump_base, **params}),
                lambda: JumpRule(severity=sev, **jump_base),
            )

        m = self.merged(MAINTENANCE, station, code)
        if m.enabled is not False and (s.maintenance_s or m.params):
            sev = _severity(m.severity, "info")
            maint_base: dict[str, Any] = {"duration_s": s.maintenance_s}
            out.maintenance = self._build(
                f"maintenance {where}",
                lambda: MaintenanceRule(severity=sev, **{**maint_base, **m.params}),
                lambda: MaintenanceRule(severity=sev, **maint_base) if s.maintenance_s else None,
            )
        return out

    @staticmethod
    def _applies(m: _Merged, limited: bool) -> bool:
        if m.enabled is False:
            return False
        if m.params.get("factors") == "all":
            return True
        if m.factor_specific and m.enabled:
            return True
        return limited

    def offline_rule(self, station: StationInfo) -> OfflineRule | None:
        specific = str(station.id) in self._specific
        key = (station.id if specific else None, station.st, station.region, station.enabled)
        if key in self._offline:
            return self._offline[key]
        rule: OfflineRule | None = None
        if station.enabled:
            m = self.merged(OFFLINE, station, "")
            if m.enabled is not False:
                s = self.alerts
                sev = _severity(m.severity, "warning")
                off_base: dict[str, Any] = {
                    "after_s": float(s.offline_after_s),
                    "disconnect_grace_s": float(s.offline_disconnect_grace_s),
                    "major_after_s": s.offline_major_after_s,
                    "critical_after_s": s.offline_critical_after_s,
                }
                rule = self._build(
                    f"offline station {station.id}",
                    lambda: OfflineRule(severity=sev, **{**off_base, **m.params}),
                    lambda: OfflineRule(severity=sev, **off_base),
                )
        self._offline[key] = rule
        return rule

    # -- notification timers --------------------------------------------------------------------
    def timers(self, route: Route, rule: str) -> tuple[float, float, float]:
        """(group_wait, group_interval, repeat_interval) of a route for an alert of ``rule``
        (the repeat of offline alerts defaults to ``alerts.offline_remind_s``)."""
        s = self.alerts
        repeat = route.repeat_interval_s
        if repeat is None:
            repeat = float(s.offline_remind_s) if rule.startswith(OFFLINE) else s.repeat_interval_s
        return (
            s.group_wait_s if route.group_wait_s is None else route.group_wait_s,
            s.group_interval_s if route.group_interval_s is None else route.group_interval_s,
            repeat,
        )


def _severity(value: str | None, default: Severity) -> Severity:
    for s in SEVERITIES:
        if value == s:
            return s
    return default


def _registry(settings: AlertsConfig) -> StandardRegistry:
    extra = settings.aggregates.standards_dir
    return load_standards([extra]) if extra is not None else default_registry()
