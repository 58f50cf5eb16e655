"""What every notifier shares: the error type and the protocol."""

from __future__ import annotations

from typing import Protocol

from alerts.config import Receiver
from alerts.templates import Message

__all__ = ["Notifier", "NotifyError"]


class NotifyError(Exception):
    """A delivery failed.  ``retry``: a later attempt may succeed (timeouts, 5xx, rate
    limits); ``retry_after``: seconds the other side asked us to wait."""

    def __init__(self, message: str, *, retry: bool = True, retry_after: float | None = None):
        super().__init__(message)
        self.retry = retry
        self.retry_after = retry_after


class Notifier(Protocol):
    async def send(self, receiver: Receiver, message: Message, ident: str) -> None: ...
