"""Upload quotas: photos per case, photos per user and day.

* **Per case** (``cases.case_max_photos`` / ``cases.case_max_photo_bytes``): the photos of
  all the case's events, counted from ``attachments`` when an action (or the report that
  opens the case) would attach more — refused with 413 before anything is attached
  (:func:`check_case_room`, a :class:`WorkflowError` of code ``quota``; the case row is
  locked by the action, so two actions cannot both take the last room).
* **Per user and local day** (``cases.user_daily_photos`` / ``cases.user_daily_photo_bytes``):
  ``POST /api/v1/uploads`` is refused with 429 (``Retry-After``: the seconds to the next
  local midnight) at once when the day's quota is spent, before the body is read
  (:func:`check_daily_room`), and otherwise counted in ``upload_usage`` before the files
  are written (:func:`count_upload`, in the transaction that stages them: a refused or
  failed upload counts nothing).

Each refusal is logged (user, numbers) and, being an unsafe request, lands in the
operation log with its status.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime, timedelta

import asyncpg

from web.casework.kernel import queries as q
from web.casework.kernel.errors import WorkflowError
from web.casework.kernel.settings import CaseSettings
from web.casework.kernel.uploads import StoredFile
from web.responses import ApiError

__all__ = ["check_case_room", "check_daily_room", "count_upload"]

log = logging.getLogger(__name__)

#: Days of ``upload_usage`` kept per user (only today's is read).
KEEP_DAYS = 7
_MB = 1024 * 1024


def _mb(size: int) -> str:
    return f"{size / _MB:.1f} MB"


async def check_case_room(
    conn: asyncpg.Connection, case_id: int, photos: Sequence[StoredFile], settings: CaseSettings
) -> None:
    """Refuse (413) photos that would take the case past its quota."""
    if not photos:
        return
    usage = await q.case_photo_usage(conn, case_id)
    files, size = (usage["files"], usage["bytes"]) if usage else (0, 0)
    adding = sum(p.size for p in photos)
    if files + len(photos) > settings.case_max_photos:
        log.warning("case %s photo quota: %d + %d photos", case_id, files, len(photos))
        raise WorkflowError(
            f"案件照片数量超出上限：每个案件最多 {settings.case_max_photos} 张"
            f"（已有 {files} 张，本次 {len(photos)} 张）",
            "quota",
        )
    if size + adding > settings.case_max_photo_bytes:
        log.warning("case %s photo quota: %d + %d bytes", case_id, size, adding)
        raise WorkflowError(
            f"案件照片总大小超出上限：每个案件不超过 {_mb(settings.case_max_photo_bytes)}"
            f"（已有 {_mb(size)}，本次 {_mb(adding)}）",
            "quota",
        )


def _until_midnight(now: datetime) -> int:
    """Seconds from ``now`` (aware, local) to the next local midnight."""
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), now.tzinfo)
    return max(1, int((midnight - now).total_seconds()))


def _daily_refusal(settings: CaseSettings, now: datetime, files: int, size: int) -> ApiError:
    return ApiError(
        429,
        "upload_quota",
        f"今日上传已达上限：每人每天最多 {settings.user_daily_photos} 张、"
        f"共 {_mb(settings.user_daily_photo_bytes)}（今日已上传 {files} 张、{_mb(size)}），"
        "请明天再试",
        headers={"Retry-After": str(_until_midnight(now))},
    )


async def check_daily_room(
    conn: asyncpg.Connection, user_id: int, now: datetime, settings: CaseSettings
) -> None:
    """Refuse (429) at once when the user's quota of the day (``now``: local) is spent."""
    usage = await q.upload_usage(conn, user_id, now.date())
    if usage is None:
        return
    if (
        usage["files"] >= settings.user_daily_photos
        or usage["bytes"] >= settings.user_daily_photo_bytes
    ):
        log.warning("user %s daily upload quota spent: %s", user_id, dict(usage))
        raise _daily_refusal(settings, now, usage["files"], usage["bytes"])


async def count_upload(
    conn: asyncpg.Connection,
    user_id: int,
    now: datetime,
    files: Sequence[tuple[str, bytes]],
    settings: CaseSettings,
) -> None:
    """Count ``files`` (name, content as sent) in the user's day, or refuse (429) when they
    do not fit — call in the transaction that then stores and stages them."""
    day: date = now.date()
    size = sum(len(data) for _, data in files)
    row = await q.count_upload(
        conn,
        user_id,
        day,
        len(files),
        size,
        settings.user_daily_photos,
        settings.user_daily_photo_bytes,
    )
    if row is None:
        usage = await q.upload_usage(conn, user_id, day)
        used = (usage["files"], usage["bytes"]) if usage else (0, 0)
        log.warning("user %s daily upload quota: %s + %d photos, %d bytes", user_id, used,
                    len(files), size)  # fmt: skip
        raise _daily_refusal(settings, now, *used)
    await q.forget_upload_usage(conn, user_id, day - timedelta(days=KEEP_DAYS))
