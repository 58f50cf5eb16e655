"""Every role against the whole OpenAPI document: permissions, data scope, no 5xx.

For every role of ``web_roles`` there is a user scoped to district R01 and an unscoped
one (tests/security/conftest.py).  Stations, alerts and cases exist inside R01 and
outside it (district R02), each outside one carrying a marker text.

1. *Permission matrix* — every (user, operation) once, with a plausible request: an
   operation whose ``x-permission`` the role lacks answers 403 ``forbidden`` naming that
   permission; one it has never does; nothing answers 5xx.
2. *Data scope* — a scoped user gets no detail of an outside station/alert/case (each
   ``…/{id}`` operation of those objects, with an outside id, is not 200) and no response
   of any GET operation holds an outside marker (MN, station name, alert reason, case
   title); the unscoped user of the same role does see them (so the check means something).
3. *schemathesis* — the whole document fuzzed as each role's scoped user (the unscoped
   admin is fuzzed by tests/web/test_openapi.py), valid and invalid (negative) data: no
   5xx, 403 for every operation the role lacks, no outside marker in any response.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from store.db import connect
from tests.web.conftest import Seed

from .conftest import SCOPE_AREA, role_permissions, scoped_user, unscoped_user

#: Stations of the seed outside R01 (district R02) and their names.
OUTSIDE_STATIONS = ("unhealthy", "flagged", "disabled")
OUTSIDE_NAMES = ("西城一站", "西城二站", "西城停用站")
INSIDE_STATIONS = ("good", "moderate", "offline")
ALERT_OUT = "ALERTOUTSIDEMARK"
CASE_OUT = "CASEOUTSIDEMARK"

#: Never called: the endless event stream, and calls that revoke or change the caller's
#: own credentials or role (they would end the run for every later request).
SKIP = {
    ("GET", "/api/v1/live"),
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/auth/password"),
    ("DELETE", "/api/v1/auth/tokens/{id}"),
    ("POST", "/api/v1/users/{id}/password"),
    ("PATCH", "/api/v1/users/{id}"),
}
#: Path prefixes whose ``{id}`` is a station / alert / case id.
OBJECT_OF = (
    ("/api/v1/stations/{id}", "station"),
    ("/api/v1/alerts/{id}", "alert"),
    ("/api/v1/cases/{id}", "case"),
)
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Examples per operation a role may call (valid, then invalid data): the permission
#: matrix above already calls every operation once per user; this adds variety.
FUZZ_EXAMPLES = 2
FUZZ_NEGATIVE = 1


@dataclass
class World:
    base: str
    seed: Seed
    roles: dict[str, frozenset[str]]
    inside: dict[str, int]
    outside: dict[str, int]
    markers: tuple[str, ...]
    doc: dict[str, Any]

    def operations(self) -> Iterable[tuple[str, str, dict[str, Any]]]:
        for path, ops in sorted(self.doc["paths"].items()):
            for method, op in sorted(ops.items()):
                if (method.upper(), path) not in SKIP:
                    yield method.upper(), path, op


def allowed(permissions: frozenset[str], needed: str) -> bool:
    return needed in ("public", "user") or "*" in permissions or needed in permissions


def object_of(path: str) -> str | None:
    for prefix, kind in OBJECT_OF:
        if path.startswith(prefix):
            return kind
    return None


async def seed_scoped_objects(seed: Seed) -> tuple[dict[str, int], dict[str, int]]:
    """An alert and a case on a station inside R01 and on one outside."""
    now = datetime.now(UTC)
    conn = await connect(seed.dsn)
    try:
        ids: dict[str, dict[str, int]] = {"inside": {}, "outside": {}}
        for where, station, grid, mark in (
            ("inside", "good", "G01-1", "ALERTINSIDEMARK"),
            ("outside", "unhealthy", "G02-1", ALERT_OUT),
        ):
            sid = seed.stations[station]
            region = await conn.fetchval("SELECT region FROM stations WHERE id = $1", sid)
            ids[where]["alert"] = await conn.fetchval(
                "INSERT INTO alerts (rule, scope_key, station_id, region, grid_id, state,"
                " severity, first_seen, last_seen, fired_at, reason)"
                " VALUES ('exceedance', $1, $2, $3, $4, 'firing', 'major', $5, $5, $5, $6)"
                " RETURNING id",
                f"station:{sid}",
                sid,
                region,
                seed.areas[grid],
                now - timedelta(minutes=5),
                mark,
            )
            title = CASE_OUT if where == "outside" else "CASEINSIDEMARK"
            ids[where]["case"] = await conn.fetchval(
                "INSERT INTO cases (code, title, category, source, grid_id, station_id,"
                " reported_at, state) VALUES ($1, $2, 'env.exceedance', 'manual', $3, $4,"
                " $5, 'reported') RETURNING id",
                f"SEC-{where}",
                title,
                seed.areas[grid],
                sid,
                now - timedelta(minutes=5),
            )
        ids["inside"]["station"] = seed.stations["good"]
        ids["outside"]["station"] = seed.stations["unhealthy"]
    finally:
        await conn.close()
    return ids["inside"], ids["outside"]


@pytest.fixture
async def world(live_server: TestServer, seeded: Seed) -> World:
    inside, outside = await seed_scoped_objects(seeded)
    markers = (
        *(f"MN{s.upper()}" for s in OUTSIDE_STATIONS),
        *OUTSIDE_NAMES,
        ALERT_OUT,
        CASE_OUT,
    )
    base = str(live_server.make_url("/")).rstrip("/")
    async with aiohttp.ClientSession() as session, session.get(f"{base}/api/v1/openapi.json") as r:
        doc = await r.json()
    return World(base, seeded, await role_permissions(seeded.dsn), inside, outside, markers, doc)


def fill(path: str, ids: dict[str, int], default: int) -> str:
    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        if name == "mn":
            return "MNNOBODY"
        if name == "id":
            kind = object_of(path)
            if kind is not None:
                return str(ids[kind])
        return str(default)

    return re.sub(r"\{(\w+)\}", one, path)


def readable(body: bytes) -> str:
    """The text of a response; an XLSX/DOCX export (a zip) as the text of its members."""
    if body.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return "\n".join(
                archive.read(name).decode("utf-8", errors="replace")
                for name in archive.namelist()
                if name.endswith((".xml", ".rels", ".csv", ".txt"))
            )
    for encoding in ("utf-8", "gb18030"):  # CSV exports for Excel may be GB 18030
        try:
            return body.decode(encoding)
        except UnicodeDecodeError:
            continue
    return body.decode("latin-1")


def leaks(text: str, markers: Iterable[str]) -> list[str]:
    return [m for m in markers if m in text]


# -- 1 + 2: the matrix and the scope ------------------------------------------------------


async def test_permission_matrix_and_data_scope(world: World) -> None:
    failures: list[str] = []
    checked = forbidden = 0
    seen_outside: set[str] = set()
    async with aiohttp.ClientSession() as session:

        async def call(user: str, method: str, path: str) -> tuple[int, str]:
            kwargs: dict[str, Any] = {"headers": world.seed.auth(user)}
            if method in UNSAFE:
                kwargs["json"] = {}
            async with session.request(method, world.base + path, **kwargs) as resp:
                return resp.status, readable(await resp.read())

        # scoped users first: nothing the unscoped ones write can leak into what they read
        users = [(scoped_user(r), r, True) for r in world.roles]
        users += [(unscoped_user(r), r, False) for r in world.roles]
        for user, role, scoped in users:
            permissions = world.roles[role]
            for method, path, op in world.operations():
                needed = op["x-permission"]
                is_allowed = allowed(permissions, needed)
                ids = world.outside if scoped else world.inside
                default = 999_999 if method in UNSAFE else 1
                url = fill(path, world.outside if method == "GET" else ids, default)
                status, text = await call(user, method, url)
                checked += 1
                where = f"{user} {method} {url} → {status}"
                if status >= 500:
                    failures.append(f"{where}: server error {text[:200]}")
                    continue
                if not is_allowed:
                    forbidden += 1
                    if status != 403 or '"forbidden"' not in text or needed not in text:
                        failures.append(f"{where}: lacks {needed}, expected 403 forbidden")
                    continue
                if status == 403 and f'"permission":"{needed}"' in text:
                    failures.append(f"{where}: has {needed} but was refused it")
                if method != "GET":
                    continue
                kind = object_of(path)
                found = leaks(text, world.markers)
                if scoped:
                    if kind is not None and "{id}" in path and status == 200:
                        failures.append(f"{where}: {kind} outside the scope returned")
                    if found:
                        failures.append(f"{where}: outside the scope: {found}")
                else:
                    seen_outside.update(found)
                    admin = "*" in permissions  # others may see less (a unit: its cases)
                    if admin and kind is not None and path.endswith("{id}") and status != 200:
                        failures.append(f"{where}: unscoped, the {kind} should be visible")
    assert checked > 500 and forbidden > 50, (checked, forbidden)
    # the unscoped users did see the outside objects: the scope checks were not vacuous
    assert {"MNUNHEALTHY", ALERT_OUT, CASE_OUT} <= seen_outside, seen_outside
    assert not failures, f"{len(failures)} problems:\n" + "\n".join(failures[:80])


# -- 3: schemathesis per role -------------------------------------------------------------


async def test_schemathesis_as_every_role(world: World) -> None:
    schemathesis = pytest.importorskip("schemathesis")
    import requests
    from hypothesis import HealthCheck, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode

    failures: list[str] = []
    counts: dict[str, int] = {}

    def check(user: str, needed: str, is_allowed: bool, case: Any, response: Any) -> None:
        text = readable(response.content)
        where = f"{user} {case.method} {case.formatted_path} → {response.status_code}"
        if response.status_code >= 500:
            failures.append(f"{where}: server error {text[:200]}")
        elif not is_allowed and response.status_code not in (403, 404, 405):
            failures.append(f"{where}: lacks {needed}")  # 404/405: no route matched
        elif not is_allowed and response.status_code == 403 and needed not in text:
            failures.append(f"{where}: lacks {needed}, refused for another reason")
        found = leaks(text, world.markers)
        if found:
            failures.append(f"{where}: outside the scope: {found}")

    def fuzz_role(role: str) -> int:
        user = scoped_user(role)
        permissions = world.roles[role]
        headers = world.seed.auth(user)
        session = requests.Session()
        schema = schemathesis.openapi.from_dict(world.doc)
        calls = [0]

        def runner(op: Any, needed: str, is_allowed: bool, mode: Any, examples: int) -> Any:
            @settings(
                max_examples=examples,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=op.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:
                response = case.call(
                    base_url=world.base, session=session, headers=headers, timeout=30
                )
                calls[0] += 1
                check(user, needed, is_allowed, case, response)

            return run

        for result in schema.get_all_operations():
            op = result.ok()
            if (op.method.upper(), op.path) in SKIP:
                continue
            needed = op.definition.raw.get("x-permission", "user")
            if not allowed(permissions, needed):  # refused before any validation
                runner(op, needed, False, GenerationMode.POSITIVE, 1)()
                continue
            runner(op, needed, True, GenerationMode.POSITIVE, FUZZ_EXAMPLES)()
            with contextlib.suppress(Unsatisfiable):  # nothing in it can be invalid
                runner(op, needed, True, GenerationMode.NEGATIVE, FUZZ_NEGATIVE)()
        me = session.get(f"{world.base}/api/v1/auth/me", headers=headers, timeout=10)
        assert me.status_code == 200, f"{user} lost its credentials during the fuzz"
        session.close()
        return calls[0]

    for role in world.roles:
        counts[role] = await asyncio.to_thread(fuzz_role, role)
    operations = sum(len(ops) for ops in world.doc["paths"].values()) - len(SKIP)
    assert all(n >= operations for n in counts.values()), counts
    assert not failures, f"{len(failures)} problems:\n" + "\n".join(sorted(set(failures))[:80])


async def test_scoped_lists_hold_only_the_scope(world: World) -> None:
    """The list endpoints, read as data: every station id a scoped user gets is inside."""
    conn = await connect(world.seed.dsn)
    try:
        inside_ids = {
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM stations WHERE id IN (SELECT envgrid_scope_stations($1::int[]))",
                [world.seed.areas[SCOPE_AREA]],
            )
        }
    finally:
        await conn.close()
    assert {world.seed.stations[s] for s in INSIDE_STATIONS} <= inside_ids
    assert not {world.seed.stations[s] for s in OUTSIDE_STATIONS} & inside_ids
    async with aiohttp.ClientSession() as session:
        for role, permissions in world.roles.items():
            if not allowed(permissions, "stations:read"):
                continue
            headers = world.seed.auth(scoped_user(role))
            url = f"{world.base}/api/v1/stations?limit=1000"
            async with session.get(url, headers=headers) as resp:
                assert resp.status == 200, (role, await resp.text())
                items = (await resp.json())["items"]
            got = {item["id"] for item in items}
            assert got and got <= inside_ids, (role, got)
