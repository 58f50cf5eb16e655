"""Period data of a station: the running statistics of one minute / hour / day and
the values a sample contributes to them.

Period data (minute / hour / day) are **not** an independent signal: a
:class:`PeriodAccumulator` collects the very values the station sampled
(after rounding and fault injection) and reports Min/Avg/Max, the converted
``Zs`` values, the period total ``Cou`` and the period flag by the rule of
[S17] C.16–C.18.  So hourly Avg is the mean of the real-time values sent in
that hour.  Noise stations report ``Leq``/``L10``/``L50``/``L90``/``LMx``/
``LMn`` ``-Data`` from the same samples ([S17] C.26–C.28).

:class:`Derivations` computes, per sample, the converted (折算) ``Zs`` values and each
factor's share of the period total ``Cou``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .profiles import CouKind, FlagRule, Shape, StationProfile
from .values import NORMAL, format_value

__all__ = ["Derivations", "PeriodAccumulator"]


class PeriodAccumulator:
    """Running statistics of one period (minute, hour or day) of one station.

    :meth:`add` takes one sample (the values as sent, their flags, converted
    values and the sample's share of ``Cou``); :meth:`values` builds the
    ``values`` mapping of the period upload (wire codes as keys).
    """

    __slots__ = (
        "_abnormal",
        "_cos",
        "_cou",
        "_max",
        "_min",
        "_n",
        "_normal",
        "_sin",
        "_sounds",
        "_sum",
        "_zs",
        "profile",
        "start",
    )

    def __init__(self, profile: StationProfile, start: int) -> None:
        n = len(profile.factors)
        self.profile = profile
        self.start = start
        self._n = 0
        self._sum = [0.0] * n
        self._min = [math.inf] * n
        self._max = [-math.inf] * n
        self._normal = [0] * n
        self._abnormal: list[dict[str, int] | None] = [None] * n
        self._cou = [0.0] * n
        self._zs: list[list[float] | None] = [
            [0.0, math.inf, -math.inf] if f.zs else None for f in profile.factors
        ]
        self._sin = [0.0] * n
        self._cos = [0.0] * n
        self._sounds: list[float] | None = [] if profile.sound else None

    @property
    def count(self) -> int:
        return self._n

    def add(
        self,
        values: Sequence[float],
        flags: Sequence[str],
        zs: Sequence[float | None],
        cou: Sequence[float],
    ) -> None:
        self._n += 1
        for i, v in enumerate(values):
            self._sum[i] += v
            self._min[i] = min(self._min[i], v)
            self._max[i] = max(self._max[i], v)
            flag = flags[i]
            if flag == NORMAL:
                self._normal[i] += 1
            else:
                counts = self._abnormal[i]
                if counts is None:
                    counts = self._abnormal[i] = {}
                counts[flag] = counts.get(flag, 0) + 1
            self._cou[i] += cou[i]
            z = zs[i]
            acc = self._zs[i]
            if z is not None and acc is not None:
                acc[0] += z
                acc[1] = min(acc[1], z)
                acc[2] = max(acc[2], z)
        for i, f in enumerate(self.profile.factors):
            if f.shape is Shape.WIND_DIRECTION:
                rad = math.radians(values[i])
                self._sin[i] += math.sin(rad)
                self._cos[i] += math.cos(rad)
        if self._sounds is not None:
            self._sounds.append(values[0])

    def _flag(self, i: int) -> str:
        counts = self._abnormal[i]
        if not counts:
            return NORMAL
        worst = max(counts.items(), key=lambda kv: (kv[1], kv[0]))[0]
        rule = self.profile.flag_rule
        if rule is FlagRule.ANY:
            return worst
        if self._normal[i] >= 0.75 * self._n:
            return NORMAL
        return "D" if rule is FlagRule.SHARE_75 else worst

    def values(self, codes: Sequence[str]) -> dict[str, dict[str, str]]:
        """The period's ``values`` for :func:`protocol.encode_upload` (empty if no sample)."""
        n = self._n
        if n == 0:
            return {}
        if self._sounds is not None:
            return _sound_values(self._sounds)
        out: dict[str, dict[str, str]] = {}
        for i, f in enumerate(self.profile.factors):
            d = f.decimals
            fields: dict[str, str] = {}
            if f.cou is not None:
                fields["Cou"] = format_value(self._cou[i], 3 if f.cou is CouKind.MASS else 2)
            if f.shape is Shape.WIND_DIRECTION:
                avg = math.degrees(math.atan2(self._sin[i], self._cos[i])) % 360.0
            else:
                avg = self._sum[i] / n
            fields["Min"] = format_value(self._min[i], d)
            fields["Avg"] = format_value(avg, d)
            fields["Max"] = format_value(self._max[i], d)
            acc = self._zs[i]
            if acc is not None and acc[1] != math.inf:
                fields["ZsMin"] = format_value(acc[1], d)
                fields["ZsAvg"] = format_value(acc[0] / n, d)
                fields["ZsMax"] = format_value(acc[2], d)
            fields["Flag"] = self._flag(i)
            out[codes[i]] = fields
        return out


def _percentile(ordered: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile of sorted data (q in [0, 100])."""
    if len(ordered) == 1:
        return ordered[0]
    pos = (len(ordered) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _sound_values(samples: Sequence[float]) -> dict[str, dict[str, str]]:
    """Statistical sound levels of a period: ``Ln`` is the level exceeded n % of the time."""
    ordered = sorted(samples)
    leq = 10.0 * math.log10(sum(10.0 ** (x / 10.0) for x in samples) / len(samples))
    return {
        "Leq": {"Data": format_value(leq, 1)},
        "L10": {"Data": format_value(_percentile(ordered, 90.0), 1)},
        "L50": {"Data": format_value(_percentile(ordered, 50.0), 1)},
        "L90": {"Data": format_value(_percentile(ordered, 10.0), 1)},
        "LMx": {"Data": format_value(ordered[-1], 1)},
        "LMn": {"Data": format_value(ordered[0], 1)},
    }


class Derivations:
    """Per-profile recipe for the values derived from a sample: the converted
    (折算) concentrations ``Zs`` and each sample's contribution to ``Cou``."""

    __slots__ = ("_cou", "_flow", "_o2", "_o2_ref", "_zs")

    def __init__(self, profile: StationProfile) -> None:
        factors = profile.factors
        self._o2_ref = profile.o2_reference
        self._o2 = next((i for i, f in enumerate(factors) if f.code == "a19001"), None)
        self._flow = profile.index(profile.flow_code) if profile.flow_code else None
        self._zs = tuple(i for i, f in enumerate(factors) if f.zs)
        cou: list[tuple[int, CouKind, float]] = []
        for i, f in enumerate(factors):
            if f.cou is CouKind.VOLUME:
                # a flow in L/s or m³/s → m³ per second of sampling
                cou.append((i, f.cou, 0.001 if f.unit == "L/s" else 1.0))
            elif f.cou is CouKind.MASS:
                # mg/L × L/s or mg/m³ × m³/s = mg/s → kg per second of sampling
                cou.append((i, f.cou, 1e-6))
        self._cou = tuple(cou)

    def zs(self, values: Sequence[float]) -> list[float | None]:
        """Converted concentrations C × (21 − O2ref) / (21 − O2) (None for other factors)."""
        out: list[float | None] = [None] * len(values)
        if self._o2 is None or self._o2_ref is None or not self._zs:
            return out
        ratio = (21.0 - self._o2_ref) / max(0.5, 21.0 - values[self._o2])
        for i in self._zs:
            out[i] = values[i] * ratio
        return out

    def cou(self, values: Sequence[float], dt: float) -> list[float]:
        """Each factor's share of the period total for a sample standing for ``dt`` seconds."""
        out = [0.0] * len(values)
        flow = values[self._flow] if self._flow is not None else 0.0
        for i, kind, scale in self._cou:
            if kind is CouKind.VOLUME:
                out[i] = values[i] * scale * dt
            else:
                out[i] = values[i] * flow * scale * dt
        return out
