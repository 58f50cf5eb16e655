"""The notifiers' shared resources (one aiohttp ClientSession with a timeout, the SMTP
settings) and the registry of notifiers by receiver kind (``alert_receivers.kind``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import aiohttp

from alerts.config import Receiver
from alerts.settings import AlertSettings
from alerts.templates import Message

from .base import Notifier, NotifyError
from .email import EmailNotifier
from .sms import AliyunSmsNotifier, TencentSmsNotifier
from .targets import GuardedResolver, TargetPolicy
from .webhook import DingTalkNotifier, WebhookNotifier, WeComNotifier

__all__ = ["NOTIFIERS", "Channels"]


class Channels:
    """Shared resources of the notifiers; ``async with Channels(settings) as ch``."""

    def __init__(self, settings: AlertSettings) -> None:
        self.settings = settings
        #: where webhooks may go (.targets): public addresses and the allow-listed networks
        self.policy = TargetPolicy(settings.webhook_allowed_networks)
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            resolver = GuardedResolver(self.policy)
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(resolver=resolver),
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
        factory = NOTIFIERS.get(receiver.kind)
        if factory is None:
            raise NotifyError(
                f"receiver {receiver.name!r}: unknown kind {receiver.kind!r}"
                f" (kinds: {', '.join(NOTIFIERS)})",
                retry=False,
            )
        await factory(self).send(receiver, message, ident)


#: receiver kind → notifier factory (given the shared channel resources)
NOTIFIERS: Final[dict[str, Callable[[Channels], Notifier]]] = {
    "email": EmailNotifier,
    "webhook": WebhookNotifier,
    "wecom": WeComNotifier,
    "dingtalk": DingTalkNotifier,
    "aliyun_sms": AliyunSmsNotifier,
    "tencent_sms": TencentSmsNotifier,
}
