"""The web side of the case tests: the area world of ``conftest`` plus dashboard logins
linked to its grid people, API tokens, and the app under pytest-aiohttp.

Logins (password :data:`tests.webapp.PASSWORD`)::

    admin     admin        unscoped, not linked
    officer   officer      linked to O (值班员), unscoped
    d2        officer      scope D2 (区二), not linked
    handler   unit         linked to H (处置员, unit U_ENV)
    water     unit         linked to H2 (水务员, unit U_WATER)
    member    grid_member  linked to GM (网格员甲, member of G1) — scope from the duty
    head      grid_member  linked to GH (网格长 of G1)
    viewer    viewer       unscoped, read only
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
from aiohttp.test_utils import TestClient

from envgrid.settings import Settings
from tests.webapp import add_login, app_settings

if TYPE_CHECKING:
    from tests.web.casework.conftest import World

LOGINS: tuple[tuple[str, str, str | None, tuple[str, ...]], ...] = (
    ("admin", "admin", None, ()),
    ("officer", "officer", "O", ()),
    ("d2", "officer", None, ("D2",)),
    ("handler", "unit", "H", ()),
    ("water", "unit", "H2", ()),
    ("member", "grid_member", "GM", ()),
    ("head", "grid_member", "GH", ()),
    ("viewer", "viewer", None, ()),
)


def case_settings(dsn: str, data_dir: Path, **overrides: Any) -> Settings:
    return app_settings(dsn, data_dir, overrides)


@dataclass
class WebSeed:
    world: World
    users: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}


async def seed_logins(conn: asyncpg.Connection, world: World) -> WebSeed:
    seed = WebSeed(world)
    for username, role, person, scope in LOGINS:
        areas = [world.areas[code] for code in scope]
        uid, token = await add_login(conn, username, role, areas)
        seed.users[username] = uid
        seed.tokens[username] = token
        if person is not None:
            await conn.execute(
                "UPDATE grid_people SET user_name = $2 WHERE id = $1",
                world.people[person],
                username,
            )
    return seed


async def call(
    client: TestClient,
    method: str,
    path: str,
    seed: WebSeed,
    user: str,
    *,
    status: int = 200,
    **kw: Any,
) -> Any:
    """One API call as ``user``; asserts the status, returns the JSON body."""
    resp = await client.request(method, path, headers=seed.auth(user), **kw)
    text = await resp.text()
    assert resp.status == status, (method, path, user, resp.status, text)
    return await resp.json() if resp.content_type == "application/json" else text


async def upload(client: TestClient, seed: WebSeed, user: str, *photos: bytes) -> list[str]:
    from aiohttp import FormData

    form = FormData()
    for n, data in enumerate(photos):
        form.add_field("photo", data, filename=f"照片{n + 1}.jpg", content_type="image/jpeg")
    body = await call(client, "POST", "/api/v1/uploads", seed, user, status=201, data=form)
    return [item["token"] for item in body["items"]]


async def browser_login(
    page: Any, base: str, user: str, then: str, password: str | None = None
) -> None:
    """Log ``user`` in (password :data:`tests.webapp.PASSWORD` unless given) through the
    login page and wait until ``then`` is ready."""
    from tests.webapp import PASSWORD

    await page.goto(f"{base}/login?next={then}")
    await page.fill("#username", user)
    await page.fill("#password", password or PASSWORD)
    await page.click("#login-submit")
    await page.wait_for_url(f"{base}{then}")
    await page.wait_for_selector("body[data-ready='1']", state="attached")


def fetch_rows(dsn: str, sql: str) -> list[tuple[object, ...]]:
    """The rows of ``sql`` as tuples, on a connection of its own (for CLI tests)."""
    import asyncio

    from store.db import connect

    async def go() -> list[tuple[object, ...]]:
        conn = await connect(dsn)
        try:
            return [tuple(r) for r in await conn.fetch(sql)]
        finally:
            await conn.close()

    return asyncio.run(go())


AppFactory = Callable[..., Any]
