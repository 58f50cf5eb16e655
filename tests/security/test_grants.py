"""Issue 16, finding 7: you can only grant what you hold, within your scope.

Over HTTP, as the users of tests/security/conftest.py (``<role>.r01`` scoped to district
R01, ``<role>.all`` unscoped) plus a user manager of a custom role that holds
``users:admin`` and the viewer's permissions only (``mgr.all``):

* users: no role beyond the caller's, no scope beyond the caller's (and no "unscoped"
  from a scoped caller), no change to an account above the caller (role, scope, password),
  nobody widens their own scope or role; a scoped manager lists only their own users;
* grid people: never linked to an account (or given a workflow role) beyond the linker's;
* pending stations: a scoped user may not reject (a pending MN is in no scope) and
  approves only into their scope.

Each refusal is tried, and the allowed path next to it still works.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from store.db import connect
from tests.web.conftest import Seed

from .conftest import add_user, role_permissions

MANAGER_ROLE = "usermgr"
MANAGER = "mgr.all"
STRONG = "Str0ng-Passw0rd!"


@pytest.fixture
async def manager(seeded: Seed) -> str:
    """An unscoped user of a custom role: the viewer's permissions and users:admin."""
    viewer = (await role_permissions(seeded.dsn))["viewer"]
    conn = await connect(seeded.dsn)
    try:
        await conn.execute(
            "INSERT INTO web_roles (name, title_zh, permissions) VALUES ($1, '用户管理员', $2)",
            MANAGER_ROLE,
            sorted(viewer | {"users:admin"}),
        )
    finally:
        await conn.close()
    await add_user(seeded, MANAGER, MANAGER_ROLE)
    return MANAGER


async def call(
    client: TestClient, seed: Seed, user: str, method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    resp = await client.request(method, path, json=body, headers=seed.auth(user))
    return resp.status, await resp.json()


def new_user(name: str, role: str, scope: list[int] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"username": name, "password": STRONG, "role": role}
    if scope is not None:
        body["scope"] = scope
    return body


def refused(status: int, body: Any, code: str) -> bool:
    return status == 403 and body["error"]["code"] == code


# -- users ---------------------------------------------------------------------------------


async def test_a_manager_creates_users_only_with_roles_they_hold(
    client: TestClient, seeded: Seed, manager: str
) -> None:
    for role in ("officer", "admin", "maintainer"):
        status, body = await call(
            client, seeded, manager, "POST", "/api/v1/users", new_user(f"x-{role}", role)
        )
        assert refused(status, body, "grant_forbidden"), (role, status, body)
        assert "超出您自身权限" in body["error"]["message"]
    status, body = await call(
        client, seeded, manager, "POST", "/api/v1/users", new_user("x-viewer", "viewer")
    )
    assert status == 201, body


async def test_a_scoped_manager_creates_users_only_within_their_scope(
    client: TestClient, seeded: Seed
) -> None:
    a = seeded.areas
    for scope in ([a["R02"]], [a["city"]], [a["G01-1"], a["G02-1"]], None):
        status, body = await call(
            client,
            seeded,
            "admin.r01",
            "POST",
            "/api/v1/users",
            new_user("x-scoped", "officer", scope),
        )
        assert refused(status, body, "out_of_scope"), (scope, status, body)
    status, body = await call(
        client,
        seeded,
        "admin.r01",
        "POST",
        "/api/v1/users",
        new_user("x-scoped", "officer", [a["G01-1"]]),
    )
    assert status == 201, body
    status, user = await call(client, seeded, "admin.all", "GET", f"/api/v1/users/{body['id']}")
    assert user["scope"] == [a["G01-1"]]


async def test_nobody_widens_their_own_scope(client: TestClient, seeded: Seed) -> None:
    a, me = seeded.areas, seeded.users["admin.r01"]
    for scope in ([a["R02"]], [a["city"]], []):
        status, body = await call(
            client, seeded, "admin.r01", "PATCH", f"/api/v1/users/{me}", {"scope": scope}
        )
        assert refused(status, body, "out_of_scope"), (scope, status, body)
    status, body = await call(
        client, seeded, "admin.r01", "PATCH", f"/api/v1/users/{me}", {"scope": [a["G01-1"]]}
    )
    assert status == 200, body  # narrowing is fine …
    status, body = await call(
        client, seeded, "admin.r01", "PATCH", f"/api/v1/users/{me}", {"scope": [a["R01"]]}
    )
    assert refused(status, body, "out_of_scope"), body  # … and cannot be undone alone


async def test_a_manager_cannot_raise_a_role_or_touch_an_account_above_them(
    client: TestClient, seeded: Seed, manager: str
) -> None:
    u = seeded.users
    status, body = await call(
        client, seeded, manager, "PATCH", f"/api/v1/users/{u['viewer.all']}", {"role": "officer"}
    )
    assert refused(status, body, "grant_forbidden"), body
    status, body = await call(
        client, seeded, manager, "PATCH", f"/api/v1/users/{u[manager]}", {"role": "admin"}
    )
    assert status in (400, 403), body  # never their own role
    for method, path, payload in (
        ("PATCH", f"/api/v1/users/{u['admin.all']}", {"display_name": "x"}),
        ("PATCH", f"/api/v1/users/{u['officer.all']}", {"enabled": False}),
        ("POST", f"/api/v1/users/{u['admin.all']}/password", {"password": STRONG}),
    ):
        status, body = await call(client, seeded, manager, method, path, payload)
        assert refused(status, body, "grant_forbidden"), (path, status, body)
    status, body = await call(
        client,
        seeded,
        manager,
        "PATCH",
        f"/api/v1/users/{u['viewer.all']}",
        {"display_name": "只读"},
    )
    assert status == 200, body
    status, body = await call(
        client,
        seeded,
        manager,
        "POST",
        f"/api/v1/users/{u['viewer.all']}/password",
        {"password": STRONG},
    )
    assert status == 200, body


async def test_a_scoped_manager_sees_and_changes_only_users_of_their_scope(
    client: TestClient, seeded: Seed
) -> None:
    u, a = seeded.users, seeded.areas
    status, body = await call(client, seeded, "admin.r01", "GET", "/api/v1/users?limit=1000")
    assert status == 200, body
    names = {item["username"] for item in body["items"]}
    assert "officer.r01" in names and "grid" in names  # scoped to R01 / its grid cell G01-1
    assert not names & {"officer.all", "admin.all", "maintainer"}, names  # G02-1 is outside
    for item in body["items"]:
        assert item["scope"], item
    status, body = await call(
        client, seeded, "admin.r01", "GET", f"/api/v1/users/{u['officer.all']}"
    )
    assert status == 404, body
    for method, path, payload in (
        ("PATCH", f"/api/v1/users/{u['officer.all']}", {"display_name": "x"}),
        ("PATCH", f"/api/v1/users/{u['maintainer']}", {"scope": [a["R01"]]}),
        ("POST", f"/api/v1/users/{u['admin.all']}/password", {"password": STRONG}),
        ("POST", f"/api/v1/users/{u['officer.all']}/password", {"password": STRONG}),
    ):
        status, body = await call(client, seeded, "admin.r01", method, path, payload)
        assert refused(status, body, "out_of_scope"), (path, status, body)
    status, body = await call(
        client,
        seeded,
        "admin.r01",
        "PATCH",
        f"/api/v1/users/{u['officer.r01']}",
        {"scope": [a["G01-1"]]},
    )
    assert status == 200, body


# -- grid people -----------------------------------------------------------------------------


async def test_a_grid_person_is_never_linked_beyond_the_linkers_role(
    client: TestClient, seeded: Seed
) -> None:
    people = "/api/v1/grid/people"
    for role, account in (
        ("grid_member", "admin.all"),  # an admin account acting through someone's person
        ("admin", "officer.all"),  # the officer making themselves a workflow admin
        ("grid_member", "admin.r01"),
    ):
        status, body = await call(
            client,
            seeded,
            "officer.all",
            "POST",
            people,
            {"name": "某人", "role": role, "user_name": account},
        )
        assert refused(status, body, "grant_forbidden"), (role, account, status, body)
    status, body = await call(
        client,
        seeded,
        "officer.all",
        "POST",
        people,
        {"name": "网格员甲", "role": "grid_member", "user_name": "grid_member.all"},
    )
    assert status == 201, body
    mine = body["id"]
    status, body = await call(
        client, seeded, "officer.all", "PATCH", f"{people}/{mine}", {"user_name": "admin.all"}
    )
    assert refused(status, body, "grant_forbidden"), body
    status, body = await call(
        client, seeded, "officer.all", "PATCH", f"{people}/{mine}", {"user_name": "viewer.all"}
    )
    assert status == 200, body
    # the admin links a person to an admin account; the officer may not unlink or relink it
    status, body = await call(
        client,
        seeded,
        "admin.all",
        "POST",
        people,
        {"name": "管理员", "role": "admin", "user_name": "admin.all"},
    )
    assert status == 201, body
    theirs = body["id"]
    for name in (None, "officer.all"):
        status, body = await call(
            client, seeded, "officer.all", "PATCH", f"{people}/{theirs}", {"user_name": name}
        )
        assert refused(status, body, "grant_forbidden"), (name, status, body)
    status, body = await call(
        client, seeded, "officer.all", "PATCH", f"{people}/{theirs}", {"phone": "13800000000"}
    )
    assert status == 200, body


# -- pending stations ------------------------------------------------------------------------


async def add_pending(seed: Seed, *mns: str) -> None:
    conn = await connect(seed.dsn)
    try:
        for mn in mns:
            await conn.execute(
                "INSERT INTO pending_stations (mn, st, password) VALUES ($1, '22', 'pw')", mn
            )
    finally:
        await conn.close()


async def pending_decision(seed: Seed, mn: str) -> str | None:
    conn = await connect(seed.dsn)
    try:
        value = await conn.fetchval("SELECT decision FROM pending_stations WHERE mn = $1", mn)
    finally:
        await conn.close()
    return None if value is None else str(value)


async def test_pending_stations_are_decided_within_the_scope(
    client: TestClient, seeded: Seed
) -> None:
    await add_pending(seeded, "MNPEND1", "MNPEND2")
    status, body = await call(
        client, seeded, "officer.r01", "POST", "/api/v1/pending-stations/MNPEND1/reject"
    )
    assert refused(status, body, "out_of_scope"), body
    assert "不在您的数据范围内" in body["error"]["message"]
    assert await pending_decision(seeded, "MNPEND1") == "pending"
    for values in ({"region": "R02"}, {"grid_id": seeded.areas["G02-1"]}, {}):
        status, body = await call(
            client,
            seeded,
            "officer.r01",
            "POST",
            "/api/v1/pending-stations/MNPEND2/approve",
            values,
        )
        assert refused(status, body, "out_of_scope"), (values, status, body)
        assert await pending_decision(seeded, "MNPEND2") == "pending"
    status, body = await call(
        client,
        seeded,
        "officer.r01",
        "POST",
        "/api/v1/pending-stations/MNPEND2/approve",
        {"region": "R01"},
    )
    assert status == 201, body
    status, body = await call(
        client, seeded, "officer.all", "POST", "/api/v1/pending-stations/MNPEND1/reject"
    )
    assert status == 200, body
    assert await pending_decision(seeded, "MNPEND1") == "rejected"


async def test_only_an_alert_administrator_links_alert_receivers(
    client: TestClient, seeded: Seed, manager: str
) -> None:
    conn = await connect(seeded.dsn)
    try:
        receiver = await conn.fetchval(
            "INSERT INTO alert_receivers (name, kind, address) VALUES ('值班邮箱', 'email',"
            " 'duty@example.com') RETURNING id"
        )
    finally:
        await conn.close()
    path = f"/api/v1/users/{seeded.users['viewer.all']}"
    status, body = await call(client, seeded, manager, "PATCH", path, {"receiver_ids": [receiver]})
    assert status == 403 and body["error"]["permission"] == "alerts:admin", body
    status, body = await call(
        client, seeded, "admin.all", "PATCH", path, {"receiver_ids": [receiver]}
    )
    assert status == 200, body
