"""Sending the case notices (dispatches, reminders, due notices, 督办, patrol overdue
notices) through the alert engine's notifiers.

Theory of operation
-------------------
The services queue notices in the ``case_notices`` outbox (one row per recipient, unique
``dedup_key``, so nothing is queued twice).  :func:`send_case_notices` (a scheduler job of
the web process) delivers them, consistent with the alerts sender
(:mod:`alerts.dispatcher`):

1. *claim*: due rows are set to ``sending`` with a lease (``next_attempt_at``) in one
   statement with ``FOR UPDATE SKIP LOCKED`` — two processes never claim the same row;
2. *send* through the recipient's receiver (``grid_people.receiver_id`` →
   ``alert_receivers``; without one, the first enabled receiver linked to the person's
   dashboard login, ``alert_receivers.user_id``): email via aiosmtplib, webhook / WeCom /
   DingTalk via aiohttp — :class:`alerts.notifiers.Channels`;
3. *mark*: ``sent`` (with the channel), or on a :class:`~alerts.notifiers.NotifyError`
   ``queued`` again after exponential back-off (``alerts.retry_backoff_s`` doubling, at
   most ``alerts.retry_backoff_max_s``) until ``alerts.send_attempts``, then ``failed``
   (``last_error`` keeps the reason).  A notice nobody can receive — no recipient
   configured, no receiver, receiver disabled — is ``skipped`` with the reason.

A sent notice is never sent again (restarts included).  A process that dies between a
successful send and its ``sent`` mark leaves the row ``sending``; it is claimed again
when the lease runs out — delivery is at least once, never silently lost, as for alerts.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from typing import Any, Final

import asyncpg

from alerts.config import Receiver
from alerts.notifiers import Channels, NotifyError
from alerts.outbox import deliver, log_attempt, next_attempt
from alerts.settings import AlertSettings
from alerts.templates import Message
from web.casework.kernel import queries as kq

__all__ = ["NOTICE_KINDS", "SendReport", "notice_message", "send_case_notices"]

log = logging.getLogger(__name__)

NOTICE_KINDS: Final = {
    "dispatch": "案件派遣",
    "reminder": "时限提醒",
    "due": "到期通知",
    "escalation": "督办",
    "task_overdue": "巡查超期",
    "hazard_due": "隐患整改超期",
}
_BATCH: Final = 200


@dataclass(frozen=True, slots=True)
class SendReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0

    def __bool__(self) -> bool:
        """Whether anything happened (the job logs only then)."""
        return bool(self.sent or self.retried or self.failed or self.skipped)


def _link(row: Mapping[str, Any], base_url: str) -> str:
    if not base_url:
        return ""
    base = base_url.rstrip("/")
    if row["case_id"] is not None:
        return f"{base}/cases/{row['case_id']}"
    if row["task_id"] is not None:
        return f"{base}/patrol/tasks/{row['task_id']}"
    if row["hazard_id"] is not None:
        return f"{base}/patrol/hazards/{row['hazard_id']}"
    return ""


def notice_message(row: Mapping[str, Any], base_url: str = "") -> Message:
    """The message of one notice, in the alert templates' four renderings."""
    kind = NOTICE_KINDS.get(row["kind"], row["kind"])
    subject = f"【{kind}】{row['title']}"
    link = _link(row, base_url)
    lines = [row["title"], row["body"]] + ([f"查看：{link}"] if link else [])
    text = "\n".join(line for line in lines if line)
    html = f"<p><b>{escape(row['title'])}</b></p><p>{escape(row['body'])}</p>" + (
        f'<p><a href="{escape(link)}">查看详情</a></p>' if link else ""
    )
    markdown = f"### {subject}\n{row['body']}" + (f"\n\n[查看详情]({link})" if link else "")
    payload = {
        "kind": f"case_{row['kind']}",
        "notice_id": row["id"],
        "case_id": row["case_id"],
        "task_id": row["task_id"],
        "hazard_id": row["hazard_id"],
        "title": row["title"],
        "body": row["body"],
    }
    return Message(subject, text, html, markdown, payload)


def _receiver(row: Mapping[str, Any]) -> Receiver | None:
    if row["receiver_id"] is None:
        return None
    return Receiver(
        row["receiver_id"],
        row["receiver_name"],
        row["receiver_kind"],
        row["receiver_address"],
        row["receiver_secret"],
        row["receiver_settings"] or {},
        row["receiver_enabled"],
    )


async def send_case_notices(
    pool: asyncpg.Pool,
    channels: Channels,
    settings: AlertSettings,
    *,
    now: datetime | None = None,
    base_url: str = "",
) -> SendReport:
    """Scheduler job: deliver the due notices (see the module docstring)."""
    sent = retried = failed = skipped = 0
    lease = max(settings.smtp_timeout_s, settings.webhook_timeout_s) * 2 + 30
    while True:
        at = now or datetime.now().astimezone()
        async with pool.acquire() as conn:
            rows = await kq.claim_notices(conn, at, float(lease), _BATCH)
        for row in rows:
            receiver = _receiver(row)
            why = ""
            if row["recipient_person_id"] is None:
                why = "未配置接收人（相关岗位无人员）"
            elif receiver is None:
                why = f"{row['recipient_name'] or '接收人'} 未关联通知渠道（告警接收人）"
            elif not receiver.enabled:
                why = f"通知渠道 {receiver.name} 已停用"
            if why:
                await kq.notice_retry(pool, row["id"], why, "skipped", at, row["receiver_id"], None)
                skipped += 1
                continue
            assert receiver is not None
            message = notice_message(row, base_url)
            try:
                what = f"case notice {row['id']}"
                await deliver(channels, receiver, message, f"envgrid-case-{row['id']}", what)
            except NotifyError as exc:
                attempts = row["attempts"] + 1
                final, delay = next_attempt(exc, attempts, settings)
                await kq.notice_retry(
                    pool,
                    row["id"],
                    str(exc)[:1000],
                    "failed" if final else "queued",
                    at + timedelta(seconds=delay),
                    receiver.id,
                    receiver.kind,
                )
                what = f"case notice {row['id']} to {receiver.name}"
                log_attempt(log, what, exc, attempts, final)
                if final:
                    failed += 1
                else:
                    retried += 1
                continue
            await kq.notice_sent(pool, row["id"], at, receiver.id, receiver.kind)
            sent += 1
        if len(rows) < _BATCH:
            break
    return SendReport(sent, retried, failed, skipped)
