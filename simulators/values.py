"""Realistic, deterministic monitoring values and their period aggregates.

Theory of operation
-------------------
A value is a pure function of (station, factor, simulated time)::

    value = level × station offset × shape(time, drivers) × noise      (multiplicative)
    value = level + station offset + shape(time, drivers) + noise      (additive shapes)

* **Drivers** are smooth random walks (:class:`~simulators.noise.SmoothNoise`):
  the city's *pollution weather* ``W`` (stagnant, polluted days are high; the
  stations of one district share an extra district term), the city's
  *meteorological anomaly* ``V``, a district's *river quality* ``R`` and each
  plant's *process* noise ``P``.  Sharing ``W`` is what makes PM2.5, PM10, CO
  and NO2 move together across a city while O3 — which falls with ``W`` and
  with the rush-hour NO2 peaks and rises with sunshine — peaks in the
  afternoon and anti-correlates with NO2.
* **Shapes** (:class:`~simulators.profiles.Shape`) add the diurnal cycle
  (traffic peaks at 08:30 and 19:00, sunshine, day/night noise), the weekly
  cycle (weekend traffic −10 %…−15 %), the seasons (winter heating, summer
  ozone) and physics (flue O2 falls when the load rises, dissolved oxygen falls
  when water warms, humidity falls as the air warms).
* **Station offsets** are log-normal (or additive) draws per station and
  factor, plus an ``urban`` term: stations near the centre see more traffic
  pollution and a little less ozone.
* **Noise** is an independent draw per (station, factor, second).

Because nothing depends on the order of evaluation, a history request for
last Tuesday recomputes exactly what the live station sent then (fault
episodes aside), and two processes simulating the same station agree.

Period data (minute / hour / day) are **not** an independent signal: a
:class:`PeriodAccumulator` collects the very values the station sampled
(after rounding and fault injection) and reports Min/Avg/Max, the converted
``Zs`` values, the period total ``Cou`` and the period flag by the rule of
[S17] C.16–C.18.  So hourly Avg is the mean of the real-time values sent in
that hour.  Noise stations report ``Leq``/``L10``/``L50``/``L90``/``LMx``/
``LMn`` ``-Data`` from the same samples ([S17] C.26–C.28).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo

from .noise import SmoothNoise, gauss_at, seed_of
from .profiles import CouKind, FactorProfile, FlagRule, Shape, StationProfile

__all__ = [
    "NORMAL",
    "PeriodAccumulator",
    "TickContext",
    "ValueModel",
    "Weather",
    "format_value",
]

NORMAL = "N"
_TWO_PI = 2.0 * math.pi
_WEEKLY_TRAFFIC = (1.0, 1.0, 1.0, 1.0, 1.03, 0.92, 0.85)
_URBAN_GAIN: Mapping[Shape, float] = {
    Shape.TRAFFIC: 0.5,
    Shape.OZONE: -0.25,
    Shape.SO2: 0.2,
    Shape.SOUND: 6.0,
    Shape.TEMPERATURE: 1.2,
}


class Weather:
    """The shared drivers of one simulated city (one per process, seeded).

    ``pollution(region, t)`` — stagnation index W (≈ N(0, 1)): city part plus a
    district part; ``met(t)`` — meteorological anomaly V; ``river(region, t)``.
    """

    __slots__ = ("_city_met", "_city_w", "_regions", "_seed")

    def __init__(self, seed: int) -> None:
        self._seed = seed
        day = 86400.0
        self._city_w = SmoothNoise(
            seed_of(seed, "city-w"), ((3 * day, 0.8), (20 * 3600, 0.5), (5 * 3600, 0.2))
        )
        self._city_met = SmoothNoise(seed_of(seed, "city-v"), ((2 * day, 0.8), (8 * 3600, 0.4)))
        self._regions: dict[str, tuple[SmoothNoise, SmoothNoise]] = {}

    def _region(self, region: str) -> tuple[SmoothNoise, SmoothNoise]:
        pair = self._regions.get(region)
        if pair is None:
            day = 86400.0
            pair = (
                SmoothNoise(seed_of(self._seed, "region-w", region), ((day, 0.6), (6 * 3600, 0.4))),
                SmoothNoise(seed_of(self._seed, "river", region), ((5 * day, 0.7), (day, 0.4))),
            )
            self._regions[region] = pair
        return pair

    def pollution(self, region: str, t: float) -> float:
        return 0.85 * self._city_w.at(t) + 0.5 * self._region(region)[0].at(t)

    def met(self, t: float) -> float:
        return self._city_met.at(t)

    def river(self, region: str, t: float) -> float:
        return self._region(region)[1].at(t)


class TickContext:
    """Quantities shared by every factor of one station at one instant."""

    __slots__ = (
        "air_temp",
        "hour",
        "load",
        "met",
        "pollution",
        "process",
        "river",
        "sun",
        "traffic",
        "weekday",
        "winter",
    )

    def __init__(
        self, local: datetime, pollution: float, met: float, river: float, process: float
    ) -> None:
        h = local.hour + local.minute / 60.0 + local.second / 3600.0
        doy = local.timetuple().tm_yday
        self.hour = h
        self.weekday = local.weekday()
        self.winter = math.cos(_TWO_PI * (doy - 15) / 365.25)
        self.sun = math.sin(math.pi * (h - 6.0) / 13.0) if 6.0 < h < 19.0 else 0.0
        self.traffic = (
            1.0
            + 0.45 * math.exp(-(((h - 8.5) / 1.6) ** 2))
            + 0.55 * math.exp(-(((h - 19.0) / 2.2) ** 2))
            - 0.3 * math.exp(-(((h - 4.5) / 2.5) ** 2))
        ) * _WEEKLY_TRAFFIC[self.weekday]
        self.pollution = pollution
        self.met = met
        self.river = river
        self.process = process
        work = 1.0 / (1.0 + math.exp(-(h - 7.0) * 2.0)) / (1.0 + math.exp((h - 19.0) * 2.0))
        workday = 1.0 if self.weekday < 5 else 0.5
        self.load = min(1.1, max(0.3, 0.72 + 0.18 * work * workday + 0.07 * process))
        self.air_temp = (
            17.0 - 11.0 * self.winter + 4.0 * math.cos(_TWO_PI * (h - 14.5) / 24.0) + 2.5 * met
        )


def _wind_base(winter: float) -> float:
    """Prevailing wind direction: NNW (340°) in winter, SE (135°) in summer."""
    w = (1.0 + winter) / 2.0
    x = w * math.sin(math.radians(340.0)) + (1.0 - w) * math.sin(math.radians(135.0))
    y = w * math.cos(math.radians(340.0)) + (1.0 - w) * math.cos(math.radians(135.0))
    return math.degrees(math.atan2(x, y)) % 360.0


def _shape(f: FactorProfile, base: float, c: TickContext) -> float:
    """The noise-free value of ``f`` (``base`` = level with the station offset)."""
    s = f.shape
    k = f.weather
    if s is Shape.TRAFFIC:
        return base * c.traffic * (1.0 + 0.25 * c.winter) * math.exp(k * c.pollution)
    if s is Shape.OZONE:
        return (
            base
            * (0.35 + 1.25 * math.pow(c.sun, 1.5))
            * (1.0 - 0.3 * c.winter)
            / math.sqrt(c.traffic)
            * math.exp(-0.6 * k * c.pollution + 0.15 * c.met)
        )
    if s is Shape.SO2:
        return base * (1.0 + 0.2 * c.sun) * (1.0 + 0.35 * c.winter) * math.exp(k * c.pollution)
    if s is Shape.TEMPERATURE:
        return base - 17.0 + c.air_temp
    if s is Shape.HUMIDITY:
        return (
            base
            - 10.0 * math.cos(_TWO_PI * (c.hour - 14.5) / 24.0)
            - 5.0 * c.met
            + 4.0 * c.pollution
        )
    if s is Shape.PRESSURE:
        return base + 0.9 * c.winter - 0.35 * c.met
    if s is Shape.WIND_SPEED:
        return base * (0.75 + 0.6 * c.sun) * math.exp(-k * c.pollution)
    if s is Shape.WIND_DIRECTION:
        return base - 135.0 + _wind_base(c.winter) + 45.0 * c.met
    if s is Shape.EMISSION:
        return base * math.sqrt(c.load / 0.85) * math.exp(k * c.process)
    if s is Shape.OXYGEN:
        return base + 4.0 * (0.85 - c.load) + 0.4 * c.process
    if s is Shape.FLUE_TEMPERATURE:
        return base + 12.0 * (c.load - 0.85) + 1.5 * c.process
    if s is Shape.LOAD:
        return base * math.pow(c.load / 0.85, k)
    if s is Shape.EFFLUENT:
        return base * math.pow(c.load / 0.85, 0.3) * math.exp(k * c.process)
    if s is Shape.PH:
        return base + 0.25 * c.process
    if s is Shape.WATER_TEMPERATURE:
        return base - 9.0 * c.winter + 0.6 * math.cos(_TWO_PI * (c.hour - 16.0) / 24.0)
    if s is Shape.DISSOLVED_OXYGEN:
        water = 18.0 - 9.0 * c.winter
        return base - 7.5 + 14.6 - 0.38 * water + 1.0 * c.sun - 0.8 * c.river
    if s is Shape.RIVER:
        return base * math.exp(k * c.river)
    if s is Shape.SOUND:
        h = c.hour
        day = 1.0 / (1.0 + math.exp(-(h - 6.0) * 1.5)) / (1.0 + math.exp((h - 22.0) * 1.5))
        return base - 8.0 + 12.0 * day + 3.0 * (c.traffic - 1.0)
    raise AssertionError(f"unhandled shape {s}")


def format_value(value: float, decimals: int) -> str:
    """Fixed-point text (``-0.0`` written as ``0.0``)."""
    text = f"{value:.{decimals}f}"
    if text[0] == "-" and float(text) == 0.0:
        text = text[1:]
    return text


class ValueModel:
    """The signal of one station: :meth:`sample` gives every factor's value."""

    __slots__ = ("_bases", "_factor_seeds", "_process", "_tz", "profile", "region", "weather")

    def __init__(
        self,
        profile: StationProfile,
        *,
        seed: int,
        index: int,
        region: str,
        urban: float,
        weather: Weather,
        tz: tzinfo,
    ) -> None:
        self.profile = profile
        self.region = region
        self.weather = weather
        self._tz = tz
        station_seed = seed_of(seed, "station-values", index)
        hour = 3600.0
        self._process = SmoothNoise(
            seed_of(station_seed, "process"), ((2 * 86400.0, 0.5), (8 * hour, 0.5), (hour, 0.3))
        )
        bases: list[float] = []
        seeds: list[int] = []
        for i, f in enumerate(profile.factors):
            z = gauss_at(seed_of(station_seed, "offset"), i)
            gain = _URBAN_GAIN.get(f.shape, 0.0)
            if f.additive:
                bases.append(f.level + f.spread * z + gain * (urban - 0.5))
            else:
                bases.append(f.level * math.exp(f.spread * z + gain * (urban - 0.5)))
            seeds.append(seed_of(station_seed, "noise", i))
        self._bases = tuple(bases)
        self._factor_seeds = tuple(seeds)

    def context(self, ts: float) -> TickContext:
        local = datetime.fromtimestamp(ts, self._tz)
        weather = self.weather
        return TickContext(
            local,
            weather.pollution(self.region, ts),
            weather.met(ts),
            weather.river(self.region, ts),
            self._process.at(ts),
        )

    def sample(self, ts: float) -> list[float]:
        """Every factor's value at simulated time ``ts`` (unrounded, within the
        factor's [low, high]; wind direction in [0, 360))."""
        c = self.context(ts)
        second = int(ts)
        out: list[float] = []
        for f, base, fseed in zip(
            self.profile.factors, self._bases, self._factor_seeds, strict=True
        ):
            v = _shape(f, base, c)
            z = gauss_at(fseed, second)
            if f.additive:
                v += f.noise * z
            else:
                v *= math.exp(f.noise * z - 0.5 * f.noise * f.noise)
            if f.shape is Shape.WIND_DIRECTION:
                v %= 360.0
            elif v < f.low:
                v = f.low
            elif v > f.high:
                v = f.high
            out.append(v)
        return out

    def texts(self, values: Sequence[float]) -> list[str]:
        """Values as sent: fixed-point at each factor's precision (a wind direction that
        rounds to 360 is written 0)."""
        out = []
        for v, f in zip(values, self.profile.factors, strict=True):
            text = format_value(v, f.decimals)
            if f.shape is Shape.WIND_DIRECTION and float(text) >= 360.0:
                text = format_value(0.0, f.decimals)
            out.append(text)
        return out


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


__all__ += ["Derivations"]
