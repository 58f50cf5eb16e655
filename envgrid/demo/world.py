"""The sample city's standing data: areas (five levels), units, grid people, dashboard
users (one per role, random passwords), stations and patrol points — each created through
the owning package's service function and recorded in ``demo_objects``.
"""

from __future__ import annotations

import json
import random
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from typing import Any

import asyncpg
from shapely import Polygon

from envgrid.settings import Settings
from simulators.profiles import profile_for, wire_codes
from store.secretbox import STATION_PASSWORD, box_for
from store.stations import add_station
from web.casework.grid import service as grid
from web.casework.kernel import people
from web.users.service import create_user

from .geometry import as_geojson, city_outline, split
from .marker import record

__all__ = ["AIR", "City", "build_city", "city_spec"]

#: The six pollutants an air station is planned to report (its 应测因子).
AIR = ("a21026", "a21004", "a21005", "a05024", "a34002", "a34004")
MN_PREFIX = "99990000"


def city_spec() -> dict[str, Any]:
    """The sample city (``city.json``)."""
    text = resources.files(__package__).joinpath("city.json").read_text(encoding="utf-8")
    return dict(json.loads(text))


@dataclass
class City:
    """Ids of what :func:`build_city` made."""

    areas: dict[str, int] = field(default_factory=dict)
    #: the level-5 grids in order, and their representative points (lat, lon)
    grids: list[int] = field(default_factory=list)
    grid_points: list[tuple[float, float]] = field(default_factory=list)
    units: dict[str, int] = field(default_factory=dict)
    #: workflow role → the person of the demo user with that role
    people: dict[str, int] = field(default_factory=dict)
    #: username → (role, password)
    logins: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: stations: (id, mn, st, grid index, lat, lon, district name)
    stations: list[tuple[int, str, str, int, float, float, str]] = field(default_factory=list)
    points: list[int] = field(default_factory=list)


def _password() -> str:
    return f"Demo{secrets.randbelow(10)}{secrets.token_urlsafe(9)}"


async def _areas(conn: asyncpg.Connection, spec: dict[str, Any], city: City) -> list[str]:
    """Five levels; returns the district name of each grid (in grid order)."""
    rng = random.Random(spec["seed"])
    c, names = spec["city"], spec["areas"]
    outline = city_outline(c["lat"], c["lon"], c["radius_deg"], rng)
    root = await grid.create_area(
        conn, code=c["code"], name=c["name"], level=1, boundary=as_geojson(outline)
    )
    city.areas[c["code"]] = root
    districts: list[str] = []

    async def add(code: str, name: str, level: int, parent: int, shape: Polygon) -> int:
        area_id = await grid.create_area(
            conn, code=code, name=name, level=level, parent_id=parent, boundary=as_geojson(shape)
        )
        city.areas[code] = area_id
        return area_id

    for d, (dname, dshape) in enumerate(
        zip(names["districts"], split(outline, 2, rng), strict=True)
    ):
        dcode = f"{c['code']}-D{d + 1}"
        did = await add(dcode, dname, 2, root, dshape)
        for s, (sname, sshape) in enumerate(
            zip(names["streets"][d], split(dshape, 2, rng), strict=True)
        ):
            scode = f"{dcode}S{s + 1}"
            sid = await add(scode, sname, 3, did, sshape)
            for m, mshape in enumerate(split(sshape, 2, rng)):
                mcode = f"{scode}M{m + 1}"
                mid = await add(mcode, f"{sname}{names['communities'][m]}", 4, sid, mshape)
                for g, gshape in enumerate(split(mshape, 2, rng)):
                    gname = f"{sname}{names['communities'][m]}{names['grids'][g]}"
                    gid = await add(f"{mcode}G{g + 1}", gname, 5, mid, gshape)
                    inside = gshape.representative_point()
                    city.grids.append(gid)
                    city.grid_points.append((round(inside.y, 6), round(inside.x, 6)))
                    districts.append(dname)
    await record(conn, "area", city.areas.values())
    return districts


async def _people(conn: asyncpg.Connection, spec: dict[str, Any], city: City) -> None:
    for u in spec["units"]:
        unit_id = await people.create_unit(
            conn, u["code"], u["name"], kind=u["kind"], phone=u["phone"]
        )
        city.units[u["code"]] = unit_id
        await people.set_area_unit(conn, city.areas[spec["city"]["code"]], unit_id, u["category"])
    await record(conn, "unit", city.units.values())
    env = city.units[spec["units"][0]["code"]]
    ids = []
    for p in spec["people"]:
        unit = city.units[p["unit"]] if "unit" in p else None
        pid = await people.create_person(conn, p["name"], p["role"], phone=p["phone"], unit_id=unit)
        if "duty" in p:
            await people.set_duty(conn, city.grids[p["grid"]], pid, p["duty"])
        ids.append(pid)
    for u in spec["users"]:
        role = u["person"]
        if role is None:
            continue
        pid = await people.create_person(
            conn, u["name"], role, unit_id=env if role == "unit" else None, user_name=None
        )
        city.people[role] = pid
        ids.append(pid)
        if role == "grid_member":
            await people.set_duty(conn, city.grids[0], pid, "member")
    await record(conn, "person", ids)


async def _users(
    conn: asyncpg.Connection, spec: dict[str, Any], settings: Settings, city: City
) -> None:
    """One login per role (the roles of ``web_roles``: the built-in ones and any added)."""
    wanted = list(spec["users"])
    known = {u["role"] for u in wanted}
    for r in await conn.fetch("SELECT name, title_zh FROM web_roles ORDER BY name"):
        if r["name"] not in known:
            wanted.append(
                {
                    "username": f"demo_{r['name']}",
                    "role": r["name"],
                    "name": f"演示{r['title_zh']}",
                    "person": None,
                }
            )
    ids = []
    for u in wanted:
        password = _password()
        ids.append(
            await create_user(
                conn,
                settings.web,
                username=u["username"],
                password=password,
                role=u["role"],
                display_name=u["name"],
            )
        )
        city.logins[u["username"]] = (u["role"], password)
        if u["person"] is not None:
            await conn.execute(
                "UPDATE grid_people SET user_name = $2 WHERE id = $1",
                city.people[u["person"]],
                u["username"],
            )
    await record(conn, "user", ids)


async def _stations(
    conn: asyncpg.Connection,
    spec: dict[str, Any],
    settings: Settings,
    city: City,
    districts: list[str],
    now: datetime,
) -> None:
    box = box_for(settings.core.secret_key_path)
    for n, s in enumerate(spec["stations"], start=1):
        lat, lon = city.grid_points[s["grid"]]
        lat, lon = round(lat + s["dy"] * 0.01, 6), round(lon + s["dx"] * 0.01, 6)
        mn = f"{MN_PREFIX}{n:06d}"
        codes = AIR if s["st"] == "22" else wire_codes(profile_for(s["st"]), "2017")
        sealed = box.seal(secrets.token_urlsafe(12), STATION_PASSWORD)
        sid = await add_station(
            conn, mn, password=sealed, name=s["name"], st=s["st"], lat=lat, lon=lon,
            region=districts[s["grid"]], expected_factors=list(codes),
            address=f"{spec['city']['name']}{s['name']}", registered_edition="2017",
        )  # fmt: skip
        await grid.assign(
            conn, "station", sid, city.grids[s["grid"]], method="location", now=now, by="demo"
        )
        city.stations.append((sid, mn, s["st"], s["grid"], lat, lon, districts[s["grid"]]))
    await record(conn, "station", [s[0] for s in city.stations])
    for p in spec["points"]:
        lat, lon = city.grid_points[p["grid"]]
        pid = await grid.create_point(
            conn, p["code"], p["name"], round(lat + 0.002, 6), round(lon - 0.002, 6), kind=p["kind"]
        )
        await grid.assign(
            conn, "patrol_point", pid, city.grids[p["grid"]], method="location", now=now, by="demo"
        )
        city.points.append(pid)
    await record(conn, "point", city.points)


async def build_city(conn: asyncpg.Connection, settings: Settings, now: datetime) -> City:
    """Everything standing, in one transaction."""
    spec = city_spec()
    city = City()
    async with conn.transaction():
        districts = await _areas(conn, spec, city)
        await _people(conn, spec, city)
        await _users(conn, spec, settings, city)
        await _stations(conn, spec, settings, city, districts, now)
    return city
