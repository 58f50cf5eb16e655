"""Public complaints (群众投诉): validation, rate limit, photos, location → grid → case.

The HTTP handler (``POST /api/v1/public/complaints``, :mod:`web.casework.cases.handlers`) counts
the request against the rate limit first, parses the multipart form with limits and
calls :func:`submit_complaint`; everything else is here:

* **rate limit** per client address *before* any other work (invalid submissions count
  too): :class:`DbRateLimiter` (fixed window in ``rate_limit_hits``, shared by every web
  process) or :class:`MemoryRateLimiter` (one process, tests) — both satisfy
  :class:`RateLimiter`;
* **validation** with Chinese messages (description, category, position, phone, photos);
* **photos** checked by magic bytes (JPEG/PNG/WebP) and size, then stored under
  ``core.data_dir/uploads`` (:mod:`web.casework.kernel.uploads`);
* **location → grid** with the STRtree index (a position outside every grid is refused:
  nobody could handle it);
* a case with source ``complaint`` in state 已上报, reported by the system on behalf of
  the public (the reporter's name, phone and address are kept on the case).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final, Protocol

import asyncpg

from web.casework.cases import queries as q
from web.casework.cases.intake import NewCase, create_case
from web.casework.grid.service import GridIndexCache
from web.casework.kernel.config import CaseConfig
from web.casework.kernel.errors import WorkflowError
from web.casework.kernel.people import Actor
from web.casework.kernel.uploads import UploadError, check_photo, save_photos

__all__ = [
    "PUBLIC_CATEGORIES",
    "ComplaintInput",
    "ComplaintReceipt",
    "DbRateLimiter",
    "MemoryRateLimiter",
    "RateLimiter",
    "submit_complaint",
]

#: Categories the public may choose.
PUBLIC_CATEGORIES: Final = (
    "complaint.air",
    "complaint.water",
    "complaint.noise",
    "complaint.waste",
    "other",
)
_PHONE_RE: Final = re.compile(r"^(1\d{10}|0\d{2,3}-?\d{7,8})$")


class RateLimiter(Protocol):
    async def hit(self, key: str, now: datetime) -> bool:
        """Count one request for ``key``; False when over the limit."""
        ...


class MemoryRateLimiter:
    """Fixed-window counter in this process (tests, single-process deployments)."""

    def __init__(self, limit: int, window_s: int) -> None:
        self.limit = limit
        self.window_s = window_s
        self._hits: dict[tuple[str, int], int] = {}

    async def hit(self, key: str, now: datetime) -> bool:
        window = int(now.timestamp()) // self.window_s
        for k in [k for k in self._hits if k[1] < window]:
            del self._hits[k]
        count = self._hits.get((key, window), 0) + 1
        self._hits[(key, window)] = count
        return count <= self.limit


class DbRateLimiter:
    """Fixed-window counter in ``rate_limit_hits`` (all processes share it)."""

    def __init__(self, pool: asyncpg.Pool, limit: int, window_s: int) -> None:
        self.pool = pool
        self.limit = limit
        self.window_s = window_s

    async def hit(self, key: str, now: datetime) -> bool:
        epoch = int(now.timestamp())
        start = now - timedelta(seconds=epoch % self.window_s, microseconds=now.microsecond)
        async with self.pool.acquire() as conn:
            hits = await q.rate_hit(conn, key, start)
            if hits == 1:  # first hit of a window: drop the old windows
                await q.rate_purge(conn, start - timedelta(seconds=self.window_s))
        return int(hits) <= self.limit


@dataclass(frozen=True, slots=True)
class ComplaintInput:
    description: str
    lat: float
    lon: float
    category: str = "other"
    title: str = ""
    address: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    #: (file name, content) as received.
    photos: Sequence[tuple[str, bytes]] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class ComplaintReceipt:
    case_id: int
    code: str
    grid_id: int
    grid_name: str


def _validate(data: ComplaintInput, config: CaseConfig) -> None:
    text = data.description.strip()
    if len(text) < 5:
        raise WorkflowError("请描述投诉的问题（至少 5 个字）", "input")
    if len(text) > 2000:
        raise WorkflowError("问题描述不超过 2000 字", "input")
    if len(data.title) > 100 or len(data.address) > 200 or len(data.contact_name) > 50:
        raise WorkflowError("标题不超过 100 字、地址不超过 200 字、联系人不超过 50 字", "input")
    if data.category not in PUBLIC_CATEGORIES:
        raise WorkflowError(f"投诉类别须为 {'、'.join(PUBLIC_CATEGORIES)} 之一", "input")
    if not (-90 <= data.lat <= 90 and -180 <= data.lon <= 180):
        raise WorkflowError("位置坐标超出范围，请在地图上重新选点", "input")
    phone = data.contact_phone.strip()
    if phone and not _PHONE_RE.match(phone):
        raise WorkflowError("联系电话格式不正确（手机 11 位，或区号-座机号）", "input")
    c = config.cases
    if len(data.photos) > c.complaint_max_photos:
        raise WorkflowError(f"最多上传 {c.complaint_max_photos} 张照片", "input")
    for name, content in data.photos:
        try:
            check_photo(content, max_bytes=c.upload_max_bytes, original_name=name)
        except UploadError as exc:
            raise WorkflowError(str(exc), "input") from None


async def submit_complaint(
    pool: asyncpg.Pool,
    data: ComplaintInput,
    *,
    ip: str,
    config: CaseConfig,
    now: datetime,
    limiter: RateLimiter,
    index_cache: GridIndexCache,
) -> ComplaintReceipt:
    """Accept a public complaint as a case; raises :class:`WorkflowError`
    (``code`` = ``rate_limited`` → HTTP 429, ``input`` → 400)."""
    if not await limiter.hit(f"complaint:{ip}", now):
        minutes = max(1, config.cases.complaint_rate_window_s // 60)
        raise WorkflowError(f"提交过于频繁，请 {minutes} 分钟后再试", "rate_limited")
    _validate(data, config)
    async with pool.acquire() as conn:
        index = await index_cache.get(conn)
        grid_id = index.locate(data.lon, data.lat)
        if grid_id is None:
            raise WorkflowError("投诉位置不在本平台管辖的网格范围内，请确认位置", "input")
        photos = await save_photos(
            config.uploads_dir,
            list(data.photos),
            max_bytes=config.cases.upload_max_bytes,
            max_count=config.cases.complaint_max_photos,
            now=now,
        )
        text = data.description.strip()
        new = NewCase(
            title=(data.title.strip() or text[:30]),
            category=data.category,
            source="complaint",
            description=text,
            lat=data.lat,
            lon=data.lon,
            address=data.address.strip(),
            grid_id=grid_id,
            reporter_name=data.contact_name.strip(),
            reporter_phone=data.contact_phone.strip(),
            reporter_ip=ip,
        )
        ref = await create_case(conn, new, Actor.system("公众投诉"), config, now=now, photos=photos)
        grid_name = await q.area_name(conn, grid_id)
    return ComplaintReceipt(ref.id, ref.code, grid_id, str(grid_name))
