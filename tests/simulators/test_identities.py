"""Station identities: MN formats, determinism, coordinates and districts."""

from __future__ import annotations

import math
import re

import pytest

from simulators import Area, station_identities, station_identity

KM_PER_DEG = 111.32


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    dy = (lat2 - lat1) * KM_PER_DEG
    dx = (lon2 - lon1) * KM_PER_DEG * math.cos(math.radians(lat1))
    return math.hypot(dx, dy)


def test_mn_formats() -> None:
    [a] = station_identities(1, edition="2017", st=("31",))
    [b] = station_identities(1, edition="2005", st=("31",))
    assert re.fullmatch(r"[0-9A-F]{24}", a.mn)
    assert len(b.mn) == 14
    assert a.pw == b.pw == "123456"


def test_identities_are_deterministic_and_unique() -> None:
    first = station_identities(500, seed=3, edition="mix", st=("22", "31", "32"))
    again = station_identities(500, seed=3, edition="mix", st=("22", "31", "32"))
    assert first == again
    assert len({i.mn for i in first}) == 500
    # a slice of the run computes the same identities as the whole run
    assert (
        station_identities(10, seed=3, edition="mix", st=("22", "31", "32"), first=250)
        == first[250:260]
    )
    assert station_identity(42, seed=3, edition="mix", st=("22", "31", "32")) == first[42]
    other = station_identities(500, seed=4, edition="mix", st=("22", "31", "32"))
    assert {i.mn for i in other}.isdisjoint({i.mn for i in first})


def test_st_cycles_and_editions_mix() -> None:
    ids = station_identities(300, edition="mix", st=("22", "31", "32"))
    assert [i.st for i in ids[:6]] == ["22", "31", "32", "22", "31", "32"]
    share = sum(i.edition == "2005" for i in ids) / len(ids)
    assert 0.35 < share < 0.65


def test_stations_lie_inside_the_area_grouped_in_districts() -> None:
    area = Area(lat=30.27, lon=120.15, radius_km=25, regions=8)
    ids = station_identities(2000, area=area)
    for i in ids:
        assert distance_km(area.lat, area.lon, i.lat, i.lon) <= 25.01
        assert 0.0 <= i.urban <= 1.0
    regions = {i.region for i in ids}
    assert len(regions) == 8
    # stations of a district are closer to each other than to the whole city's spread
    by_region: dict[str, list[tuple[float, float]]] = {}
    for i in ids:
        by_region.setdefault(i.region, []).append((i.lat, i.lon))
    spreads = []
    for points in by_region.values():
        clat = sum(p[0] for p in points) / len(points)
        clon = sum(p[1] for p in points) / len(points)
        spreads.append(max(distance_km(clat, clon, *p) for p in points))
    assert sum(spreads) / len(spreads) < 25


def test_bounding_box() -> None:
    area = Area(bbox=(39.8, 116.2, 40.0, 116.5), regions=4)
    for i in station_identities(300, area=area):
        assert 39.8 <= i.lat <= 40.0 and 116.2 <= i.lon <= 116.5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"radius_km": 0}, "radius"),
        ({"regions": 0}, "regions"),
        ({"bbox": (40.0, 116.2, 39.8, 116.5)}, "bbox"),
        ({"lat": 95.0}, "latitude"),
    ],
)
def test_bad_area(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Area(**kwargs)  # type: ignore[arg-type]


def test_unknown_station_type() -> None:
    with pytest.raises(ValueError, match="available: 21, 22, 23, 31, 32"):
        station_identities(1, st=("99",))
