"""Webhooks through one shared aiohttp ClientSession: generic JSON, WeCom and DingTalk
group robots.

Generic (``webhook``): POST of the message payload (see :mod:`alerts.templates`) as
JSON.  Receiver settings: ``headers`` (extra HTTP headers) and ``body_template`` (a JSON
object whose string values may contain ``{subject}``, ``{text}``, ``{kind}`` — how an SMS
gateway is plugged in, e.g. ``{"mobile": "138…", "content": "{text}"}``).  With a secret
the body is signed: ``X-Envgrid-Timestamp: <unix s>`` and ``X-Envgrid-Signature:
sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed with the secret>``.

WeCom (``wecom``, 企业微信群机器人): ``{"msgtype": "markdown", "markdown": {"content"}}``;
content at most 4096 bytes (UTF-8); the robot answers HTTP 200 with ``errcode`` 0 on
success (45009: rate limit — retried).

DingTalk (``dingtalk``, 钉钉自定义机器人): ``{"msgtype": "markdown", "markdown": {"title",
"text"}, "at": {"atMobiles", "isAtAll"}}``; with a signing secret (加签) the URL gets
``timestamp`` (ms) and ``sign`` = urlencode(base64(HMAC-SHA256(key=secret,
msg="<timestamp>\\n<secret>"))).  ``errcode`` 0 = success (130101: too fast — retried).
Receiver settings: ``at_mobiles`` (list), ``at_all`` (bool).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import aiohttp
import orjson

from alerts.config import Receiver
from alerts.templates import Message

from .base import NotifyError
from .targets import check_url

if TYPE_CHECKING:
    from .channels import Channels

__all__ = [
    "DingTalkNotifier",
    "WeComNotifier",
    "WebhookNotifier",
    "dingtalk_sign",
    "dingtalk_url",
    "render_template",
    "truncate_utf8",
]

WECOM_MAX_BYTES: Final = 4096
DINGTALK_MAX_BYTES: Final = 18_000
_RETRY_STATUS: Final = frozenset({408, 425, 429})
_WECOM_RETRY: Final = frozenset({-1, 45009, 45033})
_DINGTALK_RETRY: Final = frozenset({-1, 130101, 660026})


def truncate_utf8(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes (never inside a character)."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    marker = "\n…（内容过长，已截断）"
    room = limit - len(marker.encode("utf-8"))
    return data[:room].decode("utf-8", errors="ignore") + marker


def render_template(template: Any, message: Message) -> Any:
    """Fill ``{subject}``/``{text}``/``{kind}`` in the string values of ``template``."""
    values = {
        "subject": message.subject,
        "text": message.text.strip(),
        "kind": str(message.payload.get("kind", "")),
    }
    if isinstance(template, str):
        out = template
        for key, value in values.items():
            out = out.replace("{" + key + "}", value)
        return out
    if isinstance(template, Mapping):
        return {k: render_template(v, message) for k, v in template.items()}
    if isinstance(template, list):
        return [render_template(v, message) for v in template]
    return template


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """The DingTalk robot signature (加签), URL-encoded."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode("utf-8"), to_sign, hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest).decode("ascii"))


def dingtalk_url(url: str, secret: str | None, timestamp_ms: int | None = None) -> str:
    if not secret:
        return url
    ts = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}timestamp={ts}&sign={dingtalk_sign(secret, ts)}"


def _retry_after(resp: aiohttp.ClientResponse) -> float | None:
    value = resp.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


async def _post(
    channels: Channels,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    what: str,
) -> Any:
    """POST (no redirects, only to addresses the policy allows: .targets); returns the
    parsed JSON answer (or None); raises NotifyError.  A refusal keeps only the status and
    its reason phrase: the other side's body never lands in the delivery log."""
    check_url(url, channels.policy)
    try:
        async with channels.session.post(
            url, data=body, headers=dict(headers), allow_redirects=False
        ) as resp:
            if not 200 <= resp.status < 300:
                retry = resp.status >= 500 or resp.status in _RETRY_STATUS
                moved = " (redirects are not followed)" if 300 <= resp.status < 400 else ""
                raise NotifyError(
                    f"{what}: HTTP {resp.status} {resp.reason or ''}".rstrip() + moved,
                    retry=retry,
                    retry_after=_retry_after(resp),
                )
            text = await resp.text(errors="replace")
            try:
                return orjson.loads(text) if text.strip() else None
            except orjson.JSONDecodeError:
                return None
    except aiohttp.InvalidURL as exc:
        raise NotifyError(f"{what}: invalid URL {exc}", retry=False) from exc
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise NotifyError(f"{what}: {type(exc).__name__}: {exc}") from exc


class WebhookNotifier:
    def __init__(self, channels: Channels) -> None:
        self.channels = channels

    async def send(self, receiver: Receiver, message: Message, ident: str) -> None:
        settings = receiver.settings
        template = settings.get("body_template")
        payload = render_template(template, message) if template else dict(message.payload)
        body = orjson.dumps(payload)
        headers = {"Content-Type": "application/json", "X-Envgrid-Notification": ident}
        extra = settings.get("headers")
        if isinstance(extra, Mapping):
            headers.update({str(k): str(v) for k, v in extra.items()})
        if receiver.secret:
            ts = str(int(time.time()))
            mac = hmac.new(receiver.secret.encode(), ts.encode() + b"." + body, hashlib.sha256)
            headers["X-Envgrid-Timestamp"] = ts
            headers["X-Envgrid-Signature"] = "sha256=" + mac.hexdigest()
        await _post(self.channels, receiver.address, body, headers, receiver.name)


def _errcode(answer: Any, what: str, retry_codes: frozenset[int]) -> None:
    if not isinstance(answer, Mapping):
        raise NotifyError(f"{what}: unexpected answer {answer!r}")
    code = answer.get("errcode", 0)
    if code != 0:
        raise NotifyError(
            f"{what}: errcode {code}: {answer.get('errmsg', '')}", retry=code in retry_codes
        )


class WeComNotifier:
    def __init__(self, channels: Channels) -> None:
        self.channels = channels

    @staticmethod
    def payload(message: Message) -> dict[str, Any]:
        return {
            "msgtype": "markdown",
            "markdown": {"content": truncate_utf8(message.markdown, WECOM_MAX_BYTES)},
        }

    async def send(self, receiver: Receiver, message: Message, ident: str) -> None:
        body = orjson.dumps(self.payload(message))
        headers = {"Content-Type": "application/json"}
        answer = await _post(self.channels, receiver.address, body, headers, receiver.name)
        _errcode(answer, receiver.name, _WECOM_RETRY)


class DingTalkNotifier:
    def __init__(self, channels: Channels) -> None:
        self.channels = channels

    @staticmethod
    def payload(message: Message, settings: Mapping[str, Any]) -> dict[str, Any]:
        mobiles = [str(m) for m in settings.get("at_mobiles") or []]
        text = message.markdown
        if mobiles:
            text += "\n\n" + " ".join(f"@{m}" for m in mobiles)
        return {
            "msgtype": "markdown",
            "markdown": {
                "title": message.subject,
                "text": truncate_utf8(text, DINGTALK_MAX_BYTES),
            },
            "at": {"atMobiles": mobiles, "isAtAll": bool(settings.get("at_all", False))},
        }

    async def send(self, receiver: Receiver, message: Message, ident: str) -> None:
        body = orjson.dumps(self.payload(message, receiver.settings))
        url = dingtalk_url(receiver.address, receiver.secret)
        headers = {"Content-Type": "application/json"}
        answer = await _post(self.channels, url, body, headers, receiver.name)
        _errcode(answer, receiver.name, _DINGTALK_RETRY)
