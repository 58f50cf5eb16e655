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

Period data (minute / hour / day) are built from the very values the station
sampled, by :mod:`simulators.periods`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo

from .noise import SmoothNoise, gauss_at, seed_of
from .profiles import FactorProfile, Shape, StationProfile

__all__ = [
    "NORMAL",
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

    @property
    def bases(self) -> tuple[float, ...]:
        """Each factor's level with this station's offset (what the shapes scale)."""
        return self._bases

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
