"""The rule parameters users may set (``alert_rule_config.params``), per rule, with their
types, and the levels limits and parameters are set at."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

from . import rules
from .rules import SEVERITIES, RuleError

__all__ = ["BASES", "LEVELS", "RULE_PARAMS", "coerce_params"]

LEVELS: Final = ("default", "st", "region", "station")
#: exceedance bases: single values, or the mean periods of alerts.means
BASES: Final = ("rtd", "1h", "8h", "24h")

#: Parameters accepted in ``alert_rule_config.params``, per rule, with their types.
RULE_PARAMS: Final[Mapping[str, Mapping[str, type]]] = {
    rules.EXCEEDANCE: {
        # "rtd": judge single values (instantaneous limits of a source), else the mean
        # period (1h, 8h, 24h; default: the period of the limit) — alerts.means
        "basis": str,
        "major_ratio": float,
        "critical_ratio": float,
        "major_after_s": float,
        "critical_after_s": float,
        "min_hours_8h": int,
        "min_hours_day": int,
        # basis "rtd" only:
        "pending_count": int,
        "pending_s": float,
        "clear_count": int,
        "hysteresis_ratio": float,
        "kinds": str,
    },
    rules.AQI_LEVEL: {
        "pending_count": int,
        "pending_s": float,
        "clear_count": int,
        "hysteresis_ratio": float,
        "kinds": str,
    },
    rules.FLATLINE: {
        "count": int,
        "duration_s": float,
        "min_count": int,
        "tolerance": float,
        "min_value": float,
        "kinds": str,
        "factors": str,
        "major_after_s": float,
        "critical_after_s": float,
    },
    rules.JUMP: {
        "rel": float,
        "min_delta": float,
        "abs": float,
        "sigma": float,
        "sigma_span": int,
        "window_s": float,
        "clear_count": int,
        "kinds": str,
        "factors": str,
    },
    rules.MAINTENANCE: {"duration_s": float, "count": int, "fault_severity": str, "kinds": str},
    rules.OFFLINE: {
        "after_s": float,
        "disconnect_grace_s": float,
        "major_after_s": float,
        "critical_after_s": float,
    },
}


def coerce_params(rule: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and convert rule parameters (from JSON, the CLI or the web form)."""
    allowed = RULE_PARAMS.get(rule)
    if allowed is None:
        raise RuleError(f"unknown rule {rule!r}; rules: {', '.join(RULE_PARAMS)}")
    out: dict[str, Any] = {}
    for name, raw in params.items():
        kind = allowed.get(name)
        if kind is None:
            raise RuleError(f"{rule}: unknown parameter {name!r}; parameters: {', '.join(allowed)}")
        try:
            if kind is str:
                value: Any = str(raw)
            elif isinstance(raw, bool):
                raise ValueError
            else:
                value = kind(raw)
        except (TypeError, ValueError):
            raise RuleError(f"{rule}.{name} must be {kind.__name__} (got {raw!r})") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise RuleError(f"{rule}.{name} must be a finite number (got {raw!r})")
        if name == "factors" and value not in ("limited", "all"):
            raise RuleError(f"{rule}.factors must be 'limited' or 'all' (got {raw!r})")
        if name == "basis" and value not in BASES:
            raise RuleError(f"{rule}.basis must be one of {', '.join(BASES)} (got {raw!r})")
        if name == "fault_severity" and value not in SEVERITIES:
            raise RuleError(f"{rule}.fault_severity must be one of {', '.join(SEVERITIES)}")
        out[name] = value
    return out
