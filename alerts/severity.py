"""Severity grading: by how far a value is over its limit and by how long a condition lasts.

Pure.  An exceedance is graded by its ratio (mean ÷ limit; for a lower limit, limit ÷
value) against two bands — by default below 1.5× 一般 (``warning``), 1.5–3× 较重
(``major``), 3× and above 严重 (``critical``) — and, like offline and flatline alerts, by
its duration: lasting ``major_after_s`` makes it at least 较重, ``critical_after_s`` 严重.
Grading never lowers a severity below the rule's own (``base``); a band of 0 is off.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .rules_base import RuleError, Severity, check, escalated

__all__ = ["SeverityBands", "exceedance_ratio", "grade"]


@dataclass(frozen=True, slots=True)
class SeverityBands:
    """Where severities step up (0 = that step is off)."""

    major_ratio: float = 0.0
    critical_ratio: float = 0.0
    major_after_s: float = 0.0
    critical_after_s: float = 0.0

    def __post_init__(self) -> None:
        for name in ("major_ratio", "critical_ratio", "major_after_s", "critical_after_s"):
            value = getattr(self, name)
            check(value >= 0 and math.isfinite(value), f"{name} must be ≥ 0 (0 = off)")
        for low, high, what in (
            (self.major_ratio, self.critical_ratio, "ratio"),
            (self.major_after_s, self.critical_after_s, "after_s"),
        ):
            if low and high and high < low:
                raise RuleError(f"critical_{what} must not be below major_{what}")
        if 0 < self.major_ratio < 1 or 0 < self.critical_ratio < 1:
            raise RuleError("ratio bands are multiples of the limit (≥ 1)")


def exceedance_ratio(value: float, upper: float | None, lower: float | None) -> float:
    """How many times the limit: value ÷ upper above an upper limit, lower ÷ value below a
    lower one (a dissolved-oxygen minimum); 0 when within the limits."""
    if upper is not None and value > upper:
        return value / upper if upper > 0 else float("inf")
    if lower is not None and value < lower:
        return lower / value if value > 0 else float("inf")
    return 0.0


def grade(
    base: Severity, bands: SeverityBands, *, ratio: float = 0.0, duration_s: float = 0.0
) -> Severity:
    """``base`` raised by the ratio and the duration bands (never lowered)."""
    out = base
    if bands.critical_ratio and ratio >= bands.critical_ratio:
        out = escalated(out, "critical")
    elif bands.major_ratio and ratio >= bands.major_ratio:
        out = escalated(out, "major")
    if bands.critical_after_s and duration_s >= bands.critical_after_s:
        out = escalated(out, "critical")
    elif bands.major_after_s and duration_s >= bands.major_after_s:
        out = escalated(out, "major")
    return out
