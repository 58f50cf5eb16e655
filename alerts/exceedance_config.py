"""Which exceedance rule a (station, factor) gets: on means (:class:`~alerts.means.MeanRule`)
or, when its rule parameters say ``basis = "rtd"``, on single values
(:class:`~alerts.rules.ThresholdRule`).

* Built-in ambient-air limits (ST 22): every GB 3095 short-term limit of the factor, each
  on its period (:func:`alerts.limits.ambient_mean_limits`); ``basis = "1h"`` (or
  ``"8h"``, ``"24h"``) keeps only the limits of that period.
* Other built-in limits: the period the standard defines (:class:`alerts.limits.LimitSpec`
  ``averaging``).
* A user's limit (``alert_limits``): the ``basis`` of its rule parameters, else 1-hour
  means.

A rule row's ``basis`` wins over the setting ``alerts.exceedance_basis`` (default "": the
limit's own period).

Severity bands come from the ``alerts.exceedance_*`` settings, overridable per rule row
(``major_ratio``, ``critical_ratio``, ``major_after_s``, ``critical_after_s``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from .limits import LimitSpec
from .means import MeanLimit, MeanRule
from .rules import RuleError, Severity, ThresholdRule
from .settings import AlertSettings

__all__ = ["MEAN_PARAMS", "RTD_PARAMS", "exceedance_rule"]

#: parameters of the mean rule and of the single-value rule (the rest belong to the other)
MEAN_PARAMS: Final = frozenset(
    {
        "major_ratio",
        "critical_ratio",
        "major_after_s",
        "critical_after_s",
        "min_hours_8h",
        "min_hours_day",
    }
)
RTD_PARAMS: Final = frozenset(
    {
        "major_ratio",
        "critical_ratio",
        "major_after_s",
        "critical_after_s",
        "pending_count",
        "pending_s",
        "clear_count",
        "hysteresis_ratio",
        "kinds",
    }
)


def _bands(s: AlertSettings) -> dict[str, float]:
    return {
        "major_ratio": s.exceedance_major_ratio,
        "critical_ratio": s.exceedance_critical_ratio,
        "major_after_s": s.exceedance_major_after_s,
        "critical_after_s": s.exceedance_critical_after_s,
    }


def exceedance_rule(
    s: AlertSettings,
    upper: float | None,
    lower: float | None,
    source: str,
    severity: Severity,
    params: Mapping[str, Any],
    *,
    builtin: LimitSpec | None = None,
    ambient: tuple[LimitSpec, ...] = (),
) -> ThresholdRule | MeanRule:
    """The exceedance rule of one limit (see the module docstring).  ``builtin``: the
    built-in limit in use (None for a user's row); ``ambient``: the factor's GB 3095
    limits when the built-in limit is an ambient-air one.  Raises :class:`RuleError` (or
    TypeError) on parameters that cannot work."""
    basis = str(params.get("basis") or s.exceedance_basis)
    if basis == "rtd":
        rtd: dict[str, Any] = {
            "pending_count": s.pending_count,
            "pending_s": s.pending_s,
            "clear_count": s.clear_count,
            "hysteresis_ratio": s.hysteresis_ratio,
            **_bands(s),
            **{k: v for k, v in params.items() if k in RTD_PARAMS},
        }
        return ThresholdRule(upper, lower, severity=severity, source=source, **rtd)
    if builtin is not None and ambient:
        limits = [
            MeanLimit(spec.averaging, spec.upper, spec.lower, spec.source)
            for spec in ambient
            if not basis or spec.averaging == basis
        ]
        if not limits:
            raise RuleError(f"basis {basis!r}: GB 3095 has no such limit for this factor")
    else:
        averaging = basis or (builtin.averaging if builtin is not None else "1h")
        limits = [MeanLimit(averaging, upper, lower, source)]
    mean = {**_bands(s), **{k: v for k, v in params.items() if k in MEAN_PARAMS}}
    return MeanRule(tuple(limits), severity, **mean)
