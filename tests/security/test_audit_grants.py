"""data:audit (issue 20 B) is a permission like the others: a user manager who lacks it
cannot hand out a role that holds it (the officer role since migration 0057), and one
who holds it can; the audit routes refuse every role without it (the role matrix, and
tests/web/test_data_audit.py for scope and bad input)."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from store.db import connect
from tests.web.conftest import Seed

from .conftest import add_user, role_permissions
from .test_grants import STRONG, call, refused


async def test_only_a_holder_of_data_audit_grants_it(client: TestClient, seeded: Seed) -> None:
    roles = await role_permissions(seeded.dsn)
    assert "data:audit" in roles["officer"]
    assert not any("data:audit" in roles[r] for r in ("viewer", "maintainer", "grid_member"))
    without = sorted((roles["officer"] - {"data:audit"}) | {"users:admin"})
    conn = await connect(seeded.dsn)
    try:
        for name, perms in (("mgr_plain", without), ("mgr_audit", [*without, "data:audit"])):
            await conn.execute(
                "INSERT INTO web_roles (name, title_zh, permissions) VALUES ($1, '用户管理员', $2)",
                name,
                perms,
            )
    finally:
        await conn.close()
    await add_user(seeded, "plain.all", "mgr_plain")
    await add_user(seeded, "audit.all", "mgr_audit")
    body = {"username": "new-officer", "password": STRONG, "role": "officer"}
    status, answer = await call(client, seeded, "plain.all", "POST", "/api/v1/users", body)
    assert refused(status, answer, "grant_forbidden"), answer
    status, answer = await call(client, seeded, "audit.all", "POST", "/api/v1/users", body)
    assert status == 201, answer
