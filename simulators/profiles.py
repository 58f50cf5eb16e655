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

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
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


_F = FactorProfile
_S = Shape

AMBIENT_AIR: Final = StationProfile(
    "22",
    "ambient air quality",
    (
        _F("a21026", "µg/m³", 9.0, 0, _S.SO2, noise=0.10, weather=0.35, spread=0.35, limit=500.0),
        _F(
            "a21004",
            "µg/m³",
            32.0,
            0,
            _S.TRAFFIC,
            noise=0.09,
            weather=0.35,
            spread=0.25,
            limit=200.0,
        ),
        _F("a21005", "mg/m³", 0.7, 3, _S.TRAFFIC, noise=0.06, weather=0.30, spread=0.2, limit=10.0),
        _F(
            "a05024", "µg/m³", 70.0, 0, _S.OZONE, noise=0.08, weather=0.25, spread=0.15, limit=200.0
        ),
        _F(
            "a34002",
            "µg/m³",
            62.0,
            0,
            _S.TRAFFIC,
            noise=0.10,
            weather=0.55,
            spread=0.2,
            limit=150.0,
        ),
        _F(
            "a34004", "µg/m³", 36.0, 0, _S.TRAFFIC, noise=0.09, weather=0.60, spread=0.2, limit=75.0
        ),
        _F("a01001", "°C", 17.0, 1, _S.TEMPERATURE, noise=0.15, spread=0.4, low=-40.0, high=50.0),
        _F("a01002", "%", 72.0, 1, _S.HUMIDITY, noise=1.0, spread=3.0, low=8.0, high=100.0),
        _F("a01006", "kPa", 101.3, 2, _S.PRESSURE, noise=0.01, spread=0.15, low=85.0, high=108.0),
        _F("a01007", "m/s", 2.2, 1, _S.WIND_SPEED, noise=0.25, weather=0.35, spread=0.25),
        _F("a01008", "°", 135.0, 0, _S.WIND_DIRECTION, noise=20.0, spread=10.0, high=360.0),
    ),
    equipment=1,
)

FLUE_GAS: Final = StationProfile(
    "31",
    "flue gas (air pollution source)",
    (
        _F(
            "a34013",
            "mg/m³",
            4.5,
            2,
            _S.EMISSION,
            noise=0.10,
            weather=0.20,
            spread=0.3,
            limit=10.0,
            zs=True,
            cou=CouKind.MASS,
        ),
        _F(
            "a21026",
            "mg/m³",
            15.0,
            2,
            _S.EMISSION,
            noise=0.08,
            weather=0.18,
            spread=0.2,
            limit=35.0,
            zs=True,
            cou=CouKind.MASS,
        ),
        _F(
            "a21002",
            "mg/m³",
            24.0,
            2,
            _S.EMISSION,
            noise=0.07,
            weather=0.15,
            spread=0.2,
            limit=50.0,
            zs=True,
            cou=CouKind.MASS,
        ),
        _F("a19001", "%", 9.0, 2, _S.OXYGEN, noise=0.15, spread=0.8, low=2.0, high=20.5),
        _F(
            "a01012",
            "°C",
            52.0,
            1,
            _S.FLUE_TEMPERATURE,
            noise=0.4,
            spread=5.0,
            low=20.0,
            high=200.0,
        ),
        _F("a01011", "m/s", 11.0, 2, _S.LOAD, noise=0.03, weather=0.5, spread=0.2),
        _F(
            "a00000",
            "m³/s",
            60.0,
            2,
            _S.LOAD,
            noise=0.03,
            weather=0.5,
            spread=0.35,
            cou=CouKind.VOLUME,
        ),
    ),
    flag_rule=FlagRule.SHARE_75,
    equipment=2,
    o2_reference=6.0,
    flow_code="a00000",
)

WASTEWATER: Final = StationProfile(
    "32",
    "wastewater (water pollution source)",
    (
        _F(
            "w01018",
            "mg/L",
            22.0,
            1,
            _S.EFFLUENT,
            noise=0.05,
            weather=0.20,
            spread=0.2,
            limit=50.0,
            cou=CouKind.MASS,
        ),
        _F(
            "w21003",
            "mg/L",
            1.0,
            3,
            _S.EFFLUENT,
            noise=0.06,
            weather=0.30,
            spread=0.3,
            limit=5.0,
            cou=CouKind.MASS,
        ),
        _F(
            "w21011",
            "mg/L",
            0.2,
            3,
            _S.EFFLUENT,
            noise=0.06,
            weather=0.22,
            spread=0.2,
            limit=0.5,
            cou=CouKind.MASS,
        ),
        _F(
            "w21001",
            "mg/L",
            7.5,
            2,
            _S.EFFLUENT,
            noise=0.05,
            weather=0.18,
            spread=0.2,
            limit=15.0,
            cou=CouKind.MASS,
        ),
        _F("w01001", "", 7.2, 2, _S.PH, noise=0.03, spread=0.25, limit=9.0, low=0.0, high=14.0),
        _F(
            "w00000",
            "L/s",
            45.0,
            2,
            _S.LOAD,
            noise=0.04,
            weather=0.7,
            spread=0.5,
            cou=CouKind.VOLUME,
        ),
    ),
    flag_rule=FlagRule.ANY,
    equipment=3,
    flow_code="w00000",
)

SURFACE_WATER: Final = StationProfile(
    "21",
    "surface water quality",
    (
        _F(
            "w01010",
            "°C",
            18.0,
            1,
            _S.WATER_TEMPERATURE,
            noise=0.05,
            spread=0.8,
            low=0.0,
            high=40.0,
        ),
        _F("w01001", "", 7.6, 2, _S.PH, noise=0.02, spread=0.2, limit=9.0, low=0.0, high=14.0),
        _F(
            "w01009",
            "mg/L",
            7.5,
            2,
            _S.DISSOLVED_OXYGEN,
            noise=0.08,
            spread=0.5,
            low=0.2,
            high=20.0,
        ),
        _F("w01014", "µS/cm", 360.0, 1, _S.RIVER, noise=0.02, weather=0.15, spread=0.25),
        _F("w01019", "mg/L", 3.4, 2, _S.RIVER, noise=0.04, weather=0.30, spread=0.25, limit=6.0),
        _F("w21003", "mg/L", 0.35, 3, _S.RIVER, noise=0.05, weather=0.45, spread=0.35, limit=1.0),
        _F("w21011", "mg/L", 0.11, 3, _S.RIVER, noise=0.05, weather=0.40, spread=0.3, limit=0.2),
        _F("w21001", "mg/L", 1.4, 2, _S.RIVER, noise=0.04, weather=0.30, spread=0.25, limit=1.0),
    ),
    equipment=1,
)

NOISE: Final = StationProfile(
    "23",
    "acoustic environment (noise)",
    (
        _F(
            "LA",
            "dB",
            55.0,
            1,
            _S.SOUND,
            noise=3.0,
            weather=1.0,
            spread=3.0,
            limit=60.0,
            low=25.0,
            high=120.0,
        ),
    ),
    equipment=1,
    sound=True,
)

PROFILES: Final[Mapping[str, StationProfile]] = MappingProxyType(
    {p.st: p for p in (SURFACE_WATER, AMBIENT_AIR, NOISE, FLUE_GAS, WASTEWATER)}
)
"""ST → station profile."""


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
