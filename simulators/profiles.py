"""Station types (ST) → the factors a data logger of that type reports.

Each :class:`FactorProfile` gives the 2017 code, the unit the platform expects,
a typical level, the precision it is written with, a *shape* (how it moves
through the day, the week and the weather — see :mod:`simulators.values`) and
the limit an exceedance episode pushes it past.

Units follow what Chinese platforms actually report rather than the defaults
of HJ 212-2017 App. B: ambient-air concentrations in µg/m³ except CO in mg/m³
(GB 3095-2012 reporting), flue gas in mg/m³, water in mg/L.  Limits:

* ambient air (ST 22): GB 3095-2012 grade II 1-hour / 24-hour limits
  (SO2 500, NO2 200, CO 10 mg/m³, O3 200 µg/m³ hourly; PM10 150, PM2.5 75 daily);
* flue gas (ST 31): ultra-low emission limits (dust 10, SO2 35, NOx 50 mg/m³);
* wastewater (ST 32): GB 18918-2002 class 1A (COD 50, NH3-N 5, TP 0.5, TN 15 mg/L,
  pH 6–9);
* surface water (ST 21): GB 3838-2002 class III (CODMn 6, NH3-N 1.0, TP 0.2, TN 1.0);
* noise (ST 23): GB 3096-2008 class 2 daytime limit 60 dB(A).

A station that speaks HJ/T 212-2005 reports the old codes of HJ/T 212-2005
App. B where one exists (``a21026`` → ``02``, ``w01018`` → ``011`` …);
:func:`wire_codes` chooses them so that ``protocol.factors.legacy_to_2017``
maps them back for the station's ST.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Final

from protocol.factors import FACTORS, LEGACY_2005_CODES, legacy_to_2017

__all__ = [
    "PROFILES",
    "CouKind",
    "FactorProfile",
    "FlagRule",
    "Shape",
    "StationProfile",
    "profile_for",
    "wire_codes",
]


class Shape(StrEnum):
    """How a factor moves (implemented in :mod:`simulators.values`)."""

    TRAFFIC = "traffic"  # NO2, CO, PM: rush-hour peaks, winter high, stagnant weather high
    OZONE = "ozone"  # afternoon peak, summer high, anti-correlated with NO2
    SO2 = "so2"  # ambient SO2: mild daytime industry, winter heating
    TEMPERATURE = "temperature"
    HUMIDITY = "humidity"
    PRESSURE = "pressure"
    WIND_SPEED = "wind_speed"
    WIND_DIRECTION = "wind_direction"
    EMISSION = "emission"  # a source's pollutant concentration, follows the plant load
    OXYGEN = "oxygen"  # flue O2: falls when the load rises
    FLUE_TEMPERATURE = "flue_temperature"
    LOAD = "load"  # velocity / flow: proportional to the load
    EFFLUENT = "effluent"  # treated wastewater quality: the plant's own process noise
    PH = "ph"
    WATER_TEMPERATURE = "water_temperature"
    DISSOLVED_OXYGEN = "dissolved_oxygen"
    RIVER = "river"  # surface water quality: shared by the stations of a region
    SOUND = "sound"  # A-weighted level: day/night and traffic


#: Shapes whose noise and per-station offset are added (not multiplied).
ADDITIVE: Final[frozenset[Shape]] = frozenset(
    {
        Shape.TEMPERATURE,
        Shape.HUMIDITY,
        Shape.PRESSURE,
        Shape.WIND_DIRECTION,
        Shape.OXYGEN,
        Shape.FLUE_TEMPERATURE,
        Shape.PH,
        Shape.WATER_TEMPERATURE,
        Shape.DISSOLVED_OXYGEN,
        Shape.SOUND,
    }
)


class CouKind(StrEnum):
    """What ``-Cou`` (the period total) of a factor is."""

    VOLUME = "volume"  # a flow: total volume in m³
    MASS = "mass"  # a concentration at a source: emitted mass in kg (conc × flow)


class FlagRule(StrEnum):
    """How a period's flag follows from its samples ([S17] C.16–C.18 notes)."""

    ANY = "any"  # wastewater: one abnormal sample makes the period abnormal
    SHARE_75 = "share75"  # flue gas: ≥ 75 % normal samples → N, else D
    MAJORITY = "majority"  # others: ≥ 75 % normal → N, else the commonest abnormal flag


@dataclass(frozen=True, slots=True)
class FactorProfile:
    """One factor of a station type.

    ``level`` is the typical value (the long-run median of a typical station);
    ``noise`` the per-sample noise (relative sd for multiplicative shapes,
    absolute sd for additive ones); ``weather`` how strongly the factor follows
    its driver (regional weather, plant load …); ``spread`` the sd of the
    per-station offset (log scale, or absolute for additive shapes).
    """

    code: str
    unit: str
    level: float
    decimals: int
    shape: Shape
    noise: float = 0.08
    weather: float = 0.4
    spread: float = 0.2
    limit: float | None = None
    low: float = 0.0
    high: float = 1e9
    zs: bool = False
    cou: CouKind | None = None

    @property
    def additive(self) -> bool:
        return self.shape in ADDITIVE


@dataclass(frozen=True, slots=True)
class StationProfile:
    """A station type: its factors and how its period data are built."""

    st: str
    name: str
    factors: tuple[FactorProfile, ...]
    flag_rule: FlagRule = FlagRule.MAJORITY
    #: treatment facilities / analysers reported in 2021 (``SBx-RS``) and 2041 (``SBx-RT``)
    equipment: int = 1
    #: reference O2 (%) for the converted (折算) values ``-ZsRtd`` of flue gas
    o2_reference: float | None = None
    #: noise stations report period data as ``Leq-Data``, ``L10-Data`` … ([S17] C.26–C.28)
    sound: bool = False
    #: the factor whose value is the flow for ``CouKind.MASS``
    flow_code: str | None = None

    def index(self, code: str) -> int:
        for i, f in enumerate(self.factors):
            if f.code == code:
                return i
        raise KeyError(code)


def _load_profiles() -> dict[str, StationProfile]:
    """The station types of ``profiles.json`` (fields left out there take the defaults)."""
    raw = json.loads(Path(__file__).with_name("profiles.json").read_text("utf-8"))
    out: dict[str, StationProfile] = {}
    for entry in raw:
        factors = tuple(
            FactorProfile(
                **{
                    **f,
                    "shape": Shape(f["shape"]),
                    "cou": CouKind(f["cou"]) if "cou" in f else None,
                }
            )
            for f in entry.pop("factors")
        )
        if "flag_rule" in entry:
            entry["flag_rule"] = FlagRule(entry["flag_rule"])
        out[entry["st"]] = StationProfile(factors=factors, **entry)
    return out


PROFILES: Final[Mapping[str, StationProfile]] = MappingProxyType(_load_profiles())
"""ST → station profile (data: ``simulators/profiles.json``)."""


def profile_for(st: str) -> StationProfile:
    """The profile of a station type, or a ValueError naming the ones there are."""
    try:
        return PROFILES[st]
    except KeyError:
        raise ValueError(
            f"no simulator profile for ST {st!r}; available: {', '.join(sorted(PROFILES))}"
            " (21 surface water, 22 ambient air, 23 noise, 31 flue gas, 32 wastewater)"
        ) from None


def _legacy_code(code: str, st: str) -> str:
    """The HJ/T 212-2005 code for ``code`` at a station of type ``st`` (``code`` itself
    when 2005 has none or the decoder would not map it back)."""
    for old, leg in LEGACY_2005_CODES.items():
        if leg.code_2017 == code and old != code and legacy_to_2017(old, st) == code:
            return old
    return code


def wire_codes(profile: StationProfile, edition: str) -> tuple[str, ...]:
    """Codes as they go on the wire, in factor order: 2017 codes, or for a 2005
    station the old codes where HJ/T 212-2005 App. B has them."""
    if edition != "2005":
        return tuple(f.code for f in profile.factors)
    return tuple(_legacy_code(f.code, profile.st) for f in profile.factors)


def _check_tables() -> None:
    for profile in PROFILES.values():
        for f in profile.factors:
            if f.code not in FACTORS:
                raise RuntimeError(f"profile {profile.st}: {f.code} is not an HJ 212 factor")


_check_tables()
