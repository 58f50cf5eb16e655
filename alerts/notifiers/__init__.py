"""Notification channels, registered by name (``alert_receivers.kind``).

Each notifier exposes ``async send(receiver, message, ident)`` and raises
:class:`NotifyError` (``retry`` says whether another attempt may succeed).  Retries,
back-off, rate limits and the delivery log are the sender's business
(:mod:`alerts.dispatcher`), not the notifiers'.

* ``email`` — SMTP via aiosmtplib (TLS/STARTTLS/auth from ``alerts.smtp_*``), HTML + text;
* ``webhook`` — generic JSON POST via aiohttp (optional HMAC-SHA256 signature; a
  ``body_template`` setting adapts it to SMS gateways);
* ``wecom`` — WeCom (企业微信) group robot, ``{"msgtype": "markdown", …}``;
* ``dingtalk`` — DingTalk (钉钉) group robot, markdown, optional signing secret;
* ``aliyun_sms`` / ``tencent_sms`` — SMS templates through 阿里云短信 / 腾讯云短信, signed
  requests (:mod:`.sms`, :mod:`.sms_sign`); the per-receiver hourly cap is the sender's.
"""

from __future__ import annotations

from .base import Notifier, NotifyError
from .channels import NOTIFIERS, Channels
from .email import EmailNotifier
from .sms import SMS_KINDS, AliyunSmsNotifier, TencentSmsNotifier
from .webhook import DingTalkNotifier, WebhookNotifier, WeComNotifier

__all__ = [
    "NOTIFIERS",
    "SMS_KINDS",
    "AliyunSmsNotifier",
    "Channels",
    "DingTalkNotifier",
    "EmailNotifier",
    "Notifier",
    "NotifyError",
    "TencentSmsNotifier",
    "WeComNotifier",
    "WebhookNotifier",
]
