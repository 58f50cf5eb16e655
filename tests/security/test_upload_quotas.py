"""Issue 16, finding 6: upload quotas per case and per user and day, over HTTP.

The app runs with small quotas (a case: 3 photos / 1 KiB; a user: 5 photos / 4 KiB a
day); each quota is exceeded through the endpoints and answered 413 (case) or 429 (day,
with ``Retry-After``) in Chinese, nothing is attached or stored beyond it, and a refused
upload (over the quota, or not a photo) counts nothing.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from PIL import Image

from envgrid.settings import Settings
from store.db import connect
from tests.images import PNG
from tests.web.conftest import Seed, make_web_settings
from tests.webapp import app_settings
from web.app import create_app

from .conftest import unscoped_user
from .test_roles_fuzz import seed_scoped_objects

QUOTAS = {
    "cases.case_max_photos": 3,
    "cases.case_max_photo_bytes": 1024,
    "cases.user_daily_photos": 5,
    "cases.user_daily_photo_bytes": 4096,
}


@pytest.fixture
def web_settings(db_dsn: str, pg_reachable_tmp: Path) -> Settings:
    base = make_web_settings(db_dsn, pg_reachable_tmp)
    return app_settings(
        db_dsn,
        pg_reachable_tmp,
        {
            **{f"web.{k}": getattr(base.web, k) for k in ("lockout_count", "lockout_s")},
            **QUOTAS,
        },
    )


@pytest.fixture
async def client(
    aiohttp_client: Callable[..., Any], web_settings: Settings, db_dsn: str, seeded: Seed
) -> TestClient:
    return await aiohttp_client(create_app(web_settings, db_dsn, background=False))


def noisy_png(seed: int) -> bytes:
    """A PNG of random pixels: about 1.8 KB, as sent and as stored (noise does not shrink)."""
    rng = random.Random(seed)
    image = Image.new("RGB", (24, 24))
    image.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256))
                   for _ in range(24 * 24)])  # fmt: skip
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def upload(
    client: TestClient, headers: dict[str, str], *photos: bytes
) -> tuple[int, Any, aiohttp.ClientResponse]:
    data = aiohttp.FormData()
    for i, content in enumerate(photos):
        data.add_field("photo", io.BytesIO(content), filename=f"{i}.png", content_type="image/png")
    resp = await client.post("/api/v1/uploads", data=data, headers=headers)
    return resp.status, await resp.json(), resp


async def tokens(client: TestClient, headers: dict[str, str], *photos: bytes) -> list[str]:
    status, body, _ = await upload(client, headers, *photos)
    assert status == 201, body
    return [item["token"] for item in body["items"]]


async def usage(seed: Seed, user: str) -> tuple[int, int]:
    conn = await connect(seed.dsn)
    try:
        row = await conn.fetchrow(
            "SELECT COALESCE(sum(files), 0) AS f, COALESCE(sum(bytes), 0) AS b"
            " FROM upload_usage WHERE user_id = $1",
            seed.users[user],
        )
    finally:
        await conn.close()
    assert row is not None
    return int(row["f"]), int(row["b"])


async def case_photos(seed: Seed, case_id: int) -> int:
    conn = await connect(seed.dsn)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM attachments a JOIN case_events e"
                " ON a.owner = 'case_event' AND a.owner_id = e.id WHERE e.case_id = $1",
                case_id,
            )
        )
    finally:
        await conn.close()


async def note(
    client: TestClient, headers: dict[str, str], case_id: int, photos: list[str]
) -> tuple[int, Any]:
    resp = await client.post(
        f"/api/v1/cases/{case_id}/actions",
        json={"action": "note", "comment": "现场照片", "photos": photos},
        headers=headers,
    )
    return resp.status, await resp.json()


async def test_a_case_takes_no_more_photos_than_its_quota(client: TestClient, seeded: Seed) -> None:
    inside, _ = await seed_scoped_objects(seeded)
    case_id = inside["case"]
    admin = seeded.auth(unscoped_user("admin"))
    status, body = await note(client, admin, case_id, await tokens(client, admin, PNG, PNG))
    assert status == 200, body
    over = await tokens(client, admin, PNG, PNG)
    status, body = await note(client, admin, case_id, over)
    assert status == 413 and body["error"]["code"] == "case_quota", body
    assert "每个案件最多 3 张" in body["error"]["message"], body
    assert await case_photos(seeded, case_id) == 2
    status, body = await note(client, admin, case_id, over[:1])  # the tokens survived
    assert status == 200, body
    assert await case_photos(seeded, case_id) == 3


async def test_a_case_takes_no_more_photo_bytes_than_its_quota(
    client: TestClient, seeded: Seed
) -> None:
    inside, _ = await seed_scoped_objects(seeded)
    admin = seeded.auth(unscoped_user("admin"))
    big = noisy_png(1)
    assert len(big) > QUOTAS["cases.case_max_photo_bytes"]
    status, body = await note(client, admin, inside["case"], await tokens(client, admin, big))
    assert status == 413 and body["error"]["code"] == "case_quota", body
    assert "总大小超出上限" in body["error"]["message"], body
    assert await case_photos(seeded, inside["case"]) == 0
    # a new case is held to the quota too
    body = {"title": "照片过多", "category": "complaint.air", "grid_id": seeded.areas["G01-1"],
            "photos": await tokens(client, admin, PNG, PNG, PNG, PNG)}  # fmt: skip
    resp = await client.post("/api/v1/cases", json=body, headers=admin)
    answer = await resp.json()
    assert resp.status == 413 and answer["error"]["code"] == "case_quota", answer


async def test_a_user_uploads_no_more_photos_a_day_than_the_quota(
    client: TestClient, seeded: Seed
) -> None:
    user = unscoped_user("officer")
    officer = seeded.auth(user)
    status, body, _ = await upload(client, officer, PNG, b"<html>not a photo</html>")
    assert status == 400, body  # refused as a whole: counts nothing
    await tokens(client, officer, PNG, PNG, PNG)
    status, body, resp = await upload(client, officer, PNG, PNG, PNG)  # 6 > 5
    assert status == 429 and body["error"]["code"] == "upload_quota", body
    assert "每人每天最多 5 张" in body["error"]["message"], body
    assert 0 < int(resp.headers["Retry-After"]) <= 86_400
    assert await usage(seeded, user) == (3, 3 * len(PNG))  # the refusal counted nothing
    await tokens(client, officer, PNG, PNG)  # exactly 5
    status, body, resp = await upload(client, officer, PNG)
    assert status == 429 and "今日已上传 5 张" in body["error"]["message"], body
    # another user's day is their own
    await tokens(client, seeded.auth(unscoped_user("grid_member")), PNG)


async def test_a_user_uploads_no_more_bytes_a_day_than_the_quota(
    client: TestClient, seeded: Seed
) -> None:
    user = unscoped_user("officer")
    officer = seeded.auth(user)
    photos = [noisy_png(i) for i in range(3)]
    assert (
        sum(map(len, photos[:2])) <= QUOTAS["cases.user_daily_photo_bytes"] < sum(map(len, photos))
    )
    await tokens(client, officer, photos[0])
    await tokens(client, officer, photos[1])
    status, body, _ = await upload(client, officer, photos[2])
    assert status == 429 and body["error"]["code"] == "upload_quota", body
    assert await usage(seeded, user) == (2, len(photos[0]) + len(photos[1]))
