"""Days of real-time ambient-air data for many stations at once (numpy), from the same
value model as the simulated stations: the alert scenarios need a thousand station-days
in seconds, which the per-sample :class:`~simulators.values.ValueModel` (≈ 150 µs a
sample) cannot give.

Theory of operation
-------------------
Per station, the six pollutants of the ambient profile (``profiles.json``, ST 22) follow
:func:`simulators.values._shape` — the city's pollution weather ``W`` (city plus district
terms, :class:`~simulators.values.Weather`), the diurnal and weekly traffic cycle, the
sunshine that drives O3, the season — scaled by the station's own log-normal offset
(:attr:`ValueModel.bases`, urban term included) and multiplied by independent
log-normal measurement noise per sample (the factor's ``noise``), as
:meth:`ValueModel.sample` does.  The drivers are evaluated once per district and time
step and broadcast; only the noise is drawn per value (seeded ``numpy`` generator rather
than the counter-based draws: the same statistics, not the same digits as a live run).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np

from .identities import Area, station_identities
from .profiles import Shape, profile_for
from .values import _WEEKLY_TRAFFIC, ValueModel, Weather

__all__ = ["POLLUTANTS", "AmbientDays", "ambient_days", "hourly_means"]

#: The six pollutants of the ambient profile (the order of the value rows).
POLLUTANTS = ("a21026", "a21004", "a21005", "a05024", "a34002", "a34004")
_TWO_PI = 2.0 * math.pi


@dataclass(frozen=True, slots=True)
class AmbientDays:
    """``values[station, factor, step]`` (float32) at ``times[step]`` (POSIX s)."""

    codes: tuple[str, ...]
    regions: tuple[str, ...]
    times: np.ndarray
    values: np.ndarray


def _calendar(times: np.ndarray, tz: ZoneInfo) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Local hour (fractional), weekday and day of year of each time (the zone's offset
    at the first time: no daylight-saving change inside a scenario)."""
    offset = datetime.fromtimestamp(float(times[0]), tz).utcoffset()
    local = times + (offset.total_seconds() if offset is not None else 0.0)
    days = np.floor(local / 86400.0)
    hour = (local - days * 86400.0) / 3600.0
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    unique, inverse = np.unique(days, return_inverse=True)
    yday = np.array([datetime.fromtimestamp(d * 86400.0, UTC).timetuple().tm_yday for d in unique])
    return hour, weekday, yday[inverse].astype(np.float64)


def ambient_days(
    stations: int,
    start: float,
    days: float,
    *,
    interval_s: int = 30,
    seed: int = 1,
    regions: int = 8,
    timezone: str = "Asia/Shanghai",
) -> AmbientDays:
    """``stations`` ambient stations (identities as the simulator draws them) sampled every
    ``interval_s`` seconds for ``days`` days from ``start``."""
    tz = ZoneInfo(timezone)
    profile = profile_for("22")
    index = [profile.index(code) for code in POLLUTANTS]
    factors = [profile.factors[i] for i in index]
    n = round(days * 86400 / interval_s)
    times = start + interval_s * np.arange(n, dtype=np.float64)
    hour, weekday, doy = _calendar(times, tz)
    winter = np.cos(_TWO_PI * (doy - 15) / 365.25)
    sun = np.where((hour > 6.0) & (hour < 19.0), np.sin(np.pi * (hour - 6.0) / 13.0), 0.0)
    traffic = (
        1.0
        + 0.45 * np.exp(-(((hour - 8.5) / 1.6) ** 2))
        + 0.55 * np.exp(-(((hour - 19.0) / 2.2) ** 2))
        - 0.3 * np.exp(-(((hour - 4.5) / 2.5) ** 2))
    ) * np.asarray(_WEEKLY_TRAFFIC)[weekday]
    weather = Weather(seed)
    coarse = times[::60] if n > 60 else times  # the drivers are smooth: every 30 min
    met = np.interp(times, coarse, [weather.met(float(t)) for t in coarse])
    ids = station_identities(stations, seed=seed, st=("22",), area=Area(regions=regions))
    names = sorted({i.region for i in ids})
    pollution = {
        r: np.interp(times, coarse, [weather.pollution(r, float(t)) for t in coarse]) for r in names
    }
    rng = np.random.default_rng(seed)
    values = np.empty((stations, len(POLLUTANTS), n), dtype=np.float32)
    for s, ident in enumerate(ids):
        model = ValueModel(
            profile,
            seed=seed,
            index=ident.index,
            region=ident.region,
            urban=ident.urban,
            weather=weather,
            tz=tz,
        )
        w = pollution[ident.region]
        for k, (i, f) in enumerate(zip(index, factors, strict=True)):
            base, kw = model.bases[i], f.weather
            if f.shape is Shape.TRAFFIC:
                v = base * traffic * (1.0 + 0.25 * winter) * np.exp(kw * w)
            elif f.shape is Shape.OZONE:
                v = (
                    base
                    * (0.35 + 1.25 * np.power(sun, 1.5))
                    * (1.0 - 0.3 * winter)
                    / np.sqrt(traffic)
                    * np.exp(-0.6 * kw * w + 0.15 * met)
                )
            elif f.shape is Shape.SO2:
                v = base * (1.0 + 0.2 * sun) * (1.0 + 0.35 * winter) * np.exp(kw * w)
            else:  # pragma: no cover - the ambient profile has only these three
                raise ValueError(f"{f.code}: shape {f.shape} is not an ambient pollutant shape")
            z = rng.standard_normal(n)
            v = v * np.exp(f.noise * z - 0.5 * f.noise * f.noise)
            values[s, k] = np.clip(v, f.low, f.high)
    return AmbientDays(POLLUTANTS, tuple(i.region for i in ids), times, values)


def hourly_means(
    days: AmbientDays, *, minimum_minutes: int = 45
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per whole hour of the series: the mean of each (station, factor) and whether the
    hour is valid (≥ ``minimum_minutes`` of sampling, GB 3095 Table 4); the hour starts."""
    step = float(days.times[1] - days.times[0]) if len(days.times) > 1 else 60.0
    per_hour = round(3600 / step)
    first = int(np.ceil(days.times[0] / 3600.0) * 3600)
    skip = round((first - days.times[0]) / step)
    hours = (len(days.times) - skip) // per_hour
    block = days.values[:, :, skip : skip + hours * per_hour]
    block = block.reshape(block.shape[0], block.shape[1], hours, per_hour)
    covered = per_hour * step / 60.0
    valid = np.full(hours, covered >= minimum_minutes)
    starts = first + 3600.0 * np.arange(hours)
    return block.mean(axis=3, dtype=np.float64), valid, starts
