"""The notification (delivery) log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .. import queries
from .common import Db, Record, choices, page_bounds, record

__all__ = ["Page", "get_notification", "list_notifications"]


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Record]
    total: int | None = None

    def to_json(self) -> Record:
        return {"items": self.items, "total": self.total}


async def list_notifications(
    db: Db,
    *,
    receiver_id: int | None = None,
    status: str | None = None,
    kind: str | None = None,
    alert_id: int | None = None,
    since: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    """The delivery log, newest first (without message bodies; see get_notification)."""
    limit, offset = page_bounds(limit, offset)
    if status is not None:
        choices([status], ("queued", "sending", "sent", "failed", "dropped"), "status")
    if kind is not None:
        choices([kind], ("alert", "reminder", "ranking", "test"), "kind")
    rows = await db.fetch(
        queries.LIST_NOTIFICATIONS_SQL, receiver_id, status, kind, alert_id, since, limit, offset
    )
    return Page([record(r) for r in rows])


async def get_notification(db: Db, notification_id: int) -> Record | None:
    """One delivery log row with the rendered message (subject, text, html, markdown)."""
    row = await db.fetchrow(queries.GET_NOTIFICATION_SQL, notification_id)
    return None if row is None else record(row)
