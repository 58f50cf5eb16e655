"""Email through SMTP (aiosmtplib): a multipart message, plain text + HTML, UTF-8."""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING

import aiosmtplib

from alerts.config import Receiver
from alerts.templates import Message

from .base import NotifyError

if TYPE_CHECKING:
    from .channels import Channels

__all__ = ["EmailNotifier", "addresses"]

_SPLIT = re.compile(r"[,;\s]+")


def addresses(text: str) -> list[str]:
    """``"a@x.cn, b@y.cn"`` → the addresses (comma, semicolon or space separated)."""
    return [a for a in _SPLIT.split(text.strip()) if a]


class EmailNotifier:
    def __init__(self, channels: Channels) -> None:
        self.settings = channels.settings

    def build(self, receiver: Receiver, message: Message, ident: str) -> EmailMessage:
        s = self.settings
        msg = EmailMessage()
        msg["Subject"] = message.subject
        msg["From"] = s.smtp_from
        msg["To"] = ", ".join(addresses(receiver.address))
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid("envgrid", s.smtp_from.rpartition("@")[2] or None)
        msg["X-Envgrid-Notification"] = ident
        msg.set_content(message.text, charset="utf-8")
        if message.html:
            msg.add_alternative(message.html, subtype="html", charset="utf-8")
        return msg

    async def send(self, receiver: Receiver, message: Message, ident: str) -> None:
        s = self.settings
        if not s.smtp_host:
            raise NotifyError(
                "email: alerts.smtp_host is not set; configure the SMTP server in [alerts]",
                retry=False,
            )
        to = addresses(receiver.address)
        if not to:
            raise NotifyError(f"receiver {receiver.name!r} has no email address", retry=False)
        try:
            await aiosmtplib.send(
                self.build(receiver, message, ident),
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_user or None,
                password=s.smtp_password or None,
                use_tls=s.smtp_tls,
                start_tls=s.smtp_starttls,
                timeout=s.smtp_timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise NotifyError(f"SMTP refused every recipient: {exc}", retry=False) from exc
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise NotifyError(
                f"SMTP authentication failed ({exc.code}); check alerts.smtp_user/password",
                retry=False,
            ) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise NotifyError(
                f"SMTP {exc.code}: {exc.message}", retry=not 500 <= exc.code < 600
            ) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise NotifyError(
                f"SMTP {s.smtp_host}:{s.smtp_port} unreachable: {exc or type(exc).__name__}"
            ) from exc
