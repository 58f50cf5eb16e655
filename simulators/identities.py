"""Who the simulated stations are: MN, password, ST, edition, district and coordinates.

Everything is a pure function of ``(seed, index)`` and the area settings, so a
test (or the benchmark) can compute the identities of a fleet — to register
them with the server — before any process starts, and every process of a
multi-process run agrees on them.

* MN: 2017 stations use 24 hex characters like the EPC-96 ids of [S17] App. C
  (``88`` + 6 hex of the seed + the ST + 14 hex of the index); 2005 stations use
  14 characters (a 7-character organisation code ``S`` + 6 digits of the seed,
  then a 7-digit serial), as [S05] §6.3.2 describes.
* Edition and SM4 key: :mod:`simulators.editions` (``edition`` may be a weighted mix,
  ``2017:0.5,2025:0.5``); 2025 stations use 24 hex characters like 2017 ones (the
  2025 数采仪入网编码 is 24 characters of ``0-9A-F``) and carry an SM4 key (32 hex
  digits, deterministic from the seed and the MN).
* Coordinates: ``regions`` districts with centres spread over the area; each
  station lies near its district's centre (Gaussian, clipped to the area).
  ``urban`` (1 at the city centre, 0 at the edge) raises traffic pollutants and
  lowers ozone in :mod:`simulators.values`, so maps show a believable gradient.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from .editions import edition_at, sm4_key_of
from .noise import CounterRandom, seed_of
from .profiles import profile_for

__all__ = ["Area", "StationIdentity", "station_identities", "station_identity"]

_KM_PER_DEG_LAT = 111.32


@dataclass(frozen=True, slots=True)
class Area:
    """Where the stations are: a centre and radius (km), or a bounding box.

    ``bbox`` is (south, west, north, east) in degrees and wins over the circle.
    The default is centred on Hangzhou (30.27 N, 120.15 E), radius 25 km.
    """

    lat: float = 30.27
    lon: float = 120.15
    radius_km: float = 25.0
    bbox: tuple[float, float, float, float] | None = None
    regions: int = 8

    def __post_init__(self) -> None:
        if not -90 < self.lat < 90 or not -180 <= self.lon <= 180:
            raise ValueError(f"area centre {self.lat},{self.lon} is not a latitude,longitude")
        if self.radius_km <= 0:
            raise ValueError(f"area radius must be > 0 km (got {self.radius_km})")
        if self.regions < 1:
            raise ValueError(f"regions must be ≥ 1 (got {self.regions})")
        if self.bbox is not None:
            south, west, north, east = self.bbox
            if not (south < north and west < east):
                raise ValueError(
                    f"bbox must be south,west,north,east with south<north and west<east"
                    f" (got {self.bbox})"
                )

    @property
    def centre(self) -> tuple[float, float]:
        if self.bbox is None:
            return self.lat, self.lon
        south, west, north, east = self.bbox
        return (south + north) / 2, (west + east) / 2

    @property
    def half_extent_km(self) -> tuple[float, float]:
        """(north-south, east-west) half extent in km."""
        lat, _ = self.centre
        if self.bbox is None:
            return self.radius_km, self.radius_km
        south, west, north, east = self.bbox
        return (
            (north - south) / 2 * _KM_PER_DEG_LAT,
            (east - west) / 2 * _KM_PER_DEG_LAT * math.cos(math.radians(lat)),
        )


@dataclass(frozen=True, slots=True)
class StationIdentity:
    """One simulated station."""

    index: int
    mn: str
    pw: str
    st: str
    edition: str
    name: str
    region: str
    region_name: str
    lat: float
    lon: float
    #: 1 at the area's centre, 0 at its edge
    urban: float
    #: HJ 212-2025 stations: the SM4 key as 32 hex digits (None for other editions)
    sm4_key: str | None = None

    def to_json(self) -> dict[str, object]:
        """Every field but ``urban`` (which only the value model reads); ``sm4_key`` only
        for stations that have one — what ``envgrid station import`` reads."""
        out: dict[str, object] = asdict(self)
        del out["urban"]
        if self.sm4_key is None:
            del out["sm4_key"]
        return out


#: names for the simulated districts (the dashboard speaks Chinese); beyond the list, numbered
_DISTRICTS = (
    "东城区",
    "西湖区",
    "滨江区",
    "拱墅区",
    "上城区",
    "萧山区",
    "余杭区",
    "临平区",
    "钱塘区",
    "富阳区",
    "临安区",
    "桐庐县",
)
_KIND_ZH = {
    "21": "地表水站",
    "22": "空气站",
    "23": "噪声站",
    "31": "废气监控点",
    "32": "废水监控点",
}


def _district(region: int) -> str:
    if region < len(_DISTRICTS):
        return _DISTRICTS[region]
    return f"第{region + 1}区"


def _mn(seed: int, index: int, st: str, edition: str) -> str:
    if edition == "2005":
        return f"S{seed % 1_000_000:06d}{index % 10_000_000:07d}"
    return f"88{seed & 0xFFFFFF:06X}{st[:2]:0>2}{index:014X}"


def _offset_km(area: Area, rng: CounterRandom, spread: float) -> tuple[float, float]:
    """A point (north km, east km) from the centre, inside the area."""
    half_ns, half_ew = area.half_extent_km
    for _ in range(16):
        dn, de = rng.gauss(0, spread * half_ns), rng.gauss(0, spread * half_ew)
        if area.bbox is None:
            if math.hypot(dn, de) <= area.radius_km:
                return dn, de
        elif abs(dn) <= half_ns and abs(de) <= half_ew:
            return dn, de
    return 0.0, 0.0


def _region_centre(area: Area, seed: int, region: int) -> tuple[float, float]:
    """District centres: on a jittered spiral so they cover the area evenly."""
    if area.regions == 1:
        return 0.0, 0.0
    rng = CounterRandom(seed_of(seed, "region", region))
    half_ns, half_ew = area.half_extent_km
    # golden-angle spiral, radius ∝ sqrt(i) — districts of similar size
    r = 0.75 * math.sqrt((region + 0.5) / area.regions)
    angle = region * 2.399963229728653 + rng.uniform(-0.3, 0.3)
    return r * half_ns * math.sin(angle), r * half_ew * math.cos(angle)


def station_identity(
    index: int,
    *,
    seed: int = 1,
    edition: str = "2017",
    st: Sequence[str] = ("22",),
    area: Area | None = None,
    pw: str = "123456",
) -> StationIdentity:
    """The identity of station ``index`` (see :func:`station_identities`)."""
    if not st:
        raise ValueError("at least one station type (ST) is needed")
    area = area or Area()
    code = st[index % len(st)]
    profile_for(code)  # validates the station type early
    ed = edition_at(edition, seed, index)
    rng = CounterRandom(seed_of(seed, "station", index))
    region = int(rng.random() * area.regions)
    cn, ce = _region_centre(area, seed, region)
    half_ns, _ = area.half_extent_km
    spread = 0.45 / math.sqrt(area.regions)
    dn, de = _offset_km(area, rng, spread)
    north, east = cn + dn, ce + de
    if area.bbox is None:
        d = math.hypot(north, east)
        if d > area.radius_km:  # keep inside the circle
            north, east = north * area.radius_km / d, east * area.radius_km / d
    else:
        half_ns, half_ew = area.half_extent_km
        north = max(-half_ns, min(half_ns, north))
        east = max(-half_ew, min(half_ew, east))
    clat, clon = area.centre
    lat = clat + north / _KM_PER_DEG_LAT
    lon = clon + east / (_KM_PER_DEG_LAT * math.cos(math.radians(clat)))
    half_ns, half_ew = area.half_extent_km
    urban = max(0.0, 1.0 - math.hypot(north / half_ns, east / half_ew))
    region_code = f"R{region + 1:02d}"
    mn = _mn(seed, index, code, ed)
    return StationIdentity(
        index=index,
        mn=mn,
        pw=pw,
        st=code,
        edition=ed,
        name=f"{_DISTRICTS[region % len(_DISTRICTS)]}{_KIND_ZH.get(code, '监测站')}{index + 1:05d}",
        region=region_code,
        region_name=_district(region),
        lat=round(lat, 6),
        lon=round(lon, 6),
        urban=round(urban, 4),
        sm4_key=sm4_key_of(seed, mn).hex().upper() if ed == "2025" else None,
    )


def station_identities(n: int, *, first: int = 0, **fleet: Any) -> list[StationIdentity]:
    """Identities of stations ``first .. first+n-1``; ``fleet``: the keywords of
    :func:`station_identity` (``seed``, ``edition``, ``st``, ``area``, ``pw``).

    ``st`` is cycled over the indices (index 0 gets ``st[0]``, index 1 ``st[1]`` …);
    ``edition`` is "2017", "2005", "2025", "mix" or a weighted mix "2017:0.5,2025:0.5"
    (each station draws one, seeded; :mod:`simulators.editions`).
    """
    if n < 0:
        raise ValueError(f"station count must be ≥ 0 (got {n})")
    return [station_identity(i, **fleet) for i in range(first, first + n)]
