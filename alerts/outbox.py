"""The delivery log (``alert_notifications``): queueing a message once, and sending.

*Queueing* (:func:`queue_message`): a rendered message becomes a row with status
``queued``; its ``idempotency_key`` (:func:`idempotency_key` of what it announces) makes
a second insert of the same message a no-op.

*Sending* (:class:`Sender`).  Due rows are claimed (status ``sending`` with a lease in
``next_attempt_at``), sent through the receiver's channel (:mod:`alerts.notifiers`) and
marked ``sent``, or retried with exponential back-off up to ``alerts.send_attempts``,
or marked ``failed`` for permanent errors.  One receiver's messages go out in order, at
most ``alerts.max_messages_per_receiver`` per ``alerts.rate_window_s`` (the rest wait);
an SMS receiver also has an hourly cap, above which messages are ``dropped`` and rolled
into its next SMS (:mod:`alerts.sms_quota`).
A crash between a successful send and its ``sent`` mark re-sends once the lease expires:
delivery is at least once, never silently lost (ALERTS_AND_DASHBOARDS.md §1.2 "Dedup").
The claim is conditional (the row must still be due), so two senders — two leaders
overlapping in a failover (:mod:`store.cluster`) — never both send one row.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Sequence
from typing import Final

import asyncpg

from . import queries
from .config import AlertConfig, Receiver
from .metrics import AlertMetrics
from .notifiers import SMS_KINDS, Channels, NotifyError
from .settings import AlertSettings
from .sms_quota import cap_of, drop_sms, rolled_up, sms_usage
from .templates import Message

__all__ = [
    "Sender",
    "deliver",
    "idempotency_key",
    "log_attempt",
    "next_attempt",
    "queue_message",
    "send_now",
]

log = logging.getLogger(__name__)


async def deliver(
    channels: Channels, receiver: Receiver, message: Message, key: str, what: str
) -> None:
    """Send ``message``; a channel's unexpected exception (a bug) is logged with its
    traceback and becomes a :class:`NotifyError` that is not retried, so no queue loops
    on it.  ``what`` names the message in the log."""
    try:
        await channels.send(receiver, message, key)
    except NotifyError:
        raise
    except Exception as exc:  # a channel bug: record it, do not loop on it
        log.exception("%s: unexpected error", what)
        raise NotifyError(f"{type(exc).__name__}: {exc}", retry=False) from exc


def next_attempt(exc: NotifyError, attempts: int, s: AlertSettings) -> tuple[bool, float]:
    """After the ``attempts``-th failure: (final, seconds until the next try) — exponential
    backoff up to ``retry_backoff_max_s``, at least what the receiver asked (Retry-After)."""
    final = not exc.retry or attempts >= s.send_attempts
    delay = min(s.retry_backoff_max_s, s.retry_backoff_s * 2 ** (attempts - 1))
    if exc.retry_after is not None:
        delay = max(delay, exc.retry_after)
    return final, delay


def log_attempt(
    logger: logging.Logger, what: str, exc: NotifyError, attempts: int, final: bool
) -> None:
    """The warning for a failed delivery (``what``: e.g. "notification 7 to 值班组")."""
    retry = "failed" if final else "will be retried"
    logger.warning("%s %s (attempt %d): %s", what, retry, attempts, exc)


_DUE_BATCH: Final = 200


def idempotency_key(*parts: object) -> str:
    text = "|".join(str(p) for p in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]


async def queue_message(
    conn: asyncpg.Connection | asyncpg.Pool,
    *,
    key: str,
    receiver: Receiver,
    kind: str,
    message: Message,
    alert_ids: Sequence[int] = (),
    route_id: int | None = None,
    group: str = "",
) -> int | None:
    """Insert a message into the delivery log; None if that key was queued before."""
    return await conn.fetchval(  # type: ignore[no-any-return]
        queries.QUEUE_NOTIFICATION_SQL,
        key,
        receiver.id,
        receiver.name,
        receiver.kind,
        route_id,
        group,
        kind,
        list(alert_ids),
        message.subject,
        message.to_json(),
    )


class Sender:
    """Delivers due rows of ``alert_notifications`` (see the module docstring)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        channels: Channels,
        get_config: Callable[[], AlertConfig],
        *,
        clock: Callable[[], float] = time.monotonic,
        metrics: AlertMetrics | None = None,
    ) -> None:
        self.pool = pool
        self.metrics = metrics
        self.channels = channels
        self.get_config = get_config
        self.clock = clock
        self.wake = asyncio.Event()
        self._recent: dict[int, deque[float]] = defaultdict(deque)
        self.sent = 0
        self.failed = 0
        #: SMS dropped by a receiver's hourly cap (alerts.sms_quota)
        self.dropped = 0

    async def reclaim(self) -> int:
        """At the start of the one engine: what a previous engine claimed and did not
        mark (killed mid-send, e.g. a leader failover) is sent again now, under the same
        ``envgrid-<id>`` the receiver may have seen once.  Returns how many."""
        ids = [r["id"] for r in await self.pool.fetch(queries.RECLAIM_SQL)]
        if ids:
            log.warning(
                "re-sending %d notifications a previous engine claimed but did not mark sent"
                " (delivery unknown; same notification ids): %s",
                len(ids),
                ", ".join(map(str, ids)),
            )
        return len(ids)

    async def run(self, stop: asyncio.Event) -> None:
        """Send until ``stop`` is set (woken by :attr:`wake`, else every second)."""
        while not stop.is_set():
            try:
                await self.send_due()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("notification sender: database unavailable (%s); retrying", exc)
            except Exception:  # a bug must not stop the deliveries
                log.exception("notification sender failed; retrying")
            self.wake.clear()
            waiter = asyncio.ensure_future(self.wake.wait())
            stopper = asyncio.ensure_future(stop.wait())
            try:
                await asyncio.wait(
                    {waiter, stopper}, timeout=1.0, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                for task in (waiter, stopper):
                    task.cancel()
                await asyncio.gather(waiter, stopper, return_exceptions=True)

    async def send_due(self) -> int:
        rows = await self.pool.fetch(queries.DUE_NOTIFICATIONS_SQL, _DUE_BATCH)
        if not rows:
            return 0
        by_receiver: dict[int | None, list[asyncpg.Record]] = defaultdict(list)
        for row in rows:
            by_receiver[row["receiver_id"]].append(row)
        results = await asyncio.gather(
            *(self._send_receiver(rid, items) for rid, items in by_receiver.items())
        )
        return sum(results)

    def _lease(self, config: AlertConfig) -> float:
        s = config.alerts
        return max(s.smtp_timeout_s, s.webhook_timeout_s) * 2 + 30

    async def _send_receiver(self, receiver_id: int | None, rows: Iterable[asyncpg.Record]) -> int:
        config = self.get_config()
        s = config.alerts
        receiver = config.receivers.get(receiver_id) if receiver_id is not None else None
        recent = self._recent[receiver_id or 0]
        sent = 0
        for row in rows:
            now = self.clock()
            while recent and now - recent[0] >= s.rate_window_s:
                recent.popleft()
            if receiver is not None and len(recent) >= s.max_messages_per_receiver:
                wait = s.rate_window_s - (now - recent[0]) + 0.05
                await self.pool.execute(queries.DEFER_NOTIFICATION_SQL, row["id"], wait)
                continue
            if receiver is None or not receiver.enabled:
                why = "receiver deleted" if receiver is None else "receiver disabled"
                await self.pool.execute(queries.MARK_RETRY_SQL, row["id"], why, 0.0, "failed")
                self._count(row["channel"], "failed")
                continue
            message = Message.from_json(row["message"])
            if receiver.kind in SMS_KINDS:
                cap = cap_of(receiver, s)
                sent_hour, dropped = await sms_usage(self.pool, receiver.id)
                if cap and sent_hour >= cap:
                    await drop_sms(self.pool, row["id"], receiver, cap)
                    self._count(row["channel"], "dropped")
                    continue
                message = rolled_up(message, dropped)
            lease = self._lease(config)
            if await self.pool.fetchval(queries.MARK_SENDING_SQL, row["id"], lease) is None:
                continue  # another sender (a leader overlapping in a failover) claimed it
            what = f"notification {row['id']} to {receiver.name}"
            try:
                await deliver(self.channels, receiver, message, f"envgrid-{row['id']}", what)
            except NotifyError as exc:
                attempts = row["attempts"] + 1
                final, delay = next_attempt(exc, attempts, s)
                await self.pool.execute(
                    queries.MARK_RETRY_SQL,
                    row["id"],
                    str(exc)[:1000],
                    delay,
                    "failed" if final else "queued",
                )
                log_attempt(log, what, exc, attempts, final)
                if final:
                    self._count(row["channel"], "failed")
                continue
            recent.append(self.clock())
            await self.pool.execute(queries.MARK_SENT_SQL, row["id"])
            sent += 1
            self._count(row["channel"], "sent")
        return sent

    def _count(self, channel: str, outcome: str) -> None:
        """A row's delivery ended with ``outcome``: sent, failed or dropped."""
        if outcome == "sent":
            self.sent += 1
        elif outcome == "failed":
            self.failed += 1
        else:
            self.dropped += 1
        if self.metrics is not None:
            self.metrics.notified(channel, outcome)


async def send_now(
    conn: asyncpg.Connection,
    channels: Channels,
    receiver: Receiver,
    message: Message,
    *,
    key: str,
    kind: str = "test",
) -> tuple[int, str | None]:
    """Queue and deliver one message right away (CLI ``test-notify``): the row is claimed
    before sending so a running sender does not send it too.  Returns (id, error)."""
    notification_id = await queue_message(
        conn, key=key, receiver=receiver, kind=kind, message=message
    )
    if notification_id is None:
        raise ValueError(f"a notification with key {key} exists already")
    await conn.execute(queries.MARK_SENDING_SQL, notification_id, 600.0)
    try:
        await channels.send(receiver, message, f"envgrid-{notification_id}")
    except NotifyError as exc:
        await conn.execute(queries.MARK_RETRY_SQL, notification_id, str(exc), 0.0, "failed")
        return notification_id, str(exc)
    await conn.execute(queries.MARK_SENT_SQL, notification_id)
    return notification_id, None
