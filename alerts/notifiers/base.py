"""What every notifier shares: the error type, the protocol and the channel resources
(one aiohttp ClientSession with a timeout, the SMTP settings)."""

from __future__ import annotations

from typing import Protocol

import aiohttp

from alerts.config import Receiver
from alerts.settings import AlertSettings
from alerts.templates import Message

__all__ = ["Channels", "Notifier", "NotifyError"]


class NotifyError(Exception):
    """A delivery failed.  ``retry``: a later attempt may succeed (timeouts, 5xx, rate
    limits); ``retry_after``: seconds the other side asked us to wait."""

    def __init__(self, message: str, *, retry: bool = True, retry_after: float | None = None):
        super().__init__(message)
        self.retry = retry
        self.retry_after = retry_after


class Notifier(Protocol):
    async def send(self, receiver: Receiver, message: Message, ident: str) -> None: ...


class Channels:
    """Shared resources of the notifiers; ``async with Channels(settings) as ch``."""

    def __init__(self, settings: AlertSettings) -> None:
        self.settings = settings
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.settings.webhook_timeout_s),
                headers={"User-Agent": "envgrid-alerts"},
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def __aenter__(self) -> Channels:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def send(self, receiver: Receiver, message: Message, ident: str) -> None:
        """Deliver through the receiver's channel (raises :class:`NotifyError`)."""
        from . import NOTIFIERS

        factory = NOTIFIERS.get(receiver.kind)
        if factory is None:
            raise NotifyError(
                f"receiver {receiver.name!r}: unknown kind {receiver.kind!r}"
                f" (kinds: {', '.join(NOTIFIERS)})",
                retry=False,
            )
        await factory(self).send(receiver, message, ident)
