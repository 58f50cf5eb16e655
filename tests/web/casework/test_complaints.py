"""Public complaints: rate limit, validation, magic bytes, location → grid → case."""

from __future__ import annotations

import stat
from datetime import timedelta

import asyncpg
import pytest

from tests.web.casework.conftest import JPEG, NOW, PNG, WEBP, World
from web.casework.cases import record
from web.casework.cases.complaints import (
    ComplaintInput,
    DbRateLimiter,
    MemoryRateLimiter,
    submit_complaint,
)
from web.casework.grid.service import GridIndexCache
from web.casework.kernel.config import CaseConfig
from web.casework.kernel.errors import WorkflowError
from web.casework.kernel.uploads import UploadError, resolve_upload, sniff_image


def test_sniff() -> None:
    assert sniff_image(JPEG) == "image/jpeg"
    assert sniff_image(PNG) == "image/png"
    assert sniff_image(WEBP) == "image/webp"
    assert sniff_image(b"GIF89a....") is None
    assert sniff_image(b"<svg xmlns=...") is None


def test_resolve_refuses_traversal(config: CaseConfig) -> None:
    with pytest.raises(UploadError):
        resolve_upload(config.uploads_dir, "../../etc/passwd")
    assert resolve_upload(config.uploads_dir, "2024/03/ab/x.jpg").name == "x.jpg"


async def test_memory_rate_limiter() -> None:
    limiter = MemoryRateLimiter(2, 60)
    assert await limiter.hit("a", NOW) and await limiter.hit("a", NOW)
    assert not await limiter.hit("a", NOW)
    assert await limiter.hit("b", NOW)
    assert await limiter.hit("a", NOW + timedelta(seconds=61))


async def test_submit_complaint(
    db_pool: asyncpg.Pool, db_conn: asyncpg.Connection, world: World, config: CaseConfig
) -> None:
    cache = GridIndexCache()
    limiter = DbRateLimiter(db_pool, 3, 3600)
    ok = ComplaintInput(
        "河边有人倾倒建筑垃圾，气味很大",
        lat=30.15,
        lon=120.05,
        category="complaint.waste",
        address="一号路桥下",
        contact_name="张先生",
        contact_phone="13912345678",
        photos=[("a.jpg", JPEG), ("b.png", PNG)],
    )
    receipt = await submit_complaint(
        db_pool, ok, ip="203.0.113.9", config=config, now=NOW, limiter=limiter, index_cache=cache
    )
    assert receipt.grid_id == world.areas["G2"] and receipt.grid_name == "网格二"
    case = await db_conn.fetchrow("SELECT * FROM cases WHERE id = $1", receipt.case_id)
    assert case["source"] == "complaint" and case["state"] == "reported"
    assert case["reporter_phone"] == "13912345678" and str(case["reporter_ip"]) == "203.0.113.9"
    assert case["title"] == "河边有人倾倒建筑垃圾，气味很大"
    trail = await record.case_trail(db_conn, receipt.case_id)
    assert trail[0]["actor_name"] == "公众投诉"
    paths = [a["path"] for a in trail[0]["attachments"]]
    assert len(paths) == 2
    for rel in paths:
        stored = config.uploads_dir / rel
        assert stored.is_file() and not stored.is_relative_to(config.data_dir / "static")
        assert not stat.S_IMODE(stored.stat().st_mode) & 0o002

    async def refused(data: ComplaintInput, match: str, ip: str = "198.51.100.1") -> str:
        with pytest.raises(WorkflowError, match=match) as info:
            await submit_complaint(
                db_pool,
                data,
                ip=ip,
                config=config,
                now=NOW,
                limiter=MemoryRateLimiter(100, 60),
                index_cache=cache,
            )
        return info.value.code

    base = {"description": "夜间施工噪声扰民", "lat": 30.15, "lon": 120.05}
    assert await refused(ComplaintInput(**{**base, "description": "吵"}), "至少 5 个字") == "input"
    assert await refused(ComplaintInput(**base, category="env.exceedance"), "投诉类别须为")
    assert await refused(ComplaintInput(**base, contact_phone="12345"), "联系电话格式不正确")
    assert await refused(ComplaintInput(**{**base, "lat": 31.5}), "不在本平台管辖的网格范围内")
    gif = ComplaintInput(**base, photos=[("x.gif", b"GIF89a" + b"\x00" * 20)])
    assert await refused(gif, "不是 JPEG、PNG 或 WebP 图片")
    big = ComplaintInput(**base, photos=[("big.jpg", JPEG + b"\x00" * (11 * 1024 * 1024))])
    assert await refused(big, "过大")
    many = ComplaintInput(**base, photos=[("p.webp", WEBP)] * 7)
    assert await refused(many, "最多上传 6 张照片")
    assert await db_conn.fetchval("SELECT count(*) FROM cases") == 1

    # rate limit per address (invalid submissions count too)
    for _ in range(2):
        await submit_complaint(
            db_pool,
            ComplaintInput(**base),
            ip="203.0.113.9",
            config=config,
            now=NOW,
            limiter=limiter,
            index_cache=cache,
        )
    with pytest.raises(WorkflowError, match="提交过于频繁") as info:
        await submit_complaint(
            db_pool,
            ComplaintInput(**base),
            ip="203.0.113.9",
            config=config,
            now=NOW,
            limiter=limiter,
            index_cache=cache,
        )
    assert info.value.code == "rate_limited"
    await submit_complaint(
        db_pool,
        ComplaintInput(**base),
        ip="203.0.113.10",
        config=config,
        now=NOW,
        limiter=limiter,
        index_cache=cache,
    )
    await submit_complaint(
        db_pool,
        ComplaintInput(**base),
        ip="203.0.113.9",
        config=config,
        now=NOW + timedelta(hours=1),
        limiter=limiter,
        index_cache=cache,
    )
