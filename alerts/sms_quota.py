"""The per-receiver SMS cap: at most ``alerts.sms_max_per_hour`` SMS (or the receiver's
``max_per_hour`` setting; 0 = no cap) to one receiver in any hour.

Counted in the delivery log itself (the receiver's SMS marked ``sent`` in the last hour), so
the cap holds across restarts and several senders.  A message over the cap is marked
``dropped`` (with the time in ``sent_at`` and the reason in ``last_error``), logged and
counted; the receiver's next SMS carries the number dropped since its last SMS — in the
``skipped`` variable and at the head of ``summary`` ("另有 3 条短信因限额未发送；…").
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Final

import asyncpg

from .config import Receiver
from .notifiers import SMS_KINDS
from .settings import AlertSettings
from .templates import Message

__all__ = ["SMS_USAGE_SQL", "cap_of", "drop_sms", "rolled_up", "sms_usage"]

log = logging.getLogger(__name__)

#: (SMS sent in the last hour, SMS dropped since the last one sent) of receiver $1.
SMS_USAGE_SQL: Final = """
SELECT
    (SELECT count(*) FROM alert_notifications
     WHERE receiver_id = $1 AND channel = ANY($2::text[]) AND status = 'sent'
       AND sent_at > now() - interval '1 hour'),
    (SELECT count(*) FROM alert_notifications
     WHERE receiver_id = $1 AND channel = ANY($2::text[]) AND status = 'dropped'
       AND sent_at > COALESCE(
           (SELECT max(sent_at) FROM alert_notifications
            WHERE receiver_id = $1 AND channel = ANY($2::text[]) AND status = 'sent'),
           '-infinity'))
"""
DROP_SQL: Final = """
UPDATE alert_notifications SET status = 'dropped', sent_at = now(), last_error = $2
WHERE id = $1
"""


def cap_of(receiver: Receiver, s: AlertSettings) -> int:
    """The receiver's hourly SMS cap (0 = none)."""
    own = receiver.settings.get("max_per_hour")
    if isinstance(own, int) and not isinstance(own, bool) and own >= 0:
        return own
    return s.sms_max_per_hour


async def sms_usage(db: asyncpg.Pool | asyncpg.Connection, receiver_id: int) -> tuple[int, int]:
    row = await db.fetchrow(SMS_USAGE_SQL, receiver_id, list(SMS_KINDS))
    assert row is not None
    return int(row[0]), int(row[1])


async def drop_sms(
    db: asyncpg.Pool | asyncpg.Connection, notification_id: int, receiver: Receiver, cap: int
) -> None:
    reason = f"短信限额：每小时最多 {cap} 条，本条未发送（计入下一条短信）"
    await db.execute(DROP_SQL, notification_id, reason)
    log.warning(
        "notification %d to %s dropped: SMS cap of %d an hour reached",
        notification_id,
        receiver.name,
        cap,
    )


def rolled_up(message: Message, dropped: int) -> Message:
    """``message`` telling that ``dropped`` SMS before it were not sent."""
    if dropped <= 0:
        return message
    form = dict(message.sms)
    params = dict(form.get("params") or {})
    note = f"另有 {dropped} 条短信因限额未发送；"
    params["summary"] = note + str(params.get("summary") or message.subject)
    params["skipped"] = str(dropped)
    form["params"] = params
    return dataclasses.replace(message, sms=form, text=note + "\n" + message.text)
