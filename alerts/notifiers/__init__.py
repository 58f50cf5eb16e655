"""Notification channels, registered by name (``alert_receivers.kind``).

Each notifier exposes ``async send(receiver, message, ident)`` and raises
:class:`NotifyError` (``retry`` says whether another attempt may succeed).  Retries,
back-off, rate limits and the delivery log are the sender's business
(:mod:`alerts.dispatcher`), not the notifiers'.

* ``email`` — SMTP via aiosmtplib (TLS/STARTTLS/auth from ``alerts.smtp_*``), HTML + text;
* ``webhook`` — generic JSON POST via aiohttp (optional HMAC-SHA256 signature; a
  ``body_template`` setting adapts it to SMS gateways);
* ``wecom`` — WeCom (企业微信) group robot, ``{"msgtype": "markdown", …}``;
* ``dingtalk`` — DingTalk (钉钉) group robot, markdown, optional signing secret.
"""

from __future__ import annotations

from .base import Notifier, NotifyError
from .channels import NOTIFIERS, Channels
from .email import EmailNotifier
from .webhook import DingTalkNotifier, WebhookNotifier, WeComNotifier

__all__ = [
    "NOTIFIERS",
    "Channels",
    "DingTalkNotifier",
    "EmailNotifier",
    "Notifier",
    "NotifyError",
    "WeComNotifier",
    "WebhookNotifier",
]
